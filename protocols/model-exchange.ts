/**
 * `/murmur/model/1.0.0` (DESIGN.md "Wire protocol"): the sender opens a stream, writes one length-prefixed
 * frame and reads a one-byte reply (0 = accepted, else 1 + the index of the reason in ACK_REJECT_REASONS);
 * then both sides close. Inbound frames go through the injected receive path (receiver.ts: decode, inbox,
 * per-peer counters); this service counts what it sends. Shaped like a js-libp2p service (STYLE.md §1): `modelExchange(init)
 * (components)`, Startable, every wait bounded, and the stream handler never throws into libp2p.
 */
import { setMaxListeners } from 'node:events';
import type { AbortOptions, Connection, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface';
import { anySignal, deadline } from '../node/deadline.js';
import { AbortError } from '../node/errors.js';
import { DEFAULT_FRAME_LIMITS } from './codec.js';
import {
  ACK_ACCEPTED, ACK_BYTES, ackCode, ackReason, DEFAULT_INBOUND_TIMEOUT_MS, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_SEND_TIMEOUT_MS, MODEL_PROTOCOL, silentLogger,
} from './constants.js';
import type { AckRejectReason, InboundRejectReason, Logger } from './constants.js';
import type { FrameReceiver } from './receiver.js';
import type { Graylist } from './graylist.js';
import { boundedLpStream } from './length-prefix.js';
import { NotStartedError, PeerUnreachableError, RemoteRejectedError, SendFailedError, SendTimeoutError } from './errors.js';

/** Tunables and injected behaviour (STYLE.md §1.2). */
export interface ModelExchangeInit {
  /** The receive path: decodes, files and counts each whole frame; its answer is replied to the sender. */
  receiver: FrameReceiver;
  /** Largest frame read, bytes, length prefix excluded; larger ones are answered 'oversized' unread. Default DEFAULT_FRAME_LIMITS.maxFrameBytes. */
  maxFrameBytes?: number;
  /** Default deadline of `send` (dial + write + reply), ms; default DEFAULT_SEND_TIMEOUT_MS. */
  sendTimeoutMs?: number;
  /** Deadline of one inbound stream, ms; default DEFAULT_INBOUND_TIMEOUT_MS. */
  inboundTimeoutMs?: number;
  /** Concurrent inbound streams per peer, more are answered 'busy' unread; default DEFAULT_MAX_INBOUND_STREAMS. */
  maxInboundStreams?: number;
  /** Per connection; default DEFAULT_MAX_OUTBOUND_STREAMS. */
  maxOutboundStreams?: number;
  /** Protocol id; default MODEL_PROTOCOL. */
  protocol?: string;
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
  openStream(peer: PeerId, protocol: string, options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** Injected collaborators (libp2p's own components fit). */
export interface ModelExchangeComponents {
  registrar: ModelExchangeRegistrar;
  connectionManager: ModelExchangeDialer;
  /** Where clear protocol violations count against their sender (protocols/graylist.ts); optional. */
  graylist?: Pick<Graylist, 'strike'>;
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

const ACK_READ_BUFFER_BYTES = 64;
/**
 * Read-buffer room beyond the frame limit, bytes. The buffer check runs as each transport chunk arrives,
 * before the length prefix is parsed, so a limit of exactly the frame size would turn an oversized frame
 * into a stream abort instead of an 'oversized' reply. Chunks are at most a few hundred KiB.
 */
const READ_SLACK_BYTES = 1024 * 1024;

class DefaultModelExchange implements ModelExchange {
  readonly protocol: string;
  private readonly maxFrameBytes: number;
  private readonly sendTimeoutMs: number;
  private readonly inboundTimeoutMs: number;
  private readonly maxInboundStreams: number;
  private readonly maxOutboundStreams: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly peers = new Map<string, OutboundCounters>();
  private readonly inbound = new Set<Stream>();
  /** Inbound streams in flight per peer (all its connections together). */
  private readonly inFlight = new Map<string, number>();
  private stopController = new AbortController();
  private started = false;

  constructor(private readonly components: ModelExchangeComponents, private readonly init: ModelExchangeInit) {
    this.protocol = init.protocol ?? MODEL_PROTOCOL;
    this.maxFrameBytes = init.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes;
    this.sendTimeoutMs = init.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    this.inboundTimeoutMs = init.inboundTimeoutMs ?? DEFAULT_INBOUND_TIMEOUT_MS;
    this.maxInboundStreams = init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS;
    this.maxOutboundStreams = init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS;
    this.log = (init.logger ?? silentLogger).child({ component: 'model-exchange' });
    this.now = init.now ?? Date.now;
    this.onStream = this.onStream.bind(this);
  }

  readonly [Symbol.toStringTag] = 'murmur:model-exchange';

  isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopController = new AbortController();
    setMaxListeners(Infinity, this.stopController.signal);
    await this.components.registrar.handle(this.protocol, this.onStream, {
      // Our handler answers 'busy' (and counts it) beyond maxInboundStreams per peer; libp2p refuses beyond
      // twice that per connection without telling us, a backstop against a peer that ignores 'busy'.
      maxInboundStreams: 2 * this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.init.runOnLimitedConnection === true,
    });
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopController.abort(new AbortError('model exchange stopped'));
    for (const stream of this.inbound) stream.abort(new AbortError('model exchange stopped'));
    this.inbound.clear();
    await this.components.registrar.unhandle(this.protocol);
  }

  async send(peer: PeerId, frame: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (!this.started) throw new NotStartedError('model exchange');
    const id = peer.toString();
    const stats = this.countersFor(id);
    const timeout = deadline(this.sendTimeoutMs);
    const signal = anySignal(timeout, this.stopController.signal, options.signal);
    setMaxListeners(Infinity, signal);
    const fail = (err: unknown, phase: 'dial' | 'transfer'): Error => {
      if (err instanceof RemoteRejectedError || err instanceof SendFailedError) return err;
      if (options.signal?.aborted === true || this.stopController.signal.aborted) return new AbortError(`send to ${id} was aborted`);
      if (timeout.aborted) return new SendTimeoutError(id, this.sendTimeoutMs, { cause: err });
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return phase === 'dial' ? new PeerUnreachableError(id, detail, { cause: err }) : new SendFailedError(id, detail, { cause: err });
    };
    let stream: Stream | undefined;
    try {
      try {
        stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal, runOnLimitedConnection: this.init.runOnLimitedConnection === true });
      } catch (err) {
        throw fail(err, 'dial');
      }
      const lp = boundedLpStream(stream, { maxDataLength: ACK_BYTES, maxBufferSize: ACK_READ_BUFFER_BYTES });
      // Read the reply while writing: a receiver that refuses an oversized frame replies before reading it
      // and resets the stream, which fails our write, yet its reason has arrived.
      const reply = lp.read({ signal });
      reply.catch(() => {});
      let writeError: unknown;
      try {
        await lp.write(frame, { signal });
      } catch (err) {
        writeError = err;
      }
      let code: number;
      try {
        const bytes = await reply;
        if (bytes.byteLength !== ACK_BYTES) throw new SendFailedError(id, `reply has ${bytes.byteLength} bytes, expected ${ACK_BYTES}`);
        code = bytes.get(0);
      } catch (err) {
        throw fail(writeError ?? err, 'transfer');
      }
      const reason = ackReason(code);
      if (reason === undefined) throw new SendFailedError(id, `unknown reply byte ${code}; is the peer on a newer protocol version?`);
      await stream.close({ signal }).catch((err: unknown) => { stream?.abort(err as Error); });
      stats.lastSeen = this.now();
      if (reason !== null) {
        stats.rejectedByRemote[reason] = (stats.rejectedByRemote[reason] ?? 0) + 1;
        throw new RemoteRejectedError(id, reason);
      }
      stats.framesOut++;
      stats.bytesOut += frame.byteLength;
      this.log.trace({ peer: id, bytes: frame.byteLength }, 'frame sent');
    } catch (err) {
      stats.sendFailures++;
      if (stream !== undefined && stream.status === 'open') stream.abort(err as Error);
      this.log.debug({ peer: id, err }, 'send failed');
      throw err;
    }
  }

  counters(): ExchangePeerCounters[] {
    return [...new Set([...this.peers.keys(), ...this.init.receiver.senders()])].sort().map((p) => this.countersOf(p));
  }

  countersOf(peer: string): ExchangePeerCounters {
    const c = this.peers.get(peer) ?? emptyCounters();
    const r = this.init.receiver.countersOf(peer);
    return {
      peer, lastSeen: Math.max(c.lastSeen, r.lastSeen), framesIn: r.framesIn, bytesIn: r.bytesIn, framesOut: c.framesOut, bytesOut: c.bytesOut,
      rejectedIn: { ...r.rejectedIn }, rejectedByRemote: { ...c.rejectedByRemote }, sendFailures: c.sendFailures,
    };
  }

  private countersFor(peer: string): OutboundCounters {
    let c = this.peers.get(peer);
    if (c === undefined) {
      c = emptyCounters();
      this.peers.set(peer, c);
    }
    return c;
  }

  /** A refusal before decoding: counted by the receive path, then reported. */
  private countRejection(from: string, reason: InboundRejectReason, detail: string): void {
    this.init.receiver.refuse(from, reason, detail);
    this.notify({ from, outcome: reason, bytes: 0 });
  }

  private notify(event: InboundEvent): void {
    try {
      this.init.onInbound?.(event);
    } catch (err) {
      this.log.error({ err }, 'onInbound threw');
    }
  }

  /** Reply `reason` by hand (varint length 1, then the code) without reading the frame, then reset the stream. */
  private async refuse(stream: Stream, reason: AckRejectReason, deadline: AbortSignal): Promise<void> {
    stream.send(Uint8Array.of(ACK_BYTES, ackCode(reason)));
    await stream.close({ signal: deadline });
    stream.abort(new Error(`frame refused unread: ${reason}`));
  }

  /**
   * Reply 'busy', then drop whatever the sender still writes until it closes (or the deadline resets the
   * stream). Unlike 'oversized', the sender may still be negotiating the protocol when we answer, and an
   * immediate reset would reach it as a broken dial instead of the reason. Nothing is buffered.
   */
  private async refuseBusy(stream: Stream, deadline: AbortSignal): Promise<void> {
    const onDeadline = (): void => stream.abort(new Error('busy stream not closed by the sender in time'));
    deadline.addEventListener('abort', onDeadline, { once: true });
    try {
      stream.send(Uint8Array.of(ACK_BYTES, ackCode('busy')));
      await stream.close({ signal: deadline });
      for await (const chunk of stream) void chunk;
    } finally {
      deadline.removeEventListener('abort', onDeadline);
    }
  }

  /** The inbound handler: bounded by its own deadline; every failure is counted, logged and ends the stream. */
  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    const expiry = deadline(this.inboundTimeoutMs, this.stopController.signal);
    setMaxListeners(Infinity, expiry);
    this.inbound.add(stream);
    const active = this.inFlight.get(from) ?? 0;
    if (active >= this.maxInboundStreams) {
      this.countRejection(from, 'busy', `${active} streams in flight, limit ${this.maxInboundStreams}`);
      await this.refuseBusy(stream, expiry).catch((err: unknown) => {
        if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
      });
      this.inbound.delete(stream);
      return;
    }
    this.inFlight.set(from, active + 1);
    try {
      const lp = boundedLpStream(stream, { maxDataLength: this.maxFrameBytes, maxBufferSize: this.maxFrameBytes + READ_SLACK_BYTES });
      let bytes: Uint8Array;
      try {
        // subarray() copies only when the frame spans several chunks. The result may be a Node Buffer
        // (TCP), whose slice() is a view, not a copy; hand decode a plain Uint8Array over the same memory.
        const raw = (await lp.read({ signal: expiry })).subarray();
        bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
      } catch (err) {
        const name = (err as Error | undefined)?.name;
        if (name === 'StreamBufferError') {
          // A transport chunk larger than READ_SLACK_BYTES overflowed the buffer: oversized, but too late to reply.
          this.countRejection(from, 'oversized', String(err));
          return;
        }
        if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'LengthPrefixTooLongError') {
          this.countRejection(from, 'oversized', name === 'LengthPrefixTooLongError' ? String(err) : `length prefix over ${this.maxFrameBytes} bytes`);
          // No honest sender writes a prefix that never ends; one that announces a big frame may be honest.
          if (name === 'LengthPrefixTooLongError') this.components.graylist?.strike(from, 'endless-length-prefix');
          // Stop buffering the rest of the frame (it would overflow the read buffer and abort the stream
          // before our reply is out), then reply and reset.
          lp.unwrap();
          await this.refuse(stream, 'oversized', expiry);
          return;
        }
        // Our own stop() aborts in-flight streams too: that is not the sender's fault, so it is not counted.
        if (!this.stopController.signal.aborted) this.countRejection(from, expiry.aborted ? 'stalled' : 'aborted', String(err));
        if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const verdict = this.init.receiver.accept(from, bytes);
      this.notify({ from, outcome: verdict === 'accepted' ? verdict : verdict.reason, bytes: bytes.byteLength });
      await lp.write(Uint8Array.of(verdict === 'accepted' ? ACK_ACCEPTED : ackCode(verdict.reason)), { signal: expiry });
      await stream.close({ signal: expiry });
    } catch (err) {
      this.log.debug({ peer: from, err }, 'inbound stream failed');
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.inbound.delete(stream);
      const left = (this.inFlight.get(from) ?? 1) - 1;
      if (left > 0) this.inFlight.set(from, left);
      else this.inFlight.delete(from);
    }
  }
}

/** What this service counts itself: the sending side. */
interface OutboundCounters {
  lastSeen: number;
  framesOut: number;
  bytesOut: number;
  readonly rejectedByRemote: Partial<Record<AckRejectReason, number>>;
  sendFailures: number;
}

function emptyCounters(): OutboundCounters {
  return { lastSeen: 0, framesOut: 0, bytesOut: 0, rejectedByRemote: {}, sendFailures: 0 };
}

/** Factory in js-libp2p service shape: `modelExchange(init)(components)`. Acquires nothing until start(). */
export function modelExchange(init: ModelExchangeInit): (components: ModelExchangeComponents) => ModelExchange {
  return (components) => new DefaultModelExchange(components, init);
}
