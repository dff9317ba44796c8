/**
 * Swarm announcements over gossipsub (DESIGN.md "Wire protocol"): topic `/murmur/<swarm>/announce/1`, one
 * small JSON object per message. A topic validator checks every message before gossipsub forwards it:
 * invalid ones are Reject (gossipsub then lowers the propagating peer's score), other swarms' are Ignore,
 * valid ones reach the listeners. An author that announces faster than ANNOUNCE_RATE_PER_S (after a burst of
 * ANNOUNCE_BURST) is rejected as 'flood': a flooder's score falls like an invalid sender's until gossipsub
 * graylists it, while honest peers' announcements keep flowing. MoDeST views are not here (protocols/membership.ts); MoDeST join/leave advertisements ride in the optional `membership` field.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipSub, Message } from '@libp2p/gossipsub';
import type { AbortOptions, PeerId, Startable } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Announcement } from '../node/network.js';
import { AbortError } from '../node/errors.js';
import { DEFAULT_FRAME_LIMITS, MAX_SWARM_BYTES } from './codec.js';
import {
  ANNOUNCE_BURST, ANNOUNCE_RATE_PER_S, announceTopic, MAX_ANNOUNCE_AUTHORS, MAX_ANNOUNCED_DEGREE, MAX_ANNOUNCEMENT_ADDRESS_CHARS, MAX_ANNOUNCEMENT_ADDRESSES,
  MAX_ANNOUNCEMENT_BYTES, silentLogger,
} from './constants.js';
import type { Logger } from './constants.js';
import { InvalidAnnouncementError, NotStartedError } from './errors.js';

/**
 * Why an announcement was refused: 'oversized' (over MAX_ANNOUNCEMENT_BYTES), 'malformed' (not UTF-8 JSON
 * of an object), 'bad-field' (a key missing, unknown, or of the wrong type or range), 'bad-address' (over
 * MAX_ANNOUNCEMENT_ADDRESSES, or one is not a multiaddr), 'foreign-swarm' (valid, but another swarm: ignored,
 * not penalised), 'flood' (valid, but its author is over the announcement rate limit).
 */
export type AnnouncementRejectReason = 'oversized' | 'malformed' | 'bad-field' | 'bad-address' | 'foreign-swarm' | 'flood';

/** `decodeAnnouncement` outcome. */
export type AnnouncementDecodeResult =
  | { ok: true; announcement: Announcement }
  | { ok: false; reason: AnnouncementRejectReason; detail: string };

const KEYS = ['swarm', 'round', 'degree', 'age', 'algorithm', 'layoutHash', 'addresses'] as const;
/** Keys that may be absent: `membership` (MoDeST join/leave, protocols/membership.ts); older peers never send it. */
const OPTIONAL_KEYS = ['membership'] as const;
const MEMBERSHIP_KEYS = ['change', 'index'];
const ALGORITHM_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_ALGORITHM_CHARS = 64;
const LAYOUT_HASH = /^[0-9a-f]{16}$/;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Encode as canonical JSON (fixed key order), without validating; see `decodeAnnouncement` for the rules. */
export function encodeAnnouncement(a: Announcement): Uint8Array {
  return utf8.encode(JSON.stringify({
    swarm: a.swarm, round: a.round, degree: a.degree, age: a.age, algorithm: a.algorithm,
    layoutHash: a.layoutHash, addresses: [...a.addresses],
    ...(a.membership !== undefined ? { membership: { change: a.membership.change, index: a.membership.index } } : {}),
  }));
}

