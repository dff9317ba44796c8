/**
 * The codec's conversions (protocols/codec/f16.ts, quantize.ts) through the WebAssembly kernels, in chunks
 * staged into kernel memory (CHUNK values: 256 KiB of floats, in L2). Bit-identical to the JS versions.
 */
import type { Kernels } from './wasm.js';

const CHUNK = 65536;
/** Below this many values the JS loops win (staging and call overhead). */
export const CODEC_KERNEL_MIN = 4096;

/**
 * Run `step` over [0, n) in chunks of CHUNK, with `inBytes` and `outBytes` per element of kernel scratch
 * (byte offsets `inp` and `out`): the stage-call-copy loop of every conversion here.
 */
function chunked(k: Kernels, n: number, inBytes: number, outBytes: number, step: (i0: number, len: number, inp: number, out: number) => void): void {
  const r = k.region(), width = Math.min(CHUNK, n);
  const inp = r.alloc(inBytes * width), out = r.alloc(outBytes * width + 16);
  for (let i0 = 0; i0 < n; i0 += CHUNK) step(i0, Math.min(CHUNK, n - i0), inp, out);
}

/** floatsToHalves: returns false when `src` holds NaN or ±Inf. */
export function f16EncodeKernel(k: Kernels, src: Float32Array, dst: Uint16Array): boolean {
  let finite = true;
  chunked(k, src.length, 4, 2, (i0, len, inp, out) => {
    k.f32.set(src.subarray(i0, i0 + len), inp / 4);
    if (!k.x.f16Encode(inp, out, len)) finite = false;
    dst.set(k.u16.subarray(out / 2, out / 2 + len), i0);
  });
  return finite;
}

/** halvesToFloats: returns false when a half infinity or NaN is present (`dst` is fully written either way). */
export function f16DecodeKernel(k: Kernels, src: Uint16Array, dst: Float32Array): boolean {
  let ok = true;
  chunked(k, src.length, 2, 4, (i0, len, inp, out) => {
    k.u16.set(src.subarray(i0, i0 + len), inp / 2);
    if (!k.x.f16Decode(inp, out, len)) ok = false;
    dst.set(k.f32.subarray(out / 4, out / 4 + len), i0);
  });
  return ok;
}

/** [min, max] of `values` (NaN propagates, as Math.min/max). */
export function minMaxKernel(k: Kernels, values: Float32Array): [number, number] {
  let mn = Infinity, mx = -Infinity;
  chunked(k, values.length, 4, 0, (i0, len, inp, out) => {
    k.f32.set(values.subarray(i0, i0 + len), inp / 4);
    k.x.minMax(inp, len, out);
    mn = Math.min(mn, k.f32[out / 4]!); mx = Math.max(mx, k.f32[out / 4 + 1]!);
  });
  return [mn, mx];
}

/** codes[i] = ((values[i] − min)·inv + 0.5) | 0, computed in Float64 as quantize.ts does. */
export function q8EncodeKernel(k: Kernels, values: Float32Array, codes: Uint8Array, min: number, inv: number): void {
  chunked(k, values.length, 4, 1, (i0, len, inp, out) => {
    k.f32.set(values.subarray(i0, i0 + len), inp / 4);
    k.x.q8Encode(inp, out, len, min, inv);
    codes.set(k.u8.subarray(out, out + len), i0);
  });
}

/** out[i] = f32(min + codes[i]·scale), computed in Float64 as quantize.ts does. */
export function q8DecodeKernel(k: Kernels, codes: Uint8Array, out: Float32Array, min: number, scale: number): void {
  chunked(k, codes.length, 1, 4, (i0, len, inp, res) => {
    k.u8.set(codes.subarray(i0, i0 + len), inp);
    k.x.q8Decode(inp, res, len, min, scale);
    out.set(k.f32.subarray(res / 4, res / 4 + len), i0);
  });
}
