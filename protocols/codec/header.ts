/**
 * The fixed part of a model frame: types, limits, byte offsets, writing the header and the cheap
 * header-only parse. The byte layout is documented in protocols/codec.ts, which re-exports the public
 * names defined here.
 */
import { FrameRejectedError } from '../errors.js';

/** Wire-format version carried in every frame; bumped with the stream protocol id on any change. */
export const FRAME_VERSION = 1;

export type FrameKind = 'model' | 'ranking' | 'aggregate';
/** Wire code = index. */
export const FRAME_KINDS: readonly FrameKind[] = Object.freeze(['model', 'ranking', 'aggregate']);

export type Encoding = 'f32' | 'f16' | 'q8' | 'topk';
/** Wire code = index. */
export const ENCODINGS: readonly Encoding[] = Object.freeze(['f32', 'f16', 'q8', 'topk']);

export { REJECT_REASONS, type RejectReason } from '../errors.js';
import type { RejectReason } from '../errors.js';

/**
 * Receiver policy, checked before any allocation sized by a header field (DESIGN.md "Wire protocol").
 * Encoders do not apply these: they only refuse what the format cannot represent.
 */
export interface FrameLimits {
  /** Whole frame, header included, in bytes ('oversized' beyond). */
  maxFrameBytes: number;
  /** Header element count ('oversized' beyond): layout.size for dense frames, k for topk. */
  maxElements: number;
  /** Extension blob in bytes ('oversized' beyond). */
  maxExtensionBytes: number;
  /** Largest accepted round ('bad-header' beyond). */
  maxRound: number;
  /** Largest accepted gossip step within a round ('bad-header' beyond). */
  maxStep: number;
}

/** 256 MiB frames, 64 Mi elements, 1 MiB extension, any u32 round, 1024 gossip steps. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxFrameBytes: 256 * 1024 * 1024,
  maxElements: 64 * 1024 * 1024,
  maxExtensionBytes: 1024 * 1024,
  maxRound: 2 ** 32 - 1,
  maxStep: 1024,
});

/** What the sender states about the frame; the caller's half of the header. */
export interface FrameMeta {
  kind: FrameKind;
  /** Swarm id, at most MAX_SWARM_BYTES bytes of UTF-8. */
  swarm: string;
  /** Round number, u32. */
  round: number;
  /** Gossip step within the round, u16. */
  step: number;
  /** Sender's degree (neighbour count), u16. */
  degree: number;
  /** Model age or sample count: finite, ≥ 0. */
  age: number;
}

/** A parsed header: the meta plus what the codec derives. */
export interface FrameHeader extends FrameMeta {
  version: number;
  /** 16 lowercase hex digits, as `Layout.hash`. */
  layoutHash: string;
  encoding: Encoding;
  elementCount: number;
  extensionLength: number;
  payloadLength: number;
}

/** A refusal as a value. */
export interface Reject { ok: false; reason: RejectReason; detail: string }
export const reject = (reason: RejectReason, detail: string): Reject => ({ ok: false, reason, detail });
/** A refusal as an exception, for the encoders. */
export const fail = (r: Reject): never => {
  throw new FrameRejectedError(r.reason, r.detail);
};

/** 'MRMF' read as a big-endian u32 (the bytes appear in this order on the wire). */
export const MAGIC = 0x4d524d46;
/** Longest swarm id, in UTF-8 bytes. */
export const MAX_SWARM_BYTES = 64;
/** Bytes before the swarm id. */
export const FIXED_HEADER_BYTES = 44;
/** Bytes per element for encodings whose payload size depends only on the element count. */
const FIXED_ELEMENT_BYTES: Partial<Record<Encoding, number>> = { f32: 4, f16: 2, topk: 8 };
const U32_MAX = 2 ** 32 - 1;
const U16_MAX = 0xffff;

const OFF = { magic: 0, version: 4, kind: 5, encoding: 6, swarmLength: 7, round: 8, step: 12, degree: 14, age: 16,
  hash: 24, elementCount: 32, extensionLength: 36, payloadLength: 40 } as const;

