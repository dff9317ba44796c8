import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  metropolisHastingsMatrix, metropolisHastingsWeights, mixModels, renormalise, spectralGap, symmetricEigenvalues,
} from '../../../aggregation/mixing.js';
import { FC_OPTIONS, assertClose, assertCode } from './arbitraries.js';

const third = 1 / 3;

/** Random undirected graph on n nodes as neighbour lists (each edge present with probability p). */
const graphArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.array(fc.boolean(), { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }).map((bits) => {
    const lists: number[][] = Array.from({ length: n }, () => []);
    let k = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (bits[k++]) { lists[i]!.push(j); lists[j]!.push(i); }
    return lists;
  }));

function assertDoublyStochasticSymmetric(W: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    let row = 0, col = 0;
    for (let j = 0; j < n; j++) {
      row += W[i * n + j]!; col += W[j * n + i]!;
      assert.ok(Math.abs(W[i * n + j]! - W[j * n + i]!) < 1e-15, `symmetric at ${i},${j}`);
      assert.ok(W[i * n + j]! >= 0, `non-negative at ${i},${j}`);
    }
    assert.ok(Math.abs(row - 1) < 1e-12 && Math.abs(col - 1) < 1e-12, `row/col ${i} sums ${row}/${col}`);
  }
}

describe('metropolisHastingsMatrix', () => {
  it('builds the 4-node path matrix', () => {
    // Path 0-1-2-3, degrees 1,2,2,1: every edge has max degree 2, so w_ij = 1/(1+2) = 1/3;
    // w_00 = w_33 = 1 − 1/3 = 2/3, w_11 = w_22 = 1 − 2/3 = 1/3.
    const expected = [
      2 * third, third, 0, 0,
      third, third, third, 0,
      0, third, third, third,
      0, 0, third, 2 * third,
    ];
    assertClose(metropolisHastingsMatrix([[1], [0, 2], [1, 3], [2]]), expected, 1e-15);
    // The same graph as an adjacency matrix.
    assertClose(metropolisHastingsMatrix([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]), expected, 1e-15);
  });

  it('matches the per-peer weights row by row and is symmetric and doubly stochastic (property)', () => {
    fc.assert(fc.property(graphArb, (lists) => {
      const n = lists.length;
      const W = metropolisHastingsMatrix(lists, 'neighbours');
      assertDoublyStochasticSymmetric(W, n);
      for (let i = 0; i < n; i++) {
        const w = metropolisHastingsWeights(lists[i]!.length, lists[i]!.map((j) => lists[j]!.length));
        assert.equal(w.self, W[i * n + i]);
        lists[i]!.forEach((j, k) => assert.equal(w.neighbours[k], W[i * n + j]));
      }
    }), FC_OPTIONS);
  });

  it('rejects directed graphs, self-loops, repeated and out-of-range ids', () => {
    assertCode(() => metropolisHastingsMatrix([[1], []]), 'ERR_BAD_INPUT');
    assertCode(() => metropolisHastingsMatrix([[0, 1], [0, 0]]), 'ERR_BAD_INPUT');
    assertCode(() => metropolisHastingsMatrix([[1, 1], [0, 0]], 'adjacency'), 'ERR_BAD_INPUT');
    assertCode(() => metropolisHastingsMatrix([[1, 1], [0]], 'neighbours'), 'ERR_BAD_INPUT');
    assertCode(() => metropolisHastingsMatrix([[2], [0]]), 'ERR_BAD_INPUT');
  });
});

describe('metropolisHastingsWeights', () => {
  it('gives w_ij = 1/(1 + max(d_i, d_j)) and the rest to self', () => {
    // Node 1 of the path: d = 2, neighbours of degree 1 and 2 → 1/3 each, self 1/3.
    const w = metropolisHastingsWeights(2, [1, 2]);
    assertClose([w.self, ...w.neighbours], [third, third, third], 1e-15);
    // A hub of degree 3 with leaves: 1/(1+3) each, self 1 − 3/4 = 1/4.
    const hub = metropolisHastingsWeights(3, [1, 1, 1]);
    assertClose([hub.self, ...hub.neighbours], [0.25, 0.25, 0.25, 0.25], 1e-15);
    assert.deepEqual(metropolisHastingsWeights(0, []), { self: 1, neighbours: [] });
  });

  it('rejects a degree list that does not match the degree, and degree-0 neighbours', () => {
    assertCode(() => metropolisHastingsWeights(2, [1]), 'ERR_LENGTH_MISMATCH');
    assertCode(() => metropolisHastingsWeights(1, [0]), 'ERR_BAD_OPTION');
    assertCode(() => metropolisHastingsWeights(1.5, [1]), 'ERR_BAD_OPTION');
  });
});

