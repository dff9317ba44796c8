/**
 * Element-wise (weighted) sums of Float32 vectors through the WebAssembly kernels, for mean.ts, mixing.ts and
 * gossip-age.ts. Inputs that live in kernel memory (`kernelVectors`) are read in place; the others are staged
 * block by block (ROWS_PER_PASS rows of STAGED_BLOCK floats: 256 KiB, in L2). The kernel finds each row of a pass
 * through a table of addresses, sums with SIMD across coordinates, and the Float32 results are written once per
 * block (in place when the output is resident too). Each input is read from main memory once; the per-element
 * operation order is the JS rule's (Float64, rows in input order), so the results are bit-identical.
 */
import type { Kernels } from './wasm.js';

/** Coordinates per block when every input is resident (64 KiB of Float64 sums per block, ROWS_PER_PASS streams). */
const RESIDENT_BLOCK = 16384;
/** Coordinates per block when inputs are staged: ROWS_PER_PASS copies of this many floats stay in L2. */
const STAGED_BLOCK = 8192;
/**
 * Rows summed per kernel call (the Float64 block is read and written once per pass). Measured on Zen 4: 16 rows
 * read in place run at ~1.5 ms per 100 × 100k, 8 at ~1.9, more than 20 fall off a cliff (too many streams).
 */
const RESIDENT_ROWS = 16;
const STAGED_ROWS = 8;
/**
 * Rows per `sumSquaredRows` call when the inputs are resident: each call streams them all at once (measured, 100 ×
 * 100k, CPU time against the mean's: 6 to 12 rows ~1.7×, 15 ~1.9×, 25 ~4×).
 */
const VARIANCE_ROWS = 10;
/** The grid on which variance sums are cut into segments (one grid for the fused and the incremental path). */
const SEGMENT = 8192;
/** Below this many input floats the staging costs more than it saves. */
export const SUM_KERNEL_MIN_FLOATS = 2048;

/**
 * Per-row sums for variances, taken on the way (variance-corrected.ts): for each row j and tensor t, Σx and Σx²
 * over the tensor, at sums[2·(j·T + t)] and [+1], in tensor segments on the SEGMENT grid, exactly as
 * `plainSumsKernel` adds them.
 */
export interface RowTensorSums { readonly tensors: readonly { offset: number; size: number }[]; readonly sums: Float64Array }

/**
 * res[i] = f32((Σ_j w_j·rows[j][i]) / divisor), the sum in Float64 in row order (w = null: all weights 1, no
 * multiplication). `res` may be one of the rows: results are written after each block is fully read. With
 * `variances`, also fills its sums from the same blocks (each input is read once for both).
 */
export function weightedSumToF32(k: Kernels, rows: readonly Float32Array[], weights: ArrayLike<number> | null, divisor: number, res: Float32Array, variances?: RowTensorSums): void {
  const where = rows.map((v) => k.addressOf(v));
  if (variances) {
    if (weights) throw new RangeError('weightedSumToF32: variance sums are taken on unweighted sums only');
    sumWithVariances(k, rows, where, divisor, res, variances);
    return;
  }
  const d = res.length, n = rows.length;
  const staged = where.filter((a) => a < 0).length;
  const block = staged > 0 ? STAGED_BLOCK : RESIDENT_BLOCK, perPass = staged > 0 ? STAGED_ROWS : RESIDENT_ROWS;
  // Even passes (100 rows: 7 × ~14, not 6 × 16 + 4).
  const passRows = Math.ceil(n / Math.ceil(n / perPass));
  const width = Math.min(block, d), resAt = k.addressOf(res);
  const r = k.region();
  const acc = r.alloc(8 * width), table = r.alloc(4 * n), stage = r.alloc(4 * width * Math.min(passRows, staged));
  const out = resAt >= 0 ? 0 : r.alloc(4 * width), w = weights ? r.alloc(8 * n) : 0;
  if (weights) for (let j = 0; j < n; j++) k.f64[w / 8 + j] = weights[j]!;
  for (let k0 = 0; k0 < d; k0 += block) {
    const len = Math.min(block, d - k0);
    for (let j0 = 0; j0 < n; j0 += passRows) {
      const m = Math.min(passRows, n - j0);
      fillTable(k, rows, where, j0, m, k0, len, table, stage, width);
      if (weights) k.x.weightedRowsAt(acc, table + 4 * j0, w + 8 * j0, m, 0, len, j0 === 0 ? 1 : 0);
      else k.x.sumRowsAt(acc, table + 4 * j0, m, 0, len, j0 === 0 ? 1 : 0);
    }
    writeBlock(k, acc, len, divisor, res, resAt, k0, out);
  }
}

