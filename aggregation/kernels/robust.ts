/**
 * The coordinate-wise rules and centered clipping of aggregation/robust.ts through the WebAssembly kernels.
 * Blocks of COLUMN_BLOCK coordinates of all n inputs are staged into kernel memory (n rows), transposed there
 * with SIMD, and each coordinate's n values go through the same pivot kernels as the JS rules (bit-identical).
 * Centered clipping runs in two passes per iteration, each streaming every input once in blocks: the squared
 * distances to the centre, then the clipped sum per block of coordinates; inputs in kernel memory
 * (`kernelVectors`) are read in place, the others staged block by block.
 */
import type { Kernels } from './wasm.js';

/** Coordinates per transposed block: n × 256 floats (100 KiB at n = 100) stay in L2 (robust.ts COLUMN_BLOCK). */
const COLUMN_BLOCK = 256;
/** Coordinates per staging copy: 8 KiB per row and copy call, so the per-call cost of the copies stays small. */
const STAGE_BLOCK = 2048;
/** Coordinates per trimmed-mean network block (staged inputs: n × 4 KiB). */
const NETWORK_BLOCK = 1024;
/** Coordinates per centered-clipping block (16 KiB of floats and 32 KiB of doubles per row). */
const CLIP_BLOCK = 4096;

type ColumnCall = (k: Kernels, scratch: number, len: number, sum: number, sumSq: number, out: number) => void;

/** Stage, transpose and reduce every block of coordinates; results are copied out after each block is read. */
function columnBlocks(k: Kernels, vectors: readonly Float32Array[], res: Float32Array, extra: number, call: (r: { scratch: number; len: number; sum: number; sumSq: number; out: number; extra: number }) => void): void {
  const n = vectors.length, d = res.length, width = Math.min(COLUMN_BLOCK, d), stageWidth = Math.min(STAGE_BLOCK, d);
  const r = k.region();
  const stage = r.alloc(4 * n * stageWidth), scratch = r.alloc(4 * n * width), sum = r.alloc(8 * width), sumSq = r.alloc(8 * width);
  const out = r.alloc(4 * stageWidth), extraAt = r.alloc(4 * extra + 64);
  for (let s0 = 0; s0 < d; s0 += STAGE_BLOCK) {
    const sLen = Math.min(STAGE_BLOCK, d - s0);
    for (let j = 0; j < n; j++) k.f32.set(vectors[j]!.subarray(s0, s0 + sLen), stage / 4 + j * sLen);
    for (let c0 = 0; c0 < sLen; c0 += COLUMN_BLOCK) {
      const len = Math.min(COLUMN_BLOCK, sLen - c0);
      k.x.transposeBlock(stage + 4 * c0, n, len, sLen, scratch, sum, sumSq);
      call({ scratch, len, sum, sumSq, out: out + 4 * c0, extra: extraAt });
    }
    res.set(k.f32.subarray(out / 4, out / 4 + sLen), s0);
  }
}

/** robust.ts trimmedMean for f ≥ 1 (pivot settings computed by the caller, as in JS). */
export function trimmedMeanKernel(k: Kernels, vectors: readonly Float32Array[], f: number, usePivots: boolean, zOuter: number, zInner: number, res: Float32Array): void {
  const n = vectors.length;
  // Three buffers of n floats, each with 4 floats of slack for the kernel's packed stores.
  const m = 4 * (n + 4);
  columnBlocks(k, vectors, res, 3 * (n + 4), (b) =>
    k.x.trimmedColumns(b.scratch, n, b.len, b.sum, b.sumSq, b.out, f, usePivots ? 1 : 0, zOuter, zInner, b.extra, b.extra + m, b.extra + 2 * m));
}

/**
 * robust.ts trimmedMean through the insertion network (extremes.ts; kernels/assembly/trimmed.ts): rows that
 * live in kernel memory are read in place, four coordinates per vector; others are staged NETWORK_BLOCK
 * coordinates at a time (n × 4 KiB).
 */
export function trimmedNetworkKernel(k: Kernels, vectors: readonly Float32Array[], f: number, res: Float32Array): void {
  const n = vectors.length, d = res.length, width = Math.min(NETWORK_BLOCK, d);
  const where = vectors.map((x) => k.addressOf(x)), staged = where.some((at) => at < 0);
  const resAt = k.addressOf(res);
  const r = k.region();
  const table = r.alloc(4 * n), column = r.alloc(4 * (n + f + 8)), out = r.alloc(4 * width);
  const stage = staged ? r.alloc(4 * width * n) : 0;
  for (let k0 = 0; k0 < d; k0 += NETWORK_BLOCK) {
    const len = Math.min(NETWORK_BLOCK, d - k0);
    for (let j = 0; j < n; j++) {
      if (where[j]! >= 0) { k.i32[table / 4 + j] = where[j]! + 4 * k0; continue; }
      k.f32.set(vectors[j]!.subarray(k0, k0 + len), stage / 4 + j * width);
      k.i32[table / 4 + j] = stage + 4 * width * j;
    }
    // In place when `res` is resident: coordinate c is written after its column is read (`res` may be an input).
    k.x.trimmedNetwork(table, n, 0, len, f, resAt >= 0 ? resAt + 4 * k0 : out, column);
    if (resAt < 0) res.set(k.f32.subarray(out / 4, out / 4 + len), k0);
  }
}

