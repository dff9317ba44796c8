/**
 * The codec's 'q8' encoding: per-tensor affine 8-bit quantization. Each TensorSpec of the layout gets
 * (min, scale) as float32, and each value v becomes q = round((v − min) / scale) ∈ [0, 255]; it
 * decodes to min + q·scale, within half a step (scale / 2, plus float32 rounding of the result).
 * Scale is (max − min) / 255 rounded *up* to float32, so min + 255·scale ≥ max and codes never pass
 * 255; rounding to nearest could lose a third of the step when the scale is a float32 subnormal, and a
 * code of 256+ would wrap in the Uint8Array. A constant tensor (max = min) gets scale 0, decoded exactly.
 *
 * Large tensors go through the WebAssembly SIMD kernels (aggregation/kernels/codec.ts) where they run: the same
 * Float64 expressions, bit-identical codes and values.
 *
 * Payload: T × (min f32, scale f32) for the T tensors in layout order, then the layout.size u8 codes.
 */
import type { Layout } from '../../aggregation/layout.js';
import { bytesOf, CODEC_KERNEL_MIN, q8DecodeKernel, q8QuantizeKernel, type ByteSource } from '../../aggregation/kernels/codec.js';
import { kernels } from '../../aggregation/kernels/wasm.js';

/** Bytes of per-tensor parameters (min, scale) before the codes. */
export const Q8_PARAM_BYTES = 8;
const LEVELS = 255;

/** Exact payload length of a q8 frame for `layout`. */
export function q8PayloadBytes(layout: Layout): number {
  return layout.tensors.length * Q8_PARAM_BYTES + layout.size;
}

/** Smallest float32 ≥ x (x finite, ≥ 0). */
function fround32Up(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  const bits = new Uint32Array(new Float32Array([f]).buffer);
  bits[0]! += 1;
  return new Float32Array(bits.buffer)[0]!;
}

/**
 * Quantize `values` (layout.size elements) into `params` (2 per tensor: min, scale) and `codes`.
 * Returns false if some tensor holds NaN or ±Inf (the caller refuses the frame).
 */
export function quantizeQ8(layout: Layout, values: Float32Array, params: Float32Array, codes: Uint8Array): boolean {
  const tensors = layout.tensors;
  const k = kernels();
  for (let ti = 0; ti < tensors.length; ti++) {
    const t = tensors[ti]!;
    const end = t.offset + t.size;
    const wasm = k && t.size >= CODEC_KERNEL_MIN ? k : null;
    if (wasm) {
      // Both passes on one staged copy; the codes are written only for a finite, non-zero scale.
      const [min, max] = q8QuantizeKernel(wasm, values.subarray(t.offset, end), codes.subarray(t.offset, end), (lo, hi) => {
        if (!Number.isFinite(lo) || !Number.isFinite(hi)) return NaN;
        const scale = fround32Up((hi - lo) / LEVELS);
        return scale === 0 ? NaN : 1 / scale;
      });
      if (!Number.isFinite(min) || !Number.isFinite(max)) return false;
      const scale = fround32Up((max - min) / LEVELS);
      params[2 * ti] = min;
      params[2 * ti + 1] = scale;
      if (scale === 0) codes.fill(0, t.offset, end);
      continue;
    }
    // Math.min/max propagate NaN (and ±Inf shows in the result), so this pass also checks finiteness.
    let min = Infinity;
    let max = -Infinity;
    for (let i = t.offset; i < end; i++) {
      const v = values[i]!;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    if (!Number.isFinite(min) || !Number.isFinite(max)) return false;
    const scale = fround32Up((max - min) / LEVELS);
    params[2 * ti] = min;
    params[2 * ti + 1] = scale;
    if (scale === 0) {
      codes.fill(0, t.offset, end);
      continue;
    }
    // min ≤ v ≤ max ≤ min + 255·scale, so (v − min)·inv + 0.5 lies in [0, 255.5] (inv's rounding aside)
    // and |0 rounds it (half up) into [0, 255] without a clamp.
    const inv = 1 / scale;
    for (let i = t.offset; i < end; i++) codes[i] = ((values[i]! - min) * inv + 0.5) | 0;
  }
  return true;
}

/** Reconstruction is monotone in q, so checking both ends bounds every value of the tensor. */
const unsound = (min: number, scale: number): boolean =>
  !Number.isFinite(min) || !Number.isFinite(scale) || !Number.isFinite(Math.fround(min + LEVELS * scale));

/**
 * Reconstruct values from `params` and `codes` into `out`. Returns the index of the first tensor whose
 * parameters are non-finite or would reconstruct outside the float32 range, or -1 when all are sound.
 */
export function dequantizeQ8(layout: Layout, params: Float32Array, codes: Uint8Array, out: Float32Array): number {
  const tensors = layout.tensors;
  const k = kernels();
  const source = bytesOf(codes);
  for (let ti = 0; ti < tensors.length; ti++) {
    const t = tensors[ti]!;
    const min = params[2 * ti]!;
    const scale = params[2 * ti + 1]!;
    if (unsound(min, scale)) return ti;
    const end = t.offset + t.size;
    if (k && t.size >= CODEC_KERNEL_MIN) q8DecodeKernel(k, source, t.offset, out.subarray(t.offset, end), min, scale);
    else for (let i = t.offset; i < end; i++) out[i] = min + codes[i]! * scale;
  }
  return -1;
}

/**
 * dequantizeQ8 of the layout.size codes at byte `start` of `codes` (a frame received in pieces, split
 * anywhere): large tensors are staged piece by piece into the kernels' memory, small ones gathered for the JS loop.
 */
export function dequantizeQ8From(layout: Layout, params: Float32Array, codes: ByteSource, start: number, out: Float32Array): number {
  const tensors = layout.tensors;
  const k = kernels();
  let small: Uint8Array | null = null;
  for (let ti = 0; ti < tensors.length; ti++) {
    const t = tensors[ti]!;
    const min = params[2 * ti]!;
    const scale = params[2 * ti + 1]!;
    if (unsound(min, scale)) return ti;
    if (k && t.size >= CODEC_KERNEL_MIN) {
      q8DecodeKernel(k, codes, start + t.offset, out.subarray(t.offset, t.offset + t.size), min, scale);
      continue;
    }
    if (small === null || small.length < t.size) small = new Uint8Array(t.size);
    codes(small, 0, start + t.offset, t.size);
    for (let i = 0; i < t.size; i++) out[t.offset + i] = min + small[i]! * scale;
  }
  return -1;
}
