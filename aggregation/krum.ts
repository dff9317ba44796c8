/**
 * Krum and multi-Krum (Blanchard et al., NeurIPS 2017), a baseline of the FRL and Bristle experiments
 * (ALGORITHMS.md §4.5, §5.6). The pairwise distances run over coordinate blocks that stay in cache, two
 * vectors against four at a time, with Float64 accumulators (on the WebAssembly kernels when loaded).
 * Inputs must be finite (the codec rejects NaN/Infinity).
 */
import { checkOption, checkVectors, requireInputs } from './errors.js';
import { mean } from './mean.js';
import { pairwiseDistancesKernel } from './kernels/robust.js';
import { kernels } from './kernels/wasm.js';

const isCount = (f: number): boolean => Number.isInteger(f) && f >= 0;

/**
 * Minimum number of inputs of Krum with f assumed Byzantine: each score sums the n − f − 2 closest
 * distances, so n ≥ f + 3. With `strict`, Blanchard et al.'s resilience condition n > 2f + 2 (n ≥ 2f + 3),
 * under which Krum's guarantee holds.
 */
export function krumMinInputs(f: number, strict = false): number { return strict ? 2 * f + 3 : f + 3; }

/** Whether Blanchard et al.'s condition n > 2f + 2 holds (Krum is (α, f)-Byzantine resilient). */
export function isBlanchardResilient(n: number, f: number): boolean { return n > 2 * f + 2; }

/** Coordinates per distance block: 100 vectors × 1024 floats = 400 KiB. */
const DISTANCE_BLOCK = 1024;

/**
 * Squared Euclidean distances between all pairs (n×n row-major Float64Array, zero diagonal), summed in
 * Float64 over cache-sized coordinate blocks. Two rows against four columns at a time: six loads feed
 * eight independent accumulators, which keeps the FPU busy without spilling registers. The difference
 * form (x − y)² is used rather than ‖x‖² + ‖y‖² − 2⟨x, y⟩, which cancels badly for the nearly equal
 * models gossip learning produces.
 * @throws AggregationError ERR_LENGTH_MISMATCH
 */
export function pairwiseSquaredDistances(vectors: readonly Float32Array[]): Float64Array {
  const d = checkVectors('pairwiseSquaredDistances', vectors, 0);
  const n = vectors.length;
  const D = new Float64Array(n * n);
  const wasm = kernels();
  if (wasm && n >= 2 && d > 0) pairwiseDistancesKernel(wasm, vectors, DISTANCE_BLOCK, D);
  else for (let k0 = 0; k0 < d; k0 += DISTANCE_BLOCK) {
    const k1 = Math.min(d, k0 + DISTANCE_BLOCK);
    for (let i = 0; i + 1 < n; i += 2) {
      const a = vectors[i]!, a2 = vectors[i + 1]!, row = i * n, row2 = row + n;
      let s = 0;
      for (let k = k0; k < k1; k++) { const e = a[k]! - a2[k]!; s += e * e; }
      D[row + i + 1] += s;
      let j = i + 2;
      for (; j + 3 < n; j += 4) {
        const b0 = vectors[j]!, b1 = vectors[j + 1]!, b2 = vectors[j + 2]!, b3 = vectors[j + 3]!;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (let k = k0; k < k1; k++) {
          const x = a[k]!, y = a2[k]!, c0 = b0[k]!, c1 = b1[k]!, c2 = b2[k]!, c3 = b3[k]!;
          let e = x - c0; s0 += e * e; e = x - c1; s1 += e * e; e = x - c2; s2 += e * e; e = x - c3; s3 += e * e;
          e = y - c0; t0 += e * e; e = y - c1; t1 += e * e; e = y - c2; t2 += e * e; e = y - c3; t3 += e * e;
        }
        D[row + j] += s0; D[row + j + 1] += s1; D[row + j + 2] += s2; D[row + j + 3] += s3;
        D[row2 + j] += t0; D[row2 + j + 1] += t1; D[row2 + j + 2] += t2; D[row2 + j + 3] += t3;
      }
      for (; j < n; j++) {
        const b = vectors[j]!;
        let u = 0, w = 0;
        for (let k = k0; k < k1; k++) { const e = a[k]! - b[k]!, g = a2[k]! - b[k]!; u += e * e; w += g * g; }
        D[row + j] += u;
        D[row2 + j] += w;
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) D[j * n + i] = D[i * n + j]!;
  return D;
}

/** Options of Krum and multi-Krum. */
export interface KrumOptions {
  /** Refuse inputs below Blanchard et al.'s n ≥ 2f + 3 instead of f + 3. Default false. */
  readonly strict?: boolean;
}

function checkKrum(rule: string, vectors: readonly Float32Array[], f: number, options: KrumOptions): void {
  checkOption(isCount(f), rule, `f is ${f}; expected an integer ≥ 0`);
  const strict = options.strict ?? false;
  requireInputs(rule, vectors.length, krumMinInputs(f, strict), strict ? `Blanchard: n > 2f + 2 with f = ${f}` : `n ≥ f + 3 with f = ${f}`);
  checkVectors(rule, vectors, 1);
}

/**
 * Krum scores: for each input, the sum of squared distances to its n − f − 2 closest other inputs.
 * @throws AggregationError ERR_TOO_FEW_INPUTS (n < f + 3, or n < 2f + 3 with strict), ERR_LENGTH_MISMATCH, ERR_BAD_OPTION
 */
export function krumScores(vectors: readonly Float32Array[], f: number, options: KrumOptions = {}): Float64Array {
  checkKrum('krumScores', vectors, f, options);
  const n = vectors.length, closest = n - f - 2;
  const D = pairwiseSquaredDistances(vectors);
  const scores = new Float64Array(n);
  const others = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0, p = 0; j < n; j++) if (j !== i) others[p++] = D[i * n + j]!;
    others.sort();
    let s = 0;
    for (let k = 0; k < closest; k++) s += others[k]!;
    scores[i] = s;
  }
  return scores;
}

/** Indices ordered by ascending score, ties by index. */
function rankScores(scores: Float64Array): number[] {
  return Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * Krum: the index of the input with the lowest score (ties → lowest index).
 * @throws AggregationError as `krumScores`
 */
export function krum(vectors: readonly Float32Array[], f: number, options: KrumOptions = {}): number {
  return rankScores(krumScores(vectors, f, options))[0]!;
}

/**
 * Multi-Krum selection: the indices of the m lowest Krum scores (scores computed once), best first.
 * 1 ≤ m ≤ n − f.
 * @throws AggregationError as `krumScores`, plus ERR_BAD_OPTION for m
 */
export function multiKrumSelect(vectors: readonly Float32Array[], f: number, m: number, options: KrumOptions = {}): number[] {
  const scores = krumScores(vectors, f, options);
  const n = vectors.length;
  checkOption(Number.isInteger(m) && m >= 1 && m <= n - f, 'multiKrum', `m is ${m}; expected an integer in [1, n − f] = [1, ${n - f}]`);
  return rankScores(scores).slice(0, m);
}

/**
 * Multi-Krum: the mean of the m inputs with the lowest Krum scores.
 * @throws AggregationError as `multiKrumSelect`
 */
export function multiKrum(vectors: readonly Float32Array[], f: number, m: number, out?: Float32Array, options: KrumOptions = {}): Float32Array {
  const picked = multiKrumSelect(vectors, f, m, options);
  return mean(picked.map((i) => vectors[i]!), out);
}

