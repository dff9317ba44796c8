/**
 * Reads length-prefixed frames, one after another, from a stream that carries many
 * (`/murmur/model/1.1.0`). Unlike lpStream it parses a frame's length prefix as soon as its bytes arrive,
 * inside the stream's 'message' dispatch: a frame announced over `maxDataLength` is refused before any
 * more of it is buffered. That matters on a kept stream, whose yamux window has grown (up to 16 MiB):
 * a sender's whole oversized frame then arrives in one burst, and lpStream, which parses the prefix a
 * microtask later, would overflow its buffer and reset the stream before the 'oversized' reply could go
 * out. The prefix goes through the bounded decoder (length-prefix.ts), so an endless prefix fails at once.
 * Also cheaper per frame than lpStream: no promise per prefix byte, one buffer for the stream's life.
 */
import type { Stream } from '@libp2p/interface';
import { InvalidDataLengthError } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { boundedLengthDecoder, MAX_VARINT_BYTES, varintLength } from './length-prefix.js';

/** Raised when the buffer would exceed `maxBufferSize` (named as @libp2p/utils names it). */
class StreamBufferError extends Error {
  override readonly name = 'StreamBufferError';
}

/** The stream ended in the middle of a frame. */
class UnexpectedEOFError extends Error {
  override readonly name = 'UnexpectedEOFError';
}

/** Options of a frame reader. */
export interface FrameReaderInit {
  /** Largest frame accepted, bytes, prefix excluded; a larger announcement fails with InvalidDataLengthError. */
  maxDataLength: number;
  /** Most bytes buffered at once (a frame and whatever a sender wrote beyond it); more fail with StreamBufferError. */
  maxBufferSize: number;
}

/** Frames of one stream, read in order (see the module comment). */
export class FrameReader {
  private readonly buffer = new Uint8ArrayList();
  private readonly decode: ReturnType<typeof boundedLengthDecoder>;
  private readonly maxPrefixBytes: number;
  /** Length of the frame at the head of the buffer once its prefix is complete, else -1. */
  private length = -1;
  private prefixBytes = 0;
  /** A violation of the framing (overlong prefix or length, buffer overflow): the frame is refused. */
  private failure: Error | null = null;
  /** The stream's own error when it ended by a reset (counts only if it cut a frame short). */
  private streamError: Error | null = null;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: Stream, private readonly init: FrameReaderInit) {
    this.decode = boundedLengthDecoder(init.maxDataLength);
    this.maxPrefixBytes = Math.min(MAX_VARINT_BYTES, varintLength(init.maxDataLength));
    this.onMessage = this.onMessage.bind(this);
    this.onEnd = this.onEnd.bind(this);
    stream.addEventListener('message', this.onMessage);
    stream.addEventListener('remoteCloseWrite', this.onEnd);
    stream.addEventListener('close', this.onEnd);
  }

  /** Whether bytes of a next frame are buffered. */
  get pending(): boolean {
    return this.buffer.byteLength > 0;
  }

  /**
   * The next whole frame as the chunks it arrived in (no copy: the codec converts f16 and q8 payloads
   * straight from them), or null when the stream ended cleanly before a next frame began. Rejects with the reader's failure (InvalidDataLengthError,
   * LengthPrefixTooLongError, StreamBufferError), UnexpectedEOFError, the stream's error, or the
   * signal's reason.
   */
  async read(options: { signal?: AbortSignal } = {}): Promise<Uint8ArrayList | null> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (this.length >= 0 && this.buffer.byteLength >= this.prefixBytes + this.length) {
        const end = this.prefixBytes + this.length;
        const frame = this.buffer.sublist(this.prefixBytes, end);
        this.buffer.consume(end);
        this.length = -1;
        this.parsePrefix();
        return frame;
      }
      if (this.ended) {
        if (this.buffer.byteLength === 0) return null;
        throw this.streamError ?? new UnexpectedEOFError(`stream ended ${this.buffer.byteLength} bytes into a frame`);
      }
      await this.next(options.signal);
    }
  }

  /**
   * Resolves once bytes of a next frame are buffered or refused (true), or the stream ended first, gracefully
   * or by a reset (false: between frames a reset cut nothing short).
   */
  async waitForBytes(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    while (!this.pending && this.failure === null && !this.ended) await this.next(options.signal);
    return this.pending || this.failure !== null;
  }

  /** Stop reading: later bytes are left to the stream (which drops them when it is reset). */
  detach(): void {
    this.stream.removeEventListener('message', this.onMessage);
    this.stream.removeEventListener('remoteCloseWrite', this.onEnd);
    this.stream.removeEventListener('close', this.onEnd);
    this.buffer.consume(this.buffer.byteLength);
  }

  /** Wait for the next event (bytes, end, failure) or the signal. */
  private next(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.wake = null; reject(signal!.reason); };
      this.wake = () => { signal?.removeEventListener('abort', onAbort); this.wake = null; resolve(); };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private onMessage(evt: Event): void {
    if (this.failure !== null) return;
    this.buffer.append((evt as Event & { data: Uint8Array | Uint8ArrayList }).data);
    if (this.length < 0) this.parsePrefix();
    if (this.failure === null && this.buffer.byteLength > this.init.maxBufferSize) {
      this.fail(new StreamBufferError(`read buffer overflow: ${this.buffer.byteLength} > ${this.init.maxBufferSize} bytes`));
    }
    this.wake?.();
  }

  private onEnd(evt: Event): void {
    const error = (evt as Event & { error?: Error }).error;
    if (error != null && this.streamError === null) this.streamError = error;
    this.ended = true;
    this.wake?.();
  }

  /** Parse the head frame's prefix if its bytes are here; an overlong prefix or length fails the reader. */
  private parsePrefix(): void {
    const have = this.buffer.byteLength;
    if (have === 0) return;
    try {
      const value = this.decode(this.buffer.sublist(0, Math.min(have, this.maxPrefixBytes)));
      if (value > this.init.maxDataLength) {
        this.fail(new InvalidDataLengthError(`frame of ${value} bytes announced, limit ${this.init.maxDataLength}`));
        return;
      }
      this.length = value;
      // The prefix ends at its first byte without the continuation bit (a sender may pad it with 0x80s).
      let n = 1;
      while ((this.buffer.get(n - 1) & 0x80) !== 0) n++;
      this.prefixBytes = n;
    } catch (err) {
      if (err instanceof RangeError) return; // prefix incomplete: wait for more bytes
      this.fail(err as Error);
    }
  }

  /** Record the failure and stop buffering: the rest of the frame is never kept. */
  private fail(err: Error): void {
    this.failure = err;
    this.buffer.consume(this.buffer.byteLength);
  }
}
