/**
 * The stall detector (issue 12, item 4): a peer that finishes no round for `factor` round timeouts is
 * stalled. It says so once at error level (naming the neighbours its round waits for), shows it in the
 * status payload (`stall`, rendered by `murmur status` as "stalled since … waiting for …") and exports
 * `murmur_round_stalled_seconds` (0 while rounds finish). A round that ends clears it, with an info line.
 * Before this, a frozen peer sat in phase 'exchanging' for minutes without a warn or error line.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from './clock.js';
import type { StallInfo } from './control/types.js';
import type { Logger } from './logger.js';

/** No finished round for this many round timeouts is a stall (issue 12). */
export const DEFAULT_STALL_FACTOR = 3;

export interface StallInit {
  /** The engine's round timeout (rounds.timeoutMs), ms. */
  roundTimeoutMs: number;
  /** Timeouts without a finished round before the peer counts as stalled; default 3. */
  factor?: number;
  /** How often the detector looks, ms; default a quarter of the round timeout (at most 5 s). */
  checkEveryMs?: number;
}

export interface StallComponents {
  clock: Clock;
  logger: Logger;
  /** The neighbours the current round waits for (empty when it waits for nobody or is not waiting). */
  waitingFor(): readonly string[];
}

export class StallDetector {
  private lastProgress: number;
  private stalledAt: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly limitMs: number;

  constructor(private readonly init: StallInit, private readonly components: StallComponents) {
    this.limitMs = (init.factor ?? DEFAULT_STALL_FACTOR) * init.roundTimeoutMs;
    this.lastProgress = components.clock.now();
  }

  /** Check periodically until stop(); the first check is one period after start. */
  start(): void {
    if (this.timer !== null) return;
    this.lastProgress = this.components.clock.now();
    const every = this.init.checkEveryMs ?? Math.min(5_000, Math.max(100, this.init.roundTimeoutMs / 4));
    this.timer = setInterval(() => this.check(), every);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A round finished: progress. Ends a stall (logged). */
  onRound(round: number): void {
    const now = this.components.clock.now();
    if (this.stalledAt !== null) {
      this.components.logger.info({ round, stalledMs: now - this.lastProgress }, 'round finished; no longer stalled');
      this.stalledAt = null;
    }
    this.lastProgress = now;
  }

  /** Look now: enter the stalled state (one error line) once no round finished for factor × timeout. */
  check(): StallInfo | null {
    const now = this.components.clock.now();
    if (this.stalledAt === null && now - this.lastProgress >= this.limitMs) {
      this.stalledAt = now;
      const info = this.snapshot()!;
      this.components.logger.error(info, `no round finished for ${info.timeouts} round timeouts: stalled`);
    }
    return this.snapshot();
  }

  /** The status payload's `stall` (null while rounds finish). */
  snapshot(): StallInfo | null {
    if (this.stalledAt === null) return null;
    const elapsed = this.components.clock.now() - this.lastProgress;
    return {
      since: new Date(this.lastProgress).toISOString(),
      waitingFor: [...this.components.waitingFor()],
      timeouts: Math.floor(elapsed / this.init.roundTimeoutMs),
    };
  }

  /** Seconds since the last finished round while stalled, else 0 (`murmur_round_stalled_seconds`). */
  stalledSeconds(): number {
    this.check();
    return this.stalledAt === null ? 0 : (this.components.clock.now() - this.lastProgress) / 1000;
  }
}

/** Register `murmur_round_stalled_seconds` on `registry`, read at every scrape (0 where no detector runs). */
export function registerStallGauge(registry: Registry, stalledSeconds: () => number): void {
  new Gauge({
    name: 'murmur_round_stalled_seconds',
    help: 'Seconds since the last finished round while the peer is stalled (no round for 3 round timeouts); 0 otherwise.',
    registers: [registry],
    collect() { this.set(stalledSeconds()); },
  });
}
