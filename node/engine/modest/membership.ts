/**
 * One MoDeST peer's membership state (ALGORITHMS.md §3.3): its view, the joins it holds back until its next
 * send, its own entry and membership index, and the sample order of a round. The rules are the pure ones of
 * view.ts; this class adds the MD5 digest (node:crypto) and the peer-id bytes (`peerIdBytes`),
 * and keeps the highest known round without rescanning the view.
 */
import { createHash } from 'node:crypto';
import {
  candidates, derivedSample, mergeEntry, sampleOrder, type MembershipStatus, type View, type ViewEntry,
} from './view.js';
import { peerIdFromString } from '@libp2p/peer-id';
import type { MembershipAdvertisement } from '../../network.js';
import type { EngineContext } from '../context.js';

/** MD5, as the authors' sample manager (§3.1). */
export const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

const utf8 = new TextEncoder();

/**
 * The bytes that stand for a peer id in MoDeST's sample order (§3.1 `pk_bytes`, §8): for a libp2p id its
 * multihash bytes (`peerIdFromString(id).toMultihash().bytes`, the identity of the public key, as the authors
 * hash the raw key); for anything else (virtual ids such as 'v0001') the id string's UTF-8 bytes. Every peer
 * applies the same rule, so all derive the same order.
 */
export function peerIdBytes(id: string): Uint8Array {
  try {
    return peerIdFromString(id).toMultihash().bytes;
  } catch {
    return utf8.encode(id);
  }
}

/** Peer ids whose byte form is remembered (ids are few and stable; the cap bounds a hostile view). */
const MAX_CACHED_IDS = 100_000;

export class Membership {
  private readonly view: View = new Map();
  private readonly pending = new Map<string, ViewEntry>();
  private readonly idBytes = new Map<string, Uint8Array>();
  private highest = 0;
  /** When each member was last heard directly (announcement or frame), clock ms; see heard()/prune(). */
  private readonly lastHeard = new Map<string, number>();
  /** Members silent for too long: kept in the view (it propagates), left out of samples until heard again. */
  private readonly silent = new Set<string>();
  /** Flushes of held-back joins so far, and the flush that applied each newcomer (§3.3; see joinedSinceFlush). */
  private flushes = 0;
  private readonly joinedAtFlush = new Map<string, number>();

  /** Every known peer starts as joined at index 0, active in round 0 (the shared initial view of §3.2 "Bootstrap"). */
  constructor(readonly self: string, initial: readonly string[], private readonly inactivityThreshold: number) {
    for (const id of [...initial, self]) this.view.set(id, { lastActive: 0, index: 0, status: 'join' });
  }

  /** Entries in the view, ours included (left peers too: their LEAVE must keep propagating). */
  get size(): number { return this.view.size; }
  /** Our own status as we advertise it. */
  get status(): MembershipStatus { return this.view.get(this.self)!.status; }
  /** Joins held back until our next send. */
  get pendingJoins(): number { return this.pending.size; }
  /** Highest lastActive in the view: part of the round estimate. */
  get highestRound(): number { return this.highest; }
  /** Flushes of held-back joins so far (each of our sends makes one). */
  get flushCount(): number { return this.flushes; }

  /**
   * Whether `id` entered the view through flush number `n` or a later one: a newcomer to any sample we handed
   * out with the send that made flush `n` (§3.3 keeps it out of that sample).
   */
  joinedSinceFlush(id: string, n: number): boolean { return (this.joinedAtFlush.get(id) ?? 0) >= Math.max(1, n); }

  /** A copy of one entry (tests, status). */
  entry(id: string): ViewEntry | undefined { return this.view.get(id); }

  /** Change our own status with the next membership index (the authors start at 1 and count up). */
  advertise(change: MembershipStatus): MembershipAdvertisement {
    const own = this.view.get(this.self)!;
    const index = own.index + 1;
    this.view.set(this.self, { ...own, index, status: change });
    return { change, index };
  }

  /**
   * An AdvertiseMembership from `from` (§3.3), seen at round estimate `round`: a join waits in `pending` (so
   * the newcomer is not drawn into the very next sample), a leave applies at once. A replayed, older
   * advertisement loses to what we hold (higher index wins).
   */
  onAdvertisement(from: string, a: MembershipAdvertisement, round: number): void {
    if (from === this.self) return;
    const entry: ViewEntry = { lastActive: round, index: a.index, status: a.change };
    if (a.change === 'join') this.pending.set(from, mergeEntry(this.pending.get(from), entry));
    else {
      this.pending.delete(from);
      this.set(from, mergeEntry(this.view.get(from), entry));
    }
  }

  /** Apply the held-back joins (called after each of our sends, §3.2 "flush pending JOINs"). */
  flushPending(): void {
    this.flushes++;
    for (const [id, e] of this.pending) {
      const was = this.view.get(id)?.status;
      this.set(id, mergeEntry(this.view.get(id), e));
      if (was !== 'join' && this.view.get(id)?.status === 'join') this.joinedAtFlush.set(id, this.flushes);
    }
    this.pending.clear();
  }

