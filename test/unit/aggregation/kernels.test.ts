/**
 * Differential tests: every aggregation rule with a WebAssembly kernel gives the same Float32 result as its
 * scalar JS version (kernels turned off), bit for bit, on inputs that cross the kernels' block sizes and
 * include −0, subnormals, ties and outliers; centered clipping within the bound stated below.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInfo, kernels, useWasmKernels } from '../../../aggregation/kernels/wasm.js';
import { mean, weightedMean } from '../../../aggregation/mean.js';
import { mixModels } from '../../../aggregation/mixing.js';
import { ageMerge } from '../../../aggregation/gossip-age.js';
import { krumScores, pairwiseSquaredDistances } from '../../../aggregation/krum.js';
import { centeredClipping, coordinateMedian, trimmedMean } from '../../../aggregation/robust.js';
import { rngFor } from '../../../node/data/rng.js';
import { makeLayout } from '../../../aggregation/layout.js';
import { tensorVariance, VarianceCorrectionBuffer, varianceCorrectedMean } from '../../../aggregation/variance-corrected.js';
import { rescaleKernel } from '../../../aggregation/kernels/sums.js';

after(() => { useWasmKernels(true); });

/** n vectors of length d: normal values with −0, subnormals, repeated values and a few outliers mixed in. */
function inputs(seed: string, n: number, d: number, spread = 1): Float32Array[] {
  const rng = rngFor('kernels-test', seed, n, d);
  return Array.from({ length: n }, (_, j) => {
    const v = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      const u = rng.next();
      v[i] = u < 0.01 ? -0 : u < 0.02 ? 1e-40 * (j + 1) : u < 0.04 ? 0.25 : u < 0.05 ? 1e3 * rng.normal() : spread * rng.normal();
    }
    return v;
  });
}

/** The result of `fn` with the JS versions and with the kernels. */
function both<T>(fn: () => T): { js: T; wasm: T } {
  useWasmKernels(false);
  const js = fn();
  useWasmKernels(true);
  return { js, wasm: fn() };
}

function assertBitEqual(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) assert.fail(`${label}: element ${i} is ${a[i]} with the kernel, ${b[i]} in JS`);
}

const SHAPES: Array<[number, number]> = [[1, 5000], [3, 4097], [9, 2500], [30, 1031], [101, 700], [24, 300], [25, 300]];

