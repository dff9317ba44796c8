/**
 * The virtual clock of the simulator (STYLE.md §3.2: the node never delivers; the simulator orders events
 * and jumps the clock). One `VirtualScheduler` holds the event queue of the whole simulated system; each
 * peer sees it through its own `Clock` (`scheduler.clock(owner)`).
 *
 * Events fire in one total order: (virtual time, owner, per-owner sequence number). Not a global sequence:
 * peers' code interleaves in real time whenever worker-pool tasks finish in a nondeterministic order, but
 * each peer schedules its own events in an order fixed by its own (deterministic) code, so the triple is
 * reproducible. Work done outside the event loop (a worker-pool task) is `defer`red: its event takes its
 * key when the work is submitted and fires only once the work settled, so results reach the peers in key
 * order whatever the real completion order.
 *
 * The driver (`run`) repeats: let every pending promise chain run (a few `setImmediate` turns), then take
 * the smallest event; if its work is still in flight, wait for it; otherwise set `now` to its time and fire
 * it, together with every plain (not deferred) event queued right behind it at the same time: one batch,
 * one drain. Time never advances while an earlier-keyed result is outstanding, and events keyed before
 * every outstanding task still fire, so many peers' tasks run in the pool at once.
 *
 * Why batches stay deterministic: a batch is decided only by the queue, never by which work happens to
 * have finished (a deferred event always fires alone, after a drain), and the queue after a drain is the
 * same in every run. Within a batch, a later event fires before the promise continuations of an earlier
 * one, in the same order every run. Firing a batch of 500 deliveries at once also lets all the peers they
 * complete submit their next training together, so the pool is never fed one task at a time.
 */
import { AbortError } from '../../node/errors.js';
import type { Clock } from '../../node/clock.js';
import { deadlineOn, type ReleasableDeadline, type StartTimer } from '../../node/deadline.js';
import { SimulationStalledError } from './errors.js';

/** `setImmediate` turns the driver waits after each batch of events, so promise chains (and one level of immediates) settle. */
export const DEFAULT_DRAIN_TURNS = 2;

/** A queued event. `cancel()` is idempotent; a cancelled event never fires. */
export interface VirtualEvent {
  readonly time: number;
  readonly owner: number;
  readonly seq: number;
  readonly cancelled: boolean;
  cancel(): void;
}

/** How deferred work ended. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Tunables of the scheduler. */
export interface VirtualSchedulerInit {
  /** Virtual time at start, ms; default 0. */
  start?: number;
  /** See DEFAULT_DRAIN_TURNS. */
  drainTurns?: number;
}

/** Options of `run`. */
export interface RunOptions {
  /** Aborts the driver between two events (it rejects with AbortError). */
  signal?: AbortSignal;
}

class Entry implements VirtualEvent {
  cancelled = false;
  queued = true;
  ready = true;
  /** Made by `defer`: fires alone (its readiness varies from run to run, see the module comment). */
  deferred = false;
  whenReady: Promise<void> | null = null;
  constructor(readonly time: number, readonly owner: number, readonly seq: number, public fire: (() => void) | null, private readonly counts: { cancelledQueued: number }) {}
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.fire = null;
    if (this.queued) this.counts.cancelledQueued++;
  }
}

const before = (a: Entry, b: Entry): boolean =>
  a.time !== b.time ? a.time < b.time : a.owner !== b.owner ? a.owner < b.owner : a.seq < b.seq;

/** Cancelled events are swept out of the queue once there are more than this many and they are over half of it. */
const COMPACT_MIN_CANCELLED = 1024;

/**
 * A timeout's event holds its controller weakly; the returned signal holds it strongly. When nobody
 * references the signal any more (the round ended long before its deadline), it is collected and this
 * cancels its event, so deadlines far longer than a round do not pile up (about 2 KB each otherwise).
 */
const abandonedTimeouts = new FinalizationRegistry<VirtualEvent>((event) => event.cancel());
const KEEP_CONTROLLER = Symbol('murmur:virtual-timeout-controller');

