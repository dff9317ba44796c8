/**
 * Protocol ids, topics, named limits and defaults of protocols/ (STYLE.md "Naming": units in the name,
 * versioned ids), plus the tiny logger shape every module here accepts.
 */
import type { RejectReason } from './codec.js';

/** The model push protocol (DESIGN.md "Wire protocol"): one length-prefixed frame per stream, one-byte ack. */
export const MODEL_PROTOCOL = '/murmur/model/1.0.0';

/** Gossipsub topic of a swarm's announcements (DESIGN.md "Wire protocol"). */
export function announceTopic(swarm: string): string {
  return `/murmur/${swarm}/announce/1`;
}

/** A send gives up after this long when the caller passes no signal (dial + write + ack), ms. */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;
/**
 * Deadline of one inbound stream, ms: a sender that stalls is cut off after this, so it cannot hold a
 * stream slot for longer (STYLE.md §1.4).
 */
export const DEFAULT_INBOUND_TIMEOUT_MS = 30_000;
/** Ping gives up after this long when the caller passes no signal, ms. */
export const DEFAULT_PING_TIMEOUT_MS = 10_000;
/** `collect` resolves with what arrived after this long when the caller passes no signal, ms. */
export const DEFAULT_COLLECT_TIMEOUT_MS = 60_000;
/**
 * Concurrent inbound model streams per peer (a peer pushes one frame per step). Beyond it a stream is answered
 * 'busy' unread and counted; libp2p itself refuses, uncounted, beyond twice this per connection.
 */
export const DEFAULT_MAX_INBOUND_STREAMS = 8;
/** Concurrent outbound model streams per connection. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 8;
/** Total encoded bytes the inbox buffers before it rejects with 'inbox-full' (a 10 MB model × 25 neighbours). */
export const DEFAULT_INBOX_MAX_BYTES = 256 * 1024 * 1024;

/** Announcements are small (DESIGN.md "Wire protocol"): encoded size cap, bytes. */
export const MAX_ANNOUNCEMENT_BYTES = 2048;
/** At most this many multiaddrs in one announcement. */
export const MAX_ANNOUNCEMENT_ADDRESSES = 16;
/** Longest multiaddr string accepted in an announcement, characters. */
export const MAX_ANNOUNCEMENT_ADDRESS_CHARS = 256;
/**
 * Announcements a receiver accepts from one author: a token bucket of ANNOUNCE_BURST refilled at
 * ANNOUNCE_RATE_PER_S. Beyond it they are rejected as 'flood', which lowers the sender's gossipsub score
 * like any invalid message, until it is graylisted. A daemon publishes at most one per
 * MIN_ANNOUNCE_INTERVAL_MS (5/s); the margin leaves room for engines that announce per round (MoDeST's
 * beacons) in fast in-process simulations, while a flood of hundreds per second is still cut off.
 */
export const ANNOUNCE_RATE_PER_S = 50;
/** Burst size of the per-author announcement bucket (see ANNOUNCE_RATE_PER_S). */
export const ANNOUNCE_BURST = 100;
/** Shortest gap between two announcements a daemon publishes, ms (see ANNOUNCE_RATE_PER_S). */
export const MIN_ANNOUNCE_INTERVAL_MS = 200;
/** Authors whose announcement bucket is remembered; beyond it the oldest is forgotten (bounded memory under a Sybil flood). */
export const MAX_ANNOUNCE_AUTHORS = 4096;
/** Upper bound of an announced degree (a peer with more neighbours than this is not plausible). */
export const MAX_ANNOUNCED_DEGREE = 65_535;
/** Inbound gossipsub RPC cap, bytes: we only gossip announcements, so far below gossipsub's 4 MiB default. */
export const MAX_PUBSUB_RPC_BYTES = 1024 * 1024;

/** Receiver's reply byte when the frame was accepted. */
export const ACK_ACCEPTED = 0;
/** Size of the receiver's reply, bytes. */
export const ACK_BYTES = 1;

/** Reasons the inbox refuses an item: see protocols/inbox.ts. */
export type InboxRejectReason = 'duplicate' | 'inbox-full' | 'stale';

/**
 * Reasons a receiver can send back in its reply. The reply byte is 1 + the index in `ACK_REJECT_REASONS`,
 * so this order is part of /murmur/model/1.0.0: append only, and bump the protocol version otherwise.
 */
export const ACK_REJECT_REASONS = [
  'truncated', 'bad-magic', 'unsupported-version', 'unknown-kind', 'unknown-encoding', 'foreign-swarm',
  'foreign-layout', 'wrong-length', 'oversized', 'non-finite', 'bad-ranking', 'bad-header',
  'duplicate', 'inbox-full', 'stale', 'internal', 'busy',
] as const satisfies readonly (RejectReason | InboxRejectReason | 'internal' | 'busy')[];

/**
 * A reason the receiver replies with: a codec `RejectReason`, an inbox reason, 'internal' (a bug on our side)
 * or 'busy' (the sender already has DEFAULT_MAX_INBOUND_STREAMS frames in flight to us: back off and retry).
 */
export type AckRejectReason = (typeof ACK_REJECT_REASONS)[number];

// Fails to compile when codec.ts gains a reject reason that has no reply byte yet.
const ACK_COVERS_EVERY_REJECT_REASON: [Exclude<RejectReason, AckRejectReason>] extends [never] ? true : never = true;

/**
 * Every reason an inbound frame is counted as rejected: the replied ones, plus 'stalled' (the inbound
 * deadline passed) and 'aborted' (the stream died before a whole frame arrived); those two get no reply.
 */
export type InboundRejectReason = AckRejectReason | 'stalled' | 'aborted';

/** Reply byte of a reject reason. */
export function ackCode(reason: AckRejectReason): number {
  return ACK_REJECT_REASONS.indexOf(reason) + 1;
}

/** Reason of a reply byte; `null` for accepted, `undefined` for a byte this version does not know. */
export function ackReason(code: number): AckRejectReason | null | undefined {
  if (code === ACK_ACCEPTED) return null;
  return ACK_REJECT_REASONS[code - 1];
}

/**
 * The logger shape protocols/ accepts: pino's, reduced to what we call (STYLE.md "Logging"). Methods are
 * declared as methods so a pino logger is assignable.
 */
export interface Logger {
  trace(obj: unknown, ...args: unknown[]): void;
  debug(obj: unknown, ...args: unknown[]): void;
  info(obj: unknown, ...args: unknown[]): void;
  warn(obj: unknown, ...args: unknown[]): void;
  error(obj: unknown, ...args: unknown[]): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** The default logger: drops everything. */
export const silentLogger: Logger = Object.freeze({
  trace: noop, debug: noop, info: noop, warn: noop, error: noop,
  child: (): Logger => silentLogger,
});
