/**
 * The binary record a model is stored as: a small self-checking header followed by the raw float32 bytes.
 *
 * Layout, little-endian (the payload is the host's float32 bytes, which are little-endian on every
 * platform Node ships for; modelHash() hashes the same bytes):
 *
 *   0   4  magic "MMDL"
 *   4   2  version (1)
 *   6   2  layoutHash byte length n (≤ 255)
 *   8   4  round (u32)
 *  12   4  element count (u32)
 *  16   8  age (f64)
 *  24   8  savedAt (f64, ms since the epoch)
 *  32  32  SHA-256 of the payload; its first 16 hex digits are modelHash(vector)
 *  64   4  header check: first 4 bytes of SHA-256 over the header with these 4 bytes zeroed
 *  68   n  layoutHash (UTF-8), then zero padding to a multiple of 4 = payload offset P
 *   P 4·count  payload
 *
 * The payload checksum catches flipped weights; the header check catches a flipped round, age or count,
 * which the payload checksum alone would not. P is a multiple of 4 so that a buffer whose byteOffset is
 * 4-aligned yields a Float32Array view without a copy.
 */
import { createHash } from 'node:crypto';
import { RecordError } from './errors.js';
import type { StoredModel } from './types.js';

const MAGIC = 0x4c444d4d; // "MMDL" read as a little-endian u32
const VERSION = 1;
const FIXED_HEADER_BYTES = 68;
const CHECK_OFFSET = 64;
const DIGEST_OFFSET = 32;
/** Longest layoutHash a record can hold, in UTF-8 bytes. */
export const MAX_LAYOUT_HASH_BYTES = 255;

function payloadOffset(layoutHashBytes: number): number {
  return Math.ceil((FIXED_HEADER_BYTES + layoutHashBytes) / 4) * 4;
}

function headerCheck(header: Uint8Array): Uint8Array {
  const copy = new Uint8Array(header); // a copy: LevelDB hands out Buffers, whose slice() is a view
  copy.fill(0, CHECK_OFFSET, CHECK_OFFSET + 4);
  return createHash('sha256').update(copy).digest().subarray(0, 4);
}

/** What encodeModel produced besides the bytes: the payload digest, so the caller can check `model.hash`. */
export interface EncodedModel {
  bytes: Uint8Array;
  /** modelHash() of the payload: first 16 hex digits of its SHA-256. */
  hash: string;
}

/** Encode a model record. Throws RangeError on values the header cannot hold. */
export function encodeModel(model: Omit<StoredModel, 'hash'>): EncodedModel {
  const layout = Buffer.from(model.layoutHash, 'utf8');
  if (layout.length > MAX_LAYOUT_HASH_BYTES) throw new RangeError(`layoutHash is ${layout.length} bytes; the limit is ${MAX_LAYOUT_HASH_BYTES}`);
  if (!Number.isInteger(model.round) || model.round < 0 || model.round > 0xffff_ffff) throw new RangeError(`round ${model.round} is not an integer in [0, 2^32 - 1]`);
  if (model.vector.length > 0xffff_ffff) throw new RangeError(`the vector has ${model.vector.length} elements; the limit is 2^32 - 1`);
  const p = payloadOffset(layout.length);
  const payload = new Uint8Array(model.vector.buffer, model.vector.byteOffset, model.vector.byteLength);
  const digest = createHash('sha256').update(payload).digest();
  const bytes = new Uint8Array(p + payload.byteLength);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint16(4, VERSION, true);
  dv.setUint16(6, layout.length, true);
  dv.setUint32(8, model.round, true);
  dv.setUint32(12, model.vector.length, true);
  dv.setFloat64(16, model.age, true);
  dv.setFloat64(24, model.savedAt, true);
  bytes.set(digest, DIGEST_OFFSET);
  bytes.set(layout, FIXED_HEADER_BYTES);
  bytes.set(headerCheck(bytes.subarray(0, p)), CHECK_OFFSET);
  bytes.set(payload, p);
  return { bytes, hash: digest.toString('hex').slice(0, 16) };
}

interface Header {
  round: number;
  age: number;
  savedAt: number;
  layoutHash: string;
  count: number;
  digest: Uint8Array;
  payloadOffset: number;
}

function decodeHeader(bytes: Uint8Array): Header {
  if (bytes.byteLength < FIXED_HEADER_BYTES) throw new RecordError(`record is ${bytes.byteLength} bytes, shorter than the ${FIXED_HEADER_BYTES}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new RecordError('bad magic (not a model record)');
  const version = dv.getUint16(4, true);
  if (version !== VERSION) throw new RecordError(`unknown record version ${version} (this build reads ${VERSION})`);
  const n = dv.getUint16(6, true);
  const p = payloadOffset(n);
  if (n > MAX_LAYOUT_HASH_BYTES || bytes.byteLength < p) throw new RecordError(`bad layoutHash length ${n}`);
  const check = headerCheck(bytes.subarray(0, p));
  if (!check.every((b, i) => b === bytes[CHECK_OFFSET + i])) throw new RecordError('header checksum mismatch');
  const count = dv.getUint32(12, true);
  if (bytes.byteLength !== p + count * 4) throw new RecordError(`record is ${bytes.byteLength} bytes; its header says ${p + count * 4}`);
  return {
    round: dv.getUint32(8, true),
    count,
    age: dv.getFloat64(16, true),
    savedAt: dv.getFloat64(24, true),
    digest: bytes.subarray(DIGEST_OFFSET, DIGEST_OFFSET + 32),
    layoutHash: Buffer.from(bytes.buffer, bytes.byteOffset + FIXED_HEADER_BYTES, n).toString('utf8'),
    payloadOffset: p,
  };
}

/**
 * Decode and verify a record: header check, length and payload SHA-256. The vector is a view into `bytes`
 * when its offset is 4-aligned, else a copy. Throws RecordError on any mismatch.
 */
export function decodeModel(bytes: Uint8Array): StoredModel {
  const h = decodeHeader(bytes);
  const payload = bytes.subarray(h.payloadOffset);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(h.digest)) throw new RecordError('payload checksum mismatch');
  const aligned = payload.byteOffset % 4 === 0 ? payload : new Uint8Array(payload);
  return {
    round: h.round,
    age: h.age,
    layoutHash: h.layoutHash,
    savedAt: h.savedAt,
    hash: digest.toString('hex').slice(0, 16),
    vector: new Float32Array(aligned.buffer, aligned.byteOffset, h.count),
  };
}
