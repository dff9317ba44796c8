/** MoDeST's sampling settings, read by its engine and produced by its registry entry (node/algorithms/modest.ts). */

/** What the MoDeST engine reads from the instance (defaults: ALGORITHMS.md §3.5). */
export interface ModestSettings {
  /** s: trainers per round (paper default 10). */
  readonly sampleSize: number;
  /** a: aggregators per round, a prefix of the same order (paper default 1). */
  readonly aggregators: number;
  /** sf: an aggregator averages once it holds ⌊s·sf⌋ models (paper default 1.0). */
  readonly successFraction: number;
  /** At the aggregation timeout, aggregate anyway if at least this many models arrived, else drop (code: 3). */
  readonly minModels: number;
  /** From an aggregation's first model to giving up waiting, ms (HEAD 300 s; paper-era simulator 2 s). */
  readonly aggregationTimeoutMs: number;
  /** One availability ping, ms (paper 5 s). */
  readonly pingTimeoutMs: number;
  /** A peer not active in the last this many sample indices is no candidate (HEAD default 50). */
  readonly inactivityThreshold: number;
  /**
   * Liveness (ours, after HEAD's AggAck retry): a trainer that hears of no aggregation of the next sample
   * index within this long sends its model again to the first available aggregators; an aggregator whose
   * trainers produce nothing hands the average out again to the first available trainers. ms.
   */
  readonly progressTimeoutMs: number;
  /**
   * While a hand-off awaits its aggregation, its peers are pinged this often, ms (the authors' PING_INTERVAL,
   * 1 s); one that does not answer is known gone and the hand-off is repeated at once (0: no probes).
   */
  readonly probeEveryMs: number;
}
