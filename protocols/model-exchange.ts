/**
 * `/murmur/model/1.0.0` (DESIGN.md "Wire protocol"): the sender opens a stream, writes one length-prefixed
 * frame and reads a one-byte reply (0 = accepted, else 1 + the index of the reason in ACK_REJECT_REASONS);
 * then both sides close. `/murmur/model/1.1.0` is the same exchange repeated on one stream: after a reply
 * the sender keeps the stream (outbound-streams.ts) and writes its next frame there; the receiver reads
 * frames until the sender closes, answering each in order, with the same per-frame limits, deadline,
 * refusals and counters. Senders offer 1.1.0 first and 1.0.0 second; receivers serve both. Inbound frames go through the injected receive path (receiver.ts: decode, inbox,
 * per-peer counters); this service counts what it sends. Shaped like a js-libp2p service (STYLE.md §1): `modelExchange(init)
 * (components)`, Startable, every wait bounded, and the stream handler never throws into libp2p.
 */
import { setMaxListeners } from 'node:events';
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface';
import { deadline, releasableDeadline } from '../node/deadline.js';
import { AbortError } from '../node/errors.js';
import { DEFAULT_FRAME_LIMITS, frameForDecode, type FrameBytes } from './codec.js';
import {
  ACK_ACCEPTED, ACK_BYTES, ackCode, ackReason, DEFAULT_IDLE_STREAMS_PER_PEER, DEFAULT_INBOUND_IDLE_MS, DEFAULT_INBOUND_TIMEOUT_MS,
  DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_SEND_TIMEOUT_MS, MODEL_PROTOCOL, MODEL_STREAM_PROTOCOL, silentLogger,
} from './constants.js';
import type { AckRejectReason, InboundRejectReason, Logger } from './constants.js';
import type { LengthPrefixedStream } from '@libp2p/utils';
import { FrameReader } from './frame-reader.js';
import { refuseBusy, refuseUnread, writeReply } from './stream-replies.js';
import { openStreamToPeer } from './connection-watch.js';
import { boundedLpStream } from './length-prefix.js';
import { OutboundStreams, type OutboundStream } from './outbound-streams.js';
import { NotStartedError, PeerUnreachableError, RemoteRejectedError, SendFailedError, SendTimeoutError } from './errors.js';

export type {
  ExchangePeerCounters, InboundEvent, ModelExchange, ModelExchangeComponents, ModelExchangeDialer, ModelExchangeInit, ModelExchangeRegistrar,
} from './model-exchange-types.js';
import { emptyCounters, type ExchangePeerCounters, type InboundEvent, type ModelExchange, type ModelExchangeComponents, type ModelExchangeInit, type OutboundCounters } from './model-exchange-types.js';

/**
 * Read-buffer room beyond the frame limit, bytes. The buffer check runs as each transport chunk arrives,
 * before the length prefix is parsed, so a limit of exactly the frame size would turn an oversized frame
 * into a stream abort instead of an 'oversized' reply. Chunks are at most a few hundred KiB.
 */
const READ_SLACK_BYTES = 1024 * 1024;

/** Replies after which the receiver ends the stream (it refused the frame unread): the stream is not kept. */
const STREAM_ENDING_REASONS: ReadonlySet<AckRejectReason> = new Set<AckRejectReason>(['oversized', 'busy']);

/**
 * Whether a `send` that failed with `err` may have left the frame's bytes queued below its stream, so its
 * buffer may still be read. When `send` settles, the stream holds nothing of the frame: the reply came or
 * the stream was aborted (which drops its write buffer). But the connection's noise layer keeps plaintext
 * it could not yet encrypt while the socket waits to drain, and an aborted stream does not take it back.
 * Not held: a refusal after reading the whole frame (every byte was encrypted before the receiver could
 * read it), or a send that never wrote (unreachable, not started).
 */
export function frameMayBeQueued(err: unknown): boolean {
  if (err instanceof RemoteRejectedError) return STREAM_ENDING_REASONS.has(err.reason);
  return !(err instanceof PeerUnreachableError || err instanceof NotStartedError);
}

class DefaultModelExchange implements ModelExchange {
  readonly protocol: string;
  readonly streamProtocol: string | null;
  /** What a send offers, in order of preference. */
  private readonly offered: string[];
  private readonly inboundIdleMs: number;
  private readonly outbound: OutboundStreams;
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
  private stopPreparing: (() => void) | null = null;

