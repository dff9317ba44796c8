import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  isBlanchardResilient, krum, krumMinInputs, krumScores, multiKrum, multiKrumSelect, pairwiseSquaredDistances,
} from '../../../aggregation/krum.js';
import { centeredClipping, coordinateMedian, trimmedMean, trimmedMeanMinInputs } from '../../../aggregation/robust.js';
import { rngFor } from '../../../node/data/rng.js';
import { FC_OPTIONS, assertClose, assertCode, f32, permutationArb, vectorsArb } from './arbitraries.js';

const v = (...x: number[]): Float32Array => Float32Array.from(x);

/** Reference implementations: sort each coordinate. */
function column(vs: readonly Float32Array[], k: number): number[] { return vs.map((x) => x[k]!).sort((a, b) => a - b); }
function naiveMedian(vs: readonly Float32Array[]): Float32Array {
  return Float32Array.from(vs[0]!, (_, k) => {
    const c = column(vs, k), h = c.length >> 1;
    return c.length % 2 ? c[h]! : (c[h - 1]! + c[h]!) / 2;
  });
}
function naiveTrimmed(vs: readonly Float32Array[], f: number): Float32Array {
  return Float32Array.from(vs[0]!, (_, k) => column(vs, k).slice(f, vs.length - f).reduce((a, b) => a + b, 0) / (vs.length - 2 * f));
}

/** Inputs with many ties (few distinct values) and both the small-n and the large-n code paths. */
const tiedArb = (minN: number, maxN: number): fc.Arbitrary<Float32Array[]> => vectorsArb(minN, maxN, 40, fc.integer({ min: -3, max: 3 }).map((x) => x / 2));

describe('coordinateMedian', () => {
  it('takes the middle value, or the mean of the two middle values for even n', () => {
    const vs = [v(1, 5, 3), v(2, 2, 2), v(9, 0, 4)];
    // columns {1,2,9} → 2, {5,2,0} → 2, {3,2,4} → 3
    assert.deepEqual(coordinateMedian(vs), v(2, 2, 3));
    // add [4, 1, 10]: sorted columns 1,2,4,9 → 3; 0,1,2,5 → 1.5; 2,3,4,10 → 3.5
    assert.deepEqual(coordinateMedian([...vs, v(4, 1, 10)]), v(3, 1.5, 3.5));
  });

  it('matches a sort-based reference, ties and large n included (property)', () => {
    fc.assert(fc.property(tiedArb(1, 60), (vs) => { assert.deepEqual(coordinateMedian(vs), naiveMedian(vs)); }), FC_OPTIONS);
    fc.assert(fc.property(vectorsArb(1, 70, 20), (vs) => { assertClose(coordinateMedian(vs), naiveMedian(vs), 1e-7); }), FC_OPTIONS);
  });

  it('stays within the inputs\' range, is the identity on equal inputs and ignores input order (property)', () => {
    fc.assert(fc.property(vectorsArb(1, 40, 16).chain((vs) => fc.tuple(fc.constant(vs), permutationArb(vs.length))), ([vs, perm]) => {
      const m = coordinateMedian(vs);
      m.forEach((x, k) => { const c = column(vs, k); assert.ok(x >= c[0]! && x <= c[c.length - 1]!); });
      // Exact equality (tolerance 0), except that −0 and +0 count as equal.
      assertClose(coordinateMedian(perm.map((i) => vs[i]!)), m, 0);
      assertClose(coordinateMedian(vs.map(() => vs[0]!)), vs[0]!, 0);
    }), FC_OPTIONS);
  });

  it('handles many coordinates (several transposed blocks) and leaves inputs untouched', () => {
    const rng = rngFor('median-blocks');
    const vs = Array.from({ length: 31 }, () => Float32Array.from({ length: 1500 }, () => rng.normal()));
    const copies = vs.map((x) => x.slice());
    assert.deepEqual(coordinateMedian(vs), naiveMedian(vs));
    vs.forEach((x, i) => assert.deepEqual(x, copies[i]));
    assertCode(() => coordinateMedian([]), 'ERR_TOO_FEW_INPUTS');
  });
});

