/**
 * DFedSAM and DFedSAM-MGS (Shi et al., ICML 2023, arXiv 2302.04083; ALGORITHMS.md §2): K local SAM steps
 * (ρ, both passes on one mini-batch, global gradient norm; the SGD momentum buffer restarts every round), then
 * Q gossip steps exchanging the full intermediate model, mixed with Metropolis–Hastings weights from the degrees
 * in the frame headers. Q = 1 is DFedSAM.
 */
import { z } from 'zod';
import { encodingParam, metropolisHastingsStep } from './dpsgd.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

const params = (defaultQ: number) => z.strictObject({
  /** SAM radius; 0.05 is the reference SAM class's default (the run scripts use 0.01). */
  rho: z.number().min(0).default(0.05),
  /** Local steps K per round; absent = the peer's epochs. */
  localSteps: z.number().int().min(1).optional(),
  gossipSteps: z.number().int().min(1).max(64).default(defaultQ),
  renormalise: z.enum(['self', 'proportional']).default('self'),
  encoding: encodingParam,
});
type Params = z.infer<ReturnType<typeof params>>;

function definition(name: string, description: string, defaultQ: number): AlgorithmDefinition<Params> {
  return {
    name, description, modes: ['sync'], params: params(defaultQ),
    create(p, env) {
      return {
        trainer: { samRho: p.rho, ...(p.localSteps ? { steps: p.localSteps } : {}) },
        gossipSteps: p.gossipSteps, targets: 'neighbours', encoding: p.encoding, ...fullExchange(env.layout),
        aggregate: (input) => metropolisHastingsStep(input, p.renormalise),
      };
    },
  };
}

export const dfedsam = definition('dfedsam', 'DFedSAM: SAM local steps, then one Metropolis–Hastings gossip step', 1);
export const dfedsamMgs = definition('dfedsam-mgs', 'DFedSAM-MGS: SAM local steps, then Q = 4 gossip steps (multiple gossip steps)', 4);
