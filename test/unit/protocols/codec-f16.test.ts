import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { floatsToHalves, halvesToFloats, F16_MAX } from '../../../protocols/codec/f16.js';
import { rngFor } from '../../../node/data/rng.js';

/** Slow, obviously-correct float → half: scale to an integer mantissa exactly, round half to even, clamp. */
function referenceHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const rne = (m: number): number => {
    const f = Math.floor(m);
    const d = m - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  };
  if (a < 2 ** -14) return sign | rne(a * 2 ** 24); // 1024 = smallest normal, the right bit pattern
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  let q = rne(a / 2 ** (e - 10)); // in [1024, 2048]
  if (q === 2048) { q = 1024; e++; }
  if (e > 15) return sign | 0x7bff; // clamp policy: never Inf
  return sign | ((e + 15) << 10) | (q - 1024);
}

const toHalf = (values: number[]): number[] => {
  const h = new Uint16Array(values.length);
  assert.equal(floatsToHalves(Float32Array.from(values), h), true);
  return [...h];
};

describe('f16 conversion', () => {
  it('round-trips every finite half exactly (exhaustive over 63,488 patterns)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00);
    const floats = new Float32Array(all.length);
    assert.equal(halvesToFloats(all, floats), true);
    const back = new Uint16Array(all.length);
    assert.equal(floatsToHalves(floats, back), true);
    assert.deepEqual(back, all);
  });

  it('agrees with a reference round-to-nearest-even on 200,000 random float32 bit patterns', () => {
    const rng = rngFor('f16-reference', 42);
    const bits = Uint32Array.from({ length: 200_000 }, () => rng.uint32());
    // Bias half of them into the half range, where the interesting rounding happens.
    for (let i = 0; i < bits.length; i += 2) bits[i] = (bits[i]! & 0x807fffff) | ((100 + (bits[i]! % 50)) << 23);
    const floats = new Float32Array(bits.buffer);
    const finite = floats.filter((v) => Number.isFinite(v));
    const h = new Uint16Array(finite.length);
    assert.equal(floatsToHalves(finite, h), true);
    for (let i = 0; i < finite.length; i++) {
      if (h[i] !== referenceHalf(finite[i]!)) assert.fail(`${finite[i]}: got 0x${h[i]!.toString(16)}, want 0x${referenceHalf(finite[i]!).toString(16)}`);
    }
  });

  it('rounds ties to even, in the normal and the subnormal range', () => {
    assert.deepEqual(toHalf([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25]), [0x3c00, 0x3c02, 0x0000, 0x0002]);
  });

  it('clamps finite values beyond ±65504 to ±65504 and never produces Inf', () => {
    const h = toHalf([65519, 65520, 1e9, -1e30, 3.4028234663852886e38]);
    assert.deepEqual(h, [0x7bff, 0x7bff, 0x7bff, 0xfbff, 0x7bff]);
    const back = new Float32Array(h.length);
    halvesToFloats(Uint16Array.from(h), back);
    assert.deepEqual([...back], [F16_MAX, F16_MAX, F16_MAX, -F16_MAX, F16_MAX]);
  });

  it('reports NaN/Inf inputs and Inf/NaN half patterns', () => {
    for (const bad of [NaN, Infinity, -Infinity]) assert.equal(floatsToHalves(new Float32Array([1, bad]), new Uint16Array(2)), false);
    for (const pattern of [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff]) {
      assert.equal(halvesToFloats(new Uint16Array([0x3c00, pattern]), new Float32Array(2)), false);
    }
  });
});
