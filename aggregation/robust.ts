/**
 * Byzantine-robust aggregation rules, the baselines of the FRL and Bristle experiments (ALGORITHMS.md
 * §4.5, §5.6): coordinate-wise median and trimmed mean (Yin et al., ICML 2018), Krum and multi-Krum
 * (Blanchard et al., NeurIPS 2017, in krum.ts) and centered clipping (Karimireddy, He, Jaggi, ICML 2021).
 *
 * Speed: the coordinate-wise rules transpose a block of coordinates into a scratch Float32Array, so each
 * coordinate's n values are contiguous, then run a pivot kernel (below) or, for n ≤ 24, an insertion
 * sort per coordinate.
 * With the WebAssembly kernels (kernels/robust.ts) the same kernels run there, the transpose with SIMD.
 * Inputs must be finite (the codec rejects NaN/Infinity); `out` may be one of the inputs.
 */
import { select } from './select.js';
import { checkOption, checkVectors, outBuffer, requireInputs } from './errors.js';
import { mean } from './mean.js';
import { centeredClippingKernel, medianKernel, trimmedMeanKernel, trimmedNetworkKernel } from './kernels/robust.js';
import { NETWORK_MAX_F, networkTrimmed } from './extremes.js';
import { kernels } from './kernels/wasm.js';

/** Minimum number of inputs of `coordinateMedian`. */
export const MEDIAN_MIN_INPUTS = 1;

/** Minimum number of inputs of `trimmedMean` with f trimmed per side: n > 2f. */
export function trimmedMeanMinInputs(f: number): number { return 2 * f + 1; }

/** Coordinates per transposed block: n × 256 floats (100 KiB at n = 100) stay in L2. */
const COLUMN_BLOCK = 256;
/** Up to this many values per coordinate an insertion sort beats the pivot kernels. */
const INSERTION_SORT_MAX = 24;

const isCount = (f: number): boolean => Number.isInteger(f) && f >= 0;

/**
 * Φ⁻¹(p) for 0 < p < 1 (Abramowitz & Stegun 26.2.23, |error| < 4.5e-4). Only used to place pivots, so
 * its precision affects speed, never results.
 */
function normalQuantile(p: number): number {
  const q = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  const x = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  return p < 0.5 ? -x : x;
}

/*
 * The pivot kernels. Per coordinate the n values are contiguous (transposed block); their mean μ and
 * standard deviation σ place pivots where the wanted order statistics should be if the values were
 * roughly normal (model updates across peers are). One branch-free pass (comparisons turned into 0/1
 * with unary `+`, never an `if`) splits off the few values beyond the pivots, and a selection runs on
 * those alone. Mispredicted branches, not arithmetic, dominate selection on this scale, so the
 * branch-free pass is what makes it fast. If the pivots miss (heavy tails, attacks), the kernel falls
 * back to a plain selection on the whole column: the result is exact either way, only slower.
 */

/**
 * Coordinate-wise median; for even n the mean of the two middle values (computed in Float64).
 * @throws AggregationError ERR_TOO_FEW_INPUTS, ERR_LENGTH_MISMATCH
 */
