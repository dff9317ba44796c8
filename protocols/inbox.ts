/**
 * A bounded inbox of received items keyed by (round, step, sender) (DESIGN.md "Wire protocol": at most one
 * pending frame per sender per round and step). Synchronous rounds wait on `collect`; asynchronous gossip
 * registers a listener instead and nothing is buffered. No libp2p, no timers of its own: deadlines come in
 * as AbortSignals, so it is tested without sockets.
 */
import { deadline } from '../node/deadline.js';
import { AbortError } from '../node/errors.js';
import { DEFAULT_COLLECT_TIMEOUT_MS, DEFAULT_INBOX_MAX_BYTES, silentLogger } from './constants.js';
import type { InboxRejectReason, Logger } from './constants.js';

/** One buffered item with its key and its encoded size. */
export interface InboxItem<T> {
  readonly from: string;
  readonly round: number;
  readonly step: number;
  /** Encoded size, bytes: what the byte bound counts. */
  readonly bytes: number;
  readonly item: T;
}

/** Tunables of an inbox. */
export interface InboxInit {
  /** Total bytes buffered before `put` answers 'inbox-full'; default `DEFAULT_INBOX_MAX_BYTES`. */
  maxBytes?: number;
  logger?: Logger;
}

/**
 * `signal` is the round deadline: when it aborts, `collect` resolves with what arrived (`timedOut: true`).
 * `stop` is cancellation (the peer stops): when it aborts, `collect` rejects with AbortError and leaves the
 * items in place. With no `signal`, the deadline is `DEFAULT_COLLECT_TIMEOUT_MS`.
 */
export interface InboxCollectOptions {
  signal?: AbortSignal;
  stop?: AbortSignal;
}

/** What `collect` resolves with. */
export interface CollectResult<T> {
  /** Every item of the key, those of unlisted senders included, sorted by sender id (code-unit order). */
  readonly items: InboxItem<T>[];
  /** True when the deadline passed (or the round was discarded) before every listed sender was present. */
  readonly timedOut: boolean;
  /** Listed senders without an item, sorted. */
  readonly missing: string[];
}

/** `put` outcome: 'accepted' or the counted reason. */
export type PutOutcome = 'accepted' | InboxRejectReason;

interface Waiter<T> {
  readonly key: string;
  readonly from: readonly string[];
  finish(timedOut: boolean): void;
}

const keyOf = (round: number, step: number): string => `${round}:${step}`;
const roundOfKey = (key: string): number => Number(key.slice(0, key.indexOf(':')));
const bySender = (a: { from: string }, b: { from: string }): number => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0);

/**
 * The inbox. Rejection reasons: 'duplicate' (a second item from the same sender for the same round and
 * step; the first is kept), 'inbox-full' (the byte bound would be exceeded), 'stale' (the round was
 * discarded or the key was already collected, so nobody can ever read it).
 */
export class Inbox<T> {
  private readonly maxBytes: number;
  private readonly log: Logger;
  private readonly buckets = new Map<string, Map<string, InboxItem<T>>>();
  private readonly collected = new Map<string, number>();
  private readonly waiters = new Set<Waiter<T>>();
  private readonly listeners = new Set<(item: InboxItem<T>) => void>();
  private readonly rejected: Record<InboxRejectReason, number> = { duplicate: 0, 'inbox-full': 0, stale: 0 };
  private floorRound = -Infinity;
  private bufferedBytes = 0;

  constructor(init: InboxInit = {}) {
    this.maxBytes = init.maxBytes ?? DEFAULT_INBOX_MAX_BYTES;
    if (!(this.maxBytes > 0)) throw new RangeError(`inbox maxBytes must be > 0, got ${this.maxBytes}`);
    this.log = init.logger ?? silentLogger;
  }

  /** Offer one item. In async mode (a listener is registered) it is handed over instead of buffered. */
  /** Whether put() would accept an item now (no side effects): a receive path asks before it picks a buffer. */
  wouldAccept(from: string, round: number, step: number, bytes: number): boolean {
    const key = keyOf(round, step);
    if (round < this.floorRound || this.collected.has(key)) return false;
    if (this.listeners.size > 0) return true;
    return this.buckets.get(key)?.has(from) !== true && this.bufferedBytes + bytes <= this.maxBytes;
  }

