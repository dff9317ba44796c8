/**
 * Between the peer's frame types (node/network.ts) and the wire (codec.ts, membership.ts): both networks
 * encode an OutgoingFrame here and turn an accepted DecodedFrame into a ReceivedFrame here, so they put the
 * same bytes on the wire and hand the peer the same values.
 */
import type { Layout } from '../aggregation/layout.js';
import type { OutgoingFrame, ReceivedFrame } from '../node/network.js';
import { encodeModelFrame, encodeRankingFrame, type DecodedFrame } from './codec.js';
import { decodeView, encodeView } from './membership.js';

const EMPTY = new Uint8Array(0);

interface Encoded { readonly swarm: string; readonly layoutHash: string; readonly bytes: Uint8Array }

/**
 * Encodings by frame object: an engine pushes one frame object to all its targets, and every target's send
 * reuses the bytes (the old engines encoded once per push too). Weak, so a frame's bytes go with the frame.
 */
const encoded = new WeakMap<OutgoingFrame, Encoded>();

/** The frame on the wire for `swarm` and `layout` (the exchange layout); throws FrameRejectedError like the codec. */
export function encodeOutgoing(swarm: string, layout: Layout, frame: OutgoingFrame): Uint8Array {
  const hit = encoded.get(frame);
  if (hit !== undefined && hit.swarm === swarm && hit.layoutHash === layout.hash) return hit.bytes;
  const extension = frame.view === undefined ? EMPTY : encodeView(frame.view);
  const meta = { swarm, round: frame.round, step: frame.step, degree: frame.degree, age: frame.age };
  const bytes = frame.kind === 'ranking'
    ? encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, frame.rankings, { extension })
    : encodeModelFrame({ ...meta, kind: frame.kind }, layout, frame.values, { encoding: frame.encoding, extension, buffer: frame.buffer });
  encoded.set(frame, { swarm, layoutHash: layout.hash, bytes });
  return bytes;
}

/** The peer's view of a frame the codec accepted from `from` (`bytes` = its encoded size). */
export function toReceivedFrame(from: string, f: DecodedFrame, bytes: number): ReceivedFrame {
  const h = f.header;
  let view: ReceivedFrame['view'] = null;
  let viewProblem: string | null = null;
  if (f.extension.byteLength > 0) {
    const v = decodeView(f.extension);
    if (v.ok) view = v.entries;
    else viewProblem = `${v.reason}: ${v.detail}`;
  }
  return {
    from, kind: h.kind, round: h.round, step: h.step, degree: h.degree, age: h.age, bytes,
    values: f.values, sparse: f.sparse, rankings: f.rankings, view, viewProblem,
  };
}
