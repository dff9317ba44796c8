/**
 * A hostile libp2p peer's moves, for tests and benchmarks (issue 12 "hostile bytes"): a stream that
 * negotiates a protocol and then sends a length prefix that never ends, and a muxed stream that sends the
 * same bytes before any protocol negotiation (where multistream-select, not our code, reads them).
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { MurmurNode } from '../../protocols/libp2p.js';

/** What became of a flood. */
export interface FloodOutcome {
  /** Bytes the stream took before it ended (or all of them). */
  readonly bytesSent: number;
  /** From the first byte to the stream's end (reset or close), ms; null if it outlived the flood. */
  readonly endedAfterMs: number | null;
  /** 'reset' when the receiver aborted the stream, 'closed' when it closed it, 'open' if neither. */
  readonly outcome: 'reset' | 'closed' | 'open';
}

const CHUNK_BYTES = 64 * 1024;

/** Write `total` bytes of 0xff in 64 KiB chunks, honouring backpressure, until done or the stream ends. */
async function flood(stream: Stream, total: number): Promise<FloodOutcome> {
  const chunk = new Uint8Array(CHUNK_BYTES).fill(0xff);
  const t0 = performance.now();
  let ended: number | null = null;
  let outcome: FloodOutcome['outcome'] = 'open';
  stream.addEventListener('close', (evt) => {
    ended = performance.now() - t0;
    outcome = (evt as Event & { error?: Error }).error !== undefined ? 'reset' : 'closed';
  }, { once: true });
  stream.addEventListener('remoteCloseWrite', () => { ended ??= performance.now() - t0; if (outcome === 'open') outcome = 'closed'; }, { once: true });
  let sent = 0;
  while (sent < total && ended === null && stream.status === 'open' && stream.writeStatus === 'writable') {
    const piece = chunk.subarray(0, Math.min(CHUNK_BYTES, total - sent));
    sent += piece.byteLength;
    if (!stream.send(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => { stream.removeEventListener('drain', done); stream.removeEventListener('close', done); resolve(); };
        stream.addEventListener('drain', done);
        stream.addEventListener('close', done);
      });
    }
  }
  if (ended === null) {
    // Give the receiver the time to answer what it has read before we call it "open".
    await new Promise((r) => setTimeout(r, 200));
  }
  if (stream.status === 'open') stream.abort(new Error('flood over'));
  return { bytesSent: sent, endedAfterMs: ended, outcome };
}

/** Negotiate `protocol`, then send `total` bytes of 0xff: a varint length prefix that never ends. */
export async function endlessPrefix(attacker: MurmurNode, target: PeerId | Multiaddr, protocol: string, total: number): Promise<FloodOutcome> {
  const stream = await attacker.dialProtocol(target, protocol);
  return flood(stream, total);
}

/**
 * Open a muxed stream and send `total` bytes of 0xff before any protocol negotiation: the receiver's
 * multistream-select reads them as the length prefix of the protocol name. The muxer is a private field of
 * libp2p's Connection; a hostile peer has no such scruples.
 */
export async function endlessPrefixBeforeNegotiation(attacker: MurmurNode, target: PeerId | Multiaddr, total: number): Promise<FloodOutcome> {
  const connection: Connection = await attacker.dial(target);
  const muxer = (connection as unknown as { muxer?: { createStream(): Promise<Stream> } }).muxer;
  if (muxer === undefined) throw new Error('the connection has no muxer to open a raw stream on');
  return flood(await muxer.createStream(), total);
}
