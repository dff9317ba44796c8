/**
 * Mutation fuzzing of protocols/codec.ts: valid frames of every kind and encoding, damaged by bit flips,
 * truncation, appended bytes, random header fields or replaced wholesale by random bytes, at aligned and
 * unaligned offsets. decodeFrame and peekHeader must never throw, and an accepted frame must hold only
 * finite values of the right size (dense: layout.size; topk: ascending in-range indices; rankings:
 * permutations). The same frame split into pieces at random points (as a Uint8ArrayList, the way frames arrive
 * from a stream) must get the same outcome, and so must decoding into a caller's array chosen for the validated
 * header (decodeFrame's `into` function, asked only for dense frames of our swarm and layout). Seeded: fc.assert({ seed: 42 }); a failure prints the counterexample.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Uint8ArrayList } from 'uint8arraylist';
import { makeLayout } from '../../aggregation/layout.js';
import { rngFor } from '../../node/data/rng.js';
import { decodeFrame, encodeModelFrame, encodeRankingFrame, peekHeader, type DecodedFrame, type FrameMeta } from '../../protocols/codec.js';

const layout = makeLayout([
  { name: 'k', shape: [6, 5], role: 'kernel' },
  { name: 'b', shape: [5], role: 'bias' },
  { name: 's', shape: [20], role: 'score' },
  { name: 't', shape: [300], role: 'score' }, // u16 ranking entries
]);
const swarm = 'fuzz';
const meta: FrameMeta = { kind: 'model', swarm, round: 3, step: 1, degree: 4, age: 9 };
const rng = rngFor('codec-fuzz', 42);
const values = Float32Array.from({ length: layout.size }, () => 0.05 * rng.normal());
const extension = Uint8Array.from({ length: 13 }, (_, i) => i);
const own = new Float32Array(layout.size);
const rankings = layout.tensors.filter((t) => t.role === 'score').map((t) => rng.shuffleTyped(Uint32Array.from({ length: t.size }, (_, i) => i)));

const bases: Uint8Array[] = [
  ...(['f32', 'f16', 'q8', 'topk'] as const).flatMap((encoding) => [
    encodeModelFrame(meta, layout, values, { encoding }),
    encodeModelFrame({ ...meta, kind: 'aggregate' }, layout, values, { encoding, extension, topkFraction: 0.3 }),
  ]),
  encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, rankings),
  encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, rankings, { extension }),
];

/** Header fields worth hitting with random values: [offset, width in bytes]. */
const FIELDS: [number, 1 | 2 | 4 | 8][] = [[4, 1], [5, 1], [6, 1], [7, 1], [8, 4], [12, 2], [14, 2], [16, 8], [24, 4], [32, 4], [36, 4], [40, 4]];

type Mutation = (f: Uint8Array) => Uint8Array;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map((flips): Mutation => (f) => {
    const g = f.slice();
    for (const [pos, bit] of flips) g[pos % g.length]! ^= 1 << bit;
    return g;
  }),
  fc.nat().map((cut): Mutation => (f) => f.slice(0, cut % f.length)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail): Mutation => (f) => {
    const g = new Uint8Array(f.length + tail.length);
    g.set(f);
    g.set(tail, f.length);
    return g;
  }),
  fc.uint8Array({ maxLength: 600 }).map((bytes): Mutation => () => bytes),
  fc.tuple(fc.constantFrom(...FIELDS), fc.oneof(fc.nat(), fc.integer({ min: -5, max: 5 }), fc.double()))
    .map(([[offset, width], value]): Mutation => (f) => {
      const g = f.slice();
      const dv = new DataView(g.buffer);
      if (width === 8) dv.setFloat64(offset, value, true);
      else if (width === 4) dv.setUint32(offset, Math.trunc(value) >>> 0, true);
      else if (width === 2) dv.setUint16(offset, Math.trunc(value) & 0xffff, true);
      else dv.setUint8(offset, Math.trunc(value) & 0xff);
      return g;
    }),
  // A valid frame with a damaged payload: overwrite a run of payload bytes.
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([pos, run]): Mutation => (f) => {
    const g = f.slice();
    g.set(run.subarray(0, Math.max(0, g.length - (pos % g.length))), pos % g.length);
    return g;
  }),
);

