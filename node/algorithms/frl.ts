/**
 * FRL, Federated Rank Learning (Mozaffari et al., USENIX Security 2023; ALGORITHMS.md §5), decentralised:
 * every peer trains the scores of a supermask model (edge-popup; weights frozen, from the shared seed), sends
 * its per-layer ranking of edges (ascending signed score), and replaces its scores by the Borda vote over its own
 * and its neighbours' rankings: the j-th least-voted edge gets the j-th smallest initial score value. Score values
 * never change, only their assignment, so every peer needs the same initial scores (the shared model seed).
 */
import { z } from 'zod';
import { tensorView } from '../../aggregation/layout.js';
import { rankAscending, sortedInitialValues, voteRankings } from '../../aggregation/frl.js';
import { ConfigError } from '../errors.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

export const frlParams = z.strictObject({
  /** Initial lr, decayed per round: lr·decay^round (FRL: 0.4 and 0.999). */
  lr: z.number().positive().default(0.4),
  lrDecay: z.number().gt(0).max(1).default(0.999),
  momentum: z.number().min(0).lt(1).default(0.9),
  weightDecay: z.number().min(0).default(1e-4),
  /** Cosine annealing over the local epochs (FRL's CosineAnnealingLR, T_max = E). */
  cosine: z.boolean().default(true),
});
export type FrlParams = z.infer<typeof frlParams>;

export const frl: AlgorithmDefinition<FrlParams> = {
  name: 'frl',
  description: 'FRL: train supermask scores, exchange edge rankings, Borda vote over own and neighbours’ rankings',
  modes: ['sync'],
  params: frlParams,
  create(p, env) {
    const scoreTensors = env.layout.tensors.filter((t) => t.role === 'score');
    if (scoreTensors.length === 0 || scoreTensors.length !== env.layout.tensors.length) {
      throw new ConfigError('frl needs a supermask model (model.arch supermask-mlp or supermask-cnn): every trainable tensor must be scores');
    }
    if (!env.initial) throw new ConfigError('frl needs the swarm’s initial scores');
    const V = scoreTensors.map((t) => sortedInitialValues(tensorView(env.initial!, t)));
    const rank = (full: Float32Array): Uint32Array[] => scoreTensors.map((t) => rankAscending(tensorView(full, t)));
    return {
      trainer: { momentum: p.momentum, weightDecay: p.weightDecay, ...(p.cosine ? { lrSchedule: 'cosine' as const } : {}) },
      trainerForRound: (round) => ({ lr: p.lr * Math.pow(p.lrDecay, Math.max(0, round - 1)) }),
      gossipSteps: 1, targets: 'neighbours', encoding: 'f32', payload: 'ranking', rank,
      ...fullExchange(env.layout),
      aggregate(input) {
        const others = input.received.filter((c) => c.rankings && c.rankings.length === scoreTensors.length);
        if (others.length === 0) return null;
        const own = rank(input.full);
        const out = new Float32Array(env.layout.size);
        scoreTensors.forEach((t, l) => {
          voteRankings([own[l]!, ...others.map((c) => c.rankings![l]!)], V[l]!, tensorView(out, t));
        });
        return { vector: out, age: input.ownAge };
      },
    };
  },
};
