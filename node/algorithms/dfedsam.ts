/**
 * DFedSAM and DFedSAM-MGS (Shi et al., ICML 2023, arXiv 2302.04083; ALGORITHMS.md §2): K local SAM steps
 * (ρ, both passes on one mini-batch, global gradient norm; the SGD momentum buffer restarts every round), then
 * Q gossip steps exchanging the full intermediate model, mixed with Metropolis–Hastings weights from the degrees
 * in the frame headers. Q = 1 is DFedSAM.
 *
 * Trainer defaults are the reference family's (§2.2: the DFedSAM run scripts and `DFedSAMMModelTrainer`), and they
 * override the peer's `train` settings: lr 0.1 decayed per round, lr·0.998^(round − 1) (the reference's
 * `lr·lr_decay^round` with its rounds counted from 0, ours from 1), SGD momentum 0.9, no weight decay (the
 * trainer does not pass `--wd` to the optimiser); ρ 0.05 (the SAM class's default; the scripts use 0.01).
 * Batch size and local epochs (K) stay the peer's unless `localSteps` is set.
 */
import { z } from 'zod';
import { encodingParam, metropolisHastingsStep } from './dpsgd.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

const params = (defaultQ: number) => z.strictObject({
  /** SAM radius; 0.05 is the reference SAM class's default (the run scripts use 0.01). */
  rho: z.number().min(0).default(0.05),
  /** Initial learning rate, decayed per round by lrDecay (reference: 0.1 and 0.998). */
  lr: z.number().positive().default(0.1),
  lrDecay: z.number().gt(0).max(1).default(0.998),
  momentum: z.number().min(0).lt(1).default(0.9),
  /** Local steps K per round; absent = the peer's epochs. */
  localSteps: z.number().int().min(1).optional(),
  gossipSteps: z.number().int().min(1).max(64).default(defaultQ),
  renormalise: z.enum(['self', 'proportional']).default('proportional'),
  encoding: encodingParam,
});
type Params = z.infer<ReturnType<typeof params>>;

function definition(name: string, description: string, defaultQ: number): AlgorithmDefinition<Params> {
  return {
    name, description, modes: ['sync'], params: params(defaultQ),
    create(p, env) {
      return {
        trainer: { samRho: p.rho, momentum: p.momentum, weightDecay: 0, ...(p.localSteps ? { steps: p.localSteps } : {}) },
        trainerForRound: (round) => ({ lr: p.lr * Math.pow(p.lrDecay, Math.max(0, round - 1)) }),
        gossipSteps: p.gossipSteps, targets: 'neighbours', encoding: p.encoding, ...fullExchange(env.layout),
        aggregate: (input) => metropolisHastingsStep(input, p.renormalise),
      };
    },
  };
}

export const dfedsam = definition('dfedsam', 'DFedSAM: SAM local steps, then one Metropolis–Hastings gossip step', 1);
export const dfedsamMgs = definition('dfedsam-mgs', 'DFedSAM-MGS: SAM local steps, then Q = 4 gossip steps (multiple gossip steps)', 4);