  put(from: string, round: number, step: number, bytes: number, item: T): PutOutcome {
    const key = keyOf(round, step);
    if (round < this.floorRound || this.collected.has(key)) return this.reject('stale', from, key);
    const entry: InboxItem<T> = { from, round, step, bytes, item };
    if (this.listeners.size > 0) {
      for (const listener of [...this.listeners]) {
        try {
          listener(entry);
        } catch (err) {
          this.log.error({ err, from, key }, 'inbox listener threw');
        }
      }
      return 'accepted';
    }
    let bucket = this.buckets.get(key);
    if (bucket?.has(from)) return this.reject('duplicate', from, key);
    if (this.bufferedBytes + bytes > this.maxBytes) return this.reject('inbox-full', from, key);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(key, bucket);
    }
    bucket.set(from, entry);
    this.bufferedBytes += bytes;
    for (const waiter of [...this.waiters]) {
      if (waiter.key === key && waiter.from.every((f) => bucket.has(f))) waiter.finish(false);
    }
    return 'accepted';
  }

  /**
   * Wait until every sender in `from` has an item for (round, step), or until `options.signal` aborts;
   * then remove and return every item of that key. Later puts for the key answer 'stale'. Rejects with
   * AbortError only when `options.stop` aborts.
   */
  collect(round: number, step: number, from: readonly string[], options: InboxCollectOptions = {}): Promise<CollectResult<T>> {
    const { stop } = options;
    if (stop?.aborted) return Promise.reject(new AbortError('collect was stopped'));
    const key = keyOf(round, step);
    const signal = options.signal ?? deadline(DEFAULT_COLLECT_TIMEOUT_MS);
    return new Promise<CollectResult<T>>((resolve, reject) => {
      const cleanup = (): void => {
        this.waiters.delete(waiter);
        signal.removeEventListener('abort', onDeadline);
        stop?.removeEventListener('abort', onStop);
      };
      const waiter: Waiter<T> = {
        key,
        from,
        finish: (timedOut) => {
          cleanup();
          resolve(this.take(key, from, timedOut));
        },
      };
      const onDeadline = (): void => waiter.finish(true);
      const onStop = (): void => {
        cleanup();
        reject(new AbortError('collect was stopped'));
      };
      const bucket = this.buckets.get(key);
      if (round < this.floorRound || from.every((f) => bucket?.has(f) === true)) {
        resolve(this.take(key, from, round < this.floorRound && from.length > 0));
        return;
      }
      if (signal.aborted) {
        resolve(this.take(key, from, true));
        return;
      }
      this.waiters.add(waiter);
      signal.addEventListener('abort', onDeadline, { once: true });
      stop?.addEventListener('abort', onStop, { once: true });
    });
  }

  /**
   * Drop every buffered item of rounds before `round`, and answer 'stale' to later ones. A pending collect
   * of such a round resolves at once with what it had (`timedOut: true`).
   */
  discardBefore(round: number): void {
    if (round <= this.floorRound) return;
    this.floorRound = round;
    for (const waiter of [...this.waiters]) {
      if (roundOfKey(waiter.key) < round) waiter.finish(true);
    }
    for (const [key, bucket] of this.buckets) {
      if (roundOfKey(key) >= round) continue;
      for (const entry of bucket.values()) this.bufferedBytes -= entry.bytes;
      this.buckets.delete(key);
    }
    for (const [key, keyRound] of this.collected) if (keyRound < round) this.collected.delete(key);
  }

  /**
   * Asynchronous mode: while at least one listener is registered, each accepted item goes to the listeners
   * and is not buffered (so the byte bound and the duplicate check do not apply). Items buffered before
   * stay collectable. Returns an unsubscribe.
   */
  onItem(listener: (item: InboxItem<T>) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Bytes currently buffered. */
  get bytes(): number {
    return this.bufferedBytes;
  }

  /** Items currently buffered. */
  get size(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.size;
    return n;
  }

  /** Rejections so far, by reason. */
  rejections(): Readonly<Record<InboxRejectReason, number>> {
    return { ...this.rejected };
  }

  private take(key: string, from: readonly string[], timedOut: boolean): CollectResult<T> {
    const bucket = this.buckets.get(key);
    this.buckets.delete(key);
    const round = roundOfKey(key);
    if (round >= this.floorRound) this.collected.set(key, round);
    const items = bucket === undefined ? [] : [...bucket.values()].sort(bySender);
    for (const entry of items) this.bufferedBytes -= entry.bytes;
    const missing = from.filter((f) => bucket?.has(f) !== true).sort();
    return { items, timedOut: timedOut && missing.length > 0, missing };
  }

  private reject(reason: InboxRejectReason, from: string, key: string): InboxRejectReason {
    this.rejected[reason]++;
    this.log.trace({ from, key, reason }, 'inbox rejected an item');
    return reason;
  }
}
