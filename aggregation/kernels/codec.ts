/**
 * The codec's conversions (protocols/codec/f16.ts, quantize.ts) through the WebAssembly kernels, in chunks
 * staged into kernel memory (CHUNK values: 256 KiB of floats, in L2). Bit-identical to the JS versions.
 * Decoders read their input through a ByteSource, so a frame that arrived in many pieces is staged piece by
 * piece straight into kernel memory (no concatenated copy of the frame first).
 */
import type { Kernels, Region } from './wasm.js';

/**
 * Copies bytes [start, start + length) of some byte sequence into `dst` at `at`. Calls come in ascending
 * `start` order within one decode (an implementation may keep a cursor).
 */
export type ByteSource = (dst: Uint8Array, at: number, start: number, length: number) => void;

/** A ByteSource over one contiguous array (any typed array; offsets in bytes). */
export function bytesOf(view: ArrayBufferView): ByteSource {
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return (dst, at, start, length) => dst.set(u8.subarray(start, start + length), at);
}

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

/** Where `values` can be read by the kernels: in place when resident, else a staged copy (in region `r`). */
function staged(k: Kernels, r: Region, values: Float32Array): number {
  const at = k.addressOf(values);
  if (at >= 0) return at;
  const copy = r.alloc(4 * values.length);
  k.f32.set(values, copy / 4);
  return copy;
}

/**
 * quantize.ts's per-tensor pass on one staged copy of `values` (not one per pass): min and max, then, if
 * `inverseOf(min, max)` gives a finite positive 1/scale, the codes. Returns [min, max].
 */
export function q8QuantizeKernel(k: Kernels, values: Float32Array, codes: Uint8Array, inverseOf: (min: number, max: number) => number): [number, number] {
  const n = values.length, r = k.region();
  const src = staged(k, r, values), mm = r.alloc(8);
  k.x.minMax(src, n, mm);
  const min = k.f32[mm / 4]!, max = k.f32[mm / 4 + 1]!;
  const inv = inverseOf(min, max);
  if (inv > 0 && Number.isFinite(inv)) {
    const out = r.alloc(n);
    k.x.q8Encode(src, out, n, min, inv);
    codes.set(k.u8.subarray(out, out + n));
  }
  return [min, max];
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

/**
 * halvesToFloats of the dst.length halves at byte `start` of `src`: returns false when a half infinity or NaN
 * is present (`dst` is fully written either way). A `dst` resident in kernel memory (`kernelVectors`) is
 * written in place by the kernel, with no copy out.
 */
export function f16DecodeKernel(k: Kernels, src: ByteSource, start: number, dst: Float32Array): boolean {
  const at = k.addressOf(dst);
  let ok = true;
  chunked(k, dst.length, 2, at >= 0 ? 0 : 4, (i0, len, inp, out) => {
    src(k.u8, inp, start + 2 * i0, 2 * len);
    if (!k.x.f16Decode(inp, at >= 0 ? at + 4 * i0 : out, len)) ok = false;
    if (at < 0) dst.set(k.f32.subarray(out / 4, out / 4 + len), i0);
  });
  return ok;
}

/**
 * out[i] = f32(min + codes[i]·scale) for the out.length codes at byte `start` of `codes`, in Float64 as
 * quantize.ts does. An `out` resident in kernel memory is written in place.
 */
export function q8DecodeKernel(k: Kernels, codes: ByteSource, start: number, out: Float32Array, min: number, scale: number): void {
  const at = k.addressOf(out);
  chunked(k, out.length, 1, at >= 0 ? 0 : 4, (i0, len, inp, res) => {
    codes(k.u8, inp, start + i0, len);
    k.x.q8Decode(inp, at >= 0 ? at + 4 * i0 : res, len, min, scale);
    if (at < 0) out.set(k.f32.subarray(res / 4, res / 4 + len), i0);
  });
}
