/**
 * MoDeST liveness (ours; ALGORITHMS.md §3.2 HEAD retries a failed aggregator after AggAck): a peer that
 * handed a model on watches for the aggregation it should lead to. If it does not show up in time, the
 * peer repeats its hand-off to whoever answers now, so a crashed aggregator or a round whose trainers all
 * died does not stop the swarm. "In time" adapts: a round as slow as the slowest one seen so far (silent
 * peers cost a ping timeout each) is no stall.
 */
import { anySignal } from '../../deadline.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { EngineTasks } from './tasks.js';

/** Repeats of a hand-off when no progress follows, per watch. */
export const MAX_RESENDS = 3;

export interface ProgressWatchInit {
  clock: Clock;
  tasks: EngineTasks;
  logger: Logger;
  signal: AbortSignal;
  /** The shortest wait for the first watched index, ms (progressTimeoutMs). */
  baseMs: number;
  /** The highest sample index known to be aggregated. */
  level: () => number;
  /** False once the peer left: watches end. */
  active: () => boolean;
}

export class ProgressWatch {
  private readonly watchers = new Set<{ k: number; controller: AbortController }>();
  private seen = { level: 0, at: 0 };
  private slowestMs = 0;

  constructor(private readonly init: ProgressWatchInit) {}

  /** After any event: note how long rounds take, and release the watchers whose aggregation showed up. */
  onChange(): void {
    const level = this.init.level();
    if (level > this.seen.level) {
      const now = this.init.clock.now();
      if (this.seen.level > 0) this.slowestMs = Math.max(this.slowestMs, (now - this.seen.at) / (level - this.seen.level));
      this.seen = { level, at: now };
    }
    for (const w of [...this.watchers]) if (level >= w.k) w.controller.abort();
  }

  /**
   * Watch the aggregations of indices `first`..`last` in turn: the first gets max(baseMs, 2 × the slowest
   * round), each later one twice the one before (it needs a whole round more), counted from when the one
   * before showed up. When one is late, run `again` (at most MAX_RESENDS times in all).
   */
  watch(first: number, last: number, again: () => Promise<unknown>): void {
    const { clock, tasks, logger, signal, baseMs, level, active } = this.init;
    if (first > last) return;
    tasks.track((async () => {
      let resends = 0;
      for (let k = first; k <= last && resends < MAX_RESENDS && active();) {
        if (level() >= k) { k++; continue; }
        const w = { k, controller: new AbortController() };
        this.watchers.add(w);
        try {
          const wait = Math.max(baseMs, 2 * this.slowestMs) * 2 ** (k - first);
          await clock.sleep(wait, { signal: anySignal(signal, w.controller.signal) });
        } catch (err) {
          if (signal.aborted) throw err;
        } finally {
          this.watchers.delete(w);
        }
        if (level() >= k || !active()) continue;
        resends++;
        logger.info({ index: k, resends }, 'no aggregation followed; handing off again');
        await again();
      }
    })());
  }
}
