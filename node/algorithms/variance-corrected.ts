/**
 * Variance-corrected averaging (Tian et al. 2024, arXiv 2404.04616; ALGORITHMS.md §1): average, then rescale
 * each corrected tensor to the mean variance of the received models, keeping its mean. Synchronous rounds
 * correct each step's neighbour models; asynchronous gossip buffers received models and aggregates once
 * `bufferSize` arrived (§1.3), training on every period and pushing to all neighbours as the paper-era
 * simulator does.
 */
import { z } from 'zod';
import { VarianceCorrectionBuffer, varianceCorrectedMean } from '../../aggregation/variance-corrected.js';
import { encodingParam } from './dpsgd.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';
import { defaultEngine } from '../engine/choice.js';

export const vvParams = z.strictObject({
  /** β: own-model weight in the average; 0 = the paper-era rule (own model excluded). */
  ownWeight: z.number().min(0).max(1).default(0),
  roles: z.array(z.enum(['kernel', 'bias', 'norm', 'score'])).min(1).default(['kernel']),
  estimator: z.enum(['population', 'unbiased']).default('population'),
  epsilon: z.number().min(0).default(0),
  target: z.enum(['received', 'follow-beta']).default('received'),
  /** Asynchronous mode: aggregate when this many models are buffered. */
  bufferSize: z.number().int().min(1).default(4),
  encoding: encodingParam,
});
export type VvParams = z.infer<typeof vvParams>;

export const varianceCorrected: AlgorithmDefinition<VvParams> = {
  name: 'variance-corrected',
  description: 'variance-corrected averaging: mean of neighbours, each tensor rescaled to their mean variance',
  modes: ['sync', 'async'],
  params: vvParams,
  // Asynchronously, it trains every period and pushes to all neighbours (ALGORITHMS.md, variance correction).
  engine: (_p, env) => (env.mode === 'async'
    ? { name: 'async-gossip', options: { trainEachPeriod: true, trainAfterMerge: false, pushToAll: true } }
    : defaultEngine(env.mode)),
  create(p, env) {
    const opts = { ownWeight: p.ownWeight, roles: p.roles, estimator: p.estimator, epsilon: p.epsilon, target: p.target };
    const buffer = new VarianceCorrectionBuffer(env.layout, { roles: p.roles, estimator: p.estimator });
    return {
      trainer: {}, gossipSteps: 1, targets: 'neighbours', encoding: p.encoding, ...fullExchange(env.layout),
      aggregate(input) {
        const vectors = input.received.flatMap((c) => (c.values ? [c.values] : []));
        if (vectors.length === 0) return null;
        if (env.mode === 'sync') return { vector: varianceCorrectedMean(env.layout, input.own, vectors, opts), age: input.ownAge };
        for (const v of vectors) buffer.add(v);
        if (!buffer.ready(p.bufferSize)) return null;
        const vector = buffer.result(input.own, opts);
        buffer.reset();
        return { vector, age: input.ownAge };
      },
    };
  },
};
