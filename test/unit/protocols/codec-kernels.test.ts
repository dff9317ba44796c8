/**
 * The codec's f16 and q8 conversions on the WebAssembly SIMD kernels equal the JS loops bit for bit: every half
 * bit pattern, float32 values around every rounding case (ties, subnormal halves, the clamp at 65504, NaN/±Inf),
 * and q8 over tensors of several sizes and ranges.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInfo, useWasmKernels } from '../../../aggregation/kernels/wasm.js';
import { makeLayout } from '../../../aggregation/layout.js';
import { floatsToHalves, halvesToFloats } from '../../../protocols/codec/f16.js';
import { dequantizeQ8, quantizeQ8 } from '../../../protocols/codec/quantize.js';
import { rngFor } from '../../../node/data/rng.js';

after(() => { useWasmKernels(true); });

function both<T>(fn: () => T): { js: T; wasm: T } {
  useWasmKernels(false);
  const js = fn();
  useWasmKernels(true);
  return { js, wasm: fn() };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Floats that exercise every branch of the half conversion (length not a multiple of 8, over the kernel minimum). */
function floats(): Float32Array {
  const rng = rngFor('codec-kernels');
  const out = new Float32Array(70_003);
  const u = bits(out);
  for (let i = 0; i < out.length; i++) {
    const c = i % 7;
    if (c === 0) u[i] = rng.int(2 ** 32); // any bit pattern: NaNs, infinities, subnormals, huge values
    else if (c === 1) u[i] = (0x33000000 + rng.int(0x05800000)) | (rng.int(2) << 31); // subnormal halves and below
    else if (c === 2) u[i] = (((0x38000000 + rng.int(0x10000000)) >>> 13) << 13 | 0x1000) >>> 0; // exact ties
    else if (c === 3) out[i] = (rng.next() - 0.5) * 140000; // around the clamp
    else out[i] = 0.05 * rng.normal();
  }
  return out;
}