describe('aggregation kernels (WebAssembly SIMD vs scalar JS)', () => {
  it('load in this runtime and say so', () => {
    assert.equal(kernelInfo().variant, 'wasm-simd128', kernelInfo().reason);
    assert.ok(kernels());
  });

  it('mean and weighted mean are bit-identical to JS', () => {
    for (const [n, d] of SHAPES) {
      const vs = inputs('mean', n, d);
      const r = both(() => mean(vs));
      assertBitEqual(r.wasm, r.js, `mean ${n}x${d}`);
      const w = vs.map((_, j) => (j % 4 === 1 ? 0 : 0.5 + j));
      if (w.some((x) => x > 0)) {
        const q = both(() => weightedMean(vs, w));
        assertBitEqual(q.wasm, q.js, `weightedMean ${n}x${d}`);
      }
    }
  });

  it('mixing and the age-weighted merge are bit-identical to JS', () => {
    const [self, a, b, c] = inputs('mix', 4, 9000);
    const r = both(() => mixModels(self!, [{ vector: a!, weight: 0.2 }, { vector: b!, weight: 0 }, { vector: c!, weight: 0.3 }], 0.5));
    assertBitEqual(r.wasm, r.js, 'mixModels');
    const m = both(() => ageMerge({ vector: a!, age: 37 }, { vector: b!, age: 11 }).vector);
    assertBitEqual(m.wasm, m.js, 'ageMerge');
  });

  it('coordinate median and trimmed mean are bit-identical to JS, pivots hit or missed', () => {
    for (const [n, d] of SHAPES) {
      for (const spread of [1, 1e-3]) {
        const vs = inputs(`robust-${spread}`, n, d, spread);
        const r = both(() => coordinateMedian(vs));
        assertBitEqual(r.wasm, r.js, `median ${n}x${d}`);
        for (const f of [1, Math.floor((n - 1) / 4), Math.floor((n - 1) / 2), 10]) {
          if (f < 1 || 2 * f >= n) continue;
          const t = both(() => trimmedMean(vs, f));
          assertBitEqual(t.wasm, t.js, `trimmedMean f=${f} ${n}x${d}`);
        }
      }
    }
  });

  it('trimmed mean by the insertion network equals JS on ties, ±0, outliers and cancelling columns', () => {
    // n = 40, f ≤ 10 takes the network; 37 coordinates leave a tail of one beside the groups of four.
    const n = 40, d = 37, rng = rngFor('kernels-test', 'network');
    const vs = Array.from({ length: n }, () => new Float32Array(d));
    for (let c = 0; c < d; c++) {
      for (let j = 0; j < n; j++) {
        const kind = c % 5;
        // 0: normal; 1: ties and ±0; 2: ± pairs whose kept sum cancels to 0 (exact fallback); 3: two huge outliers; 4: a constant
        vs[j]![c] = kind === 0 ? rng.normal() : kind === 1 ? [0, -0, 1, 1, -2][j % 5]! : kind === 2 ? (j % 2 ? 1 : -1) * (1 + (j >> 1)) * 0.125
          : kind === 3 ? (j < 2 ? 1e30 : rng.normal()) : 3.25;
      }
    }
    for (const f of [1, 3, 7, 10]) {
      const t = both(() => trimmedMean(vs, f));
      assertBitEqual(t.wasm, t.js, `network trimmedMean f=${f}`);
    }
  });

  it('write into an out buffer that aliases an input', () => {
    const vs = inputs('alias', 31, 1000);
    const expected = both(() => trimmedMean(vs, 3)).js;
    const copy = vs.map((v) => v.slice());
    useWasmKernels(true);
    assertBitEqual(trimmedMean(copy, 3, copy[0]), expected, 'trimmedMean into input 0');
  });

  it('centered clipping equals JS within 1 ulp plus 1e-9 of the mean distance', () => {
    // The kernel sums ‖x − v‖² in another order (8 partial sums per block) than the JS rule's single running
    // sum. Each order is within d·ε₆₄·‖x − v‖² of the exact value (ε₆₄ = 2⁻⁵³; d ≤ 10⁴ here gives 1.1e-12
    // relative), so each scale τ/‖x − v‖ moves by under 1e-12 relative, every clipped term by under
    // 1e-12·|x − v|, and v by under 1e-12·mean|x − v| before rounding to float32; rounding then adds at most
    // one ulp. The test allows 1 ulp + 1e-9·mean|x − v|.
    for (const [n, d] of [[10, 9000], [33, 2049]] as const) {
      const vs = inputs('clip', n, d, 0.1);
      for (const [tau, it] of [[0.5, 1], [5, 3], [Infinity, 1]] as const) {
        const r = both(() => centeredClipping(vs[0]!, vs, tau, it));
        let meanDist = 0;
        for (const x of vs) for (let i = 0; i < d; i++) meanDist += Math.abs(x[i]! - vs[0]![i]!) / (n * d);
        for (let i = 0; i < d; i++) {
          const a = r.wasm[i]!, b = r.js[i]!;
          const ulp = Math.abs(b) * 2 ** -23 + 1e-45;
          assert.ok(Math.abs(a - b) <= ulp + 1e-9 * meanDist, `centeredClipping τ=${tau} ${n}x${d} [${i}]: ${a} vs ${b}`);
        }
      }
    }
  });

  it('variance-corrected mean equals JS within 1 ulp (variances summed in another order)', () => {
    // tensorVariance on the kernel takes Σx and Σx² in segments of 8192 and in SIMD lanes (one pass: here
    // |μ| ≪ σ, see PLAIN_MAX_CANCELLATION): each sum moves by at most size·2⁻⁵³ relative (1e-12 here), the rescale
    // factor by about half that, far below a float32 ulp, so a corrected value can only round to a neighbouring
    // float32. variance-kernel.test.ts checks the bound against a Float64 oracle, also for |μ| ≫ σ.
    const layout = makeLayout([{ name: 'k', shape: [100, 91], role: 'kernel' }, { name: 'b', shape: [91], role: 'bias' }, { name: 'k2', shape: [91, 50], role: 'kernel' }, { name: 'k3', shape: [300, 61], role: 'kernel' }]);
    const vs = inputs('vv', 12, layout.size, 0.1);
    for (const v of vs.slice(0, 3)) {
      const t = both(() => tensorVariance(v, 0, 9100, 'unbiased'));
      assert.ok(Math.abs(t.wasm - t.js) <= 1e-12 * t.js, `variance ${t.wasm} vs ${t.js}`);
    }
    const r = both(() => varianceCorrectedMean(layout, vs[0]!, vs.slice(1), { ownWeight: 0.3 }));
    // The one-pass kernel path (variances taken while averaging) equals the incremental buffer bit for bit.
    const buffer = new VarianceCorrectionBuffer(layout);
    for (const v of vs.slice(1)) buffer.add(v);
    assertBitEqual(buffer.result(vs[0]!, { ownWeight: 0.3 }), r.wasm, 'VarianceCorrectionBuffer vs varianceCorrectedMean');
    for (let i = 0; i < layout.size; i++) {
      const a = r.wasm[i]!, b = r.js[i]!;
      assert.ok(Math.abs(a - b) <= Math.abs(b) * 2 ** -23 + 1e-45, `[${i}] ${a} vs ${b}`);
    }
  });

  it("variance correction's rescale equals the JS expression bit for bit", () => {
    const [x] = inputs('rescale', 1, 20_003, 0.1);
    const expected = x!.map((v) => 0.0123 + (v - 0.0123) * 1.7);
    const got = x!.slice();
    rescaleKernel(kernels()!, got, 0, got.length, 0.0123, 1.7);
    assertBitEqual(got, expected, 'rescale');
    const part = x!.slice();
    rescaleKernel(kernels()!, part, 5, 9001, 0.0123, 1.7);
    assertBitEqual(part.subarray(5, 9006), expected.subarray(5, 9006), 'rescale of a tensor inside the vector');
    assertBitEqual(part.subarray(9006), x!.subarray(9006), 'values after the tensor untouched');
  });

  it('pairwise distances and Krum scores are bit-identical to JS', () => {
    for (const [n, d] of [[2, 5000], [7, 2049], [12, 1024], [31, 3000]] as const) {
      const vs = inputs('krum', n, d, 0.1);
      const r = both(() => pairwiseSquaredDistances(vs));
      assert.deepEqual(Array.from(r.wasm), Array.from(r.js), `distances ${n}x${d}`);
      if (n >= 5) assert.deepEqual(Array.from(both(() => krumScores(vs, 2)).wasm), Array.from(both(() => krumScores(vs, 2)).js));
    }
  });
});
