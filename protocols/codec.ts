/**
 * Model frames: the wire format of `/murmur/model/1.0.0` and `1.1.0` (DESIGN.md "Wire protocol"). One frame per
 * length-prefixed message; the length prefix belongs to the stream layer, not to this codec.
 *
 * Layout (all numbers little-endian; offsets in bytes from the start of the frame):
 *
 *   off  size  field
 *     0     4  magic 'M' 'R' 'M' 'F'
 *     4     1  version, u8 (FRAME_VERSION = 1)
 *     5     1  kind, u8: 0 model, 1 ranking, 2 aggregate
 *     6     1  encoding, u8: 0 f32, 1 f16, 2 q8, 3 topk (ranking frames: always 0, widths follow from the layout)
 *     7     1  S = swarm id length in bytes, u8, ≤ 64
 *     8     4  round, u32
 *    12     2  gossip step, u16
 *    14     2  sender degree, u16
 *    16     8  model age or sample count, f64, finite and ≥ 0
 *    24     8  layout hash: the 16 hex digits of `Layout.hash` as 8 bytes, first pair first
 *    32     4  element count, u32 (see payloads)
 *    36     4  E = extension length, u32 (opaque blob, e.g. piggybacked membership views)
 *    40     4  P = payload length, u32
 *    44     S  swarm id, UTF-8
 *  44+S     E  extension bytes
 *           0–3 zero bytes, so the payload starts at a multiple of 4 (f32 frames then decode without a copy)
 *  pay      P  payload; pay = align4(44 + S + E) and the frame is exactly pay + P bytes long
 *
 * Payloads (n = layout.size, T = number of tensors):
 *   f32   n × f32; element count n.
 *   f16   n × IEEE half, round-to-nearest-even; finite |v| > 65504 is clamped to ±65504 (never ±Inf).
 *   q8    T × (min f32, scale f32), then n × u8; per-tensor affine, see codec/quantize.ts. Element count n.
 *   topk  k ascending u32 indices, then their k f32 values; element count k = ceil(fraction · n).
 *   ranking  for each 'score' tensor in layout order, a permutation of 0..m−1 (m = tensor size) stored as
 *         u8 if m ≤ 256, u16 if m ≤ 65536, else u32, sections back to back (codec/ranking.ts); element count Σ m.
 *
 * Validation order (first failure wins): oversized frame → truncated fixed header → bad magic → version →
 * kind → encoding → header fields against FrameLimits → payload length vs element count → total length
 * (short: 'truncated', long: 'wrong-length') → swarm → layout hash → layout-dependent lengths → payload
 * contents. topk indices that are not strictly ascending or not < layout.size are 'bad-header' (they are
 * the frame's addressing, not its values). Decoded arrays may be views into the input bytes (f32 and
 * topk when 4-byte aligned; the extension when the input is one array), so don't reuse the input buffer
 * while you keep them. f16 and q8 values are always a new array.
 */
import type { Uint8ArrayList } from 'uint8arraylist';
import { bytesOf, type ByteSource } from '../aggregation/kernels/codec.js';
import type { Layout } from '../aggregation/layout.js';
import { chunkSource } from './codec/chunks.js';
import { floatsToHalves, halvesToFloatsFrom } from './codec/f16.js';
import { dequantizeQ8From, q8PayloadBytes, Q8_PARAM_BYTES, quantizeQ8 } from './codec/quantize.js';
import { rankingShape, rankingsProblem, readRankings, writeRankings } from './codec/ranking.js';
import { selectTopk, topkCount } from './codec/topk.js';
import {
  allocateFrame, declaredPayloadOffset, DEFAULT_FRAME_LIMITS, ENCODINGS, extensionOf, fail, FIXED_HEADER_BYTES, FRAME_KINDS, frameParts, peekHeader, reject,
  type Encoding, type FrameHeader, type FrameLimits, type FrameMeta, type Reject,
} from './codec/header.js';

export {
  DEFAULT_FRAME_LIMITS, ENCODINGS, FRAME_KINDS, FRAME_VERSION, MAX_SWARM_BYTES, peekHeader, REJECT_REASONS,
  type Encoding, type FrameHeader, type FrameKind, type FrameLimits, type FrameMeta, type RejectReason,
} from './codec/header.js';
export { F16_MAX } from './codec/f16.js';
export { FrameRejectedError } from './errors.js';

