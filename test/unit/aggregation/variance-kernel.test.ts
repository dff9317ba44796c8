/**
 * The variance of the kernel path (variance-corrected.ts PLAIN_MAX_CANCELLATION): one pass over Σx and Σx² when
 * the mean is small against the spread, values shifted by the first element otherwise. Hand-computed values,
 * the stated bound against a Float64 two-pass oracle (compensated sums) on both sides of the threshold, and the
 * fused (variances taken while averaging) and incremental paths bit for bit on both sides too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, kernelVectors } from '../../../aggregation/kernels/wasm.js';
import { makeLayout } from '../../../aggregation/layout.js';
import { PLAIN_MAX_CANCELLATION, tensorVariance, VarianceCorrectionBuffer, varianceCorrectedMean } from '../../../aggregation/variance-corrected.js';
import { rngFor } from '../../../node/data/rng.js';

/** Relative bound on the kernel variance stated at PLAIN_MAX_CANCELLATION. */
const BOUND = 2e-10;

/** Σ values with Neumaier's compensation (Float64). */
function compensatedSum(values: Iterable<number>): number {
  let s = 0, c = 0;
  for (const v of values) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

/** The oracle: mean first, then Σ(x − μ)², both compensated, in Float64. */
function oracleVariance(x: Float32Array, estimator: 'population' | 'unbiased' = 'population'): number {
  const mu = compensatedSum(x) / x.length;
  return compensatedSum(Array.from(x, (v) => (v - mu) * (v - mu))) / (estimator === 'unbiased' ? x.length - 1 : x.length);
}

/** n float32 vectors of length d: mu + sigma·normal. */
function shiftedNormals(seed: string, n: number, d: number, mu: number, sigma: number): Float32Array[] {
  const rng = rngFor('variance-kernel-test', seed, n, d);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => mu + sigma * rng.normal()));
}

