import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleKey, type ViewEntry } from '../../../node/engine/modest/view.js';
import { rngFor } from '../../../node/data/rng.js';
import type { Announcement } from '../../../node/network.js';
import { decodeAnnouncement, encodeAnnouncement } from '../../../protocols/announcements.js';
import { decodeView, DEFAULT_MEMBERSHIP_LIMITS, encodeView, MEMBERSHIP_VIEW_VERSION, peerIdBytes } from '../../../protocols/membership.js';
import { libp2pPeerIds } from '../../../topology-sim/virtual-swarm.js';

const join = (lastActive: number, index = 0): ViewEntry => ({ lastActive, index, status: 'join' });
const leave = (lastActive: number, index: number): ViewEntry => ({ lastActive, index, status: 'leave' });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The two-entry example of the layout test, encoded by hand. */
const EXAMPLE = new Uint8Array([
  1, 2, //                               version 1, two entries
  0, 3, 0x76, 0x30, 0x31, 3, 0, 0, //   'v01': shares 0, 3 new bytes; lastActive 3, index 0, join
  2, 1, 0x32, 0xc8, 0x01, 1, 1, //      'v02': shares 'v0', adds '2'; lastActive 200 = 0x48 | 0x80, 0x01; index 1; leave
]);

describe('membership view encoding (protocols/membership.ts)', () => {
  it('lays out version, count and front-coded entries as documented', () => {
    // 200 = 72 + 1·128 → LEB128 bytes 0xc8 (72 | 0x80), 0x01.
    const bytes = encodeView(new Map([['v02', leave(200, 1)], ['v01', join(3)]]));
    assert.equal(MEMBERSHIP_VIEW_VERSION, 1);
    assert.deepEqual([...bytes], [...EXAMPLE]);
    const decoded = decodeView(bytes);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.entries, [['v01', join(3)], ['v02', leave(200, 1)]]);
  });

  it('is canonical: one view, one encoding, whatever the insertion order', () => {
    const entries: Array<[string, ViewEntry]> = Array.from({ length: 50 }, (_, i) => [`peer-${(i * 37) % 50}`, i % 3 ? join(i, i % 4) : leave(i, 7)]);
    const a = encodeView(new Map(entries));
    const b = encodeView(new Map([...entries].reverse()));
    assert.deepEqual(a, b);
    const d = decodeView(a);
    assert.ok(d.ok);
    assert.deepEqual(new Map(d.entries), new Map(entries));
  });

  it('round-trips the extremes: u32 max, one-byte ids, multi-byte UTF-8, the empty view', () => {
    const view = new Map<string, ViewEntry>([['x', join(2 ** 32 - 1, 2 ** 32 - 1)], ['é-ñ', leave(0, 0)], ['x'.repeat(128), join(1)]]);
    const d = decodeView(encodeView(view));
    assert.ok(d.ok);
    assert.deepEqual(new Map(d.entries), view);
    const empty = decodeView(encodeView(new Map()));
    assert.ok(empty.ok);
    assert.deepEqual(empty.entries, []);
  });

  it('stays compact for libp2p ids (front coding of the shared 12D3KooW prefix)', async () => {
    const ids = await libp2pPeerIds(3, 100);
    const bytes = encodeView(new Map(ids.map((id, i) => [id, join(i)])));
    // 52-character ids: ≤ 2 length bytes + 52 − 8 shared + 1 + 1 + 1 = 49 bytes per entry, plus 2 header bytes.
    assert.ok(bytes.length <= 2 + 100 * 49, `${bytes.length} bytes`);
    const d = decodeView(bytes);
    assert.ok(d.ok && d.entries.length === 100);
  });

  it('refuses to encode what it could not decode', () => {
    assert.throws(() => encodeView(new Map([['', join(0)]])), { code: 'ERR_BAD_VIEW' });
    assert.throws(() => encodeView(new Map([['x'.repeat(129), join(0)]])), { code: 'ERR_BAD_VIEW' });
    assert.throws(() => encodeView(new Map([['a', join(2 ** 32)]])), { code: 'ERR_BAD_VIEW' });
    assert.throws(() => encodeView(new Map([['a', join(1.5)]])), { code: 'ERR_BAD_VIEW' });
    assert.throws(() => encodeView(new Map([['\ud800', join(0)]])), { code: 'ERR_BAD_VIEW' });
    assert.throws(() => encodeView([['a', join(0)], ['a', join(1)]]), { code: 'ERR_BAD_VIEW' });
  });

  it('keeps the most recently active entries of a view over maxEntries', () => {
    const limits = { ...DEFAULT_MEMBERSHIP_LIMITS, maxEntries: 2 };
    const d = decodeView(encodeView(new Map([['a', join(5)], ['b', join(9)], ['c', join(7)]]), limits), limits);
    assert.ok(d.ok);
    assert.deepEqual(d.entries.map(([id]) => id), ['b', 'c']);
  });

  it('accepts each limit and refuses one past it', () => {
    const limits = { maxEntries: 3, maxIdBytes: 4 };
    const three = encodeView(new Map([['a', join(0)], ['b', join(0)], ['c', join(0)]]));
    assert.ok(decodeView(three, limits).ok);
    const four = encodeView(new Map([['a', join(0)], ['b', join(0)], ['c', join(0)], ['d', join(0)]]));
    assert.equal(rejectReason(four, limits), 'oversized');
    assert.ok(decodeView(encodeView(new Map([['abcd', join(0)]])), limits).ok);
    assert.equal(rejectReason(encodeView(new Map([['abcde', join(0)]])), limits), 'bad-entry');
  });

  it('refuses malformed input with its reason', () => {
    const cases: Array<[string, number[], string]> = [
      ['empty', [], 'truncated'],
      ['another version', [2, 0], 'unsupported-version'],
      ['a count with no entries', [1, 1], 'truncated'],
      ['ids out of order', [1, 2, 0, 1, 0x62, 0, 0, 0, 0, 1, 0x61, 0, 0, 0], 'unsorted'],
      ['a repeated id', [1, 2, 0, 1, 0x61, 0, 0, 0, 0, 1, 0x61, 0, 0, 0], 'unsorted'],
      ['a prefix longer than the previous id', [1, 1, 1, 1, 0x61, 0, 0, 0], 'bad-entry'],
      ['an overlong varint', [1, 1, 0, 1, 0x61, 0x80, 0x00, 0, 0], 'bad-entry'],
      ['a varint over u32', [1, 1, 0, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0x10, 0, 0], 'bad-entry'],
      ['an unknown status', [1, 1, 0, 1, 0x61, 0, 0, 2], 'bad-entry'],
      ['invalid UTF-8', [1, 1, 0, 1, 0xff, 0, 0, 0], 'bad-entry'],
      ['a byte after the last entry', [1, 1, 0, 1, 0x61, 0, 0, 0, 9], 'trailing-bytes'],
    ];
    for (const [what, bytes, reason] of cases) assert.equal(rejectReason(new Uint8Array(bytes)), reason, what);
    for (let cut = 0; cut < EXAMPLE.length; cut++) assert.equal(rejectReason(EXAMPLE.subarray(0, cut)), 'truncated', `cut at ${cut}`);
  });

  it('never throws on random or mutated input (seeded)', () => {
    const rng = rngFor('membership-fuzz', 1);
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 2 ? EXAMPLE.slice() : new Uint8Array(rng.int(40));
      if (i % 2) bytes[rng.int(bytes.length)] = rng.int(256);
      else for (let k = 0; k < bytes.length; k++) bytes[k] = rng.int(256);
      const r = decodeView(bytes);
      if (r.ok) assert.ok(r.entries.every(([id]) => id.length > 0));
    }
  });
});