/** robust.ts coordinateMedian with band half-width z (in standard deviations). */
export function medianKernel(k: Kernels, vectors: readonly Float32Array[], z: number, res: Float32Array): void {
  const n = vectors.length;
  columnBlocks(k, vectors, res, n + 4, (b) => k.x.medianColumns(b.scratch, n, b.len, b.sum, b.sumSq, b.out, z, b.extra));
}

/**
 * Centered clipping (robust.ts centeredClipping): v ← v + (1/n)·Σ clip(x_i − v, τ), `iterations` times, in
 * Float64. The squared distances are summed in another order than the JS rule's single running sum (eight
 * partial sums per block, blocks added in order), so ‖x_i − v‖ may differ in its last bits; see the test for
 * the resulting bound.
 */
export function centeredClippingKernel(k: Kernels, center: Float32Array, vectors: readonly Float32Array[], tau: number, iterations: number, res: Float32Array): void {
  const d = center.length, n = vectors.length, width = Math.min(CLIP_BLOCK, d);
  const where = vectors.map((x) => k.addressOf(x)), staged = where.filter((at) => at < 0).length;
  // Rows per accumulation call: resident rows are read in place, 16 at a time (more streams fall off a cliff);
  // others are staged, 8 blocks at a time (128 KiB).
  const passRows = staged > 0 ? 8 : 16;
  const r = k.region();
  const v = r.alloc(8 * d), acc = r.alloc(8 * width), stage = r.alloc(4 * width * Math.max(1, Math.min(passRows, staged)));
  const out = r.alloc(4 * width), table = r.alloc(4 * n), scales = r.alloc(8 * n);
  for (let k0 = 0; k0 < d; k0 += CLIP_BLOCK) {
    const len = Math.min(CLIP_BLOCK, d - k0);
    k.f32.set(center.subarray(k0, k0 + len), stage / 4);
    k.x.promote(v + 8 * k0, stage, len);
  }
  /** Block [k0, k0 + len) of x copied into stage slot `slot`; returns its offset. */
  const staged1 = (x: Float32Array, k0: number, len: number, slot: number): number => {
    k.f32.set(x.subarray(k0, k0 + len), stage / 4 + slot * width);
    return stage + 4 * width * slot;
  };
  for (let it = 0; it < iterations; it++) {
    for (let j = 0; j < n; j++) {
      const x = vectors[j]!, xAt = where[j]!;
      let sq = 0;
      for (let k0 = 0; k0 < d; k0 += CLIP_BLOCK) {
        const len = Math.min(CLIP_BLOCK, d - k0);
        sq += k.x.squaredDistance(xAt >= 0 ? xAt + 4 * k0 : staged1(x, k0, len, 0), v + 8 * k0, len);
      }
      const norm = Math.sqrt(sq);
      k.f64[scales / 8 + j] = norm > tau ? tau / norm : 1;
    }
    for (let k0 = 0; k0 < d; k0 += CLIP_BLOCK) {
      const len = Math.min(CLIP_BLOCK, d - k0);
      for (let j0 = 0; j0 < n; j0 += passRows) {
        const m = Math.min(passRows, n - j0);
        for (let j = j0, slot = 0; j < j0 + m; j++) k.i32[table / 4 + j] = where[j]! >= 0 ? where[j]! + 4 * k0 : staged1(vectors[j]!, k0, len, slot++);
        k.x.clipRowsAt(acc, table + 4 * j0, scales + 8 * j0, m, 0, v + 8 * k0, len, j0 === 0 ? 1 : 0);
      }
      k.x.clipStep(v + 8 * k0, acc, len, n);
    }
  }
  for (let k0 = 0; k0 < d; k0 += CLIP_BLOCK) {
    const len = Math.min(CLIP_BLOCK, d - k0);
    k.x.divideToF32(out, v + 8 * k0, len, 1);
    res.set(k.f32.subarray(out / 4, out / 4 + len), k0);
  }
}

/**
 * Krum's pairwise squared distances (upper triangle of the n×n `D`, added into it) with robust.ts's coordinate
 * blocks of `block` floats: each block of all n inputs is staged, widened to Float64 once, and reduced there
 * (bit-identical to the JS rule, see assembly/distances.ts).
 */
export function pairwiseDistancesKernel(k: Kernels, vectors: readonly Float32Array[], block: number, D: Float64Array): void {
  const n = vectors.length, d = vectors[0]!.length, width = Math.min(block, d);
  const r = k.region();
  const stage = r.alloc(4 * n * width), rows64 = r.alloc(8 * n * width), pairs = r.alloc(8 * n * width), dist = r.alloc(8 * n * n);
  k.f64.fill(0, dist / 8, dist / 8 + n * n);
  for (let k0 = 0; k0 < d; k0 += block) {
    const len = Math.min(block, d - k0);
    for (let j = 0; j < n; j++) k.f32.set(vectors[j]!.subarray(k0, k0 + len), stage / 4 + j * len);
    k.x.distancePrep(stage, n, len, rows64, pairs);
    k.x.distanceBlock(rows64, pairs, n, len, dist);
  }
  D.set(k.f64.subarray(dist / 8, dist / 8 + n * n));
}