describe('codec kernels (WebAssembly SIMD vs JS)', () => {
  it('run in this runtime', () => assert.equal(kernelInfo().variant, 'wasm-simd128', kernelInfo().reason));

  it('encode halves bit-identically, non-finite inputs included', () => {
    const x = floats();
    const r = both(() => { const h = new Uint16Array(x.length); const ok = floatsToHalves(x, h); return { h, ok }; });
    assert.equal(r.wasm.ok, r.js.ok);
    assert.equal(r.js.ok, false);
    for (let i = 0; i < x.length; i++) if (r.wasm.h[i] !== r.js.h[i]) assert.fail(`half of ${x[i]} (bits ${bits(x)[i]!.toString(16)}): ${r.wasm.h[i]} vs ${r.js.h[i]}`);
    const finite = x.map((v) => (Number.isFinite(v) ? v : 1));
    assert.equal(both(() => floatsToHalves(finite, new Uint16Array(x.length))).wasm, true);
  });

  it('decode every half bit pattern bit-identically and flag infinities and NaNs', () => {
    const all = Uint16Array.from({ length: 65536 + 5 }, (_, i) => i & 0xffff);
    const r = both(() => { const f = new Float32Array(all.length); const ok = halvesToFloats(all, f); return { f, ok }; });
    assert.equal(r.wasm.ok, false);
    assert.equal(r.js.ok, false);
    const a = bits(r.wasm.f), b = bits(r.js.f);
    for (let i = 0; i < all.length; i++) if (a[i] !== b[i]) assert.fail(`half ${all[i]!.toString(16)}: ${r.wasm.f[i]} vs ${r.js.f[i]}`);
    const finite = all.filter((h) => (h & 0x7c00) !== 0x7c00);
    assert.equal(both(() => halvesToFloats(finite, new Float32Array(finite.length))).wasm, true);
  });

  it('quantize and dequantize q8 bit-identically', () => {
    const rng = rngFor('codec-kernels-q8');
    const layout = makeLayout([
      { name: 'a', shape: [300, 33], role: 'kernel' }, { name: 'b', shape: [33], role: 'bias' },
      { name: 'c', shape: [5000], role: 'kernel' }, { name: 'const', shape: [4100], role: 'kernel' },
      { name: 'wide', shape: [64, 129], role: 'kernel' },
    ]);
    const v = new Float32Array(layout.size);
    for (const t of layout.tensors) {
      const s = t.name === 'wide' ? 1e30 : t.name === 'const' ? 0 : 0.05;
      for (let i = t.offset; i < t.offset + t.size; i++) v[i] = t.name === 'const' ? -0.25 : s * rng.normal();
    }
    const enc = both(() => {
      const params = new Float32Array(2 * layout.tensors.length), codes = new Uint8Array(layout.size);
      return { ok: quantizeQ8(layout, v, params, codes), params, codes };
    });
    assert.equal(enc.wasm.ok, true);
    assert.deepEqual(enc.wasm.params, enc.js.params);
    assert.deepEqual(enc.wasm.codes, enc.js.codes);
    const dec = both(() => { const out = new Float32Array(layout.size); return { bad: dequantizeQ8(layout, enc.js.params, enc.js.codes, out), out }; });
    assert.equal(dec.wasm.bad, -1);
    assert.deepEqual(bits(dec.wasm.out), bits(dec.js.out));
    v[4000] = NaN;
    assert.equal(both(() => quantizeQ8(layout, v, new Float32Array(10), new Uint8Array(layout.size))).wasm, false);
  });

  it('quantize q8 bit-identically when an extreme is a signed zero, and refuse ±Inf anywhere in a tensor', () => {
    const rng = rngFor('codec-kernels-q8-zeros');
    const layout = makeLayout([{ name: 'pos', shape: [9001], role: 'kernel' }, { name: 'neg', shape: [8999], role: 'kernel' }, { name: 'zeros', shape: [4100], role: 'kernel' }]);
    const [pos, neg, zeros] = layout.tensors;
    const quantize = (v: Float32Array) => both(() => {
      const params = new Float32Array(2 * layout.tensors.length), codes = new Uint8Array(layout.size);
      return { ok: quantizeQ8(layout, v, params, codes), params: bits(params), codes };
    });
    // Zeros of both signs at the minimum of 'pos', the maximum of 'neg', everywhere in 'zeros', in every order.
    for (const order of [0, 1, 2]) {
      const v = new Float32Array(layout.size);
      for (let i = 0; i < pos!.size; i++) v[pos!.offset + i] = Math.abs(rng.normal());
      for (let i = 0; i < neg!.size; i++) v[neg!.offset + i] = -Math.abs(rng.normal());
      const zeroAt = (t: typeof pos, i: number, negative: boolean) => { v[t!.offset + i] = negative ? -0 : 0; };
      for (const t of [pos, neg, zeros]) {
        for (let j = 0; j < 40; j++) zeroAt(t, rng.int(t!.size), order === 0 ? j % 2 === 0 : order === 1);
        zeroAt(t, t!.size - 1, order !== 1); // in the scalar tail too
      }
      const r = quantize(v);
      assert.equal(r.wasm.ok, true);
      assert.deepEqual(r.wasm.params, r.js.params, `order ${order}`);
      assert.deepEqual(r.wasm.codes, r.js.codes, `order ${order}`);
    }
    for (const bad of [Infinity, -Infinity, NaN]) {
      for (const at of [pos!.offset + 3, pos!.offset + pos!.size - 1, neg!.offset + 4096]) {
        const v = Float32Array.from({ length: layout.size }, () => rng.normal());
        v[at] = bad;
        const r = quantize(v);
        assert.equal(r.js.ok, false);
        assert.equal(r.wasm.ok, false, `${bad} at ${at}`);
      }
    }
  });
});
