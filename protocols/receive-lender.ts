/**
 * Received values lent from a bank of model-sized vectors, as a `receiveBuffer` hook (receiver.ts; the one
 * mechanism by which a receive path reuses memory, like the swarm's per-round buffers in node/receive-buffers.ts).
 * An accepted f16 or q8 frame's decode needs a new 10 MB-class array; with this hook it decodes into a vector
 * taken from the bank and held once on behalf of the frame's consumer, who calls `release(frame.values)` once it
 * reads them no more. A consumer that never does leaves the vector to the garbage collector (never lent again),
 * so a peer that does not know about lending loses nothing. f32 frames take none: their values stay views of the
 * received bytes. The vector of a frame refused after it was taken comes back through the hook's `refused`
 * (nobody else has seen it); after a decoder error the receiver calls nothing, so it stays held and is never lent
 * again. See exchange-tuning.md §17.
 */
import type { ReceiveBufferHook } from './receiver.js';

/** Model-sized vectors a receive path lends (node/vector-bank.ts VectorBank has this shape). */
export interface ReceiveVectors {
  /** A vector of `length` nobody holds (stale contents). */
  take(length: number): Float32Array;
  hold(v: Float32Array): void;
  /** One keeper less; at none `v` may be taken again. */
  release(v: Float32Array): void;
}

/** A `receiveBuffer` hook that lends f16 and q8 frames' values of `size` floats from `vectors` (see the module comment). */
export function lendReceivedValues(vectors: ReceiveVectors, size: number): ReceiveBufferHook {
  const hook: ReceiveBufferHook = (_from, header) => {
    if (header.encoding !== 'f16' && header.encoding !== 'q8') return undefined;
    const v = vectors.take(size);
    vectors.hold(v);
    return v;
  };
  hook.refused = (v) => vectors.release(v);
  return hook;
}
