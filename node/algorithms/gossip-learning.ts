/**
 * Classic gossip learning (Hegedűs, Danner, Jelasity 2019; ALGORITHMS.md §0): push the model with its age
 * to one random neighbour; on receipt merge age-weighted, then train. Received models are merged one by
 * one in sender order, so synchronous simulations stay deterministic.
 *
 * With `encoding: topk` a frame carries only some coordinates and the others take the receiver's own values, so
 * the merge moves only the sent coordinates, each weighted by the frame's single model age. The paper's
 * subsampling (ALGORITHMS.md §0.3) keeps an age per partition instead; we do not.
 */
import { z } from 'zod';
import { ageMerge } from '../../aggregation/gossip-age.js';
import { encodingParam } from './dpsgd.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

export const gossipParams = z.strictObject({ encoding: encodingParam });
export type GossipParams = z.infer<typeof gossipParams>;

export const gossipLearning: AlgorithmDefinition<GossipParams> = {
  name: 'gossip-learning',
  description: 'classic gossip learning: push to one random neighbour, age-weighted merge on receipt',
  // Synchronous rounds need a push schedule (the simulator provides one) to stay deterministic.
  modes: ['async', 'sync'],
  params: gossipParams,
  create(p, env) {
    return {
      trainer: {},
      gossipSteps: 1,
      targets: 'one-random',
      encoding: p.encoding,
      ...fullExchange(env.layout),
      aggregate(input) {
        let cur = { vector: input.own, age: input.ownAge };
        // Merges go into `own` when the engine offers it, else into one new vector (ours from the first merge on).
        let out = input.ownWritable ? input.own : undefined;
        let changed = false;
        for (const c of input.received) {
          if (!c.values) continue;
          cur = ageMerge(cur, { vector: c.values, age: c.age }, out);
          out = cur.vector;
          changed = true;
        }
        return changed ? cur : null;
      },
    };
  },
};