const isUint = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/** Check the fields of a parsed object; returns a reason or null. */
function checkFields(o: Record<string, unknown>): { reason: AnnouncementRejectReason; detail: string } | null {
  const keys = Object.keys(o);
  const unknown = keys.filter((k) => !(KEYS as readonly string[]).includes(k) && !(OPTIONAL_KEYS as readonly string[]).includes(k));
  const missing = KEYS.filter((k) => !(k in o));
  if (unknown.length > 0 || missing.length > 0) return { reason: 'bad-field', detail: `unknown keys [${unknown.join(', ')}], missing [${missing.join(', ')}]` };
  const swarmBytes = typeof o.swarm === 'string' ? utf8.encode(o.swarm).length : -1;
  if (swarmBytes < 1 || swarmBytes > MAX_SWARM_BYTES) return { reason: 'bad-field', detail: `swarm must be 1–${MAX_SWARM_BYTES} bytes of UTF-8` };
  if (!isUint(o.round, DEFAULT_FRAME_LIMITS.maxRound)) return { reason: 'bad-field', detail: `round ${String(o.round)} is not an integer in 0–${DEFAULT_FRAME_LIMITS.maxRound}` };
  if (!isUint(o.degree, MAX_ANNOUNCED_DEGREE)) return { reason: 'bad-field', detail: `degree ${String(o.degree)} is not an integer in 0–${MAX_ANNOUNCED_DEGREE}` };
  if (typeof o.age !== 'number' || !Number.isFinite(o.age) || o.age < 0) return { reason: 'bad-field', detail: `age ${String(o.age)} is not a finite number ≥ 0` };
  if (typeof o.algorithm !== 'string' || o.algorithm.length > MAX_ALGORITHM_CHARS || !ALGORITHM_NAME.test(o.algorithm)) {
    return { reason: 'bad-field', detail: `algorithm must be a kebab-case name of at most ${MAX_ALGORITHM_CHARS} characters` };
  }
  if (typeof o.layoutHash !== 'string' || !LAYOUT_HASH.test(o.layoutHash)) return { reason: 'bad-field', detail: 'layoutHash must be 16 lowercase hex digits' };
  if (!Array.isArray(o.addresses)) return { reason: 'bad-field', detail: 'addresses must be an array' };
  if (o.addresses.length > MAX_ANNOUNCEMENT_ADDRESSES) return { reason: 'bad-address', detail: `${o.addresses.length} addresses, limit ${MAX_ANNOUNCEMENT_ADDRESSES}` };
  for (const addr of o.addresses as unknown[]) {
    if (typeof addr !== 'string' || addr.length > MAX_ANNOUNCEMENT_ADDRESS_CHARS) return { reason: 'bad-address', detail: `an address is not a string of at most ${MAX_ANNOUNCEMENT_ADDRESS_CHARS} characters` };
    try {
      multiaddr(addr);
    } catch {
      return { reason: 'bad-address', detail: `"${addr}" is not a multiaddr` };
    }
  }
  if (o.membership !== undefined) {
    const m = o.membership as Record<string, unknown>;
    const ok = typeof m === 'object' && m !== null && !Array.isArray(m) && Object.keys(m).length === MEMBERSHIP_KEYS.length
      && MEMBERSHIP_KEYS.every((k) => k in m) && (m.change === 'join' || m.change === 'leave') && isUint(m.index, 2 ** 32 - 1);
    if (!ok) return { reason: 'bad-field', detail: 'membership must be { change: "join" | "leave", index: integer in 0–4294967295 }' };
  }
  return null;
}

/**
 * Decode and validate one announcement: size first, then UTF-8 JSON, then every field (types and ranges),
 * then the swarm against `swarm`.
 */
export function decodeAnnouncement(bytes: Uint8Array, swarm: string): AnnouncementDecodeResult {
  if (bytes.byteLength > MAX_ANNOUNCEMENT_BYTES) return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes, limit ${MAX_ANNOUNCEMENT_BYTES}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: (err as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'malformed', detail: 'not a JSON object' };
  const o = parsed as Record<string, unknown>;
  const problem = checkFields(o);
  if (problem !== null) return { ok: false, ...problem };
  if (o.swarm !== swarm) return { ok: false, reason: 'foreign-swarm', detail: `swarm "${String(o.swarm)}", ours "${swarm}"` };
  const announcement: Announcement = Object.freeze({
    swarm: o.swarm as string, round: o.round as number, degree: o.degree as number, age: o.age as number,
    algorithm: o.algorithm as string, layoutHash: o.layoutHash as string,
    addresses: Object.freeze([...(o.addresses as string[])]),
    ...(o.membership !== undefined ? { membership: Object.freeze({ ...(o.membership as { change: 'join' | 'leave'; index: number }) }) } : {}),
  });
  return { ok: true, announcement };
}

/** The gossipsub surface we use (a @libp2p/gossipsub instance fits). */
export type AnnouncementsPubSub = Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'topicValidators' | 'addEventListener' | 'removeEventListener'>;

/** Tunables. */
export interface AnnouncementsInit {
  /** Our swarm id: selects the topic, and announcements of other swarms are ignored. */
  swarm: string;
  logger?: Logger;
  /** Sustained announcements accepted per author per second; default ANNOUNCE_RATE_PER_S. */
  ratePerSecond?: number;
  /** Burst of announcements accepted per author; default ANNOUNCE_BURST. */
  burst?: number;
  /** Epoch ms for the rate limit; default Date.now. */
  now?: () => number;
}

/** Injected collaborators. */
export interface AnnouncementsComponents {
  pubsub: AnnouncementsPubSub;
}

/** Per propagating peer: valid announcements received and refusals by reason. */
export interface AnnouncementPeerCounters {
  readonly peer: string;
  received: number;
  readonly rejected: Partial<Record<AnnouncementRejectReason, number>>;
}

/** The service. */
export interface Announcements extends Startable {
  readonly topic: string;
  /**
   * Publish our announcement; resolves with the number of peers it was sent to. Throws
   * InvalidAnnouncementError if it fails our own validation (or names another swarm), AbortError on the signal.
   */
  publish(message: Announcement, options?: AbortOptions): Promise<number>;
  /** Listen for valid announcements of other peers of our swarm. Returns an unsubscribe. */
  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void;
  /** Counters by propagating peer, sorted by peer id. */
  counters(): AnnouncementPeerCounters[];
}