/** Offset of the payload: after swarm id and extension, rounded up to a multiple of 4. */
export const payloadOffset = (swarmLength: number, extensionLength: number): number =>
  (FIXED_HEADER_BYTES + swarmLength + extensionLength + 3) & ~3;

/**
 * The payload offset a frame's fixed header (its first FIXED_HEADER_BYTES bytes) declares, unchecked: for any
 * extension length up to 2³² − 1 (in double arithmetic; payloadOffset's bit operations would wrap negative).
 */
export function declaredPayloadOffset(fixed: Uint8Array): number {
  const dv = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  const end = FIXED_HEADER_BYTES + fixed[OFF.swarmLength]! + dv.getUint32(OFF.extensionLength, true);
  return Math.ceil(end / 4) * 4;
}

const utf8 = new TextEncoder();
// fatal: malformed UTF-8 is a bad header, not U+FFFD; ignoreBOM: a leading U+FEFF stays part of the id.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HEX = /^[0-9a-f]{16}$/;

/** Everything writeHeader needs. */
export interface HeaderFields extends FrameMeta { layoutHash: string; encoding: Encoding; elementCount: number; payloadLength: number }

/**
 * The checked UTF-8 bytes of a swarm id, and the 8 bytes of a layout hash, cached for the last few values: a
 * peer encodes many frames for one swarm and one layout (a simulator round, hundreds), and encoding and
 * checking them again each time cost more than the header itself. The cached arrays are never handed out.
 */
const SWARM_CACHE = new Map<string, Uint8Array>();
const HASH_CACHE = new Map<string, Uint8Array>();
const HEADER_CACHE_ENTRIES = 16;