/** Place `bytes` at `shift` bytes into a fresh buffer, so views on it are aligned or not. */
function at(bytes: Uint8Array, shift: number): Uint8Array {
  const buf = new Uint8Array(bytes.length + shift);
  buf.set(bytes, shift);
  return buf.subarray(shift);
}

function checkAccepted(f: DecodedFrame): void {
  const filled = [f.values, f.sparse, f.rankings].filter((x) => x !== null).length;
  assert.equal(filled, 1, 'exactly one of values, sparse, rankings');
  if (f.values) {
    assert.equal(f.values.length, layout.size);
    assert.ok(f.values.every(Number.isFinite), 'dense values finite');
  }
  if (f.sparse) {
    const { indices, values: v } = f.sparse;
    assert.equal(indices.length, v.length);
    assert.ok(indices.every((x, i) => x < layout.size && (i === 0 || x > indices[i - 1]!)), 'indices ascend below layout.size');
    assert.ok(v.every(Number.isFinite), 'sparse values finite');
  }
  if (f.rankings) {
    const sizes = layout.tensors.filter((t) => t.role === 'score').map((t) => t.size);
    assert.deepEqual(f.rankings.map((r) => r.length), sizes);
    for (const r of f.rankings) assert.deepEqual([...r].sort((a, b) => a - b), [...r.keys()]);
  }
}

describe('codec fuzz', () => {
  it('never throws on mutated frames and accepts only finite, well-sized content', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), mutation, fc.integer({ min: 0, max: 3 }), fc.array(fc.nat(), { maxLength: 6 }), (base, mutate, shift, cuts) => {
        const bytes = at(mutate(bases[base]!), shift);
        peekHeader(bytes);
        const r = decodeFrame(bytes, { layout, swarm });
        if (r.ok) {
          accepted++;
          checkAccepted(r.frame);
        } else {
          assert.equal(typeof r.reason, 'string');
        }
        const pieces = new Uint8ArrayList();
        let from = 0;
        for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          pieces.append(bytes.slice(from, cut));
          from = cut;
        }
        const p = decodeFrame(pieces, { layout, swarm });
        assert.equal(p.ok ? 'accepted' : p.reason, r.ok ? 'accepted' : r.reason, 'the same outcome from pieces');
        if (p.ok && r.ok) assert.deepEqual(p.frame.values, r.frame.values);
        // Into the caller's array, chosen for the validated header: the same outcome and values, and the
        // destination is asked only for a dense frame of our swarm and layout, at most once.
        for (const input of [bytes, pieces]) {
          let asked = 0;
          const d = decodeFrame(input, { layout, swarm }, { into: (h) => {
            asked++;
            assert.ok(h.swarm === swarm && h.layoutHash === layout.hash && h.elementCount === layout.size && h.kind !== 'ranking'
              && (h.encoding === 'f32' || h.encoding === 'f16' || h.encoding === 'q8'), 'asked only for a dense frame whose header passed');
            return own.fill(-3);
          } });
          assert.equal(d.ok ? 'accepted' : d.reason, r.ok ? 'accepted' : r.reason, 'the same outcome into a given array');
          assert.ok(asked <= 1, 'asked at most once');
          if (d.ok && r.ok) {
            assert.deepEqual(d.frame.values, r.frame.values);
            assert.equal(d.frame.values === own, r.frame.values !== null, 'dense values land in the given array');
          }
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
    // Some mutations (e.g. flips inside the extension or a payload value) stay valid; most must not.
    assert.ok(accepted > 0 && accepted < 2000, `accepted ${accepted} of 2000`);
  });
});