// Typed-array views use the host's byte order; the wire is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('protocols/codec.ts supports little-endian hosts only');

export interface DecodedFrame {
  header: FrameHeader;
  /** Dense parameters for f32/f16/q8 model/aggregate frames (layout.size elements); null otherwise. */
  values: Float32Array | null;
  /** For 'topk': the kept coordinates (ascending indices) and their values; null otherwise. */
  sparse: { indices: Uint32Array; values: Float32Array } | null;
  /** For 'ranking' frames: one permutation per tensor of role 'score' in layout order; null otherwise. */
  rankings: Uint32Array[] | null;
  /** Opaque extension blob (a view into the input); empty if none. */
  extension: Uint8Array;
}

export interface EncodeOptions {
  /** Payload encoding; default 'f32'. */
  encoding?: Encoding;
  /** For 'topk': fraction of coordinates kept, in (0, 1]; default 0.1. */
  topkFraction?: number;
  /** Opaque blob carried beside the payload; default empty. */
  extension?: Uint8Array;
  /** The frame's buffer of a given byte length (a simulator recycles them: node/frame-buffers.ts); default a new one. */
  buffer?: (byteLength: number) => Uint8Array;
}

export type DecodeResult = { ok: true; frame: DecodedFrame } | Reject;

export interface DecodeExpectations {
  /** The receiver's layout: hash, size and tensors every frame must match. */
  layout: Layout;
  /** The receiver's swarm id. */
  swarm: string;
  /** Default DEFAULT_FRAME_LIMITS. */
  limits?: FrameLimits;
}

const DEFAULT_TOPK_FRACTION = 0.1;
const EMPTY = new Uint8Array(0);

/** Index of the first NaN or ±Inf, or -1. */
function firstNonFinite(values: Float32Array): number {
  // x * 0 is NaN exactly for NaN and ±Inf; summing keeps the common all-finite pass branch-free, and
  // four sums break the add latency chain (about twice as fast as one).
  const n = values.length;
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    p0 += values[i]! * 0;
    p1 += values[i + 1]! * 0;
    p2 += values[i + 2]! * 0;
    p3 += values[i + 3]! * 0;
  }
  for (; i < n; i++) p0 += values[i]! * 0;
  return p0 + p1 + p2 + p3 === 0 ? -1 : values.findIndex((v) => !Number.isFinite(v));
}

function failIfNonFinite(values: Float32Array): void {
  const bad = firstNonFinite(values);
  if (bad >= 0) fail(reject('non-finite', `element ${bad} is ${values[bad]}`));
}

/**
 * Encode a 'model' or 'aggregate' frame of `values` (layout.size finite floats) into one new buffer.
 * Throws FrameRejectedError for what no receiver would accept: kind 'ranking' ('bad-header'), a wrong
 * vector length ('wrong-length'), NaN/±Inf ('non-finite'), fields the format cannot hold ('bad-header');
 * RangeError for a topkFraction outside (0, 1]. Receiver limits (FrameLimits) are not applied here.
 */