/** table[j] = where rows[j][k0] is in kernel memory for j in [j0, j0 + m): in place, or staged (slots of `width` floats). */
function fillTable(k: Kernels, rows: readonly Float32Array[], where: readonly number[], j0: number, m: number, k0: number, len: number, table: number, stage: number, width: number): void {
  for (let j = j0, slot = 0; j < j0 + m; j++) {
    if (where[j]! >= 0) { k.i32[table / 4 + j] = where[j]! + 4 * k0; continue; }
    const at = stage + 4 * width * slot++;
    k.f32.set(rows[j]!.subarray(k0, k0 + len), at / 4);
    k.i32[table / 4 + j] = at;
  }
}

/** res[k0 .. k0 + len) = f32(acc / divisor), in place when `res` is resident (resAt ≥ 0), else through `out`. */
function writeBlock(k: Kernels, acc: number, len: number, divisor: number, res: Float32Array, resAt: number, k0: number, out: number): void {
  if (resAt >= 0) { k.x.divideToF32(resAt + 4 * k0, acc, len, divisor); return; }
  k.x.divideToF32(out, acc, len, divisor);
  res.set(k.f32.subarray(out / 4, out / 4 + len), k0);
}

/**
 * The unweighted sum with the variance sums of `variances` on the way. Blocks are one SEGMENT wide, so each
 * piece of a block is one variance segment: inside a tensor, `sumSquaredRows` reads each row once for its
 * column sums and its Σx, Σx² (VARIANCE_ROWS rows per call, streaming side by side); outside, `sumRowsAt` adds
 * the rows. Profile (100 × 100k resident, CPU time on a loaded 2-core EPYC): the mean ~1.9 ms; the earlier fused
 * kernel (a shift subtracted from every element, four rows at a time) ~2.9× that, without the shift ~2.1×,
 * rows streaming side by side ~1.75×.
 */
function sumWithVariances(k: Kernels, rows: readonly Float32Array[], where: readonly number[], divisor: number, res: Float32Array, variances: RowTensorSums): void {
  const d = res.length, n = rows.length, { tensors, sums } = variances, T = tensors.length;
  const staged = where.filter((a) => a < 0).length;
  const passRows = staged > 0 ? STAGED_ROWS : VARIANCE_ROWS;
  const width = Math.min(SEGMENT, d), resAt = k.addressOf(res);
  const r = k.region();
  const acc = r.alloc(8 * width), table = r.alloc(4 * n), stage = r.alloc(4 * width * Math.min(passRows, staged));
  const out = resAt >= 0 ? 0 : r.alloc(4 * width);
  // Per tensor t and row j: Σx and Σx² at wsums + 16(t·n + j).
  const wsums = r.alloc(16 * T * n), lanes = r.alloc(32 * passRows);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < n; j++) {
      k.f64[wsums / 8 + 2 * (t * n + j)] = sums[2 * (j * T + t)]!;
      k.f64[wsums / 8 + 2 * (t * n + j) + 1] = sums[2 * (j * T + t) + 1]!;
    }
  }
  for (let k0 = 0; k0 < d; k0 += SEGMENT) {
    const len = Math.min(SEGMENT, d - k0), end = k0 + len;
    for (let j0 = 0; j0 < n; j0 += passRows) {
      const m = Math.min(passRows, n - j0);
      fillTable(k, rows, where, j0, m, k0, len, table, stage, width);
      for (let from = k0; from < end;) {
        const t = tensors.findIndex((x) => x.offset + x.size > from);
        const inside = t >= 0 && tensors[t]!.offset <= from;
        const to = Math.min(end, t < 0 ? end : inside ? tensors[t]!.offset + tensors[t]!.size : tensors[t]!.offset);
        const first = j0 === 0 ? 1 : 0;
        if (inside) {
          k.x.sumSquaredRows(acc + 8 * (from - k0), table + 4 * j0, m, 4 * (from - k0), to - from, first, wsums + 16 * (t * n + j0), lanes);
        } else {
          for (let r0 = 0; r0 < m; r0 += RESIDENT_ROWS) {
            k.x.sumRowsAt(acc + 8 * (from - k0), table + 4 * (j0 + r0), Math.min(RESIDENT_ROWS, m - r0), 4 * (from - k0), to - from, first && r0 === 0 ? 1 : 0);
          }
        }
        from = to;
      }
    }
    writeBlock(k, acc, len, divisor, res, resAt, k0, out);
  }
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < n; j++) {
      sums[2 * (j * T + t)] = k.f64[wsums / 8 + 2 * (t * n + j)]!;
      sums[2 * (j * T + t) + 1] = k.f64[wsums / 8 + 2 * (t * n + j) + 1]!;
    }
  }
}