export function coordinateMedian(vectors: readonly Float32Array[], out?: Float32Array): Float32Array {
  const d = checkVectors('coordinateMedian', vectors, MEDIAN_MIN_INPUTS);
  const res = outBuffer('coordinateMedian', d, out);
  const n = vectors.length;
  const k = (n - 1) >> 1; // the (lower) middle rank
  const even = n % 2 === 0;
  // Band μ ± zσ around the median: the rank of μ − zσ wanders by about 0.6·√n, so ±1.75·√n ranks.
  const z = normalQuantile(Math.min(0.99, 0.5 + 1.75 / Math.sqrt(n)));
  const wasm = kernels();
  if (wasm) { medianKernel(wasm, vectors, z, res); return res; }
  const band = new Float32Array(n);
  const middle = (a: Float32Array, at: number, end: number): number => {
    if (!even) return a[at]!;
    // Everything right of the lower middle is ≥ it: the upper middle is their minimum.
    let hi = a[at + 1]!;
    for (let i = at + 2; i < end; i++) if (a[i]! < hi) hi = a[i]!;
    return (a[at]! + hi) / 2;
  };
  columnBlocks(vectors, d, res, (a, base, sum, sumSq) => {
    const end = base + n;
    if (n <= INSERTION_SORT_MAX) {
      insertionSort(a, base, end);
      return even ? (a[base + k]! + a[base + k + 1]!) / 2 : a[base + k]!;
    }
    const mu = sum / n, sd = Math.sqrt(Math.max(0, sumSq / n - mu * mu));
    const p0 = mu - z * sd, p1 = mu + z * sd;
    let inBand = 0, below = 0;
    for (let i = base; i < end; i++) {
      const x = a[i]!;
      const l = +(x < p0), g = +(x > p1);
      band[inBand] = x;
      inBand += 1 - l - g;
      below += l;
    }
    const r = k - below;
    if (r >= 0 && r + (even ? 1 : 0) < inBand) {
      // Halve the band around μ branch-free, then select in the half that holds rank r.
      let c = 0;
      for (let i = 0; i < inBand; i++) {
        const x = band[i]!;
        band[i] = band[c]!;
        band[c] = x;
        c += +(x < mu);
      }
      if (r < c) select(band, 0, c - 1, r);
      else select(band, c, inBand - 1, r);
      return middle(band, r, inBand);
    }
    select(a, base, end - 1, base + k);
    return middle(a, base + k, end);
  });
  return res;
}

/**
 * Coordinate-wise trimmed mean: drop the f smallest and f largest values per coordinate and average
 * the remaining n − 2f in Float64. f = 0 is the plain mean. For n > 24 and f ≤ NETWORK_MAX_F the kept sum
 * is the sum less the extremes found by an insertion network (extremes.ts); otherwise pivots as below.
 * @throws AggregationError ERR_TOO_FEW_INPUTS (n ≤ 2f), ERR_LENGTH_MISMATCH, ERR_BAD_OPTION (f not an integer ≥ 0)
 */
export function trimmedMean(vectors: readonly Float32Array[], f: number, out?: Float32Array): Float32Array {
  checkOption(isCount(f), 'trimmedMean', `f is ${f}; expected an integer ≥ 0`);
  requireInputs('trimmedMean', vectors.length, trimmedMeanMinInputs(f), `n > 2f with f = ${f}`);
  const d = checkVectors('trimmedMean', vectors, 1);
  const res = outBuffer('trimmedMean', d, out);
  if (f === 0) return mean(vectors, res);
  const n = vectors.length, kept = n - 2 * f;
  // Outer pivots expect f + 2√f + 2 values beyond them (so that at most f is rare); inner pivots sit
  // at the expected f-th order statistic and split those candidates once more.
  const outerP = (f + 2 * Math.sqrt(f) + 2) / n;
  const usePivots = n > INSERTION_SORT_MAX && outerP < 0.4;
  const zOuter = usePivots ? -normalQuantile(outerP) : 0, zInner = usePivots ? -normalQuantile(f / n) : 0;
  const wasm = kernels();
  const network = n > INSERTION_SORT_MAX && f <= NETWORK_MAX_F;
  if (wasm) {
    if (network) trimmedNetworkKernel(wasm, vectors, f, res);
    else trimmedMeanKernel(wasm, vectors, f, usePivots, zOuter, zInner, res);
    return res;
  }
  if (network) {
    const slots = new Float32Array(f);
    columnBlocks(vectors, d, res, (a, base) => networkTrimmed(a, base, n, f, slots));
    return res;
  }
  const low = new Float32Array(n), high = new Float32Array(n), spare = new Float32Array(n);
  columnBlocks(vectors, d, res, (a, base, sum, sumSq) => {
    const end = base + n;
    if (n <= INSERTION_SORT_MAX) {
      insertionSort(a, base, end);
      return sumRange(a, base + f, end - f) / kept;
    }
    if (usePivots) {
      const mu = sum / n, sd = Math.sqrt(Math.max(0, sumSq / n - mu * mu));
      const pL = mu - zOuter * sd, pH = mu + zOuter * sd;
      let lo = 0, hi = 0;
      for (let i = base; i < end; i++) {
        const x = a[i]!;
        low[lo] = x; lo += +(x < pL);
        high[hi] = -x; hi += +(x > pH); // the f largest of x are the f smallest of −x
      }
      if (lo >= f && hi >= f) {
        const keptSum = sum - smallestSum(low, lo, f, mu - zInner * sd, spare) + smallestSum(high, hi, f, -(mu + zInner * sd), spare);
        // Σx − bottom − top cancels: its Float64 error is at worst (n + 2f)·ε·Σ|x| ≤ (n + 2f)·ε·√(n·Σx²).
        // Accept it only if √(n·Σx²) ≤ 2¹⁶·|result|, i.e. a relative error under ~2·10⁻⁹ for n ≤ 100,
        // far below float32 resolution; a huge attack value or a kept sum near 0 takes the direct sum.
        if (Math.sqrt(n * sumSq) <= CANCELLATION_RATIO * Math.abs(keptSum)) return keptSum / kept;
      }
    }
    select(a, base, end - 1, base + f);
    select(a, base + f, end - 1, end - f - 1);
    return sumRange(a, base + f, end - f) / kept;
  });
  return res;
}

