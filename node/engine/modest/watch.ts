/**
 * MoDeST liveness (ours; ALGORITHMS.md §3.2 HEAD retries a failed aggregator after AggAck): a peer that
 * handed a model on watches for the aggregation it should lead to. If it does not show up in time, the
 * peer repeats its hand-off to whoever answers now, so a crashed aggregator or a round whose trainers all
 * died does not stop the swarm. "In time" adapts: a round as slow as the slowest one seen lately (silent
 * peers cost a ping timeout each) is no stall. "Lately": the slowest round's weight decays by
 * SLOWEST_DECAY a round, so one slow round long ago (a swarm still filling up, a stall and its recovery) does
 * not slow every later recovery (a soak's 22 s first round made later hand-offs wait 27 s, not 20 s, and a
 * split aggregation cost 39 s).
 *
 * Known gone (ours, after HEAD's "on failure: mark agg LEAVE, re-run determine_available and forward again"): a
 * crashed aggregator sends no AggAck(false), so the hand-off's peers are probed while the first watched index
 * is awaited, every probeEveryMs (the authors' PING_INTERVAL, 1 s); a peer that misses GONE_AFTER_FAILED_PROBES
 * probes in a row (refused or timed out) is known gone, and the hand-off is repeated at once instead of at the
 * progress timeout. The
 * repeat pings along the order again, so a peer that was only slow to answer is taken again (and ignores the
 * duplicate) and only a gone one is replaced. A soak lost 20 s this way on every SIGKILLed aggregator.
 *
 * Ahead (ours, §3.1 "first a peers of order(r) that answer a ping" re-applied while we wait): the view may
 * change after the hand-off (a join is applied at our next send, §3.3), or a peer of the order did not answer
 * its availability ping in time (a daemon busy starting up). Then the peers the order puts first are not the
 * ones we handed to, and the swarm splits: some trainers' models go to one aggregator, the rest to another,
 * neither reaches minModels, and both wait out their timeouts (a soak: 2 + 2 models of s = 4 at a join, 20 s
 * lost). So the peers the current view would hand to first and we did not are probed with the others; once one
 * answers, the hand-off is repeated at once (its pings then reach it first).
 */
import { anySignal } from '../../deadline.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { EngineTasks } from './tasks.js';

/**
 * A peer is known gone after this many probes in a row went unanswered: a SIGKILLed peer refuses every one
 * (gone in about two probe intervals), while a live peer on a starved machine may miss one ping (a loaded soak:
 * single 2 s ping timeouts every few seconds, each a needless second aggregator for the round).
 */
export const GONE_AFTER_FAILED_PROBES = 2;

/** Consecutive unanswered probes per peer. */
export class FailedProbes {
  private readonly failures = new Map<string, number>();
  /** Record one probe of `peer`; true once it went unanswered GONE_AFTER_FAILED_PROBES times in a row. */
  count(peer: string, answered: boolean): boolean {
    const n = answered ? 0 : (this.failures.get(peer) ?? 0) + 1;
    this.failures.set(peer, n);
    return n >= GONE_AFTER_FAILED_PROBES;
  }
}

/** Repeats of a hand-off when no progress follows, per watch. */
export const MAX_RESENDS = 3;
/**
 * Per watch, hand-offs repeated because a peer ahead answers. Their own budget, not MAX_RESENDS: a peer ahead
 * that our repeat misses again (its availability ping timed out) keeps answering probes, and repeats at every
 * probe would spend every resend in seconds, leaving none for the progress timeout (aggregators really gone).
 */
export const MAX_AHEAD_REPEATS = 1;
/** Per aggregated index, the remembered slowest round duration shrinks by this factor (a newer, slower one replaces it). */
export const SLOWEST_DECAY = 0.9;

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
  /** Between probes of a hand-off's peers, ms (0: no probes; only the progress timeout repeats a hand-off). */
  probeEveryMs?: number;
}

/** The peers a hand-off went to and how to ask whether they are still there (resolves false: known gone). */
export interface HandOffProbe {
  /** The peers of the latest hand-off (it changes when the hand-off is repeated), ourselves excluded. */
  peers: () => readonly string[];
  /** Peers the current view would hand to first that the latest hand-off did not reach, ourselves excluded (none: empty). */
  ahead?: () => readonly string[];
  alive: (peer: string) => Promise<boolean>;
}

