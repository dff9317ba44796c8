/**
 * Inputs that live in kernel memory (`kernelVectors`): the rules read them in place, without staging copies,
 * and give the same bits as with ordinary arrays and as the scalar JS versions, whether all, some or none of
 * the inputs (and the output) are resident; the memory never grows under resident views.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, kernelVectors, useWasmKernels } from '../../../aggregation/kernels/wasm.js';
import { mean, weightedMean } from '../../../aggregation/mean.js';
import { mixModels } from '../../../aggregation/mixing.js';
import { ageMerge } from '../../../aggregation/gossip-age.js';
import { centeredClipping, trimmedMean } from '../../../aggregation/robust.js';
import { makeLayout } from '../../../aggregation/layout.js';
import { VarianceCorrectionBuffer, varianceCorrectedMean } from '../../../aggregation/variance-corrected.js';
import { rngFor } from '../../../node/data/rng.js';

after(() => { useWasmKernels(true); });

function heapInputs(seed: string, n: number, d: number): Float32Array[] {
  const rng = rngFor('kernels-resident-test', seed, n, d);
  return Array.from({ length: n }, (_, j) => Float32Array.from({ length: d }, () => {
    const u = rng.next();
    return u < 0.01 ? -0 : u < 0.02 ? 1e-40 * (j + 1) : u < 0.03 ? 0.25 : rng.normal();
  }));
}

/** The same values in kernel memory; `every` = 2 keeps every other input on the heap. */
function resident(vs: readonly Float32Array[], every = 1): Float32Array[] {
  const r = kernelVectors(vs.length, vs[0]!.length);
  return vs.map((v, j) => (j % every === 0 ? (r[j]!.set(v), r[j]!) : v));
}

function assertBitEqual(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) assert.fail(`${label}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

function js<T>(fn: () => T): T {
  useWasmKernels(false);
  try { return fn(); } finally { useWasmKernels(true); }
}

describe('resident kernel vectors', () => {
  it('live in kernel memory, start zeroed, and the memory refuses to grow under them', () => {
    const k = kernels()!;
    const [v] = kernelVectors(1, 1000);
    assert.ok(k.addressOf(v!) >= 0);
    assert.ok(v!.every((x) => x === 0));
    v!.fill(3.5);
    // Growing would detach every view on the memory: refused with a clear error, the vector intact.
    assert.throws(() => k.ensure(k.x.memory.buffer.byteLength + 64 * 65536), (e: unknown) => e instanceof RangeError && /kernelVectors/.test(e.message));
    assert.equal(v!.length, 1000);
    assert.equal(k.f32[k.addressOf(v!) / 4 + 999], 3.5);
    assert.equal(k.addressOf(new Float32Array(10)), -1);
    // Scratch views are not resident: a rule must not read them in place.
    assert.equal(k.addressOf(k.f32.subarray(k.reserved / 4, k.reserved / 4 + 4)), -1);
  });

  it('mean and weighted mean read them in place, bit-identical to JS, all or some resident', () => {
    for (const [n, d] of [[100, 40_000], [17, 16_385], [3, 9000], [16, 33]] as const) {
      const vs = heapInputs('mean', n, d);
      const w = vs.map((_, j) => (j % 5 === 2 ? 0 : 0.25 + j));
      const expected = js(() => mean(vs)), expectedW = js(() => weightedMean(vs, w));
      for (const every of [1, 2]) {
        const rs = resident(vs, every);
        assertBitEqual(mean(rs), expected, `mean ${n}x${d} every ${every}`);
        assertBitEqual(weightedMean(rs, w), expectedW, `weightedMean ${n}x${d} every ${every}`);
        const [out] = kernelVectors(1, d);
        assertBitEqual(mean(rs, out), expected, `mean into a resident out ${n}x${d}`);
        assertBitEqual(mean(rs, rs[0]), expected, `mean into resident input 0 ${n}x${d}`);
      }
    }
  });

  it('mixing, the age merge, trimmed mean and centered clipping give the same bits resident or not', () => {
    const vs = heapInputs('mix', 24, 20_000), rs = resident(vs);
    const mix = (xs: Float32Array[]) => mixModels(xs[0]!, [{ vector: xs[1]!, weight: 0.2 }, { vector: xs[2]!, weight: 0.3 }], 0.5);
    assertBitEqual(mix(rs), js(() => mix(vs)), 'mixModels');
    const [out] = kernelVectors(1, 20_000);
    const merged = ageMerge({ vector: rs[0]!, age: 37 }, { vector: rs[1]!, age: 11 }, out);
    assertBitEqual(merged.vector, js(() => ageMerge({ vector: vs[0]!, age: 37 }, { vector: vs[1]!, age: 11 }).vector), 'ageMerge');
    assertBitEqual(trimmedMean(rs, 3), js(() => trimmedMean(vs, 3)), 'trimmedMean');
    assertBitEqual(centeredClipping(rs[0]!, rs, 1, 2), centeredClipping(vs[0]!, vs, 1, 2), 'centeredClipping (kernel, heap vs resident)');
  });

  it('the variance-corrected mean takes its variances from resident inputs on the same segment grid', () => {
    const layout = makeLayout([{ name: 'k', shape: [200, 91], role: 'kernel' }, { name: 'b', shape: [91], role: 'bias' }, { name: 'k2', shape: [300, 61], role: 'kernel' }]);
    const vs = heapInputs('vv', 9, layout.size), rs = resident(vs);
    const own = vs[0]!;
    const expected = varianceCorrectedMean(layout, own, vs.slice(1), { ownWeight: 0.3 });
    assertBitEqual(varianceCorrectedMean(layout, own, rs.slice(1), { ownWeight: 0.3 }), expected, 'resident vs heap');
    const buffer = new VarianceCorrectionBuffer(layout);
    for (const v of rs.slice(1)) buffer.add(v);
    assertBitEqual(buffer.result(own, { ownWeight: 0.3 }), expected, 'incremental buffer on resident inputs');
  });

  it('fall back to ordinary arrays when the kernels are off', () => {
    useWasmKernels(false);
    try {
      const [v] = kernelVectors(1, 8);
      assert.ok(v!.buffer instanceof ArrayBuffer);
    } finally { useWasmKernels(true); }
  });
});