/** See the cancellation check in `trimmedMean`. */
const CANCELLATION_RATIO = 2 ** 16;
/** Up to this many extremes are peeled off by linear scans instead of a selection. */
const PEEL_MAX = 6;

/**
 * Sum of the k smallest of buf[0..m) (k ≤ m); `spare` is scratch of length ≥ m. A branch-free split
 * around `pivot` (near the k-th value) into the values below it (kept in buf) and the rest (spare);
 * the few values on the wrong side of the pivot are then peeled off one scan each, whose branches are
 * predictable (a new extreme is rare), or found by a selection when there are many.
 */
function smallestSum(buf: Float32Array, m: number, k: number, pivot: number, spare: Float32Array): number {
  let c = 0, r = 0;
  for (let i = 0; i < m; i++) {
    const x = buf[i]!, below = +(x < pivot);
    buf[c] = x; c += below;
    spare[r] = x; r += 1 - below;
  }
  if (c - k > PEEL_MAX || k - c > PEEL_MAX) {
    for (let i = 0; i < r; i++) buf[c + i] = spare[i]!;
    select(buf, 0, m - 1, k - 1);
    return sumRange(buf, 0, k);
  }
  let s = sumRange(buf, 0, c);
  // Too many below the pivot: drop their largest, one scan each.
  for (let top = c; top > k; top--) {
    let at = 0, mx = buf[0]!;
    for (let i = 1; i < top; i++) { const x = buf[i]!; if (x > mx) { mx = x; at = i; } }
    s -= mx;
    buf[at] = buf[top - 1]!;
  }
  // Too few: add the smallest of the rest, one scan each.
  for (let need = k - c, rest = r; need > 0; need--, rest--) {
    let at = 0, mn = spare[0]!;
    for (let i = 1; i < rest; i++) { const x = spare[i]!; if (x < mn) { mn = x; at = i; } }
    s += mn;
    spare[at] = spare[rest - 1]!;
  }
  return s;
}

function sumRange(a: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
}

/** A per-coordinate kernel on the transposed block: values at a[base, base + n), their Float64 sum and sum of squares. */
type ColumnKernel = (a: Float32Array, base: number, sum: number, sumSq: number) => number;

/**
 * Transpose blocks of coordinates into a scratch array (value i of coordinate c at c·n + i) and write
 * `column(scratch, c·n, Σx, Σx²)` for each coordinate c; `column` may reorder its n values in place.
 * Eight rows per sweep keep the strided stores within few cache lines, and the sums ride along for free
 * (the sweep is bound by memory, not arithmetic).
 */
