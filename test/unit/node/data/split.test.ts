import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shuffledIndices, trainTestSplit } from '../../../../node/data/split.js';

const sorted = (a: ArrayLike<number>): number[] => Array.from(a).sort((p, q) => p - q);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('split', () => {
  it('shuffles 0..n-1 into a seeded permutation', () => {
    const a = shuffledIndices(1000, 7);
    assert.deepEqual(sorted(a), range(1000));
    assert.deepEqual(a, shuffledIndices(1000, 7));
    assert.notDeepEqual(a, shuffledIndices(1000, 8));
    assert.notDeepEqual(Array.from(a), range(1000));
  });

  it('splits 10,000 rows 8,000 / 2,000 by default, disjoint and covering', () => {
    const { train, test } = trainTestSplit(10_000, { seed: 'digits' });
    assert.deepEqual([train.length, test.length], [8000, 2000]);
    assert.deepEqual(sorted([...train, ...test]), range(10_000));
  });

  it('honours testSize and testFraction and is deterministic per seed', () => {
    assert.equal(trainTestSplit(10, { seed: 1, testSize: 3 }).test.length, 3);
    // 0.25 × 10 = 2.5 rounds to 3 (Math.round rounds halves up).
    assert.equal(trainTestSplit(10, { seed: 1, testFraction: 0.25 }).test.length, 3);
    assert.equal(trainTestSplit(10, { seed: 1, testSize: 0 }).train.length, 10);
    const a = trainTestSplit(500, { seed: 3 }), b = trainTestSplit(500, { seed: 3 }), c = trainTestSplit(500, { seed: 4 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.test, c.test);
    // The train part is the prefix of the seeded shuffle.
    assert.deepEqual(a.train, shuffledIndices(500, 3).slice(0, 400));
  });

  it('rejects out-of-range or conflicting sizes', () => {
    assert.throws(() => trainTestSplit(10, { seed: 1, testSize: 11 }), { code: 'ERR_DATASET', message: /0\.\.10, got 11/ });
    assert.throws(() => trainTestSplit(10, { seed: 1, testFraction: 1.5 }), { code: 'ERR_DATASET' });
    assert.throws(() => trainTestSplit(10, { seed: 1, testSize: 2, testFraction: 0.2 }), { code: 'ERR_DATASET', message: /not both/ });
    assert.throws(() => shuffledIndices(-1, 1), { code: 'ERR_DATASET' });
  });
});
