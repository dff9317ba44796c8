/**
 * The codec's conversions (protocols/codec/f16.ts, quantize.ts) through the WebAssembly kernels, in chunks
 * staged into kernel memory (CHUNK values: 256 KiB of floats, in L2). Bit-identical to the JS versions.
 */
import type { Kernels } from './wasm.js';

const CHUNK = 65536;
/** Below this many values the JS loops win (staging and call overhead). */
export const CODEC_KERNEL_MIN = 4096;

/** floatsToHalves: returns false when `src` holds NaN or ±Inf. */
export function f16EncodeKernel(k: Kernels, src: Float32Array, dst: Uint16Array): boolean {
  const r = k.region(), width = Math.min(CHUNK, src.length);
  const inp = r.alloc(4 * width), out = r.alloc(2 * width);
  let finite = true;
  for (let i0 = 0; i0 < src.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, src.length - i0);
    k.f32.set(src.subarray(i0, i0 + len), inp / 4);
    if (!k.x.f16Encode(inp, out, len)) finite = false;
    dst.set(k.u16.subarray(out / 2, out / 2 + len), i0);
  }
  return finite;
}

/** halvesToFloats: returns false when a half infinity or NaN is present (`dst` is fully written either way). */
export function f16DecodeKernel(k: Kernels, src: Uint16Array, dst: Float32Array): boolean {
  const r = k.region(), width = Math.min(CHUNK, src.length);
  const inp = r.alloc(2 * width), out = r.alloc(4 * width);
  let ok = true;
  for (let i0 = 0; i0 < src.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, src.length - i0);
    k.u16.set(src.subarray(i0, i0 + len), inp / 2);
    if (!k.x.f16Decode(inp, out, len)) ok = false;
    dst.set(k.f32.subarray(out / 4, out / 4 + len), i0);
  }
  return ok;
}

/** [min, max] of `values` (NaN propagates, as Math.min/max). */
export function minMaxKernel(k: Kernels, values: Float32Array): [number, number] {
  const r = k.region(), width = Math.min(CHUNK, values.length);
  const inp = r.alloc(4 * width), out = r.alloc(8);
  let mn = Infinity, mx = -Infinity;
  for (let i0 = 0; i0 < values.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, values.length - i0);
    k.f32.set(values.subarray(i0, i0 + len), inp / 4);
    k.x.minMax(inp, len, out);
    mn = Math.min(mn, k.f32[out / 4]!); mx = Math.max(mx, k.f32[out / 4 + 1]!);
  }
  return [mn, mx];
}

/** codes[i] = ((values[i] − min)·inv + 0.5) | 0, computed in Float64 as quantize.ts does. */
export function q8EncodeKernel(k: Kernels, values: Float32Array, codes: Uint8Array, min: number, inv: number): void {
  const r = k.region(), width = Math.min(CHUNK, values.length);
  const inp = r.alloc(4 * width), out = r.alloc(width);
  for (let i0 = 0; i0 < values.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, values.length - i0);
    k.f32.set(values.subarray(i0, i0 + len), inp / 4);
    k.x.q8Encode(inp, out, len, min, inv);
    codes.set(k.u8.subarray(out, out + len), i0);
  }
}

/** out[i] = f32(min + codes[i]·scale), computed in Float64 as quantize.ts does. */
export function q8DecodeKernel(k: Kernels, codes: Uint8Array, out: Float32Array, min: number, scale: number): void {
  const r = k.region(), width = Math.min(CHUNK, codes.length);
  const inp = r.alloc(width), res = r.alloc(4 * width);
  for (let i0 = 0; i0 < codes.length; i0 += CHUNK) {
    const len = Math.min(CHUNK, codes.length - i0);
    k.u8.set(codes.subarray(i0, i0 + len), inp);
    k.x.q8Decode(inp, res, len, min, scale);
    out.set(k.f32.subarray(res / 4, res / 4 + len), i0);
  }
}
