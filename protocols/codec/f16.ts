/**
 * IEEE 754 binary16 ("half") conversion for the codec's 'f16' encoding, by hand: Node 20 has no
 * Float16Array. Encoding rounds to nearest, ties to even, with integer bit arithmetic on the float32
 * bits (the rounding-bias trick of F. Giesen, "float_to_half_fast3_rtne"); decoding is one lookup in a
 * 65,536-entry table built on first use (256 KiB).
 *
 * Both run on the WebAssembly SIMD kernels (aggregation/kernels/codec.ts) where they are available, with the
 * same bit arithmetic (bit-identical); the loops below are the fallback and the reference.
 *
 * Out-of-range policy: a finite |v| > 65504 (the largest half) is clamped to ±65504, so the encoder
 * never produces a half infinity. Non-finite inputs are reported to the caller, which refuses them.
 */

import { bytesOf, CODEC_KERNEL_MIN, f16DecodeKernel, f16EncodeKernel, type ByteSource } from '../../aggregation/kernels/codec.js';
import { kernels } from '../../aggregation/kernels/wasm.js';

/** Largest finite half-precision value. */
export const F16_MAX = 65504;

/** float32 bit patterns of the thresholds used below. */
const F32_BITS_MIN_NORMAL_HALF = 0x38800000; // 2^-14, the smallest normal half
const F32_BITS_F16_MAX = 0x477fe000; // 65504
const F32_BITS_INF = 0x7f800000;
const HALF_BITS_MAX = 0x7bff; // 65504 as a half
/** Adds the exponent rebias (15 − 127) << 23 and the rounding bias 0xfff in one constant. */
const REBIAS_AND_ROUND = 0x37fff001;
/** 2^52: adding and subtracting it rounds a double in [0, 2^52) to an integer, ties to even. */
const RNE_MAGIC = 4503599627370496;

/**
 * Convert `src` to half bit patterns in `dst` (same length). Returns false if `src` holds NaN or ±Inf
 * (their slots then hold ±65504; the caller refuses the frame). `dst` needs 2-byte alignment only.
 */
export function floatsToHalves(src: Float32Array, dst: Uint16Array): boolean {
  const k = kernels();
  if (k && src.length >= CODEC_KERNEL_MIN) return f16EncodeKernel(k, src, dst);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = src.length;
  let finite = true;
  for (let i = 0; i < n; i++) {
    const x = bits[i]!;
    const a = x & 0x7fffffff;
    let h: number;
    if (a >= F32_BITS_MIN_NORMAL_HALF) {
      if (a > F32_BITS_F16_MAX) {
        if (a >= F32_BITS_INF) finite = false;
        h = HALF_BITS_MAX;
      } else {
        // Normal half: drop 13 mantissa bits with a bias that rounds half to even (the +1 when the kept
        // mantissa is odd); a carry out of the mantissa correctly bumps the exponent.
        h = (a - REBIAS_AND_ROUND + ((a >>> 13) & 1)) >>> 13;
      }
    } else {
      // Subnormal half (or zero): the value in units of 2^-24, rounded to an integer, ties to even.
      // Exact in double; a result of 1024 is the bit pattern of the smallest normal, as it should be.
      h = (Math.abs(src[i]!) * 16777216 + RNE_MAGIC - RNE_MAGIC) | 0;
    }
    dst[i] = ((x >>> 16) & 0x8000) | h;
  }
  return finite;
}

let table: Float32Array | null = null;

/** Value of every half bit pattern (NaN and ±Inf included, so decoding can detect them afterwards). */
function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1024 + mant) * 2 ** (exp - 25);
  }
  table = t;
  return t;
}

/**
 * Convert half bit patterns to floats. Returns false (leaving `dst` fully written) if any pattern is a
 * half NaN or infinity (exponent bits all ones), so the caller can reject the frame as 'non-finite'.
 */
export function halvesToFloats(src: Uint16Array, dst: Float32Array): boolean {
  const k = kernels();
  if (k && src.length >= CODEC_KERNEL_MIN) return f16DecodeKernel(k, bytesOf(src), 0, dst);
  const bits = new Uint32Array(halfTable().buffer);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  const n = src.length;
  // (h & 0x7c00) + 0x400 reaches bit 15 exactly when the exponent is 0x1f; OR-ing keeps the check branch-free.
  let special = 0;
  for (let i = 0; i < n; i++) {
    const h = src[i]!;
    const e = h & 0x7c00;
    special |= e + 0x400;
    // Normal halves re-bias in integer arithmetic (exponent + 112, mantissa << 13): no 256 KiB table walk,
    // whose cache misses dominated decoding. Zeros and subnormals (exponent 0) take the exact table value.
    out[i] = e === 0 ? bits[h]! : ((h & 0x8000) << 16) | (((h & 0x7fff) + 0x1c000) << 13);
  }
  return (special & 0x8000) === 0;
}

/**
 * halvesToFloats of the dst.length halves at byte `start` of `src` (a frame received in pieces, split anywhere):
 * the kernels stage the pieces straight into their memory; the JS path gathers them into one array first.
 */
export function halvesToFloatsFrom(src: ByteSource, start: number, dst: Float32Array): boolean {
  const k = kernels();
  if (k && dst.length >= CODEC_KERNEL_MIN) return f16DecodeKernel(k, src, start, dst);
  const halves = new Uint16Array(dst.length);
  src(new Uint8Array(halves.buffer), 0, start, halves.byteLength);
  return halvesToFloats(halves, dst);
}