describe('peer id bytes of the sample order (protocols/membership.ts peerIdBytes)', () => {
  it('uses the multihash for libp2p ids, so MD5 matches the authors over the key bytes', () => {
    const id = '12D3KooWQEKiybQMW4ZCKQEcNVQ5AHXJNnQn8WqsSrMKTEwZ8ua9';
    const mh = peerIdBytes(id);
    // identity multihash (0x00, length 0x24) of the protobuf public key (0x08 0x01 = Ed25519, 0x12 0x20 = 32 bytes).
    assert.equal(hex(mh), '002408011220d626caea485e5a2ea7ff2059c8ef535afb6cffba883954b0901a50c1ff96c3ea');
    // Python: hashlib.md5(bytes.fromhex('0024…c3ea') + b'-7').hexdigest()
    assert.equal(createHash('md5').update(sampleKey(mh, 7)).digest('hex'), '95882778b5cc1987ce3672be543e3171');
  });

  it('uses the UTF-8 of any other id (virtual ids)', () => {
    assert.equal(hex(peerIdBytes('v0001')), '7630303031');
  });
});

describe('MoDeST join/leave advertisements in swarm announcements (protocols/announcements.ts `membership`)', () => {
  const base: Announcement = { swarm: 's', round: 6, degree: 29, age: 0, algorithm: 'modest', layoutHash: '0123456789abcdef', addresses: [] };
  const decode = (o: unknown) => decodeAnnouncement(new TextEncoder().encode(JSON.stringify(o)), 's');

  it('carries a join or a leave with its membership index', () => {
    for (const membership of [{ change: 'join', index: 1 }, { change: 'leave', index: 2 ** 32 - 1 }] as const) {
      const d = decodeAnnouncement(encodeAnnouncement({ ...base, membership }), 's');
      assert.ok(d.ok);
      assert.deepEqual(d.announcement.membership, membership);
    }
  });

  it('still accepts announcements without it (older peers, other algorithms)', () => {
    const d = decodeAnnouncement(encodeAnnouncement(base), 's');
    assert.ok(d.ok);
    assert.equal(d.announcement.membership, undefined);
    assert.ok(!new TextDecoder().decode(encodeAnnouncement(base)).includes('membership'));
  });

  it('refuses a malformed membership field as bad-field', () => {
    for (const membership of [{ change: 'rejoin', index: 1 }, { change: 'join', index: -1 }, { change: 'join', index: 1.5 }, { change: 'join', index: 2 ** 32 },
      { change: 'join' }, { change: 'join', index: 1, extra: true }, 'join', null, [1]]) {
      const d = decode({ ...base, membership });
      assert.ok(!d.ok && d.reason === 'bad-field', JSON.stringify(membership));
    }
  });
});

function rejectReason(bytes: Uint8Array, limits = DEFAULT_MEMBERSHIP_LIMITS): string {
  const r = decodeView(bytes, limits);
  return r.ok ? 'accepted' : r.reason;
}