export function encodeModelFrame(meta: FrameMeta, layout: Layout, values: Float32Array, options: EncodeOptions = {}): Uint8Array {
  const encoding = options.encoding ?? 'f32';
  if (meta.kind === 'ranking') fail(reject('bad-header', 'ranking frames are built by encodeRankingFrame'));
  if (values.length !== layout.size) fail(reject('wrong-length', `vector has ${values.length} elements, layout ${layout.size}`));
  // f32 and topk are checked here; f16 and q8 check inside their conversion pass.
  if (encoding === 'f32' || encoding === 'topk') failIfNonFinite(values);
  const n = values.length;
  let elementCount = n;
  let payloadLength: number;
  switch (encoding) {
    case 'f32': payloadLength = 4 * n; break;
    case 'f16': payloadLength = 2 * n; break;
    case 'q8': payloadLength = q8PayloadBytes(layout); break;
    case 'topk': {
      const fraction = options.topkFraction ?? DEFAULT_TOPK_FRACTION;
      if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`topkFraction ${fraction} is not in (0, 1]`);
      elementCount = topkCount(n, fraction);
      payloadLength = 8 * elementCount;
      break;
    }
    default: return fail(reject('unknown-encoding', `encoding ${JSON.stringify(encoding)} is not one of f32, f16, q8, topk`));
  }
  const { out, offset } = allocateFrame({ ...meta, layoutHash: layout.hash, encoding, elementCount, payloadLength }, options.extension ?? EMPTY, options.buffer);
  const buf = out.buffer;
  switch (encoding) {
    case 'f32': new Float32Array(buf, offset, n).set(values); break;
    case 'f16': if (!floatsToHalves(values, new Uint16Array(buf, offset, n))) failIfNonFinite(values); break;
    case 'q8': {
      const paramsBytes = layout.tensors.length * Q8_PARAM_BYTES;
      if (!quantizeQ8(layout, values, new Float32Array(buf, offset, paramsBytes / 4), out.subarray(offset + paramsBytes))) failIfNonFinite(values);
      break;
    }
    case 'topk':
      if (elementCount > 0) selectTopk(values, new Uint32Array(buf, offset, elementCount), new Float32Array(buf, offset + 4 * elementCount, elementCount));
      break;
  }
  return out;
}

/**
 * Encode a 'ranking' frame: one permutation of 0..m−1 per 'score' tensor of `layout` (m its size), each
 * stored in the smallest unsigned type that holds m − 1 (u8/u16/u32). Throws FrameRejectedError
 * ('bad-ranking') when the layout has no score tensors or a ranking is missing or not a permutation.
 */
export function encodeRankingFrame(meta: FrameMeta, layout: Layout, rankings: readonly Uint32Array[], options: { extension?: Uint8Array } = {}): Uint8Array {
  if (meta.kind !== 'ranking') fail(reject('bad-header', `encodeRankingFrame builds kind 'ranking', not '${meta.kind}'`));
  const shape = rankingShape(layout);
  const problem = rankingsProblem(shape, rankings);
  if (problem) fail(reject('bad-ranking', problem));
  const { elementCount, payloadLength } = shape;
  const { out, offset } = allocateFrame({ ...meta, layoutHash: layout.hash, encoding: 'f32', elementCount, payloadLength }, options.extension ?? EMPTY);
  writeRankings(shape, rankings, out, offset);
  return out;
}

/**
 * A frame as decodeFrame takes it: one array, or the pieces it arrived in (a Uint8ArrayList, not joined:
 * f16 and q8 payloads are converted straight from the pieces; other frames are joined once).
 */
export type FrameBytes = Uint8Array | Uint8ArrayList;

/**
 * A received frame as decodeFrame should get it: the pieces themselves when its header (kind, encoding bytes)
 * announces a dense f16 or q8 payload, which is converted straight from them; else the frame joined once into
 * a plain Uint8Array, so the pieces are released at once (holding 10 MB of an f32 frame's pieces until the
 * reply is out measurably slowed the f32 push through garbage collection).
 */
export function frameForDecode(pieces: Uint8ArrayList): FrameBytes {
  if (pieces.byteLength > FIXED_HEADER_BYTES) {
    const kind = FRAME_KINDS[pieces.get(5)], encoding = ENCODINGS[pieces.get(6)];
    if (kind !== undefined && kind !== 'ranking' && (encoding === 'f16' || encoding === 'q8')) return pieces;
  }
  const joined = pieces.subarray(); // a Node Buffer (TCP) when in one piece: a plain Uint8Array over its memory
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}

/**
 * A caller's destination for the dense values of one frame, chosen once the frame's header has passed every
 * header check (limits, swarm, layout hash, element count): its sender, round, step and kind are then known, so
 * a receive path can pick a buffer it owns for exactly that frame (e.g. the slot whose previous frame it has
 * merged). Returning undefined decodes into a new array.
 */
export type DecodeDestination = (header: FrameHeader) => Float32Array | undefined;

