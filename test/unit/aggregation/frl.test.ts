import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  isPermutation, maskTopKAbs, rankAscending, reverseRanking, sortedInitialValues, topKThreshold, voteRankings,
} from '../../../aggregation/frl.js';
import { rngFor } from '../../../node/data/rng.js';
import { FC_OPTIONS, assertCode, f32, permutationArb } from './arbitraries.js';

const u = (...x: number[]): Uint32Array => Uint32Array.from(x);

/** Reference vote: explicit inverse permutations and a stable comparator sort. */
function naiveVote(rankings: Uint32Array[], V: Float32Array): Float32Array {
  const n = V.length, votes = new Array<number>(n).fill(0);
  for (const r of rankings) r.forEach((e, p) => { votes[e] += p; });
  const order = Array.from(votes.keys()).sort((a, b) => votes[a]! - votes[b]! || a - b);
  const S = new Float32Array(n);
  order.forEach((e, j) => { S[e] = V[j]!; });
  return S;
}

describe('rankAscending', () => {
  it('orders edge ids by signed score, ties by edge index', () => {
    // values 0.5, −1, 0.5, 2, −3 → −3 (4), −1 (1), 0.5 (0), 0.5 (2), 2 (3)
    assert.deepEqual(rankAscending(Float32Array.from([0.5, -1, 0.5, 2, -3])), u(4, 1, 0, 2, 3));
    // −0 and +0 tie; infinities sort to the ends
    assert.deepEqual(rankAscending(Float32Array.from([0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])), u(3, 0, 1, 2));
    assertCode(() => rankAscending(Float32Array.from([1, Number.NaN])), 'ERR_BAD_INPUT');
  });

  it('matches a stable comparator sort (property)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(f32(1e30), fc.integer({ min: -3, max: 3 })), { maxLength: 300 }), (xs) => {
      const s = Float32Array.from(xs);
      const expected = Array.from(s.keys()).sort((a, b) => s[a]! - s[b]! || a - b);
      assert.deepEqual(Array.from(rankAscending(s)), expected);
    }), FC_OPTIONS);
  });
});

describe('voteRankings', () => {
  it('assigns the sorted initial values by Borda count: three rankings over six edges', () => {
    // pos1 = [0,1,2,3,4,5]; r2 = [1,0,2,3,5,4] → pos2 = [1,0,2,3,5,4]; r3 reversed → pos3 = [5,4,3,2,1,0]
    // votes = [0+1+5, 1+0+4, 2+2+3, 3+3+2, 4+5+1, 5+4+0] = [6, 5, 7, 8, 10, 9]
    // global ascending R_g = [1, 0, 2, 3, 5, 4]; S[R_g[j]] = V[j] with V = [−3, −2, −1, 1, 2, 3]
    const rankings = [u(0, 1, 2, 3, 4, 5), u(1, 0, 2, 3, 5, 4), u(5, 4, 3, 2, 1, 0)];
    const V = Float32Array.from([-3, -2, -1, 1, 2, 3]);
    assert.deepEqual(voteRankings(rankings, V), Float32Array.from([-2, -3, -1, 1, 3, 2]));
  });

  it('breaks tied vote sums by edge index', () => {
    // votes [0+2, 1+1, 2+0] = [2, 2, 2] → R_g = [0, 1, 2] → S = V
    assert.deepEqual(voteRankings([u(0, 1, 2), u(2, 1, 0)], Float32Array.from([1, 2, 3])), Float32Array.from([1, 2, 3]));
  });

  it('matches the reference vote on random permutations (property)', () => {
    const arb = fc.integer({ min: 1, max: 60 }).chain((n) => fc.tuple(
      fc.array(permutationArb(n).map((p) => Uint32Array.from(p)), { minLength: 1, maxLength: 7 }),
      fc.array(f32(), { minLength: n, maxLength: n }).map((xs) => sortedInitialValues(Float32Array.from(xs))),
    ));
    fc.assert(fc.property(arb, ([rankings, V]) => { assert.deepEqual(voteRankings(rankings, V), naiveVote(rankings, V)); }), FC_OPTIONS);
  });

  it('is exact on a 25 × 100k vote (radix path) against the reference', () => {
    const rng = rngFor('frl-vote');
    const n = 20000;
    const rankings = Array.from({ length: 25 }, () => rng.shuffleTyped(Uint32Array.from({ length: n }, (_, i) => i)));
    const V = sortedInitialValues(Float32Array.from({ length: n }, () => rng.normal()));
    assert.deepEqual(voteRankings(rankings, V), naiveVote(rankings, V));
  });

  it('rejects a ranking that is not a permutation, a length mismatch and no ranking', () => {
    const V = Float32Array.from([1, 2, 3]);
    assert.ok(isPermutation(u(2, 0, 1)) && !isPermutation(u(0, 0, 1)) && !isPermutation(u(0, 3, 1)));
    assertCode(() => voteRankings([u(0, 1, 2), u(0, 0, 1)], V), 'ERR_BAD_INPUT');
    assertCode(() => voteRankings([u(0, 1, 5)], V), 'ERR_BAD_INPUT');
    assertCode(() => voteRankings([u(0, 1)], V), 'ERR_LENGTH_MISMATCH');
    assertCode(() => voteRankings([], V), 'ERR_TOO_FEW_INPUTS');
  });
});