/** The timeout reason AbortSignal.timeout uses, so callers that inspect `reason.name` behave alike. */
const timeoutReason = (): DOMException => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/** The event queue, the virtual time and the driver loop of one simulation. */
export class VirtualScheduler {
  private time: number;
  private readonly drainTurns: number;
  private heap: Entry[] = [];
  private readonly seqs: number[] = [];
  private readonly counts = { cancelledQueued: 0 };
  private working = 0;
  private firedCount = 0;
  private batchCount = 0;

  constructor(init: VirtualSchedulerInit = {}) {
    this.time = init.start ?? 0;
    this.drainTurns = init.drainTurns ?? DEFAULT_DRAIN_TURNS;
    if (!Number.isFinite(this.time)) throw new RangeError(`virtual start time must be finite, got ${this.time}`);
    if (!Number.isInteger(this.drainTurns) || this.drainTurns < 1) throw new RangeError(`drainTurns must be an integer ≥ 1, got ${this.drainTurns}`);
  }

  /** Virtual time, ms. */
  now(): number {
    return this.time;
  }

  /** Events fired so far. */
  get fired(): number {
    return this.firedCount;
  }

  /** Batches fired so far (each followed by one drain). */
  get batches(): number {
    return this.batchCount;
  }

  /** Queued events, cancelled ones not yet discarded included. */
  get queued(): number {
    return this.heap.length;
  }

  /** Deferred work still running in real time. */
  get inFlight(): number {
    return this.working;
  }

  /** Queue `fire` at now + `delayMs` (finite, ≥ 0) as the next event of `owner` (an integer ≥ 0). */
  schedule(owner: number, delayMs: number, fire: () => void): VirtualEvent {
    const entry = new Entry(this.timeAfter(delayMs), owner, this.nextSeq(owner), fire, this.counts);
    this.push(entry);
    return entry;
  }

  /**
   * Queue an event of `owner` at now + `delayMs` that fires only once `work` has settled, with its outcome.
   * The key is taken now, so the result is delivered in the same order in every run.
   */
  defer<T>(owner: number, delayMs: number, work: Promise<T>, fire: (outcome: Settled<T>) => void): VirtualEvent {
    let outcome: Settled<T> | null = null;
    const entry = new Entry(this.timeAfter(delayMs), owner, this.nextSeq(owner), () => fire(outcome!), this.counts);
    entry.ready = false;
    entry.deferred = true;
    this.working++;
    const settle = (settled: Settled<T>): void => {
      outcome = settled;
      entry.ready = true;
      entry.whenReady = null;
      this.working--;
    };
    entry.whenReady = work.then((value) => settle({ ok: true, value }), (error: unknown) => settle({ ok: false, error }));
    this.push(entry);
    return entry;
  }

  /** The `Clock` of one owner: its sleeps and timeouts are its events. */
  clock(owner: number): VirtualClock {
    return new VirtualClock(this, owner);
  }

  /**
   * Drive the simulation until `done()` holds (checked whenever the system is quiescent). Rejects with
   * SimulationStalledError when no event is left and `done()` is still false, AbortError on `signal`, or
   * with whatever an event callback threw.
   */
  async run(done: () => boolean, options: RunOptions = {}): Promise<void> {
    for (;;) {
      await this.drain();
      if (done()) return;
      if (options.signal?.aborted === true) throw new AbortError('the simulation driver was aborted');
      if (!(await this.fireNext())) throw new SimulationStalledError(this.time, 'no event is queued but the simulation is not done');
    }
  }

  /** Settle pending chains, then fire the next batch (waiting for its work if needed). False when the queue is empty. */
  async step(): Promise<boolean> {
    await this.drain();
    return this.fireNext();
  }

