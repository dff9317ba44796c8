/**
 * D-PSGD with Metropolis–Hastings mixing (ALGORITHMS.md §2.1 "How to build W"): train, then mix with
 * w_ij = 1/(1 + max(d_i, d_j)) using the degrees carried in frame headers. When neighbours' models miss the
 * timeout, the weights are renormalised over the models that arrived (§2.3; `renormalise: 'proportional'`, the
 * default): w_ii and the received w_ij are scaled by 1/(w_ii + Σ_received w_ij). `renormalise: 'self'` instead
 * gives the missing weight to the own model (aggregation/mixing.ts `renormalise`), which keeps the matrix doubly
 * stochastic when a link fails both ways; REPRODUCTION.md "D-PSGD on a timeout" compares the two.
 * With gossipSteps Q > 1 this is the exchange of DFedSAM-MGS.
 */
import { z } from 'zod';
import { metropolisHastingsWeights, mixModels, renormalise } from '../../aggregation/mixing.js';
import { WIRE_ENCODINGS, type WireEncoding } from '../network.js';
import type { AggregateInput, AggregateOutput, AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

export const encodingParam = z.enum(WIRE_ENCODINGS as unknown as [WireEncoding, ...WireEncoding[]]).default('f32');

export const mhParams = z.strictObject({
  gossipSteps: z.number().int().min(1).max(64).default(1),
  encoding: encodingParam,
  renormalise: z.enum(['self', 'proportional']).default('proportional'),
});
export type MhParams = z.infer<typeof mhParams>;

/** One Metropolis–Hastings gossip step over the contributions that arrived. */
export function metropolisHastingsStep(input: AggregateInput, mode: 'self' | 'proportional'): AggregateOutput {
  const received = input.received.filter((c) => c.values !== null);
  if (received.length === 0) return null;
  // A sender outside our current neighbour list (views lag) still counts: the effective degree covers it,
  // so w_ii stays ≥ 0.
  const degree = Math.max(input.degree, received.length);
  const degrees = received.map((c) => Math.max(1, c.degree));
  const expected = degree - received.length;
  // Missing neighbours (timeouts) get weight via renormalise; their own degree is unknown, so assume ours.
  const full = metropolisHastingsWeights(degree, [...degrees, ...new Array<number>(expected).fill(degree)]);
  const w = renormalise(full, [...degrees.map(() => true), ...new Array<boolean>(expected).fill(false)], mode);
  // Mixed into `own` when the engine offers it (the round's training output, held by nobody else): no new vector.
  const vector = mixModels(input.own, received.map((c, k) => ({ vector: c.values!, weight: w.neighbours[k]! })), w.self, input.ownWritable === true ? input.own : undefined);
  return { vector, age: input.ownAge };
}

export const dpsgd: AlgorithmDefinition<MhParams> = {
  name: 'dpsgd',
  description: 'D-PSGD: local SGD, then Metropolis–Hastings averaging with the neighbours (Q gossip steps)',
  modes: ['sync'],
  params: mhParams,
  create(p, env) {
    return {
      trainer: {},
      gossipSteps: p.gossipSteps,
      targets: 'neighbours',
      encoding: p.encoding,
      ...fullExchange(env.layout),
      aggregate: (input) => metropolisHastingsStep(input, p.renormalise),
    };
  },
};
