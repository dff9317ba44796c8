/**
 * One MoDeST aggregation of a sample index (ALGORITHMS.md §3.2) as the engine holds it, and the rules for
 * when it may go on short of its quorum (engine.ts onGone, onTimeout).
 *
 * §3.2: at the timeout, aggregate if at least minModels arrived, else drop. Ours, for liveness: an index short
 * of minModels waits one more timeout (or until minModels arrive), then goes on with whatever arrived (at
 * least one model), so a swarm that lost most of a round's trainers, or is still filling up, moves on. Dropping
 * it and waiting for the trainers' repeated hand-off cost a soak 39-50 s (joins over a minute, s = 4 of 8).
 *
 * Ours too: that second timeout is skipped when every sampled trainer whose model is missing is known gone
 * (two failed probes each, availability.ts probeMissing): nothing can come from them, and their stand-ins
 * (handed the average by the aggregator before us, watch.ts) had the whole first timeout to send. Two peers
 * killed 6 s apart left a soak's aggregation with 2 of minModels = 3 and stacked both timeouts (20 s) on every
 * peer's wait. The floor still holds before the timeout, and below it a trainer that may still send (one that
 * missed a single probe, or ourselves still training) keeps the second timeout.
 */
import type { Contribution } from '../../algorithms/types.js';

export interface Aggregation {
  readonly index: number;
  /** One model per sender (§3.2). */
  readonly models: Map<string, Contribution>;
  done: boolean;
  /** Aborts the aggregation's timers and probes. */
  readonly controller: AbortController;
  /** Sampled trainers our probes found gone while this aggregation waited. */
  readonly gone: Set<string>;
}

export function newAggregation(index: number): Aggregation {
  return { index, models: new Map(), done: false, controller: new AbortController(), gone: new Set() };
}

/**
 * Whether every peer of `sample` (the trainers our view derives for the aggregated round, ourselves included)
 * either sent its model or is known gone: no model can come from the sample any more.
 */
export function onlyGoneMissing(agg: Aggregation, sample: readonly string[]): boolean {
  return sample.every((p) => agg.models.has(p) || agg.gone.has(p));
}
