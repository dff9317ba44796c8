/**
 * Plain and weighted means of flat parameter vectors: FedAvg-style averaging (McMahan et al., AISTATS 2017)
 * and the building block of every other rule here (ALGORITHMS.md §0, §1, §3.2 "avg = mean(models)").
 *
 * Sums run in Float64 over blocks of coordinates: a 32 KiB Float64 block stays in L1 while each input
 * streams through it once, and the result is rounded to Float32 once per coordinate. `out` may be one of
 * the inputs (every rule here is element-wise per block); inputs are otherwise never written. With the
 * WebAssembly kernels (kernels/wasm.ts) the same sums run with SIMD across coordinates, bit for bit equal.
 */
import { AggregationError, checkOption, checkVectors, outBuffer } from './errors.js';
import { SUM_KERNEL_MIN_FLOATS, weightedSumToF32 } from './kernels/sums.js';
import { kernels } from './kernels/wasm.js';

/** Minimum number of inputs of `mean` and `weightedMean`. */
export const MEAN_MIN_INPUTS = 1;

/** Coordinates per Float64 accumulation block (4096 × 8 bytes = 32 KiB). */
export const ACCUMULATION_BLOCK = 4096;

/**
 * Element-wise mean of `vectors` (all the same length, n ≥ 1) into `out` (or a new array).
 * @throws AggregationError ERR_TOO_FEW_INPUTS (n = 0), ERR_LENGTH_MISMATCH
 */
export function mean(vectors: readonly Float32Array[], out?: Float32Array): Float32Array {
  const d = checkVectors('mean', vectors, MEAN_MIN_INPUTS);
  const res = outBuffer('mean', d, out);
  const k = kernels();
  if (k && d * vectors.length >= SUM_KERNEL_MIN_FLOATS) { weightedSumToF32(k, vectors, null, vectors.length, res); return res; }
  const acc = new Float64Array(Math.min(ACCUMULATION_BLOCK, d));
  const n = vectors.length;
  for (let k0 = 0; k0 < d; k0 += ACCUMULATION_BLOCK) {
    const len = Math.min(ACCUMULATION_BLOCK, d - k0);
    sumBlock(vectors, k0, len, acc);
    // Divide (not multiply by 1/n) so n identical inputs give the input back bit for bit.
    for (let i = 0; i < len; i++) res[k0 + i] = acc[i]! / n;
  }
  return res;
}

/**
 * Weighted mean Σ wᵢ·xᵢ / Σ wᵢ: weights are finite, ≥ 0 and normalised here (they need not sum to 1).
 * Zero-weight vectors are skipped.
 * @throws AggregationError ERR_TOO_FEW_INPUTS, ERR_LENGTH_MISMATCH (vectors vs weights vs out),
 *   ERR_BAD_OPTION (a negative or non-finite weight, or all weights 0)
 */
export function weightedMean(vectors: readonly Float32Array[], weights: ArrayLike<number>, out?: Float32Array): Float32Array {
  const d = checkVectors('weightedMean', vectors, MEAN_MIN_INPUTS);
  const total = checkWeights('weightedMean', weights, vectors.length);
  checkOption(total > 0, 'weightedMean', 'the weights sum to 0; at least one weight must be positive');
  const res = outBuffer('weightedMean', d, out);
  const k = kernels();
  if (k && d * vectors.length >= SUM_KERNEL_MIN_FLOATS) {
    const kept = vectors.filter((_, j) => weights[j] !== 0);
    weightedSumToF32(k, kept, Array.from(weights).filter((w) => w !== 0), total, res);
    return res;
  }
  const acc = new Float64Array(Math.min(ACCUMULATION_BLOCK, d));
  for (let k0 = 0; k0 < d; k0 += ACCUMULATION_BLOCK) {
    const len = Math.min(ACCUMULATION_BLOCK, d - k0);
    // Start from the first weighted term rather than 0, so −0 inputs stay −0.
    let first = true;
    for (let j = 0; j < vectors.length; j++) {
      const w = weights[j]!;
      if (w === 0) continue;
      const v = vectors[j]!;
      if (first) for (let i = 0; i < len; i++) acc[i] = w * v[k0 + i]!;
      else for (let i = 0; i < len; i++) acc[i] += w * v[k0 + i]!;
      first = false;
    }
    for (let i = 0; i < len; i++) res[k0 + i] = acc[i]! / total;
  }
  return res;
}

/**
 * Validate weights (finite, ≥ 0, one per input) and return their sum; shared by the weighted rules.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION
 */