function remember(cache: Map<string, Uint8Array>, key: string, value: Uint8Array): Uint8Array {
  if (cache.size >= HEADER_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

function swarmBytes(id: string): Uint8Array {
  const hit = SWARM_CACHE.get(id);
  if (hit) return hit;
  const swarm = utf8.encode(id);
  // A lone surrogate would silently become U+FFFD on the wire and the receiver would see another id.
  if (utf8Strict.decode(swarm) !== id) fail(reject('bad-header', 'swarm id has a lone surrogate and has no UTF-8 form'));
  if (swarm.length > MAX_SWARM_BYTES) fail(reject('bad-header', `swarm id is ${swarm.length} bytes of UTF-8, limit ${MAX_SWARM_BYTES}`));
  return remember(SWARM_CACHE, id, swarm);
}

function hashBytes(hex: string): Uint8Array {
  const hit = HASH_CACHE.get(hex);
  if (hit) return hit;
  if (!HEX.test(hex)) fail(reject('bad-header', `layout hash ${JSON.stringify(hex)} is not 16 lowercase hex digits`));
  const bytes = new Uint8Array(8);
  for (let i = 0; i < 8; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return remember(HASH_CACHE, hex, bytes);
}

/**
 * Allocate the one output buffer of a frame and write its header, swarm id and extension; the caller
 * writes the payload at the returned offset. Throws FrameRejectedError when a field cannot be represented.
 */
export function allocateFrame(f: HeaderFields, extension: Uint8Array, buffer?: (byteLength: number) => Uint8Array): { out: Uint8Array; offset: number } {
  const kind = FRAME_KINDS.indexOf(f.kind);
  if (kind < 0) fail(reject('unknown-kind', `kind ${JSON.stringify(f.kind)} is not one of ${FRAME_KINDS.join(', ')}`));
  const isUint = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
  if (!isUint(f.round, U32_MAX)) fail(reject('bad-header', `round ${f.round} is not a u32`));
  if (!isUint(f.step, U16_MAX)) fail(reject('bad-header', `step ${f.step} is not a u16`));
  if (!isUint(f.degree, U16_MAX)) fail(reject('bad-header', `degree ${f.degree} is not a u16`));
  if (!Number.isFinite(f.age)) fail(reject('non-finite', `age ${f.age} is not finite`));
  if (f.age < 0) fail(reject('bad-header', `age ${f.age} is negative`));
  const hash = hashBytes(f.layoutHash);
  const swarm = swarmBytes(f.swarm);
  if (extension.length > U32_MAX || f.payloadLength > U32_MAX || f.elementCount > U32_MAX) {
    fail(reject('oversized', `extension ${extension.length} / payload ${f.payloadLength} bytes / ${f.elementCount} elements exceed u32`));
  }

  const offset = payloadOffset(swarm.length, extension.length);
  const out = buffer?.(offset + f.payloadLength) ?? new Uint8Array(offset + f.payloadLength);
  if (out.byteLength !== offset + f.payloadLength || out.byteOffset !== 0) throw new RangeError(`allocateFrame: a given buffer has ${out.byteLength} bytes at offset ${out.byteOffset}; the frame needs ${offset + f.payloadLength} at 0`);
  const dv = new DataView(out.buffer);
  dv.setUint32(OFF.magic, MAGIC, false);
  out[OFF.version] = FRAME_VERSION;
  out[OFF.kind] = kind;
  out[OFF.encoding] = ENCODINGS.indexOf(f.encoding);
  out[OFF.swarmLength] = swarm.length;
  dv.setUint32(OFF.round, f.round, true);
  dv.setUint16(OFF.step, f.step, true);
  dv.setUint16(OFF.degree, f.degree, true);
  dv.setFloat64(OFF.age, f.age, true);
  out.set(hash, OFF.hash);
  dv.setUint32(OFF.elementCount, f.elementCount, true);
  dv.setUint32(OFF.extensionLength, extension.length, true);
  dv.setUint32(OFF.payloadLength, f.payloadLength, true);
  out.set(swarm, FIXED_HEADER_BYTES);
  out.set(extension, FIXED_HEADER_BYTES + swarm.length);
  // The padding up to the 4-aligned payload must be zero (peekHeader refuses anything else): a recycled buffer
  // still holds the bytes of its previous frame there.
  out.fill(0, FIXED_HEADER_BYTES + swarm.length + extension.length, offset);
  return { out, offset };
}

/**
 * Parse and check the header against `limits` without touching the payload: every size is checked
 * before anything is allocated from it, and the frame's total length must match the header exactly.
 * Never throws. Layout-dependent checks (q8 and ranking payload sizes, dense element count, layout
 * hash, swarm) are decodeFrame's. `bytes` may be just the frame's head when `length` gives the whole
 * frame's length: the head must then hold every byte before the payload (or the whole frame, if shorter).
 */
export function peekHeader(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS, length = bytes.length): { ok: true; header: FrameHeader } | Reject {
  if (length > limits.maxFrameBytes) return reject('oversized', `frame is ${length} bytes, limit maxFrameBytes ${limits.maxFrameBytes}`);
  if (length < FIXED_HEADER_BYTES) return reject('truncated', `frame is ${length} bytes, the fixed header alone is ${FIXED_HEADER_BYTES}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(OFF.magic, false) !== MAGIC) return reject('bad-magic', `magic 0x${dv.getUint32(OFF.magic, false).toString(16)}, expected 0x${MAGIC.toString(16)} ('MRMF')`);
  const version = bytes[OFF.version]!;
  if (version !== FRAME_VERSION) return reject('unsupported-version', `frame version ${version}, this peer speaks ${FRAME_VERSION}`);
  const kind = FRAME_KINDS[bytes[OFF.kind]!];
  if (kind === undefined) return reject('unknown-kind', `kind code ${bytes[OFF.kind]}`);
  const encoding = ENCODINGS[bytes[OFF.encoding]!];
  if (encoding === undefined) return reject('unknown-encoding', `encoding code ${bytes[OFF.encoding]}`);
  if (kind === 'ranking' && encoding !== 'f32') return reject('bad-header', `ranking frames carry encoding code 0, got '${encoding}'`);
  const swarmLength = bytes[OFF.swarmLength]!;
  if (swarmLength > MAX_SWARM_BYTES) return reject('bad-header', `swarm id is ${swarmLength} bytes, limit ${MAX_SWARM_BYTES}`);
  const round = dv.getUint32(OFF.round, true);
  if (round > limits.maxRound) return reject('bad-header', `round ${round}, limit maxRound ${limits.maxRound}`);
  const step = dv.getUint16(OFF.step, true);
  if (step > limits.maxStep) return reject('bad-header', `gossip step ${step}, limit maxStep ${limits.maxStep}`);
  const degree = dv.getUint16(OFF.degree, true);
  const age = dv.getFloat64(OFF.age, true);
  if (!Number.isFinite(age)) return reject('non-finite', `age ${age}`);
  if (age < 0) return reject('bad-header', `age ${age} is negative`);
  const elementCount = dv.getUint32(OFF.elementCount, true);
  if (elementCount > limits.maxElements) return reject('oversized', `${elementCount} elements, limit maxElements ${limits.maxElements}`);
  const extensionLength = dv.getUint32(OFF.extensionLength, true);
  if (extensionLength > limits.maxExtensionBytes) return reject('oversized', `extension of ${extensionLength} bytes, limit maxExtensionBytes ${limits.maxExtensionBytes}`);
  const payloadLength = dv.getUint32(OFF.payloadLength, true);
  const width = kind === 'ranking' ? undefined : FIXED_ELEMENT_BYTES[encoding];
  if (width !== undefined && payloadLength !== elementCount * width) {
    return reject('wrong-length', `payload of ${payloadLength} bytes, ${encoding} × ${elementCount} elements needs ${elementCount * width}`);
  }
  const offset = payloadOffset(swarmLength, extensionLength);
  const total = offset + payloadLength;
  if (total > limits.maxFrameBytes) return reject('oversized', `header declares a ${total}-byte frame, limit maxFrameBytes ${limits.maxFrameBytes}`);
  if (length < total) return reject('truncated', `frame is ${length} bytes, header declares ${total}`);
  if (length > total) return reject('wrong-length', `frame is ${length} bytes, header declares ${total}`);
  for (let i = FIXED_HEADER_BYTES + swarmLength + extensionLength; i < offset; i++) {
    if (bytes[i] !== 0) return reject('bad-header', `non-zero padding byte at offset ${i}`);
  }
  let swarm: string;
  try {
    swarm = utf8Strict.decode(bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + swarmLength));
  } catch {
    return reject('bad-header', 'swarm id is not valid UTF-8');
  }
  let layoutHash = '';
  for (let i = 0; i < 8; i++) layoutHash += bytes[OFF.hash + i]!.toString(16).padStart(2, '0');
  return {
    ok: true,
    header: { version, kind, swarm, round, step, degree, age, layoutHash, encoding, elementCount, extensionLength, payloadLength },
  };
}

/** The extension of a frame (or of its head) that passed peekHeader: a view. */
export function extensionOf(bytes: Uint8Array, header: FrameHeader): Uint8Array {
  const start = FIXED_HEADER_BYTES + bytes[OFF.swarmLength]!;
  return bytes.subarray(start, start + header.extensionLength);
}

/**
 * The extension (a view) and the payload of a frame that passed peekHeader. The payload is a view when
 * it is 4-byte aligned in its buffer and a copy otherwise (one copy), so typed views on it line up.
 */
export function frameParts(bytes: Uint8Array, header: FrameHeader): { extension: Uint8Array; payload: Uint8Array } {
  const raw = bytes.subarray(bytes.length - header.payloadLength);
  return {
    extension: extensionOf(bytes, header),
    // Uint8Array.prototype.slice copies even for a Node Buffer, whose own slice() is a view (still unaligned).
    payload: raw.byteOffset % 4 === 0 ? raw : Uint8Array.prototype.slice.call(raw),
  };
}