  /** Let every pending promise chain run: `drainTurns` setImmediate turns. */
  async drain(): Promise<void> {
    for (let i = 0; i < this.drainTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Cancel every queued event (the simulation is over; deferred work still running is ignored). */
  clear(): void {
    for (const e of this.heap) { e.queued = false; e.cancel(); }
    this.heap = [];
    this.counts.cancelledQueued = 0;
  }

  /** Fire the next batch (see the module comment), waiting for its head's work if needed. False when the queue is empty. */
  private async fireNext(): Promise<boolean> {
    let head = this.live();
    while (head !== undefined && !head.ready) {
      // Nothing the peers do runs while we wait (only work settling), so no drain is needed before firing.
      await head.whenReady;
      head = this.live();
    }
    if (head === undefined) return false;
    this.batchCount++;
    this.fire(head);
    for (let next = this.live(); next !== undefined && !next.deferred && next.time === head.time; next = this.live()) this.fire(next);
    return true;
  }

  /** The head of the queue once cancelled events are off it; undefined when empty. */
  private live(): Entry | undefined {
    if (this.counts.cancelledQueued > COMPACT_MIN_CANCELLED && 2 * this.counts.cancelledQueued > this.heap.length) this.compact();
    let head = this.heap[0];
    while (head?.cancelled === true) { this.pop(); head = this.heap[0]; }
    return head;
  }

  private fire(head: Entry): void {
    this.pop();
    this.time = head.time;
    this.firedCount++;
    const fire = head.fire!;
    head.fire = null;
    fire();
  }

  private timeAfter(delayMs: number): number {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`event delay must be a finite number of ms ≥ 0, got ${delayMs}`);
    return this.time + delayMs;
  }

  private nextSeq(owner: number): number {
    if (!Number.isInteger(owner) || owner < 0) throw new RangeError(`event owner must be an integer ≥ 0, got ${owner}`);
    const seq = this.seqs[owner] ?? 0;
    this.seqs[owner] = seq + 1;
    return seq;
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  /** Drop cancelled entries (a sorted array is a valid heap). */
  private compact(): void {
    for (const e of this.heap) if (e.cancelled) e.queued = false;
    this.heap = this.heap.filter((e) => !e.cancelled).sort((a, b) => (before(a, b) ? -1 : 1));
    this.counts.cancelledQueued = 0;
  }

  private pop(): void {
    const h = this.heap;
    const first = h[0]!;
    first.queued = false;
    if (first.cancelled) this.counts.cancelledQueued--;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

/**
 * One owner's `Clock` on the scheduler: its sleeps and timeouts are events of that owner. An infinite delay
 * never fires (only the signal ends a sleep); a negative or NaN delay counts as 0, as with setTimeout.
 */
export class VirtualClock implements Clock {
  /** The scheduler as a deadline timer: an event of this owner, cancelled on release. */
  private readonly timer: StartTimer;

  constructor(private readonly scheduler: VirtualScheduler, readonly owner: number) {
    this.timer = (ms, fire) => {
      const event = scheduler.schedule(owner, ms, fire);
      return () => event.cancel();
    };
  }

  now(): number {
    return this.scheduler.now();
  }

  sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(new AbortError('sleep was aborted')); return; }
      let event: VirtualEvent | null = null;
      const onAbort = (): void => { event?.cancel(); reject(new AbortError('sleep was aborted')); };
      if (ms !== Infinity) {
        event = this.scheduler.schedule(this.owner, ms > 0 ? ms : 0, () => { signal?.removeEventListener('abort', onAbort); resolve(); });
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * A signal aborted (reason: a TimeoutError DOMException) by an event of this owner after `ms`, or when
   * `parent` aborts. Like AbortSignal.timeout, it stays alive while it has abort listeners; once nobody
   * references it, its event is cancelled (see abandonedTimeouts), which no one can observe.
   */
  timeout(ms: number, parent?: AbortSignal): AbortSignal {
    const controller = new AbortController();
    // Always a composite signal: Node keeps a composite with abort listeners alive until it aborts.
    const signal = AbortSignal.any(parent === undefined ? [controller.signal] : [controller.signal, parent]);
    if (ms === Infinity) return signal;
    Object.defineProperty(signal, KEEP_CONTROLLER, { value: controller });
    const ref = new WeakRef(controller);
    const event = this.scheduler.schedule(this.owner, ms > 0 ? ms : 0, () => ref.deref()?.abort(timeoutReason()));
    abandonedTimeouts.register(signal, event);
    return signal;
  }

  /**
   * As node/deadline.ts's releasableDeadline, on virtual time: an event of this owner after `ms` (Infinity:
   * none) aborts the signal with a TimeoutError; a parent's abort cancels the event. `release()` cancels
   * the event and leaves the parents at once; unreleased, the event stays queued until its time.
   */
  deadline(ms: number, ...parents: Array<AbortSignal | undefined>): ReleasableDeadline {
    return deadlineOn(this.timer, ms > 0 ? ms : 0, parents);
  }
}