  constructor(private readonly components: ModelExchangeComponents, private readonly init: ModelExchangeInit) {
    this.protocol = init.protocol ?? MODEL_PROTOCOL;
    this.streamProtocol = init.streamProtocol === undefined ? (init.protocol === undefined ? MODEL_STREAM_PROTOCOL : null) : init.streamProtocol;
    this.offered = this.streamProtocol === null ? [this.protocol] : [this.streamProtocol, this.protocol];
    this.inboundIdleMs = init.inboundIdleMs ?? DEFAULT_INBOUND_IDLE_MS;
    this.outbound = new OutboundStreams(init.idleStreamsPerPeer ?? DEFAULT_IDLE_STREAMS_PER_PEER);
    this.maxFrameBytes = init.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes;
    this.sendTimeoutMs = init.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    this.inboundTimeoutMs = init.inboundTimeoutMs ?? DEFAULT_INBOUND_TIMEOUT_MS;
    this.maxInboundStreams = init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS;
    this.maxOutboundStreams = init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS;
    this.log = (init.logger ?? silentLogger).child({ component: 'model-exchange' });
    this.now = init.now ?? Date.now;
    this.onStream = this.onStream.bind(this);
    this.onFrameStream = this.onFrameStream.bind(this);
  }

  readonly [Symbol.toStringTag] = 'murmur:model-exchange';

  isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopController = new AbortController();
    this.outbound.reopen();
    setMaxListeners(Infinity, this.stopController.signal);
    const options = {
      // Our handler answers 'busy' (and counts it) beyond maxInboundStreams per peer; libp2p refuses beyond
      // twice that per connection without telling us, a backstop against a peer that ignores 'busy'.
      maxInboundStreams: 2 * this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.init.runOnLimitedConnection === true,
    };
    await this.components.registrar.handle(this.protocol, this.onStream, options);
    if (this.streamProtocol !== null) await this.components.registrar.handle(this.streamProtocol, this.onFrameStream, options);
    if (this.init.openStreamOnConnect === true && this.streamProtocol !== null) this.stopPreparing = this.components.connections?.onConnect?.((peer) => this.prepare(peer)) ?? null;
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopPreparing?.();
    this.stopController.abort(new AbortError('model exchange stopped'));
    this.outbound.abortAll(new AbortError('model exchange stopped'));
    for (const stream of this.inbound) stream.abort(new AbortError('model exchange stopped'));
    this.inbound.clear();
    await this.components.registrar.unhandle(this.protocol);
    if (this.streamProtocol !== null) await this.components.registrar.unhandle(this.streamProtocol);
  }

  async send(peer: PeerId, frame: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (!this.started) throw new NotStartedError('model exchange');
    const id = peer.toString();
    const stats = this.countersFor(id);
    // Released when the send ends: a finished send leaves no timer or listener behind.
    const timeout = releasableDeadline(this.sendTimeoutMs, this.stopController.signal, options.signal);
    const signal = timeout.signal;
    const fail = (err: unknown, phase: 'dial' | 'transfer'): Error => {
      if (err instanceof RemoteRejectedError || err instanceof SendFailedError) return err;
      if (options.signal?.aborted === true || this.stopController.signal.aborted) return new AbortError(`send to ${id} was aborted`);
      if (signal.aborted) return new SendTimeoutError(id, this.sendTimeoutMs, { cause: err });
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return phase === 'dial' ? new PeerUnreachableError(id, detail, { cause: err }) : new SendFailedError(id, detail, { cause: err });
    };
    try {
      let reason: AckRejectReason | null | undefined;
      for (let attempt = 0; ; attempt++) {
        let out = this.outbound.take(id);
        const reused = out !== undefined;
        if (out === undefined) {
          // A peer still connecting to us is waited for (connection-watch.ts); other dial failures end the send.
          const stream = await openStreamToPeer(this.components.connectionManager, this.components.connections, peer, this.offered, { signal, runOnLimitedConnection: this.init.runOnLimitedConnection === true })
            .catch((err: unknown) => { throw fail(err, 'dial'); });
          out = this.outbound.wrap(id, stream, this.streamProtocol !== null && stream.protocol === this.streamProtocol);
        }
        let code: number;
        try {
          code = await this.exchange(out, frame, signal, id);
        } catch (err) {
          if (out.stream.status === 'open') out.stream.abort(err as Error);
          // A kept stream the receiver closed (its idle timeout) or reset just before our frame: the frame
          // was not accepted there, so it goes once more on a new stream.
          if (reused && attempt === 0 && !signal.aborted && !(err instanceof SendFailedError)) continue;
          throw fail(err, 'transfer');
        }
        reason = ackReason(code);
        if (reason === undefined) {
          out.stream.abort(new Error(`unknown reply byte ${code}`));
          throw new SendFailedError(id, `unknown reply byte ${code}; is the peer on a newer protocol version?`);
        }
        // The receiver resets a stream after refusing a frame unread; any other reply leaves it usable.
        if (reason !== null && STREAM_ENDING_REASONS.has(reason)) out.stream.abort(new Error(`frame refused unread: ${reason}`));
        else this.outbound.give(out);
        break;
      }
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
      this.log.debug({ peer: id, err }, 'send failed');
      throw err;
    } finally {
      timeout.release();
    }
  }

  /**
   * Open a kept stream to a newly connected `peer` before its first frame, so that frame (in a short run,
   * about half of all frames: exchange-tuning.md §8) skips the stream's opening. In the background; a
   * failure leaves the first send to open its own stream.
   */
  private prepare(peer: PeerId): void {
    const opening = releasableDeadline(this.sendTimeoutMs, this.stopController.signal);
    const open = (): Promise<Stream> => this.components.connectionManager.openStream(peer, this.offered, { signal: opening.signal, runOnLimitedConnection: this.init.runOnLimitedConnection === true });
    void this.outbound.prefill(peer.toString(), open, (s) => s.protocol === this.streamProtocol).finally(() => opening.release());
  }

  /** Write one frame on `out` and read its reply code. Throws the transport's error, or SendFailedError. */
  private async exchange(out: OutboundStream, frame: Uint8Array, signal: AbortSignal, id: string): Promise<number> {
    // Read the reply while writing: a receiver that refuses an oversized frame replies before reading it
    // and resets the stream, which fails our write, yet its reason has arrived.
    const reply = out.lp.read({ signal });
    reply.catch(() => {});
    let writeError: unknown;
    try {
      await out.lp.write(frame, { signal });
    } catch (err) {
      writeError = err;
    }
    let bytes;
    try {
      bytes = await reply;
    } catch (err) {
      throw writeError ?? err;
    }
    if (bytes.byteLength !== ACK_BYTES) throw new SendFailedError(id, `reply has ${bytes.byteLength} bytes, expected ${ACK_BYTES}`);
    return bytes.get(0);
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

  /**
   * Admit an inbound stream: beyond maxInboundStreams in flight from its peer it is answered 'busy' unread
   * (counted) and false is returned; else it counts as in flight until `release`.
   */
  private async admit(stream: Stream, from: string): Promise<boolean> {
    this.inbound.add(stream);
    const active = this.inFlight.get(from) ?? 0;
    if (active < this.maxInboundStreams) {
      this.inFlight.set(from, active + 1);
      return true;
    }
    this.countRejection(from, 'busy', `${active} streams in flight, limit ${this.maxInboundStreams}`);
    const expiry = releasableDeadline(this.inboundTimeoutMs, this.stopController.signal);
    await refuseBusy(stream, expiry.signal).catch((err: unknown) => {
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
    expiry.release();
    this.inbound.delete(stream);
    return false;
  }

  private release(stream: Stream, from: string): void {
    this.inbound.delete(stream);
    const left = (this.inFlight.get(from) ?? 1) - 1;
    if (left > 0) this.inFlight.set(from, left);
    else this.inFlight.delete(from);
  }

  /** The 1.0.0 handler: one frame under one deadline; every failure is counted, logged and ends the stream. */
  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    if (!await this.admit(stream, from)) return;
    const expiry = releasableDeadline(this.inboundTimeoutMs, this.stopController.signal);
    try {
      const lp = boundedLpStream(stream, { maxDataLength: this.maxFrameBytes, maxBufferSize: this.maxFrameBytes + READ_SLACK_BYTES });
      if (await this.serveFrame(stream, lp, from, expiry.signal)) await stream.close({ signal: expiry.signal });
    } catch (err) {
      this.log.debug({ peer: from, err }, 'inbound stream failed');
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      expiry.release();
      this.release(stream, from);
    }
  }

  /**
   * The 1.1.0 handler: frames one after the other (frame-reader.ts), each under its own deadline from its
   * first byte, each answered in order, until the sender closes or stays idle for inboundIdleMs (then we
   * close, uncounted: nothing was sent). Refusals, limits and counters are those of a 1.0.0 stream.
   */
  private async onFrameStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    if (!await this.admit(stream, from)) return;
    const reader = new FrameReader(stream, { maxDataLength: this.maxFrameBytes, maxBufferSize: this.maxFrameBytes + READ_SLACK_BYTES });
    try {
      for (;;) {
        if (!reader.pending) {
          const idle = releasableDeadline(this.inboundIdleMs, this.stopController.signal);
          let more: boolean;
          try {
            more = await reader.waitForBytes({ signal: idle.signal });
          } catch (err) {
            if (!idle.signal.aborted) throw err;
            more = false; // idle (or we stop): nothing of a next frame came
          } finally {
            idle.release();
          }
          if (!more) {
            reader.detach();
            if (stream.status === 'open') await stream.close({ signal: deadline(this.inboundTimeoutMs, this.stopController.signal) });
            return;
          }
        }
        const expiry = releasableDeadline(this.inboundTimeoutMs, this.stopController.signal);
        try {
          if (!await this.serveFrame(stream, reader, from, expiry.signal)) return;
        } finally {
          expiry.release();
        }
      }
    } catch (err) {
      this.log.debug({ peer: from, err }, 'inbound stream failed');
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      reader.detach();
      this.release(stream, from);
    }
  }

  /**
   * Read one frame (through lpStream on a 1.0.0 stream, the frame reader on a 1.1.0 one), hand it to the
   * receive path and write its reply. Returns false when the stream is finished: refused unread, broken,
   * stalled (counted, and the stream reset), or ended cleanly before a next frame.
   */
  private async serveFrame(stream: Stream, input: LengthPrefixedStream<Stream> | FrameReader, from: string, expiry: AbortSignal): Promise<boolean> {
    let bytes: FrameBytes;
    try {
      // f16/q8 frames as the chunks they arrived in (decoded without joining them), others joined (codec.ts).
      const raw = input instanceof FrameReader ? await input.read({ signal: expiry }) : frameForDecode(await input.read({ signal: expiry }));
      if (raw === null) return false;
      bytes = raw;
    } catch (err) {
      const name = (err as Error | undefined)?.name;
      if (name === 'StreamBufferError') {
        // A transport chunk larger than READ_SLACK_BYTES overflowed the buffer: oversized, but too late to reply.
        this.countRejection(from, 'oversized', String(err));
        return false;
      }
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'LengthPrefixTooLongError') {
        this.countRejection(from, 'oversized', name === 'LengthPrefixTooLongError' ? String(err) : `length prefix over ${this.maxFrameBytes} bytes`);
        // No honest sender writes a prefix that never ends; one that announces a big frame may be honest.
        if (name === 'LengthPrefixTooLongError') this.components.graylist?.strike(from, 'endless-length-prefix');
        // Stop buffering the rest of the frame (it would overflow the read buffer and abort the stream
        // before our reply is out), then reply and reset.
        if (input instanceof FrameReader) input.detach();
        else input.unwrap();
        await refuseUnread(stream, 'oversized', expiry);
        return false;
      }
      // Our own stop() aborts in-flight streams too: that is not the sender's fault, so it is not counted.
      if (!this.stopController.signal.aborted) this.countRejection(from, expiry.aborted ? 'stalled' : 'aborted', String(err));
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    const verdict = this.init.receiver.accept(from, bytes);
    this.notify({ from, outcome: verdict === 'accepted' ? verdict : verdict.reason, bytes: bytes.byteLength });
    await writeReply(stream, verdict === 'accepted' ? ACK_ACCEPTED : ackCode(verdict.reason), expiry);
    return true;
  }
}

/** Factory in js-libp2p service shape: `modelExchange(init)(components)`. Acquires nothing until start(). */
export function modelExchange(init: ModelExchangeInit): (components: ModelExchangeComponents) => ModelExchange {
  return (components) => new DefaultModelExchange(components, init);
}
