/**
 * Protocol ids, topics, named limits and defaults of protocols/ (STYLE.md "Naming": units in the name,
 * versioned ids), and the default logger of its modules.
 */
import { silentLogger as silentLoggerOf, type Logger } from '../node/logger.js';

/** The model push protocol (DESIGN.md "Wire protocol"): one length-prefixed frame per stream, one-byte ack. */
export const MODEL_PROTOCOL = '/murmur/model/1.0.0';
/**
 * The same frames and replies, many per stream: the sender keeps the stream open and writes its next frame
 * after the reply to the previous one (protocols/outbound-streams.ts). Offered first and negotiated by
 * multistream-select, so a peer that speaks only MODEL_PROTOCOL still gets one frame per stream.
 */
export const MODEL_STREAM_PROTOCOL = '/murmur/model/1.1.0';

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
/**
 * A `/murmur/model/1.1.0` stream on which no byte of a next frame arrived for this long is closed by its
 * receiver, ms (the sender reopens one when it next sends). Kept streams are opened when a peer connects
 * (model-exchange.ts `openStreamOnConnect`) and a neighbour may push to us only every few rounds: at 60 s a
 * loaded 500-peer bring-up or a few slow rounds closed them before their first frame (exchange-tuning.md
 * §12). A held stream costs one of the peer's maxInboundStreams slots; yamux streams have no inactivity
 * timeout of their own (libp2p's 120 s applies to TCP sockets).
 */
export const DEFAULT_INBOUND_IDLE_MS = 600_000;
/** Idle reusable model streams a sender keeps per peer (protocols/outbound-streams.ts). */
export const DEFAULT_IDLE_STREAMS_PER_PEER = 2;
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

/** Size of the receiver's reply, bytes. */
export const ACK_BYTES = 1;

export {
  ACK_ACCEPTED, ACK_REJECT_REASONS, ackCode, ackReason, type AckRejectReason, type InboundRejectReason, type InboxRejectReason,
} from './reasons.js';

/**
 * protocols/ logs through the one logger of the code base, pino (node/logger.ts; STYLE.md "Logging"), injected
 * by its user; `silentLogger` is the default when none is given.
 */
export type { Logger } from '../node/logger.js';
export const silentLogger: Logger = silentLoggerOf();
