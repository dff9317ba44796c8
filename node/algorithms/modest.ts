/**
 * MoDeST (de Vos et al., arXiv 2302.13837 v1; ALGORITHMS.md §3): each round a sample of s peers, derived
 * from the shared membership view by MD5 order, trains the model its aggregators averaged (by default 5 local
 * SGD steps of batch 20, §3.5, whatever the peer's epochs and batch size); the first a of the next sample
 * average (plain FedAvg, equal weights) and hand the result on. Its own engine
 * (node/engine/modest/) drives it, not the synchronous rounds: the entry names engine 'modest' with its settings,
 * and the topology only seeds the initial view.
 */
import { z } from 'zod';
import { mean } from '../../aggregation/mean.js';
import { encodingParam } from './dpsgd.js';
import type { AlgorithmDefinition } from './types.js';
import { fullExchange } from './types.js';

import type { ModestSettings } from '../engine/modest/settings.js';

export type { ModestSettings };

export const modestParams = z.strictObject({
  sampleSize: z.number().int().min(1).max(65_535).default(10),
  aggregators: z.number().int().min(1).max(1000).default(1),
  successFraction: z.number().gt(0).max(1).default(1),
  minModels: z.number().int().min(1).default(3),
  aggregationTimeoutMs: z.number().int().min(1).default(300_000),
  pingTimeoutMs: z.number().int().min(1).default(5_000),
  inactivityThreshold: z.number().int().min(0).default(50),
  /** Default 2 × aggregationTimeoutMs + 10 × pingTimeoutMs (a sample search that walks past many silent peers). */
  progressTimeoutMs: z.number().int().min(1).optional(),
  /** Probe a hand-off's peers this often while its aggregation is awaited, ms (authors' PING_INTERVAL = 1 s; 0: off). */
  probeEveryMs: z.number().int().min(0).default(1_000),
  /** Local work per round (§3.5 `local_steps` = 5, batch 20); these override the peer's epochs and batch size. */
  localSteps: z.number().int().min(1).default(5),
  batchSize: z.number().int().min(1).default(20),
  encoding: encodingParam,
}).refine((p) => p.aggregators <= p.sampleSize, { message: 'aggregators (a) must not exceed sampleSize (s)', path: ['aggregators'] });
export type ModestParams = z.infer<typeof modestParams>;

export const modest: AlgorithmDefinition<ModestParams> = {
  name: 'modest',
  description: 'MoDeST: per-round MD5-ordered sample of s trainers and a aggregators from a gossiped membership view (FedAvg without a server)',
  // Its own event-driven engine; 'sync' is the mode experiments and the daemon default to.
  modes: ['sync'],
  params: modestParams,
  engine(p) {
    const settings: ModestSettings = Object.freeze({
      sampleSize: p.sampleSize, aggregators: p.aggregators, successFraction: p.successFraction, minModels: p.minModels,
      aggregationTimeoutMs: p.aggregationTimeoutMs, pingTimeoutMs: p.pingTimeoutMs, inactivityThreshold: p.inactivityThreshold,
      progressTimeoutMs: p.progressTimeoutMs ?? 2 * p.aggregationTimeoutMs + 10 * p.pingTimeoutMs, probeEveryMs: p.probeEveryMs,
    });
    return { name: 'modest', options: settings };
  },
  create(p, env) {
    return {
      trainer: { steps: p.localSteps, batchSize: p.batchSize },
      gossipSteps: 1,
      targets: 'neighbours',
      encoding: p.encoding,
      ...fullExchange(env.layout),
      // §3.2 "avg = mean(models)": the received trained models only, equal weights, in sender order.
      aggregate(input) {
        const models = input.received.filter((c) => c.values !== null);
        if (models.length === 0) return null;
        return { vector: mean(models.map((c) => c.values!)), age: Math.max(...models.map((c) => c.age)) };
      },
    };
  },
};