describe('renormalise', () => {
  it('moves a missing neighbour\'s weight to self by default, or rescales proportionally', () => {
    const w = metropolisHastingsWeights(2, [1, 2]); // self 1/3, neighbours 1/3, 1/3
    const self = renormalise(w, [true, false]);
    // self mode: 1/3 + 1/3 (missing) = 2/3; kept neighbour stays 1/3
    assertClose([self.self, ...self.neighbours], [2 * third, third, 0], 1e-15);
    const prop = renormalise(w, [true, false], 'proportional');
    // proportional: kept mass 1/3 + 1/3 = 2/3 → self and the kept neighbour each (1/3)/(2/3) = 1/2
    assertClose([prop.self, ...prop.neighbours], [0.5, 0.5, 0], 1e-15);
    assertCode(() => renormalise(w, [true]), 'ERR_LENGTH_MISMATCH');
  });

  it('keeps the round matrix symmetric and doubly stochastic when links fail in both directions (property)', () => {
    fc.assert(fc.property(graphArb, fc.array(fc.boolean(), { minLength: 66, maxLength: 66 }), (lists, fail) => {
      const n = lists.length;
      const failed = (i: number, j: number): boolean => fail[(Math.min(i, j) * 13 + Math.max(i, j)) % 66]!;
      const W = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        const base = metropolisHastingsWeights(lists[i]!.length, lists[i]!.map((j) => lists[j]!.length));
        const r = renormalise(base, lists[i]!.map((j) => !failed(i, j)));
        W[i * n + i] = r.self;
        lists[i]!.forEach((j, k) => { W[i * n + j] = r.neighbours[k]!; });
      }
      assertDoublyStochasticSymmetric(W, n);
    }), FC_OPTIONS);
  });
});

describe('mixModels', () => {
  it('computes selfWeight·self + Σ w·received', () => {
    // 2/3·[1, 2] + 1/3·[3, 4] = [2/3 + 1, 4/3 + 4/3] = [5/3, 8/3]
    assertClose(mixModels(Float32Array.from([1, 2]), [{ vector: Float32Array.from([3, 4]), weight: third }], 2 * third), [5 / 3, 8 / 3], 1e-7);
  });

  it('may write into self, and rejects weights that do not sum to 1', () => {
    const self = Float32Array.from([2, 2]);
    mixModels(self, [{ vector: Float32Array.from([4, 0]), weight: 0.5 }], 0.5, self);
    assert.deepEqual(self, Float32Array.from([3, 1]));
    assertCode(() => mixModels(self, [{ vector: self, weight: 0.2 }], 0.5), 'ERR_BAD_OPTION');
    assertCode(() => mixModels(self, [{ vector: self, weight: -0.5 }], 1.5), 'ERR_BAD_OPTION');
    assertCode(() => mixModels(self, [{ vector: Float32Array.from([1]), weight: 0.5 }], 0.5), 'ERR_LENGTH_MISMATCH');
  });
});

describe('spectralGap', () => {
  it('is (2 − √2)/3 for the 4-node path', () => {
    // W = (3I − L)/3 with L the path Laplacian (eigenvalues 0, 2−√2, 2, 2+√2), so W has eigenvalues
    // 1, (1+√2)/3, 1/3, (1−√2)/3; the second largest |λ| is (1+√2)/3 and the gap 1 − (1+√2)/3.
    const W = metropolisHastingsMatrix([[1], [0, 2], [1, 3], [2]]);
    assert.ok(Math.abs(spectralGap(W, 4) - (2 - Math.SQRT2) / 3) < 1e-13);
  });

  it('matches the closed form of rings, is 1 on complete graphs and 0 when disconnected', () => {
    for (const n of [5, 8, 31, 64]) {
      // Ring: W = (I + A)/3, eigenvalues (1 + 2cos(2πk/n))/3.
      const W = metropolisHastingsMatrix(Array.from({ length: n }, (_, i) => [(i + 1) % n, (i + n - 1) % n]));
      const exact = Array.from({ length: n }, (_, k) => Math.abs((1 + 2 * Math.cos((2 * Math.PI * k) / n)) / 3)).sort((a, b) => b - a);
      assert.ok(Math.abs(spectralGap(W, n) - (1 - exact[1]!)) < 1e-12, `ring ${n}`);
    }
    const complete = metropolisHastingsMatrix(Array.from({ length: 6 }, (_, i) => [0, 1, 2, 3, 4, 5].filter((j) => j !== i)));
    assert.ok(Math.abs(spectralGap(complete, 6) - 1) < 1e-12);
    assert.ok(Math.abs(spectralGap(metropolisHastingsMatrix([[1], [0], [3], [2]]), 4)) < 1e-12);
    assert.equal(spectralGap([1], 1), 1);
  });

  it('finds every eigenvalue of a random symmetric matrix (trace and Frobenius norm preserved)', () => {
    let s = 7;
    const rnd = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; };
    const n = 40, A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const x = rnd(); A[i * n + j] = x; A[j * n + i] = x; }
    const ev = symmetricEigenvalues(A, n);
    let trace = 0, fro = 0, s1 = 0, s2 = 0;
    for (let i = 0; i < n; i++) trace += A[i * n + i]!;
    for (const x of A) fro += x * x;
    for (const x of ev) { s1 += x; s2 += x * x; }
    assert.ok(Math.abs(trace - s1) < 1e-12 && Math.abs(fro - s2) < 1e-11);
  });

  it('rejects an asymmetric or mis-sized matrix', () => {
    assertCode(() => spectralGap([1, 0.5, 0, 1], 2), 'ERR_BAD_INPUT');
    assertCode(() => spectralGap([1, 0, 0], 2), 'ERR_LENGTH_MISMATCH');
    assertCode(() => spectralGap([], 0), 'ERR_TOO_FEW_INPUTS');
  });
});
