/**
 * The sender's streams of the model exchange, kept per peer for reuse. A stream negotiated as
 * `/murmur/model/1.1.0` (MODEL_STREAM_PROTOCOL) carries many frames, one after the other, each answered by
 * its one-byte reply; between frames it waits here, idle. A peer that speaks only `/murmur/model/1.0.0`
 * gets one stream per frame, as before. Reuse saves, per frame, opening a yamux stream, the
 * multistream-select round trip and both half-closes (protocols/docs/exchange-tuning.md). At most
 * `maxIdlePerPeer` idle streams are kept per peer: concurrent sends to one peer open more, the surplus is
 * closed when they finish. An idle stream the receiver closes (its idle timeout) leaves the pool at once.
 */
import type { Stream } from '@libp2p/interface';
import type { LengthPrefixedStream } from '@libp2p/utils';
import { ACK_BYTES } from './constants.js';
import { boundedLpStream } from './length-prefix.js';

/** The reply is one byte; the read buffer needs no more than a few. */
const ACK_READ_BUFFER_BYTES = 64;

/** One outbound stream and its framing (built once, reused for every frame on it). */
export interface OutboundStream {
  readonly stream: Stream;
  /** Writes frames, reads the one-byte replies. */
  readonly lp: LengthPrefixedStream<Stream>;
  /** Negotiated as the many-frames protocol: may go back to the pool after a reply. */
  readonly reusable: boolean;
}

interface Pooled extends OutboundStream {
  peer: string;
  idle: boolean;
  readonly onRemoteClose: () => void;
}

/** Whether both directions of `stream` are still open. */
function healthy(stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable';
}

/** Idle reusable streams by peer id. */
export class OutboundStreams {
  private readonly idle = new Map<string, Pooled[]>();
  /** Set by abortAll (the service stopped): a stream that finishes opening or sending later is not kept. */
  private closed: Error | null = null;

  constructor(private readonly maxIdlePerPeer: number) {}

  /** Frame `stream` (just opened to `peer`); `reusable` when it speaks the many-frames protocol. */
  wrap(peer: string, stream: Stream, reusable: boolean): OutboundStream {
    const pooled: Pooled = {
      stream, reusable, peer, idle: false,
      lp: boundedLpStream(stream, { maxDataLength: ACK_BYTES, maxBufferSize: ACK_READ_BUFFER_BYTES }),
      onRemoteClose: () => { if (pooled.idle) this.drop(pooled); },
    };
    if (reusable) {
      stream.addEventListener('remoteCloseWrite', pooled.onRemoteClose);
      stream.addEventListener('close', pooled.onRemoteClose);
    }
    return pooled;
  }

  /** An idle healthy stream to `peer`, taken out of the pool; undefined if none. */
  take(peer: string): OutboundStream | undefined {
    const list = this.idle.get(peer);
    while (list !== undefined && list.length > 0) {
      const s = list.pop()!;
      s.idle = false;
      if (healthy(s.stream)) {
        if (list.length === 0) this.idle.delete(peer);
        return s;
      }
      this.retire(s);
    }
    this.idle.delete(peer);
    return undefined;
  }

  /**
   * A stream whose frame was answered: back to the pool when reusable, healthy and there is room; else its
   * write side is closed (the receiver then ends the stream).
   */
  give(out: OutboundStream): void {
    const s = out as Pooled;
    if (this.closed !== null) { this.forget(s); s.stream.abort(this.closed); return; }
    const list = this.idle.get(s.peer) ?? [];
    if (s.reusable && healthy(s.stream) && list.length < this.maxIdlePerPeer) {
      s.idle = true;
      list.push(s);
      this.idle.set(s.peer, list);
      return;
    }
    this.retire(s);
  }

  /**
   * Open a stream to `peer` ahead of its first frame and keep it idle, unless one is idle already (a new
   * connection: the first push then skips the stream's opening). A failure is dropped: the first send opens
   * its own stream and reports its own error.
   */
  async prefill(peer: string, open: () => Promise<Stream>, reusable: (stream: Stream) => boolean): Promise<void> {
    if (this.idle.has(peer)) return;
    let stream: Stream;
    try {
      stream = await open();
    } catch {
      return;
    }
    this.give(this.wrap(peer, stream, reusable(stream)));
  }

  /** Abort every idle stream, and every stream given back later (the service stops); until reopen(). */
  abortAll(err: Error): void {
    this.closed = err;
    for (const list of this.idle.values()) for (const s of list) { s.idle = false; s.stream.abort(err); }
    this.idle.clear();
  }

  /** Keep streams again (the service restarts). */
  reopen(): void {
    this.closed = null;
  }

  /** Idle streams kept, over all peers (tests, metrics). */
  size(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  private drop(s: Pooled): void {
    const list = this.idle.get(s.peer);
    const at = list?.indexOf(s) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    if (list !== undefined && list.length === 0) this.idle.delete(s.peer);
    s.idle = false;
    this.retire(s);
  }

  private forget(s: Pooled): void {
    s.stream.removeEventListener('remoteCloseWrite', s.onRemoteClose);
    s.stream.removeEventListener('close', s.onRemoteClose);
  }

  /** Close our side of a stream we no longer use; a stream that cannot close gracefully is aborted. */
  private retire(s: Pooled): void {
    this.forget(s);
    if (s.stream.status !== 'open') return;
    if (s.stream.writeStatus !== 'writable') { s.stream.abort(new Error('stream retired')); return; }
    void s.stream.close().catch((err: unknown) => { s.stream.abort(err instanceof Error ? err : new Error(String(err))); });
  }
}