function columnBlocks(vectors: readonly Float32Array[], d: number, res: Float32Array, column: ColumnKernel): void {
  const n = vectors.length;
  const width = Math.min(COLUMN_BLOCK, d);
  const scratch = new Float32Array(n * width), sum = new Float64Array(width), sumSq = new Float64Array(width);
  for (let k0 = 0; k0 < d; k0 += COLUMN_BLOCK) {
    const len = Math.min(COLUMN_BLOCK, d - k0);
    sum.fill(0);
    sumSq.fill(0);
    let i = 0;
    for (; i + 7 < n; i += 8) {
      const v0 = vectors[i]!, v1 = vectors[i + 1]!, v2 = vectors[i + 2]!, v3 = vectors[i + 3]!;
      const v4 = vectors[i + 4]!, v5 = vectors[i + 5]!, v6 = vectors[i + 6]!, v7 = vectors[i + 7]!;
      for (let c = 0, p = i, k = k0; c < len; c++, p += n, k++) {
        const x0 = v0[k]!, x1 = v1[k]!, x2 = v2[k]!, x3 = v3[k]!, x4 = v4[k]!, x5 = v5[k]!, x6 = v6[k]!, x7 = v7[k]!;
        scratch[p] = x0; scratch[p + 1] = x1; scratch[p + 2] = x2; scratch[p + 3] = x3;
        scratch[p + 4] = x4; scratch[p + 5] = x5; scratch[p + 6] = x6; scratch[p + 7] = x7;
        sum[c] += ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
        sumSq[c] += ((x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3)) + ((x4 * x4 + x5 * x5) + (x6 * x6 + x7 * x7));
      }
    }
    for (; i < n; i++) {
      const v = vectors[i]!;
      for (let c = 0, p = i, k = k0; c < len; c++, p += n, k++) { const x = v[k]!; scratch[p] = x; sum[c] += x; sumSq[c] += x * x; }
    }
    // Results go out after the whole block is read, so `out` may alias an input.
    for (let c = 0; c < len; c++) res[k0 + c] = column(scratch, c * n, sum[c]!, sumSq[c]!);
  }
}

/** Sort a[from, to) ascending in place. */
function insertionSort(a: Float32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= from && a[j]! > x) { a[j + 1] = a[j]!; j--; }
    a[j + 1] = x;
  }
}


/** Minimum number of inputs of `centeredClipping`. */
export const CENTERED_CLIPPING_MIN_INPUTS = 1;

/**
 * Centered clipping (Karimireddy et al. 2021): starting from v = center, repeat `iterations` times
 * v ← v + (1/n)·Σ_i clip(x_i − v, τ), where clip(z, τ) = z·min(1, τ/‖z‖₂). Runs in Float64 between
 * iterations; τ > 0 (Infinity gives the plain mean after one iteration).
 * @throws AggregationError ERR_TOO_FEW_INPUTS, ERR_LENGTH_MISMATCH, ERR_BAD_OPTION (τ ≤ 0, iterations < 1)
 */
export function centeredClipping(center: Float32Array, vectors: readonly Float32Array[], tau: number, iterations = 1, out?: Float32Array): Float32Array {
  const rule = 'centeredClipping';
  checkOption(tau > 0, rule, `tau is ${tau}; expected τ > 0`);
  checkOption(Number.isInteger(iterations) && iterations >= 1, rule, `iterations is ${iterations}; expected an integer ≥ 1`);
  const d = checkVectors(rule, vectors, CENTERED_CLIPPING_MIN_INPUTS, center.length);
  const wasm = kernels();
  if (wasm && d > 0) { const res = outBuffer(rule, d, out); centeredClippingKernel(wasm, center, vectors, tau, iterations, res); return res; }
  const v = Float64Array.from(center);
  const acc = new Float64Array(d);
  const n = vectors.length;
  for (let it = 0; it < iterations; it++) {
    acc.fill(0);
    for (const x of vectors) {
      let sq = 0;
      for (let k = 0; k < d; k++) { const e = x[k]! - v[k]!; sq += e * e; }
      const norm = Math.sqrt(sq);
      const s = norm > tau ? tau / norm : 1;
      for (let k = 0; k < d; k++) acc[k] += s * (x[k]! - v[k]!);
    }
    for (let k = 0; k < d; k++) v[k] = v[k]! + acc[k]! / n;
  }
  const res = outBuffer(rule, d, out);
  for (let k = 0; k < d; k++) res[k] = v[k]!;
  return res;
}
