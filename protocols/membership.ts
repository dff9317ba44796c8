/**
 * MoDeST membership views on the wire (ALGORITHMS.md §3.3 "Piggybacking": every model transfer carries the
 * sender's full view). The view travels in the frame's opaque extension blob (protocols/codec.ts), encoded
 * compactly and validated before anything is allocated from it; join/leave advertisements travel in the
 * swarm announcements (protocols/announcements.ts, field `membership`).
 *
 * Encoding, version 1 (LEB128 = unsigned little-endian base-128 varint, minimal length, ≤ 2³² − 1):
 *
 *   size  field
 *      1  version, u8 (MEMBERSHIP_VIEW_VERSION)
 *      v  entry count, LEB128 (≤ limits.maxEntries)
 *   then per entry, ids (UTF-8) in strictly ascending byte order, front-coded against the previous id:
 *      1  p = leading bytes shared with the previous id (0 for the first entry)
 *      1  q = further bytes; the id is previous[0, p) ‖ those q bytes, 1 ≤ p + q ≤ limits.maxIdBytes
 *      q  the bytes
 *      v  lastActive (a sample index), LEB128
 *      v  membership index, LEB128
 *      1  status: 0 join, 1 leave
 *
 * Libp2p ids share their 8-character "12D3KooW" prefix and virtual ids most of theirs, so front coding keeps
 * an entry near 49 bytes (libp2p) or 6 bytes (virtual) instead of 60 and 10. Sorting also makes the
 * encoding canonical: one view has exactly one encoding, and duplicates cannot be expressed.
 */
import { compareBytes, type MembershipStatus, type ViewEntry } from '../aggregation/modest.js';
import { MembershipViewError } from './errors.js';

export { MembershipViewError };

/** Version byte of the view encoding; bumped on any change of the layout above. */
export const MEMBERSHIP_VIEW_VERSION = 1;

/** Receiver limits of a view, checked before any allocation sized by the input. */
export interface MembershipLimits {
  /** Entries in one view ('oversized' beyond). */
  maxEntries: number;
  /** Bytes of one id, at most 255 (the format's u8 lengths) ('bad-entry' beyond). */
  maxIdBytes: number;
}

/**
 * 65,536 entries (≈ 3.2 MB of libp2p ids: more than the 1 MiB frame extension limit holds, so the frame
 * limit binds first) and 128-byte ids (a libp2p id string is 52 characters, an RSA one about 46 bytes of
 * multihash in base58: 128 leaves room without allowing abuse).
 */
export const DEFAULT_MEMBERSHIP_LIMITS: MembershipLimits = Object.freeze({ maxEntries: 65_536, maxIdBytes: 128 });

/** Why a view was refused; closed set, usable as a metric label. */
export type ViewRejectReason = 'truncated' | 'unsupported-version' | 'oversized' | 'bad-entry' | 'unsorted' | 'trailing-bytes';

/** `decodeView` outcome: entries in ascending id order, or a refusal as a value. */
export type ViewDecodeResult =
  | { ok: true; entries: Array<[string, ViewEntry]> }
  | { ok: false; reason: ViewRejectReason; detail: string };


const U32_MAX = 2 ** 32 - 1;
const STATUS_CODES: readonly MembershipStatus[] = ['join', 'leave'];
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** MoDeST's peer-id bytes live with its engine; re-exported for the wire tests. */
export { peerIdBytes } from '../node/engine/modest-membership.js';

/**
 * Encode a view. A view over `limits.maxEntries` keeps the most recently active entries (ties: lower id),
 * so what travels stays bounded.
 * @throws MembershipViewError for an empty or over-long id, an id with a lone surrogate, a duplicate id, a
 *   lastActive or index that is not an integer in 0..2³² − 1, or an unknown status
 */
export function encodeView(entries: Iterable<readonly [string, ViewEntry]>, limits: MembershipLimits = DEFAULT_MEMBERSHIP_LIMITS): Uint8Array {
  let rows: Array<{ id: Uint8Array; e: ViewEntry }> = [];
  for (const [id, e] of entries) {
    const bytes = utf8.encode(id);
    if (bytes.length === 0 || bytes.length > Math.min(limits.maxIdBytes, 255)) throw new MembershipViewError(`peer id ${JSON.stringify(id)} is ${bytes.length} bytes of UTF-8; allowed 1..${Math.min(limits.maxIdBytes, 255)}`);
    if (strictUtf8.decode(bytes) !== id) throw new MembershipViewError(`peer id ${JSON.stringify(id)} has a lone surrogate and no UTF-8 form`);
    if (!isU32(e.lastActive) || !isU32(e.index)) throw new MembershipViewError(`entry of ${id}: lastActive ${e.lastActive} and index ${e.index} must be integers in 0..${U32_MAX}`);
    if (!STATUS_CODES.includes(e.status)) throw new MembershipViewError(`entry of ${id}: unknown status ${JSON.stringify(e.status)}`);
    rows.push({ id: bytes, e });
  }
  if (rows.length > limits.maxEntries) {
    rows.sort((a, b) => b.e.lastActive - a.e.lastActive || compareBytes(a.id, b.id));
    rows = rows.slice(0, limits.maxEntries);
  }
  rows.sort((a, b) => compareBytes(a.id, b.id));
  let size = 1 + varintLength(rows.length);
  let prev: Uint8Array = new Uint8Array(0);
  const shared: number[] = [];
  for (const r of rows) {
    const p = sharedPrefix(prev, r.id);
    if (p === r.id.length && p === prev.length) throw new MembershipViewError(`peer id ${strictUtf8.decode(r.id)} appears twice`);
    shared.push(p);
    size += 2 + (r.id.length - p) + varintLength(r.e.lastActive) + varintLength(r.e.index) + 1;
    prev = r.id;
  }
  const out = new Uint8Array(size);
  out[0] = MEMBERSHIP_VIEW_VERSION;
  let at = writeVarint(out, 1, rows.length);
  rows.forEach((r, k) => {
    const p = shared[k]!;
    out[at++] = p;
    out[at++] = r.id.length - p;
    out.set(r.id.subarray(p), at);
    at += r.id.length - p;
    at = writeVarint(out, at, r.e.lastActive);
    at = writeVarint(out, at, r.e.index);
    out[at++] = STATUS_CODES.indexOf(r.e.status);
  });
  return out;
}