describe('trimmedMean', () => {
  it('drops the f smallest and f largest values per coordinate', () => {
    // column [1, 7, 3, 100, −50], f = 1 → drop −50 and 100 → (1 + 3 + 7)/3 = 11/3
    const vs = [v(1, 0), v(7, 0), v(3, 1), v(100, 1), v(-50, 1)];
    assertClose(trimmedMean(vs, 1), [11 / 3, 2 / 3], 1e-7);
    // f = 0 is the plain mean: (1 + 7 + 3 + 100 − 50)/5 = 12.2
    assertClose(trimmedMean(vs, 0), [12.2, 0.6], 1e-6);
    // f = 2 of 5 leaves the median
    assert.deepEqual(trimmedMean(vs, 2), v(3, 1));
  });

  it('requires n > 2f and an integer f', () => {
    assert.equal(trimmedMeanMinInputs(3), 7);
    assertCode(() => trimmedMean([v(1), v(2)], 1), 'ERR_TOO_FEW_INPUTS');
    assertCode(() => trimmedMean([v(1), v(2), v(3)], 0.5), 'ERR_BAD_OPTION');
  });

  it('matches a sort-based reference for every f, ties and large n included (property)', () => {
    const arb = (vsArb: fc.Arbitrary<Float32Array[]>): fc.Arbitrary<[Float32Array[], number]> =>
      vsArb.chain((vs) => fc.tuple(fc.constant(vs), fc.integer({ min: 0, max: (vs.length - 1) >> 1 })));
    fc.assert(fc.property(arb(tiedArb(1, 120)), ([vs, f]) => { assertClose(trimmedMean(vs, f), naiveTrimmed(vs, f), 1e-6); }), FC_OPTIONS);
    fc.assert(fc.property(arb(vectorsArb(1, 120, 20)), ([vs, f]) => { assertClose(trimmedMean(vs, f), naiveTrimmed(vs, f), 1e-5); }), FC_OPTIONS);
  });

  it('stays within the inputs\' range, is the identity on equal inputs and ignores input order (property)', () => {
    fc.assert(fc.property(vectorsArb(3, 40, 16).chain((vs) => fc.tuple(fc.constant(vs), permutationArb(vs.length), fc.integer({ min: 0, max: (vs.length - 1) >> 1 }))), ([vs, perm, f]) => {
      const m = trimmedMean(vs, f);
      m.forEach((x, k) => { const c = column(vs, k); assert.ok(x >= Math.fround(c[0]!) && x <= Math.fround(c[c.length - 1]!)); });
      assertClose(trimmedMean(perm.map((i) => vs[i]!), f), m, 1e-6);
      assertClose(trimmedMean(vs.map(() => vs[0]!), f), vs[0]!, 0);
    }), FC_OPTIONS);
  });

  it('matches the reference on normal data of the benchmark shape, ties included (the pivot path)', () => {
    const rng = rngFor('trimmed-normal');
    for (const [n, f, step] of [[100, 10, 0], [100, 10, 0.5], [60, 3, 0], [41, 12, 0]] as const) {
      const vs = Array.from({ length: n }, () => Float32Array.from({ length: 1200 }, () => {
        const x = 3 + 0.2 * rng.normal();
        return step ? Math.round(x / step) * step : x;
      }));
      assertClose(trimmedMean(vs, f), naiveTrimmed(vs, f), 1e-6, `n=${n} f=${f}`);
      assertClose(coordinateMedian(vs), naiveMedian(vs), 0, `median n=${n}`);
    }
  });

  it('is exact on the benchmark shape with adversarial extremes (f attackers sending huge values)', () => {
    const rng = rngFor('trimmed-attack');
    const vs = Array.from({ length: 50 }, (_, i) => Float32Array.from({ length: 700 }, () => (i < 5 ? 1e6 : 0) + rng.normal()));
    assertClose(trimmedMean(vs, 5), naiveTrimmed(vs, 5), 1e-6);
    // f attackers at +1e20 and f at −1e20 around honest values near 1000: Σx − extremes would cancel to
    // garbage (the ulp of 1e21 is 131072); the kernel must notice and sum the kept values directly.
    const both = Array.from({ length: 100 }, (_, i) => Float32Array.from({ length: 300 }, () => (i < 10 ? 1e20 : i < 20 ? -1e20 : 1000) + rng.normal()));
    assertClose(trimmedMean(both, 10), naiveTrimmed(both, 10), 1e-6);
    const sorted = Array.from({ length: 60 }, (_, i) => Float32Array.from({ length: 300 }, (_, k) => i * 3 + k));
    assertClose(trimmedMean(sorted, 12), naiveTrimmed(sorted, 12), 1e-6);
  });
});