/** res[i] = fl32(fl32(a·x[i]) + fl32(b·y[i])), a and b rounded to float32 (the kernel's `blend`); `res` may be x or y. */
export function blendToF32(k: Kernels, x: Float32Array, y: Float32Array, a: number, b: number, res: Float32Array): void {
  const d = res.length, xAt = k.addressOf(x), yAt = k.addressOf(y), resAt = k.addressOf(res);
  if (xAt >= 0 && yAt >= 0 && resAt >= 0) { k.x.blend(resAt, xAt, yAt, d, a, b); return; }
  const width = Math.min(STAGED_BLOCK, d);
  const r = k.region();
  const px = r.alloc(4 * width), py = r.alloc(4 * width);
  for (let k0 = 0; k0 < d; k0 += STAGED_BLOCK) {
    const len = Math.min(STAGED_BLOCK, d - k0);
    k.f32.set(x.subarray(k0, k0 + len), px / 4);
    k.f32.set(y.subarray(k0, k0 + len), py / 4);
    k.x.blend(px, px, py, len, a, b);
    res.set(k.f32.subarray(px / 4, px / 4 + len), k0);
  }
}

/**
 * [Σx, Σx²] over x[offset .. offset + size): two partial sums per segment, the segments cut at multiples of
 * SEGMENT and added in order (as `weightedSumToF32` does with `variances`, so both agree bit for bit).
 */
export function plainSumsKernel(k: Kernels, x: Float32Array, offset: number, size: number): [number, number] {
  return segmentSums(k, x, offset, size, (at, len, out) => k.x.plainSums(at, len, out));
}

/**
 * [Σa, Σa²] of a = x[offset + i] − shift over `size` floats, on the segment grid of `plainSumsKernel`: the
 * variance of a tensor whose mean is large against its spread (variance-corrected.ts).
 */
export function shiftedSumsKernel(k: Kernels, x: Float32Array, offset: number, size: number, shift: number): [number, number] {
  return segmentSums(k, x, offset, size, (at, len, out) => k.x.shiftedSums(at, len, shift, out));
}

/** Sum a two-value kernel's results over the SEGMENT-grid pieces of x[offset .. offset + size), in order. */
function segmentSums(k: Kernels, x: Float32Array, offset: number, size: number, kernel: (at: number, len: number, out: number) => void): [number, number] {
  const r = k.region(), xAt = k.addressOf(x), width = xAt >= 0 ? 0 : Math.min(SEGMENT, size);
  const stage = r.alloc(4 * width), out = r.alloc(16);
  let s1 = 0, s2 = 0;
  for (let from = offset, end = offset + size; from < end;) {
    const to = Math.min(end, (Math.floor(from / SEGMENT) + 1) * SEGMENT);
    if (xAt >= 0) kernel(xAt + 4 * from, to - from, out);
    else {
      k.f32.set(x.subarray(from, to), stage / 4);
      kernel(stage, to - from, out);
    }
    s1 += k.f64[out / 8]!; s2 += k.f64[out / 8 + 1]!;
    from = to;
  }
  return [s1, s2];
}

/** x[offset + i] = f32(mu + (x[offset + i] − mu)·scale) for i < size (the kernel's `rescale`), in place when resident. */
export function rescaleKernel(k: Kernels, x: Float32Array, offset: number, size: number, mu: number, scale: number): void {
  const xAt = k.addressOf(x);
  if (xAt >= 0) { k.x.rescale(xAt + 4 * offset, size, mu, scale); return; }
  const r = k.region(), width = Math.min(SEGMENT, size), stage = r.alloc(4 * width);
  for (let from = offset, end = offset + size; from < end; from += SEGMENT) {
    const to = Math.min(end, from + SEGMENT);
    k.f32.set(x.subarray(from, to), stage / 4);
    k.x.rescale(stage, to - from, mu, scale);
    x.set(k.f32.subarray(stage / 4, stage / 4 + to - from), from);
  }
}