/**
 * Decode and validate a view; never throws. Checks, first failure wins: version, entry count against
 * `limits.maxEntries` (before allocating), then per entry the lengths, the UTF-8, strictly ascending ids,
 * minimal u32 varints and the status byte, and finally that no byte follows the last entry.
 */
export function decodeView(bytes: Uint8Array, limits: MembershipLimits = DEFAULT_MEMBERSHIP_LIMITS): ViewDecodeResult {
  const fail = (reason: ViewRejectReason, detail: string): ViewDecodeResult => ({ ok: false, reason, detail });
  if (bytes.length < 1) return fail('truncated', 'empty view');
  if (bytes[0] !== MEMBERSHIP_VIEW_VERSION) return fail('unsupported-version', `view version ${bytes[0]}, this peer speaks ${MEMBERSHIP_VIEW_VERSION}`);
  const count = readVarint(bytes, 1);
  if (!count.ok) return fail(count.reason, `entry count: ${count.detail}`);
  if (count.value > limits.maxEntries) return fail('oversized', `${count.value} entries, limit maxEntries ${limits.maxEntries}`);
  // Each entry takes at least 6 bytes: a cheap bound before the loop allocates anything per entry.
  if (count.value * 6 > bytes.length - count.next) return fail('truncated', `${count.value} entries cannot fit in ${bytes.length - count.next} bytes`);
  const entries: Array<[string, ViewEntry]> = [];
  let at = count.next;
  let prev: Uint8Array = new Uint8Array(0);
  for (let k = 0; k < count.value; k++) {
    if (at + 2 > bytes.length) return fail('truncated', `entry ${k}: no length bytes`);
    const p = bytes[at]!, q = bytes[at + 1]!;
    at += 2;
    if (p > prev.length) return fail('bad-entry', `entry ${k} shares ${p} bytes with a ${prev.length}-byte previous id`);
    if (p + q < 1 || p + q > limits.maxIdBytes) return fail('bad-entry', `entry ${k}: id of ${p + q} bytes, allowed 1..${limits.maxIdBytes}`);
    if (at + q > bytes.length) return fail('truncated', `entry ${k}: id runs past the end`);
    const id = new Uint8Array(p + q);
    id.set(prev.subarray(0, p), 0);
    id.set(bytes.subarray(at, at + q), p);
    at += q;
    if (compareBytes(prev, id) >= 0 && k > 0) return fail('unsorted', `entry ${k}: ids must ascend strictly`);
    let text: string;
    try {
      text = strictUtf8.decode(id);
    } catch {
      return fail('bad-entry', `entry ${k}: id is not valid UTF-8`);
    }
    const lastActive = readVarint(bytes, at);
    if (!lastActive.ok) return fail(lastActive.reason, `entry ${k} lastActive: ${lastActive.detail}`);
    const index = readVarint(bytes, lastActive.next);
    if (!index.ok) return fail(index.reason, `entry ${k} index: ${index.detail}`);
    at = index.next;
    if (at >= bytes.length) return fail('truncated', `entry ${k}: no status byte`);
    const status = STATUS_CODES[bytes[at++]!];
    if (status === undefined) return fail('bad-entry', `entry ${k}: status code ${bytes[at - 1]}`);
    entries.push([text, Object.freeze({ lastActive: lastActive.value, index: index.value, status })]);
    prev = id;
  }
  if (at !== bytes.length) return fail('trailing-bytes', `${bytes.length - at} bytes after the last entry`);
  return { ok: true, entries };
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= U32_MAX;
}

function sharedPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length, 255);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) { v = Math.floor(v / 128); n++; }
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

type VarintRead = { ok: true; value: number; next: number } | { ok: false; reason: ViewRejectReason; detail: string };

/** A minimal LEB128 u32: at most 5 bytes, no trailing zero group, value ≤ 2³² − 1. */
function readVarint(bytes: Uint8Array, at: number): VarintRead {
  let value = 0, scale = 1;
  for (let i = 0; i < 5; i++) {
    if (at + i >= bytes.length) return { ok: false, reason: 'truncated', detail: 'varint runs past the end' };
    const b = bytes[at + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return { ok: false, reason: 'bad-entry', detail: 'varint is not minimally encoded' };
      if (value > U32_MAX) return { ok: false, reason: 'bad-entry', detail: `varint ${value} exceeds ${U32_MAX}` };
      return { ok: true, value, next: at + i + 1 };
    }
    scale *= 128;
  }
  return { ok: false, reason: 'bad-entry', detail: 'varint longer than 5 bytes' };
}