class DefaultAnnouncements implements Announcements, Startable {
  readonly topic: string;
  private readonly log: Logger;
  private readonly listeners = new Set<(from: string, message: Announcement) => void>();
  private readonly peers = new Map<string, AnnouncementPeerCounters>();
  /** Per-author token buckets of the rate limit, oldest first. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly now: () => number;
  private started = false;

  constructor(private readonly components: AnnouncementsComponents, private readonly init: AnnouncementsInit) {
    this.topic = announceTopic(init.swarm);
    this.ratePerSecond = init.ratePerSecond ?? ANNOUNCE_RATE_PER_S;
    this.burst = init.burst ?? ANNOUNCE_BURST;
    this.now = init.now ?? Date.now;
    this.log = (init.logger ?? silentLogger).child({ component: 'announcements' });
    this.validate = this.validate.bind(this);
    this.onMessage = this.onMessage.bind(this);
  }

  readonly [Symbol.toStringTag] = 'murmur:announcements';

  isStarted(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    const { pubsub } = this.components;
    pubsub.topicValidators.set(this.topic, this.validate);
    pubsub.addEventListener('message', this.onMessage);
    pubsub.subscribe(this.topic);
    this.started = true;
  }

  stop(): void {
    if (!this.started) return;
    const { pubsub } = this.components;
    pubsub.unsubscribe(this.topic);
    pubsub.removeEventListener('message', this.onMessage);
    pubsub.topicValidators.delete(this.topic);
    this.started = false;
  }

  async publish(message: Announcement, options: AbortOptions = {}): Promise<number> {
    if (!this.started) throw new NotStartedError('announcements');
    options.signal?.throwIfAborted();
    const bytes = encodeAnnouncement(message);
    const check = decodeAnnouncement(bytes, this.init.swarm);
    if (!check.ok) throw new InvalidAnnouncementError(check.reason, check.detail);
    const published = this.components.pubsub.publish(this.topic, bytes);
    if (options.signal === undefined) return (await published).recipients.length;
    const signal = options.signal;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortError('publishing the announcement was aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      published.then((r) => resolve(r.recipients.length), reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  counters(): AnnouncementPeerCounters[] {
    return [...this.peers.keys()].sort().map((p) => {
      const c = this.peers.get(p)!;
      return { ...c, rejected: { ...c.rejected } };
    });
  }

  private countersFor(peer: string): AnnouncementPeerCounters {
    let c = this.peers.get(peer);
    if (c === undefined) {
      c = { peer, received: 0, rejected: {} };
      this.peers.set(peer, c);
    }
    return c;
  }

  /**
   * Take one token of `author`'s bucket; false when it is empty. The bucket is keyed by author, not by
   * propagator, so a relay forwarding many honest peers is not limited; a flood relayed through an honest
   * peer was already refused by that peer's own validator.
   */
  private withinRate(author: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(author) ?? { tokens: this.burst, at: now };
    this.buckets.delete(author); // re-inserted below, so the map stays in least-recently-seen order
    bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.at) * this.ratePerSecond) / 1000);
    bucket.at = now;
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.buckets.set(author, bucket);
    if (this.buckets.size > MAX_ANNOUNCE_AUTHORS) this.buckets.delete(this.buckets.keys().next().value!);
    return ok;
  }

  /** Topic validator: runs before gossipsub delivers or forwards; Reject lowers the propagator's score. */
  private validate(peer: PeerId, msg: Message): TopicValidatorResult {
    const decoded = decodeAnnouncement(msg.data, this.init.swarm);
    const stats = this.countersFor(peer.toString());
    const author = msg.type === 'signed' ? msg.from.toString() : peer.toString();
    const result: AnnouncementDecodeResult = decoded.ok && !this.withinRate(author)
      ? { ok: false, reason: 'flood', detail: `${author} announced more than ${this.burst} times in a burst or ${this.ratePerSecond}/s sustained` }
      : decoded;
    if (result.ok) {
      stats.received++;
      return TopicValidatorResult.Accept;
    }
    stats.rejected[result.reason] = (stats.rejected[result.reason] ?? 0) + 1;
    this.log.trace({ peer: stats.peer, reason: result.reason, detail: result.detail }, 'announcement rejected');
    return result.reason === 'foreign-swarm' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
  }

  private onMessage(evt: CustomEvent<Message>): void {
    const msg = evt.detail;
    // Under StrictSign (our policy) every message names its author; an unsigned one cannot be attributed.
    if (msg.topic !== this.topic || msg.type !== 'signed') return;
    const result = decodeAnnouncement(msg.data, this.init.swarm);
    if (!result.ok) return;
    const from = msg.from.toString();
    for (const listener of [...this.listeners]) {
      try {
        listener(from, result.announcement);
      } catch (err) {
        this.log.error({ err, from }, 'announcement listener threw');
      }
    }
  }
}

/** Factory in js-libp2p service shape: `announcements(init)(components)`. Subscribes only in start(). */
export function announcements(init: AnnouncementsInit): (components: AnnouncementsComponents) => Announcements {
  return (components) => new DefaultAnnouncements(components, init);
}