describe('krum', () => {
  // 1-D inputs [0], [1], [3], [10], [11]; n = 5, f = 1 → each score sums the n − f − 2 = 2 closest:
  // x0: 1 + 9 = 10; x1: 1 + 4 = 5; x2: 4 + 9 = 13; x3: 1 + 49 = 50; x4: 1 + 64 = 65.
  const line = [v(0), v(1), v(3), v(10), v(11)];

  it('scores by the n − f − 2 closest squared distances and picks the lowest', () => {
    assert.deepEqual(Array.from(krumScores(line, 1)), [10, 5, 13, 50, 65]);
    assert.equal(krum(line, 1), 1);
    assert.deepEqual(multiKrumSelect(line, 1, 3), [1, 0, 2]);
    // multi-Krum m = 2 averages x1 and x0: 0.5
    assert.deepEqual(multiKrum(line, 1, 2), v(0.5));
  });

  it('requires n ≥ f + 3, or n > 2f + 2 (Blanchard) in strict mode', () => {
    assert.equal(krumMinInputs(2), 5);
    assert.equal(krumMinInputs(2, true), 7);
    assert.ok(isBlanchardResilient(5, 1) && !isBlanchardResilient(6, 2));
    assert.equal(krum(line, 2), krum(line, 2)); // n = 5 = f + 3 is accepted
    assertCode(() => krum(line, 2, { strict: true }), 'ERR_TOO_FEW_INPUTS');
    assertCode(() => krum(line, 3), 'ERR_TOO_FEW_INPUTS');
    assertCode(() => multiKrum(line, 1, 5), 'ERR_BAD_OPTION');
    assertCode(() => krum(line, -1), 'ERR_BAD_OPTION');
  });

  it('computes pairwise distances like the naive double loop, across blocks and tile remainders', () => {
    const rng = rngFor('krum-distances');
    for (const n of [1, 2, 5, 7, 9]) {
      const vs = Array.from({ length: n }, () => Float32Array.from({ length: 2500 }, () => rng.normal()));
      const D = pairwiseSquaredDistances(vs);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < 2500; k++) s += (vs[i]![k]! - vs[j]![k]!) ** 2;
          assert.ok(Math.abs(D[i * n + j]! - s) <= 1e-9 * s, `n=${n} (${i},${j})`);
        }
      }
    }
  });

  it('picks the same input whatever the input order (property)', () => {
    fc.assert(fc.property(vectorsArb(5, 12, 6, f32(50)).chain((vs) => fc.tuple(fc.constant(vs), permutationArb(vs.length))), ([vs, perm]) => {
      const scores = krumScores(vs, 1);
      if (new Set(scores).size < scores.length) return; // ties are broken by index, so by order
      assert.equal(perm[krum(perm.map((i) => vs[i]!), 1)], krum(vs, 1));
    }), FC_OPTIONS);
  });
});

describe('centeredClipping', () => {
  it('clips each difference to norm τ and moves the center by their mean', () => {
    // x1 − 0 = (3, 4), norm 5 > 1 → (0.6, 0.8); x2 − 0 = (0, 1), norm 1 → kept; mean (0.3, 0.9)
    const xs = [v(3, 4), v(0, 1)];
    assertClose(centeredClipping(v(0, 0), xs, 1), [0.3, 0.9], 1e-7);
    // second iteration from v = (0.3, 0.9): x1 − v = (2.7, 3.1), norm √16.9 → clipped to (2.7, 3.1)/√16.9;
    // x2 − v = (−0.3, 0.1), norm √0.1 < 1 → kept
    const n1 = Math.sqrt(16.9);
    assertClose(centeredClipping(v(0, 0), xs, 1, 2), [0.3 + (2.7 / n1 - 0.3) / 2, 0.9 + (3.1 / n1 + 0.1) / 2], 1e-6);
  });

  it('is the plain mean for τ = ∞, the identity on equal inputs, and rejects τ ≤ 0', () => {
    assertClose(centeredClipping(v(5), [v(1), v(2), v(6)], Number.POSITIVE_INFINITY), [3], 1e-7);
    assert.deepEqual(centeredClipping(v(7, 7), [v(1, 2), v(1, 2)], 0.5, 1), v(7 - 0.5 * 6 / Math.hypot(6, 5), 7 - 0.5 * 5 / Math.hypot(6, 5)));
    assert.deepEqual(centeredClipping(v(1, 2), [v(1, 2), v(1, 2)], 0.5, 3), v(1, 2));
    assertCode(() => centeredClipping(v(0), [v(1)], 0), 'ERR_BAD_OPTION');
    assertCode(() => centeredClipping(v(0), [v(1)], 1, 0), 'ERR_BAD_OPTION');
    assertCode(() => centeredClipping(v(0), [], 1), 'ERR_TOO_FEW_INPUTS');
  });
});
