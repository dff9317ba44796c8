/**
 * The public types of the model exchange service (model-exchange.ts): its options, collaborators, counters and
 * interface, apart so the service file stays one job.
 */
import type { AbortOptions, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface';
import type { AckRejectReason, InboundRejectReason, Logger } from './constants.js';
import type { PeerConnections } from './connection-watch.js';
import type { Graylist } from './graylist.js';
import type { FrameReceiver } from './receiver.js';

/** Tunables and injected behaviour (STYLE.md §1.2). */
export interface ModelExchangeInit {
  /** The receive path: decodes, files and counts each whole frame; its answer is replied to the sender. */
  receiver: FrameReceiver;
  /** Largest frame read, bytes, length prefix excluded; larger ones are answered 'oversized' unread. Default DEFAULT_FRAME_LIMITS.maxFrameBytes. */
  maxFrameBytes?: number;
  /** Default deadline of `send` (dial + write + reply), ms; default DEFAULT_SEND_TIMEOUT_MS. */
  sendTimeoutMs?: number;
  /** Deadline of one inbound frame (of a 1.0.0 stream: of the stream), ms; default DEFAULT_INBOUND_TIMEOUT_MS. */
  inboundTimeoutMs?: number;
  /** A 1.1.0 stream with no byte of a next frame for this long is closed, ms; default DEFAULT_INBOUND_IDLE_MS. */
  inboundIdleMs?: number;
  /** Idle reusable streams kept per peer for the next sends; default DEFAULT_IDLE_STREAMS_PER_PEER. */
  idleStreamsPerPeer?: number;
  /** Concurrent inbound streams per peer, more are answered 'busy' unread; default DEFAULT_MAX_INBOUND_STREAMS. */
  maxInboundStreams?: number;
  /** Per connection; default DEFAULT_MAX_OUTBOUND_STREAMS. */
  maxOutboundStreams?: number;
  /**
   * Open a kept stream to each peer as it connects, before its first frame (needs `connections` with
   * onConnect, and the many-frames protocol); default false: the first frame to a peer opens it.
   */
  openStreamOnConnect?: boolean;
  /** The one-frame-per-stream protocol id; default MODEL_PROTOCOL. */
  protocol?: string;
  /**
   * The many-frames-per-stream protocol id, offered before `protocol` and served beside it; default
   * MODEL_STREAM_PROTOCOL when `protocol` is not set, else none. `null`: speak `protocol` only (a 1.0.0 peer).
   */
  streamProtocol?: string | null;
  /**
   * Let frames use limited (relayed) connections, both ways; default false: libp2p then refuses our
   * protocol on them, and a send to a peer reached only through a relay fails as unreachable.
   */
  runOnLimitedConnection?: boolean;
  logger?: Logger;
  /** Called once per inbound stream with its outcome, after counting (metrics, tests). Must not throw. */
  onInbound?(event: InboundEvent): void;
  /** Epoch ms for `lastSeen`; default Date.now. */
  now?: () => number;
}

/** The outcome of one inbound stream. */
export interface InboundEvent {
  readonly from: string;
  readonly outcome: 'accepted' | InboundRejectReason;
  /** Frame size, bytes; 0 when the frame was not read ('oversized', 'stalled', 'aborted'). */
  readonly bytes: number;
}

/** The part of libp2p's registrar we use (a libp2p node itself fits). */
export interface ModelExchangeRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
  unhandle(protocol: string, options?: AbortOptions): Promise<void>;
}

/** The part of libp2p's connection manager we use: open a protocol stream, dialing if needed. */
export interface ModelExchangeDialer {
  /** Open a stream speaking the first of `protocols` the peer supports (Stream.protocol says which). */
  openStream(peer: PeerId, protocols: string | string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** Injected collaborators (libp2p's own components fit). */
export interface ModelExchangeComponents {
  registrar: ModelExchangeRegistrar;
  connectionManager: ModelExchangeDialer;
  /** Where clear protocol violations count against their sender (protocols/graylist.ts); optional. */
  graylist?: Pick<Graylist, 'strike'>;
  /**
   * Tells when a peer that is still connecting to us is connected (connection-watch.ts); optional. Without
   * it a send to a peer with neither a connection nor an address fails at once.
   */
  connections?: PeerConnections;
}

/** Counters of one remote peer. A frame counts in `framesOut`/`framesIn` only once the receiver accepted it. */
export interface ExchangePeerCounters {
  readonly peer: string;
  /** Epoch ms of the last completed exchange in either direction; 0 if never. */
  lastSeen: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Inbound frames we refused, by reason. */
  readonly rejectedIn: Partial<Record<InboundRejectReason, number>>;
  /** Our frames the peer refused, by the reason it replied. */
  readonly rejectedByRemote: Partial<Record<AckRejectReason, number>>;
  /** Sends that did not end with 'accepted' (unreachable, timeout, aborted, broken stream, refused). */
  sendFailures: number;
}

/** The service. */
export interface ModelExchange extends Startable {
  readonly protocol: string;
  /** The many-frames protocol id, or null when this service speaks only `protocol`. */
  readonly streamProtocol: string | null;
  /**
   * Push one encoded frame; resolves once the receiver accepted it. Rejects with PeerUnreachableError,
   * SendTimeoutError (own deadline `sendTimeoutMs`), AbortError (the caller's signal), SendFailedError or
   * RemoteRejectedError. Backpressure: the write awaits the stream's drain.
   */
  send(peer: PeerId, frame: Uint8Array, options?: AbortOptions): Promise<void>;
  /** Counters of every peer seen so far, sorted by peer id. */
  counters(): ExchangePeerCounters[];
  /** Counters of one peer (zeros if never seen). */
  countersOf(peer: string): ExchangePeerCounters;
}

/** What this service counts itself: the sending side. */
export interface OutboundCounters {
  lastSeen: number;
  framesOut: number;
  bytesOut: number;
  readonly rejectedByRemote: Partial<Record<AckRejectReason, number>>;
  sendFailures: number;
}

export function emptyCounters(): OutboundCounters {
  return { lastSeen: 0, framesOut: 0, bytesOut: 0, rejectedByRemote: {}, sendFailures: 0 };
}
