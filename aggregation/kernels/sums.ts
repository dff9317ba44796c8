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
 * Per-row sums for variances, taken on the way (variance-corrected.ts): for each row j and tensor t, Σa and Σa²
 * of a = x − x[offset] over the tensor, at sums[2·(j·T + t)] and [+1], in tensor segments on the BLOCK grid,
 * exactly as `shiftedSumsKernel` adds them.
 */
export interface RowTensorSums { readonly tensors: readonly { offset: number; size: number }[]; readonly sums: Float64Array }

/**
 * res[i] = f32((Σ_j w_j·rows[j][i]) / divisor), the sum in Float64 in row order (w = null: all weights 1, no
 * multiplication). `res` may be one of the rows: results are written after each block is fully read. With
 * `variances`, also fills its sums from the same staged blocks (each input is read once for both).
 */
export function weightedSumToF32(k: Kernels, rows: readonly Float32Array[], weights: ArrayLike<number> | null, divisor: number, res: Float32Array, variances?: RowTensorSums): void {
  const d = res.length, n = rows.length, width = Math.min(BLOCK, d);
  const r = k.region();
  const acc = r.alloc(8 * width), stage = r.alloc(4 * width * Math.min(ROWS_PER_PASS, n)), out = r.alloc(4 * width);
  const w = weights ? r.alloc(8 * n) : 0, partial = variances ? r.alloc(16) : 0;
  const tensors = variances?.tensors ?? [], T = tensors.length;
  if (weights) for (let j = 0; j < n; j++) k.f64[w / 8 + j] = weights[j]!;
  for (let k0 = 0; k0 < d; k0 += BLOCK) {
    const len = Math.min(BLOCK, d - k0);
    for (let j0 = 0; j0 < n; j0 += ROWS_PER_PASS) {
      const m = Math.min(ROWS_PER_PASS, n - j0);
      for (let j = 0; j < m; j++) k.f32.set(rows[j0 + j]!.subarray(k0, k0 + len), stage / 4 + j * len);
      for (let t = 0; t < T; t++) {
        const from = Math.max(tensors[t]!.offset, k0), to = Math.min(tensors[t]!.offset + tensors[t]!.size, k0 + len);
        if (from >= to) continue;
        for (let j = 0; j < m; j++) {
          const row = rows[j0 + j]!, at = 2 * ((j0 + j) * T + t);
          k.x.shiftedSums(stage + 4 * (j * len + from - k0), to - from, row[tensors[t]!.offset]!, partial);
          variances!.sums[at] += k.f64[partial / 8]!;
          variances!.sums[at + 1] += k.f64[partial / 8 + 1]!;
        }
      }
      if (weights) k.x.weightedRows(acc, stage, w + 8 * j0, m, len, len, j0 === 0 ? 1 : 0);
      else k.x.sumRows(acc, stage, m, len, len, j0 === 0 ? 1 : 0);
    }
    k.x.divideToF32(out, acc, len, divisor);
    res.set(k.f32.subarray(out / 4, out / 4 + len), k0);
  }
}

/** res[i] = fl32(fl32(a·x[i]) + fl32(b·y[i])), a and b rounded to float32 (the kernel's `blend`); `res` may be x or y. */
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

/**
 * [Σa, Σa²] of a = x[offset + i] − shift over `size` floats: eight partial sums per segment, the segments cut at
 * multiples of BLOCK and added in order (as `weightedSumToF32` does with `variances`, so both agree bit for bit).
 */
export function shiftedSumsKernel(k: Kernels, x: Float32Array, offset: number, size: number, shift: number): [number, number] {
  const r = k.region(), width = Math.min(BLOCK, size);
  const stage = r.alloc(4 * width), out = r.alloc(16);
  let s1 = 0, s2 = 0;
  for (let from = offset, end = offset + size; from < end;) {
    const to = Math.min(end, (Math.floor(from / BLOCK) + 1) * BLOCK);
    k.f32.set(x.subarray(from, to), stage / 4);
    k.x.shiftedSums(stage, to - from, shift, out);
    s1 += k.f64[out / 8]!; s2 += k.f64[out / 8 + 1]!;
    from = to;
  }
  return [s1, s2];
}
