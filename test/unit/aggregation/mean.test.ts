import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ACCUMULATION_BLOCK, MeanAccumulator, mean, sumVectors64, weightedMean } from '../../../aggregation/mean.js';
import { AggregationError } from '../../../aggregation/errors.js';
import { FC_OPTIONS, assertClose, assertCode, permutationArb, vectorsArb } from './arbitraries.js';

const v = (...x: number[]): Float32Array => Float32Array.from(x);

describe('mean', () => {
  it('averages element-wise', () => {
    // [(1+3+5)/3, (2+4+9)/3, (3+5+1)/3] = [3, 5, 3]
    assert.deepEqual(mean([v(1, 2, 3), v(3, 4, 5), v(5, 9, 1)]), v(3, 5, 3));
  });

  it('writes into out, which may alias an input, and leaves the other inputs alone', () => {
    const a = v(1, 2), b = v(3, 6);
    const r = mean([a, b], a);
    assert.equal(r, a);
    assert.deepEqual(a, v(2, 4));
    assert.deepEqual(b, v(3, 6));
  });

  it('handles vectors longer than one accumulation block', () => {
    const d = ACCUMULATION_BLOCK * 2 + 7;
    const a = Float32Array.from({ length: d }, (_, i) => i), b = Float32Array.from({ length: d }, (_, i) => -i + 2);
    const m = mean([a, b]);
    assert.ok(m.every((x) => x === 1));
  });

  it('rejects no input, ragged inputs and a wrong out buffer with typed errors', () => {
    assertCode(() => mean([]), 'ERR_TOO_FEW_INPUTS');
    assertCode(() => mean([v(1, 2), v(1)]), 'ERR_LENGTH_MISMATCH');
    assertCode(() => mean([v(1, 2)], new Float32Array(3)), 'ERR_LENGTH_MISMATCH');
    try { mean([]); } catch (e) {
      assert.ok(e instanceof AggregationError);
      assert.match(e.message, /at least 1 inputs, got 0/);
    }
  });

  it('is the identity on identical inputs and independent of input order (property)', () => {
    fc.assert(fc.property(vectorsArb(1, 1, 16), fc.integer({ min: 1, max: 9 }), ([x], n) => {
      assert.deepEqual(mean(Array.from({ length: n }, () => x!)), x);
    }), FC_OPTIONS);
    fc.assert(fc.property(vectorsArb(1, 8).chain((vs) => fc.tuple(fc.constant(vs), permutationArb(vs.length))), ([vs, perm]) => {
      assertClose(mean(perm.map((i) => vs[i]!)), mean(vs), 1e-6);
    }), FC_OPTIONS);
  });
});

describe('weightedMean', () => {
  it('normalises the weights', () => {
    // weights 1,1,2 (sum 4): [(1+3+2·5)/4, (2+4+2·9)/4, (3+5+2·1)/4] = [3.5, 6, 2.5]
    assert.deepEqual(weightedMean([v(1, 2, 3), v(3, 4, 5), v(5, 9, 1)], [1, 1, 2]), v(3.5, 6, 2.5));
    // A zero weight drops its vector: [(2·1 + 0·100)/2] = [1]
    assert.deepEqual(weightedMean([v(1), v(100)], [2, 0]), v(1));
  });

  it('rejects negative, non-finite or all-zero weights and a weight count mismatch', () => {
    assertCode(() => weightedMean([v(1)], [-1]), 'ERR_BAD_OPTION');
    assertCode(() => weightedMean([v(1)], [Number.NaN]), 'ERR_BAD_OPTION');
    assertCode(() => weightedMean([v(1), v(2)], [0, 0]), 'ERR_BAD_OPTION');
    assertCode(() => weightedMean([v(1), v(2)], [1]), 'ERR_LENGTH_MISMATCH');
  });

  it('is the identity on identical inputs whatever the weights (property)', () => {
    fc.assert(fc.property(vectorsArb(1, 1, 16), fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }), ([x], w) => {
      assert.deepEqual(weightedMean(w.map(() => x!), w), x);
    }), FC_OPTIONS);
  });
});

describe('sumVectors64 and MeanAccumulator', () => {
  it('agree bit for bit with mean when fed the same vectors in the same order', () => {
    fc.assert(fc.property(vectorsArb(1, 10, 20), (vs) => {
      const acc = new MeanAccumulator(vs[0]!.length);
      for (const x of vs) acc.add(x);
      assert.equal(acc.count, vs.length);
      assert.deepEqual(acc.result(), mean(vs));
      assert.deepEqual(Array.from(acc.sum), Array.from(sumVectors64(vs)));
    }), FC_OPTIONS);
  });

  it('weights inputs, resets, and refuses a result with nothing added', () => {
    const acc = new MeanAccumulator(2);
    assertCode(() => acc.result(), 'ERR_TOO_FEW_INPUTS');
    acc.add(v(2, 4), 3);
    acc.add(v(6, 0), 1);
    // (3·[2,4] + [6,0]) / 4 = [3, 3]
    assert.deepEqual(acc.result(), v(3, 3));
    assert.equal(acc.totalWeight, 4);
    acc.reset();
    assert.equal(acc.count, 0);
    assertCode(() => acc.add(v(1)), 'ERR_LENGTH_MISMATCH');
    assertCode(() => acc.add(v(1, 2), -1), 'ERR_BAD_OPTION');
  });
});