/** Where decodeFrame puts dense values. */
export interface DecodeOptions {
  /**
   * Decode the values of an f32, f16 or q8 model/aggregate frame into this array (layout.size floats) instead
   * of a new one: e.g. a receive buffer from `kernelVectors`, which the f16 and q8 kernels then fill in place
   * (no copy out of kernel memory, no 10 MB allocation per frame) and the aggregation rules read in place.
   * Or a DecodeDestination, asked only for such a frame whose header passed its checks (never for a refused
   * header, a topk or a ranking frame). The frame's `values` is then this array. After a refusal its contents
   * are unspecified.
   */
  into?: Float32Array | DecodeDestination;
}

/**
 * Decode and fully validate one frame against the receiver's layout, swarm and limits. Never throws on
 * any input (including unaligned subarrays and pieces split at any byte); a refusal is `{ ok: false, reason, detail }`.
 * @throws RangeError when `options.into` is (or returns) an array that is not layout.size long (a caller's bug,
 *   not the input's); whatever a DecodeDestination throws
 */
export function decodeFrame(bytes: FrameBytes, expect: DecodeExpectations, options: DecodeOptions = {}): DecodeResult {
  const into = options.into ?? null;
  if (into instanceof Float32Array) checkDestination(into, expect.layout.size);
  if (bytes instanceof Uint8Array) return decodeWhole(bytes, expect, into);
  const chunks = [...bytes];
  if (chunks.length <= 1) {
    const one = bytes.subarray(); // may be a Node Buffer (TCP): decode a plain Uint8Array over its memory
    return decodeWhole(new Uint8Array(one.buffer, one.byteOffset, one.byteLength), expect, into);
  }
  // The head (header, swarm id, extension) is joined; it is small next to the payload.
  const total = bytes.byteLength;
  const headLength = total < FIXED_HEADER_BYTES ? total : Math.min(total, declaredPayloadOffset(bytes.subarray(0, FIXED_HEADER_BYTES)));
  const head = bytes.subarray(0, headLength);
  const checked = checkHeader(head, total, expect);
  if (!checked.ok) return checked;
  const { header } = checked;
  if (header.kind === 'ranking' || (header.encoding !== 'f16' && header.encoding !== 'q8')) return decodeWhole(bytes.slice(), expect, into);
  return decodeConverted(header, expect.layout, extensionOf(head, header), chunkSource(chunks), total - header.payloadLength, into);
}

type Destination = Float32Array | DecodeDestination | null;

function checkDestination(into: Float32Array, size: number): Float32Array {
  if (into.length !== size) throw new RangeError(`decodeFrame: 'into' holds ${into.length} floats, the layout ${size}`);
  return into;
}

/** The array dense values of `header`'s frame go to: the caller's (checked), or null for a new one. */
function destinationOf(into: Destination, header: FrameHeader, size: number): Float32Array | null {
  if (typeof into !== 'function') return into;
  const chosen = into(header);
  return chosen === undefined ? null : checkDestination(chosen, size);
}

/** The header checks every frame passes first: the fixed header against the limits, then swarm and layout hash. */
function checkHeader(head: Uint8Array, length: number, expect: DecodeExpectations): { ok: true; header: FrameHeader } | Reject {
  const peek = peekHeader(head, expect.limits ?? DEFAULT_FRAME_LIMITS, length);
  if (!peek.ok) return peek;
  const header = peek.header;
  const { layout } = expect;
  if (header.swarm !== expect.swarm) return reject('foreign-swarm', `frame of swarm ${JSON.stringify(header.swarm)}, this peer is in ${JSON.stringify(expect.swarm)}`);
  if (header.layoutHash !== layout.hash) return reject('foreign-layout', `layout hash ${header.layoutHash}, this peer's is ${layout.hash}`);
  return peek;
}

const accepted = (header: FrameHeader, extension: Uint8Array, part: Partial<DecodedFrame>): DecodeResult =>
  ({ ok: true, frame: { header, values: null, sparse: null, rankings: null, extension, ...part } });