/** Why a probed wait ended early: hand-off peers known gone, or peers ahead in the order that answer now. */
export interface ProbeFinding { gone: string[]; ahead: string[] }

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
      const rounds = level - this.seen.level;
      if (this.seen.level > 0) this.slowestMs = Math.max(this.slowestMs * SLOWEST_DECAY ** rounds, (now - this.seen.at) / rounds);
      this.seen = { level, at: now };
    }
    for (const w of [...this.watchers]) if (level >= w.k) w.controller.abort();
  }

  /** How long a watch waits for the first index it watches: max(baseMs, 2 × the slowest round seen lately), ms. */
  firstWaitMs(): number {
    return Math.max(this.init.baseMs, 2 * this.slowestMs);
  }

  /**
   * Watch the aggregations of indices `first`..`last` in turn: the first gets max(baseMs, 2 × the slowest
   * round), each later one twice the one before (it needs a whole round more), counted from when the one
   * before showed up. When one is late, run `again` (at most MAX_RESENDS times in all). With `probe`, the
   * hand-off's peers are probed while `first` is awaited; one that is gone makes `again` run at once, and so
   * (at most MAX_AHEAD_REPEATS times, outside MAX_RESENDS) does a peer ahead that answers.
   */
  watch(first: number, last: number, again: () => Promise<unknown>, probe?: HandOffProbe): void {
    const { clock, tasks, logger, signal, level, active } = this.init;
    if (first > last) return;
    tasks.track((async () => {
      let resends = 0, aheadRepeats = 0;
      for (let k = first; k <= last && resends < MAX_RESENDS && active();) {
        if (level() >= k) { k++; continue; }
        const w = { k, controller: new AbortController() };
        this.watchers.add(w);
        let found: ProbeFinding = { gone: [], ahead: [] };
        try {
          const wait = this.firstWaitMs() * 2 ** (k - first);
          const waiting = anySignal(signal, w.controller.signal);
          if (k === first && probe !== undefined) found = await this.probeUntil(wait, probe, waiting, aheadRepeats < MAX_AHEAD_REPEATS);
          else await clock.sleep(wait, { signal: waiting });
        } catch (err) {
          if (signal.aborted) throw err;
        } finally {
          this.watchers.delete(w);
        }
        if (level() >= k || !active()) continue;
        if (found.gone.length === 0 && found.ahead.length > 0) aheadRepeats++;
        else resends++;
        if (found.gone.length > 0) logger.info({ index: k, resends, gone: found.gone }, 'a peer of the hand-off is gone; handing off again');
        else if (found.ahead.length > 0) logger.info({ index: k, resends, ahead: found.ahead }, 'a peer ahead in the order answers; handing off again');
        else logger.info({ index: k, resends }, 'no aggregation followed; handing off again');
        await again();
      }
    })());
  }

  /**
   * Wait up to `ms` (rejects when `waiting` aborts), probing the hand-off's peers and the peers ahead of them
   * every probeEveryMs; returns the hand-off peers found gone, or else the peers ahead that answered (both
   * empty: the whole wait passed with every hand-off peer answering and none ahead answering).
   */
  private async probeUntil(ms: number, probe: HandOffProbe, waiting: AbortSignal, probeAhead: boolean): Promise<ProbeFinding> {
    const { clock } = this.init;
    const every = this.init.probeEveryMs ?? 0;
    const end = clock.now() + ms;
    const failed = new FailedProbes();
    for (;;) {
      const left = end - clock.now();
      if (left <= 0) return { gone: [], ahead: [] };
      await clock.sleep(every > 0 ? Math.min(every, left) : left, { signal: waiting });
      if (every <= 0 || clock.now() >= end) continue;
      const peers = [...probe.peers()];
      const ahead = probeAhead ? (probe.ahead?.() ?? []).filter((p) => !peers.includes(p)) : [];
      const answers = await Promise.all([...peers, ...ahead].map((p) => probe.alive(p)));
      waiting.throwIfAborted();
      const gone = peers.filter((p, i) => failed.count(p, answers[i]!));
      const answering = ahead.filter((_, i) => answers[peers.length + i]!);
      if (gone.length > 0 || answering.length > 0) return { gone, ahead: gone.length > 0 ? [] : answering };
    }
  }
}
