/**
 * Element-wise (weighted) sums of Float32 vectors through the WebAssembly kernels, for mean.ts, mixing.ts and
 * gossip-age.ts. The vectors live in JS memory, so blocks of coordinates are staged into the kernel's memory
 * (ROWS_PER_PASS rows of BLOCK floats: 256 KiB, in L2), summed there with SIMD across coordinates, and the
 * Float32 results copied out once per block. Each input is read from main memory once, as in the JS rule;
 * the per-element operation order is the JS rule's, so the results are bit-identical.
 */
import type { Kernels } from './wasm.js';

/** Coordinates per block (twice the JS rules' ACCUMULATION_BLOCK: fewer, larger staging copies). */
const BLOCK = 8192;
/** Rows summed per kernel call: the accumulator block is read and written once per this many rows. */
const ROWS_PER_PASS = 8;
/** Below this many input floats the staging costs more than it saves. */
export const SUM_KERNEL_MIN_FLOATS = 2048;

/**
 * res[i] = f32((Σ_j w_j·rows[j][i]) / divisor), the sum in Float64 in row order (w = null: all weights 1, no
 * multiplication). `res` may be one of the rows: results are written after each block is fully read.
 */
export function weightedSumToF32(k: Kernels, rows: readonly Float32Array[], weights: ArrayLike<number> | null, divisor: number, res: Float32Array): void {
  const d = res.length, n = rows.length, width = Math.min(BLOCK, d);
  const r = k.region();
  const acc = r.alloc(8 * width), stage = r.alloc(4 * width * Math.min(ROWS_PER_PASS, n)), out = r.alloc(4 * width);
  const w = weights ? r.alloc(8 * n) : 0;
  if (weights) for (let j = 0; j < n; j++) k.f64[w / 8 + j] = weights[j]!;
  for (let k0 = 0; k0 < d; k0 += BLOCK) {
    const len = Math.min(BLOCK, d - k0);
    for (let j0 = 0; j0 < n; j0 += ROWS_PER_PASS) {
      const m = Math.min(ROWS_PER_PASS, n - j0);
      for (let j = 0; j < m; j++) k.f32.set(rows[j0 + j]!.subarray(k0, k0 + len), stage / 4 + j * len);
      if (weights) k.x.weightedRows(acc, stage, w + 8 * j0, m, len, len, j0 === 0 ? 1 : 0);
      else k.x.sumRows(acc, stage, m, len, len, j0 === 0 ? 1 : 0);
    }
    k.x.divideToF32(out, acc, len, divisor);
    res.set(k.f32.subarray(out / 4, out / 4 + len), k0);
  }
}

/** res[i] = f32(a·x[i] + b·y[i]) in Float64; `res` may be x or y. */
export function blendToF32(k: Kernels, x: Float32Array, y: Float32Array, a: number, b: number, res: Float32Array): void {
  const d = res.length, width = Math.min(BLOCK, d);
  const r = k.region();
  const px = r.alloc(4 * width), py = r.alloc(4 * width);
  for (let k0 = 0; k0 < d; k0 += BLOCK) {
    const len = Math.min(BLOCK, d - k0);
    k.f32.set(x.subarray(k0, k0 + len), px / 4);
    k.f32.set(y.subarray(k0, k0 + len), py / 4);
    k.x.blend(px, px, py, len, a, b);
    res.set(k.f32.subarray(px / 4, px / 4 + len), k0);
  }
}

/** Floats per staged chunk of `shiftedSumsKernel` (256 KiB). */
const SUMS_CHUNK = 65536;

/** [Σa, Σa²] of a = x[offset + i] − shift over `size` floats (eight partial sums per chunk, chunks in order). */
export function shiftedSumsKernel(k: Kernels, x: Float32Array, offset: number, size: number, shift: number): [number, number] {
  const r = k.region(), width = Math.min(SUMS_CHUNK, size);
  const stage = r.alloc(4 * width), out = r.alloc(16);
  let s1 = 0, s2 = 0;
  for (let i0 = 0; i0 < size; i0 += SUMS_CHUNK) {
    const len = Math.min(SUMS_CHUNK, size - i0);
    k.f32.set(x.subarray(offset + i0, offset + i0 + len), stage / 4);
    k.x.shiftedSums(stage, len, shift, out);
    s1 += k.f64[out / 8]!; s2 += k.f64[out / 8 + 1]!;
  }
  return [s1, s2];
}