export function checkWeights(rule: string, weights: ArrayLike<number>, count: number): number {
  if (weights.length !== count) {
    throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: ${weights.length} weights for ${count} vectors`);
  }
  let total = 0;
  for (let j = 0; j < count; j++) {
    const w = weights[j]!;
    checkOption(Number.isFinite(w) && w >= 0, rule, `weight ${j} is ${w}; weights must be finite and ≥ 0`);
    total += w;
  }
  return total;
}

/**
 * Float64 element-wise sum of `vectors` (same length, n ≥ 1), summed in input order per coordinate, so the
 * result is bit-identical to adding the vectors one by one into a `MeanAccumulator`.
 */
export function sumVectors64(vectors: readonly Float32Array[], out?: Float64Array): Float64Array {
  const d = checkVectors('sumVectors64', vectors, MEAN_MIN_INPUTS);
  const res = out ?? new Float64Array(d);
  if (res.length !== d) throw new AggregationError('ERR_LENGTH_MISMATCH', `sumVectors64: out has ${res.length} elements, expected ${d}`);
  for (let k0 = 0; k0 < d; k0 += ACCUMULATION_BLOCK) {
    sumBlock(vectors, k0, Math.min(ACCUMULATION_BLOCK, d - k0), res.subarray(k0));
  }
  return res;
}

/** acc[0..len) = Σ_j vectors[j][k0..k0+len), in input order. */
function sumBlock(vectors: readonly Float32Array[], k0: number, len: number, acc: Float64Array): void {
  const v0 = vectors[0]!;
  for (let i = 0; i < len; i++) acc[i] = v0[k0 + i]!;
  for (let j = 1; j < vectors.length; j++) {
    const v = vectors[j]!;
    for (let i = 0; i < len; i++) acc[i] += v[k0 + i]!;
  }
}

/**
 * A running (weighted) mean for inputs that arrive one at a time (asynchronous gossip): a Float64 sum of
 * `size` elements, the input count and the total weight. Adding the same vectors in the same order as
 * `mean` gives the same result bit for bit.
 */
export class MeanAccumulator {
  readonly size: number;
  private readonly acc: Float64Array;
  private n = 0;
  private total = 0;

  constructor(size: number) {
    checkOption(Number.isInteger(size) && size >= 0, 'MeanAccumulator', `size is ${size}; expected a non-negative integer`);
    this.size = size;
    this.acc = new Float64Array(size);
  }

  /** Number of vectors added since construction or the last reset. */
  get count(): number { return this.n; }

  /** Sum of the weights added. */
  get totalWeight(): number { return this.total; }

  /** The running Float64 sum Σ wᵢ·xᵢ (a live view; do not write to it). */
  get sum(): Float64Array { return this.acc; }

  /**
   * Add `vector` with `weight` (finite, ≥ 0; default 1).
   * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION
   */
  add(vector: Float32Array, weight = 1): void {
    checkVectors('MeanAccumulator.add', [vector], 1, this.size);
    checkOption(Number.isFinite(weight) && weight >= 0, 'MeanAccumulator.add', `weight is ${weight}; must be finite and ≥ 0`);
    const acc = this.acc;
    // The first input is copied, not added to 0, so the sum matches `mean` bit for bit (−0 included).
    if (this.n === 0) for (let i = 0; i < acc.length; i++) acc[i] = weight * vector[i]!;
    else if (weight === 1) for (let i = 0; i < acc.length; i++) acc[i] += vector[i]!;
    else if (weight !== 0) for (let i = 0; i < acc.length; i++) acc[i] += weight * vector[i]!;
    this.n++;
    this.total += weight;
  }

  /**
   * The mean Σ wᵢ·xᵢ / Σ wᵢ as Float32.
   * @throws AggregationError ERR_TOO_FEW_INPUTS (nothing added, or total weight 0)
   */
  result(out?: Float32Array): Float32Array {
    if (this.total <= 0) {
      throw new AggregationError('ERR_TOO_FEW_INPUTS', `MeanAccumulator.result: needs at least one input of positive weight, got ${this.n} inputs of total weight ${this.total}`);
    }
    const res = outBuffer('MeanAccumulator.result', this.size, out);
    for (let i = 0; i < this.size; i++) res[i] = this.acc[i]! / this.total;
    return res;
  }

  /** Forget every input. */
  reset(): void {
    this.acc.fill(0);
    this.n = 0;
    this.total = 0;
  }
}