describe('sortedInitialValues, topKThreshold, maskTopKAbs, reverseRanking', () => {
  it('sorts a copy of the initial scores', () => {
    const s = Float32Array.from([0.3, -0.1, 0.2]);
    assert.deepEqual(sortedInitialValues(s), Float32Array.from([-0.1, 0.2, 0.3]));
    assert.deepEqual(s, Float32Array.from([0.3, -0.1, 0.2]));
  });

  it('finds the k-th largest value', () => {
    assert.equal(topKThreshold([5, 1, 4, 2, 3], 2), 4);
    assert.equal(topKThreshold([5, 1, 4, 2, 3], 5), 1);
    assert.equal(topKThreshold([2, 2, 2], 2), 2);
    assertCode(() => topKThreshold([1, 2], 3), 'ERR_BAD_OPTION');
    fc.assert(fc.property(fc.array(f32(), { minLength: 1, maxLength: 200 }).chain((xs) => fc.tuple(fc.constant(xs), fc.integer({ min: 1, max: xs.length }))), ([xs, k]) => {
      const sorted = Float32Array.from(xs).sort();
      assert.equal(topKThreshold(Float32Array.from(xs), k), sorted[sorted.length - k]);
    }), FC_OPTIONS);
  });

  it('masks the top fraction of |S| like GetSubnet, ties at the threshold keeping higher edge ids', () => {
    // |S| = [5, 1, 4, 2, 3, 0]; n = 6, fraction 0.5 → keep 6 − ⌊0.5·6⌋ = 3: |S| 5, 4, 3 → edges 0, 2, 4
    const out = new Uint8Array(6);
    assert.equal(maskTopKAbs(Float32Array.from([-5, 1, 4, -2, 3, 0]), 0.5, out), 3);
    assert.deepEqual(out, Uint8Array.from([1, 0, 1, 0, 1, 0]));
    const ties = new Float32Array(4);
    maskTopKAbs(Float32Array.from([1, -1, 1, -1]), 0.5, ties);
    assert.deepEqual(ties, Float32Array.from([0, 0, 1, 1]));
    // fraction 0.3 of 10: ⌊(1 − 0.3)·10⌋ = 7 zeros → keep 3; fraction 0.7: (1 − 0.7)·10 = 3.0000000000000004 → 3 zeros, keep 7
    assert.equal(maskTopKAbs(Float32Array.from({ length: 10 }, (_, i) => i), 0.3, new Uint8Array(10)), 3);
    assert.equal(maskTopKAbs(Float32Array.from({ length: 10 }, (_, i) => i), 0.7, new Uint8Array(10)), 7);
    assert.equal(maskTopKAbs(Float32Array.from([1, 2]), 0, new Uint8Array(2)), 0);
    assertCode(() => maskTopKAbs(Float32Array.from([1]), 1.5, new Uint8Array(1)), 'ERR_BAD_OPTION');
    assertCode(() => maskTopKAbs(Float32Array.from([1]), 0.5, new Uint8Array(2)), 'ERR_LENGTH_MISMATCH');
  });

  it('reverses a ranking without touching it', () => {
    const r = u(2, 0, 1);
    assert.deepEqual(reverseRanking(r), u(1, 0, 2));
    assert.deepEqual(r, u(2, 0, 1));
  });
});