function decodeWhole(bytes: Uint8Array, expect: DecodeExpectations, into: Destination): DecodeResult {
  const checked = checkHeader(bytes, bytes.length, expect);
  if (!checked.ok) return checked;
  const { header } = checked;
  const { layout } = expect;
  if (header.kind !== 'ranking' && (header.encoding === 'f16' || header.encoding === 'q8')) {
    // Converted through the kernels' staging, which needs no alignment: no aligned copy of the payload.
    return decodeConverted(header, layout, extensionOf(bytes, header), bytesOf(bytes), bytes.length - header.payloadLength, into);
  }
  const { extension, payload } = frameParts(bytes, header);
  const frame = (part: Partial<DecodedFrame>): DecodeResult => accepted(header, extension, part);

  if (header.kind === 'ranking') {
    const rankings = decodeRankings(header, layout, payload);
    return Array.isArray(rankings) ? frame({ rankings }) : rankings;
  }
  const buf = payload.buffer;
  const at = payload.byteOffset;
  const n = header.elementCount;
  if (header.encoding === 'topk') {
    if (n > layout.size) return reject('wrong-length', `topk frame keeps ${n} coordinates of a ${layout.size}-element layout`);
    const indices = new Uint32Array(buf, at, n);
    const values = new Float32Array(buf, at + 4 * n, n);
    for (let i = 0, prev = -1; i < n; prev = indices[i]!, i++) {
      if (indices[i]! <= prev || indices[i]! >= layout.size) {
        return reject('bad-header', `topk index ${i} is ${indices[i]} after ${prev}; indices must ascend strictly below ${layout.size}`);
      }
    }
    const bad = firstNonFinite(values);
    if (bad >= 0) return reject('non-finite', `topk value ${bad} is ${values[bad]}`);
    return frame({ sparse: { indices, values } });
  }
  if (n !== layout.size) return reject('wrong-length', `${n} elements, layout ${layout.size}`);
  const values = new Float32Array(buf, at, n);
  // Checked before a destination is asked for: a refused f32 frame leaves the caller's buffer as it was.
  const bad = firstNonFinite(values);
  if (bad >= 0) return reject('non-finite', `element ${bad} is ${values[bad]}`);
  const dst = destinationOf(into, header, layout.size);
  if (dst === null) return frame({ values });
  dst.set(values);
  return frame({ values: dst });
}

/** The dense f16 or q8 payload at byte `start` of `source` (header checked), converted into `into` or a new array. */
function decodeConverted(header: FrameHeader, layout: Layout, extension: Uint8Array, source: ByteSource, start: number, into: Destination): DecodeResult {
  const n = header.elementCount;
  if (n !== layout.size) return reject('wrong-length', `${n} elements, layout ${layout.size}`);
  // (peekHeader checked an f16 payload's length against the element count; q8's depends on the layout.)
  const q8Bytes = header.encoding === 'q8' ? q8PayloadBytes(layout) : -1;
  if (q8Bytes >= 0 && header.payloadLength !== q8Bytes) return reject('wrong-length', `q8 payload of ${header.payloadLength} bytes, layout needs ${q8Bytes}`);
  const values = destinationOf(into, header, n) ?? new Float32Array(n);
  if (header.encoding === 'f16') {
    return halvesToFloatsFrom(source, start, values) ? accepted(header, extension, { values }) : reject('non-finite', 'f16 payload holds an Inf or NaN bit pattern');
  }
  const params = new Float32Array(2 * layout.tensors.length);
  source(new Uint8Array(params.buffer), 0, start, params.byteLength);
  const bad = dequantizeQ8From(layout, params, source, start + params.byteLength, values);
  return bad >= 0 ? reject('non-finite', `q8 min/scale of tensor ${layout.tensors[bad]!.name} are non-finite or overflow float32`) : accepted(header, extension, { values });
}

function decodeRankings(header: FrameHeader, layout: Layout, payload: Uint8Array): Uint32Array[] | Reject {
  const shape = rankingShape(layout);
  if (shape.scores.length === 0) return reject('bad-ranking', 'ranking frame for a layout without score tensors');
  if (header.elementCount !== shape.elementCount) return reject('wrong-length', `${header.elementCount} ranking entries, the score tensors have ${shape.elementCount}`);
  if (header.payloadLength !== shape.payloadLength) return reject('wrong-length', `ranking payload of ${header.payloadLength} bytes, layout needs ${shape.payloadLength}`);
  const rankings = readRankings(shape, payload);
  const problem = rankingsProblem(shape, rankings);
  return problem ? reject('bad-ranking', problem) : rankings;
}