  /**
   * Merge a received view (§3.3). Our own entry is ours to write: if the remote view claims a newer index
   * for us (a stale LEAVE after a restart), we take the next index, so our next piggybacked view wins.
   */
  merge(entries: Iterable<readonly [string, ViewEntry]>): void {
    for (const [id, e] of entries) {
      if (id === this.self) {
        const own = this.view.get(this.self)!;
        if (e.index > own.index || (e.index === own.index && e.status !== own.status)) this.view.set(this.self, { ...own, index: e.index + 1 });
        continue;
      }
      this.set(id, mergeEntry(this.view.get(id), e));
    }
  }

  /** Activity update (§3.3): raise a known peer's lastActive to `round`. */
  touch(id: string, round: number): void {
    const e = this.view.get(id);
    if (e !== undefined && round > e.lastActive) this.set(id, { ...e, lastActive: round });
  }

  /**
   * A live swarm (ours, beside §3.3): `id` announced itself or sent us a frame at `now` (clock ms), in
   * round `round`. An unknown peer joins as if it had advertised JOIN (held back until our next send), so a
   * daemon learns its members from announcements without a configured list; a silent one is back.
   */
  heard(id: string, round: number, now: number): void {
    if (id === this.self) return;
    this.lastHeard.set(id, now);
    this.silent.delete(id);
    if (this.view.has(id)) this.touch(id, round);
    else if (!this.pending.has(id)) this.pending.set(id, { lastActive: round, index: 0, status: 'join' });
  }

  /**
   * Prune members not heard for `silenceMs` (clock ms): a left one leaves the view (its LEAVE had that long
   * to spread), a silent one leaves the samples until it is heard again (a crash does not announce a
   * LEAVE). A member we never heard directly is timed from the first prune that sees it. Returns what changed.
   */
  prune(now: number, silenceMs: number): { left: string[]; silent: string[] } {
    const out = { left: [] as string[], silent: [] as string[] };
    for (const id of this.view.keys()) if (id !== this.self && !this.lastHeard.has(id)) this.lastHeard.set(id, now);
    for (const [id, at] of this.lastHeard) {
      if (now - at <= silenceMs) continue;
      if (this.view.get(id)?.status === 'leave') {
        this.view.delete(id);
        this.lastHeard.delete(id);
        this.silent.delete(id);
        out.left.push(id);
      } else if (!this.silent.has(id)) {
        this.silent.add(id);
        out.silent.push(id);
      }
    }
    return out;
  }

  /** Candidates of sample `round`, in MD5 order (§3.1); we are one while we have not left. */
  order(round: number): string[] {
    const self = this.status === 'join' ? this.self : undefined;
    const ids = candidates(this.view, round, this.inactivityThreshold, self).filter((id) => !this.silent.has(id));
    return sampleOrder(ids, round, md5, (id) => this.bytesOf(id));
  }

  /** How many candidates sample `round` has (the length of order(round), without hashing). */
  candidateCount(round: number): number {
    const self = this.status === 'join' ? this.self : undefined;
    return candidates(this.view, round, this.inactivityThreshold, self).filter((id) => !this.silent.has(id)).length;
  }

  /** The first `count` of the order: the sample every peer with this view derives without pinging. */
  derived(round: number, count: number): string[] {
    return derivedSample(this.order(round), count);
  }

  /** The view as it stands, for a frame (the network encodes it when the frame is sent). */
  entries(): ReadonlyMap<string, ViewEntry> {
    return this.view;
  }

  private set(id: string, e: ViewEntry): void {
    this.view.set(id, e);
    if (e.lastActive > this.highest) this.highest = e.lastActive;
  }

  private bytesOf(id: string): Uint8Array {
    let b = this.idBytes.get(id);
    if (b === undefined) {
      b = peerIdBytes(id);
      if (this.idBytes.size < MAX_CACHED_IDS) this.idBytes.set(id, b);
    }
    return b;
  }
}

/**
 * A live swarm (ctx.memberSilenceMs set: the daemon): `peer`, heard from in `round`, is a member (an unknown
 * one joins as if it advertised JOIN), and members not heard for memberSilenceMs are pruned. Simulations: nothing.
 */
export function heardLive(view: Membership, peer: string, round: number, ctx: Pick<EngineContext, 'memberSilenceMs' | 'clock' | 'logger'>): void {
  if (ctx.memberSilenceMs === undefined) return;
  view.heard(peer, round, ctx.clock.now());
  pruneSilent(view, ctx);
}

/** Prune members not heard for ctx.memberSilenceMs (Membership.prune), logging what changed; simulations: nothing. */
export function pruneSilent(view: Membership, ctx: Pick<EngineContext, 'memberSilenceMs' | 'clock' | 'logger'>): void {
  const silenceMs = ctx.memberSilenceMs;
  if (silenceMs === undefined) return;
  const { left, silent } = view.prune(ctx.clock.now(), silenceMs);
  if (left.length + silent.length > 0) ctx.logger.info({ left, silent, silenceMs }, 'MoDeST members pruned (left, or not heard from)');
}