describe('kernel variance (one pass when well conditioned, shifted otherwise)', () => {
  it('runs with the WebAssembly kernels here', () => { assert.ok(kernels()); });

  it('gives hand-computed variances exactly', () => {
    // 1, 3, 1, 3, … (1024 values): Σx = 2048, Σx² = 5120, ss = 5120 − 2048²/1024 = 1024 → 1 (÷n), 1024/1023 (÷(n−1)).
    const alternating = Float32Array.from({ length: 1024 }, (_, i) => (i % 2 ? 3 : 1));
    assert.equal(tensorVariance(alternating, 0, 1024), 1);
    assert.equal(tensorVariance(alternating, 0, 1024, 'unbiased'), 1024 / 1023);
    // An odd count inside a longer vector: 513 values 2, 4, 2, …, 2 from offset 7: Σx = 257·2 + 256·4 = 1538,
    // Σx² = 257·4 + 256·16 = 5124, ss = 5124 − 1538²/513 = 1048576/513 → (1048576/513)/513.
    const odd = new Float32Array(600).fill(9);
    for (let i = 0; i < 513; i++) odd[7 + i] = i % 2 ? 4 : 2;
    assert.equal(tensorVariance(odd, 7, 513), (5124 - (1538 * 1538) / 513) / 513);
    // All zeros: Σx² = 0 takes the one pass and gives 0.
    assert.equal(tensorVariance(new Float32Array(2048), 0, 2048), 0);
  });

  it('gives exactly 0 for a constant tensor (the one pass would leave rounding noise)', () => {
    for (const c of [0.1, -3.7, 1e-3, 12345.678]) {
      const x = new Float32Array(8192 * 2 + 77).fill(c);
      assert.equal(tensorVariance(x, 0, x.length), 0, `constant ${c}`);
      assert.equal(tensorVariance(x, 5, 9001, 'unbiased'), 0, `constant ${c}, unbiased`);
    }
  });

  it(`is within ${BOUND} relative of a Float64 oracle on both sides of the threshold`, () => {
    const edge = Math.sqrt(PLAIN_MAX_CANCELLATION - 1); // |μ|/σ where Σx² = PLAIN_MAX_CANCELLATION·Σ(x − μ)²
    for (const ratio of [0, 1, 3, edge * 0.97, edge * 1.03, 100, 1e4]) {
      for (const d of [513, 8192, 8193, 100_003]) {
        const [x] = shiftedNormals(`oracle-${ratio}-${d}`, 1, d, ratio * 0.02, 0.02);
        const want = oracleVariance(x!);
        const got = tensorVariance(x!, 0, d);
        assert.ok(Math.abs(got - want) <= BOUND * want, `|μ|/σ ${ratio}, ${d} values: ${got} vs oracle ${want} (${Math.abs(got - want) / want} relative)`);
      }
    }
  });

  it('takes the same variances while averaging as the incremental buffer, bit for bit, on both sides of the threshold', () => {
    const layout = makeLayout([
      { name: 'a', shape: [100, 91], role: 'kernel' }, { name: 'b', shape: [91], role: 'bias' },
      { name: 'c', shape: [91, 50], role: 'kernel' }, { name: 'd', shape: [300, 61], role: 'kernel' },
    ]);
    for (const ratio of [0.5, 40]) {
      const vs = shiftedNormals(`fused-${ratio}`, 9, layout.size, ratio * 0.1, 0.1);
      for (const options of [{}, { ownWeight: 0.3, estimator: 'unbiased' as const }]) {
        const fused = varianceCorrectedMean(layout, vs[0]!, vs.slice(1), options);
        const buffer = new VarianceCorrectionBuffer(layout, { estimator: options.estimator });
        for (const v of vs.slice(1)) buffer.add(v);
        const incremental = buffer.result(vs[0]!, { ownWeight: options.ownWeight });
        const a = new Uint32Array(fused.buffer), b = new Uint32Array(incremental.buffer);
        for (let i = 0; i < a.length; i++) {
          if (a[i] !== b[i]) assert.fail(`|μ|/σ ${ratio} ${JSON.stringify(options)}: element ${i} is ${fused[i]} fused, ${incremental[i]} incremental`);
        }
      }
    }
  });

  it('gives the same result from resident inputs, read in several passes of rows, as from the buffer', () => {
    // 23 received models: passes of 10, 10 and 3 rows; tensors of odd sizes that cross the 8192 segment grid.
    const layout = makeLayout([{ name: 'k', shape: [101, 97], role: 'kernel' }, { name: 'b', shape: [3], role: 'bias' }, { name: 'k2', shape: [7, 1171], role: 'kernel' }]);
    const heap = shiftedNormals('resident', 24, layout.size, 0.01, 0.1);
    const resident = kernelVectors(24, layout.size);
    heap.forEach((v, j) => resident[j]!.set(v));
    const buffer = new VarianceCorrectionBuffer(layout);
    for (const v of heap.slice(1)) buffer.add(v);
    const want = new Uint32Array(buffer.result(heap[0]!).buffer);
    for (const [label, vs] of [['resident', resident], ['heap', heap]] as const) {
      const got = new Uint32Array(varianceCorrectedMean(layout, vs[0]!, vs.slice(1)).buffer);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`${label}: element ${i} differs from the incremental buffer`);
    }
  });

  it('corrects each tensor to within one float32 ulp of the Float64 oracle', () => {
    const layout = makeLayout([{ name: 'k', shape: [300, 91], role: 'kernel' }, { name: 'k2', shape: [64, 200], role: 'kernel' }]);
    for (const ratio of [0, 5, 40]) {
      const vs = shiftedNormals(`result-${ratio}`, 12, layout.size, ratio * 0.05, 0.05);
      const got = varianceCorrectedMean(layout, vs[0]!, vs);
      // The mean in Float64 in input order, rounded once (mean.ts), then the correction in Float64 from oracle moments.
      const avg = Float32Array.from({ length: layout.size }, (_, i) => vs.reduce((s, v) => s + v[i]!, 0) / vs.length);
      for (const { offset, size } of layout.tensors) {
        const part = avg.subarray(offset, offset + size);
        const target = vs.reduce((s, v) => s + oracleVariance(v.subarray(offset, offset + size)), 0) / vs.length;
        const mu = compensatedSum(part) / size, scale = Math.sqrt(target / oracleVariance(part));
        for (let i = 0; i < size; i++) {
          const want = mu + (part[i]! - mu) * scale, have = got[offset + i]!;
          const ulp = Math.abs(Math.fround(want)) * 2 ** -23 + 1e-45;
          assert.ok(Math.abs(have - want) <= ulp, `|μ|/σ ${ratio}, tensor at ${offset} [${i}]: ${have} vs oracle ${want}`);
        }
      }
    }
  });
});
