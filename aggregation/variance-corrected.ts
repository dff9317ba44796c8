/**
 * Variance-corrected model averaging (Tian, Al-Ars, Kitsak, Hofstee, arXiv 2404.04616, 2024;
 * ALGORITHMS.md §1.2–1.3 and §8 "Variance correction"). Averaging N uncorrelated models shrinks each
 * tensor's variance to about σ²/N; after averaging, each corrected tensor is rescaled around its mean so
 * its variance equals the mean variance of the models that went into the average:
 *
 *   W̄  = β·W_s + (1 − β)·(1/N)·Σ W_i            (β = ownWeight; β = 0 is the paper-era train_0_average_100)
 *   σ²_t = (1/N)·Σ Var(W_i)                      (target 'received', the default)
 *        | β·Var(W̄) + (1 − β)·(1/N)·Σ Var(W_i)   (target 'follow-beta': DFL_torch reads Var(own) after the
 *                                                 own model was overwritten by W̄, §8)
 *   W'  = μ + (W̄ − μ)·sqrt((σ²_t + ε)/(σ² + ε)),  μ = mean(W̄), σ² = Var(W̄)
 *
 * Only tensors whose role is in `roles` (default ['kernel'], the paper-era C++ "blobs[0] only") and with
 * more than one element are rescaled; the others are just averaged. If σ² = 0 and ε = 0 the tensor is
 * left unchanged. The presets below reproduce the two reference implementations.
 */
import type { Layout, TensorRole, TensorSpec } from './layout.js';
import { TENSOR_ROLES } from './layout.js';
import { AggregationError, checkOption, checkVectors, outBuffer } from './errors.js';
import { MeanAccumulator, mean } from './mean.js';
import { plainSumsKernel, rescaleKernel, shiftedSumsKernel, SUM_KERNEL_MIN_FLOATS, weightedSumToF32 } from './kernels/sums.js';
import { kernels, type Kernels } from './kernels/wasm.js';

/** Tensors of at least this many elements get their variance from the WebAssembly kernels (when they run). */
const VARIANCE_KERNEL_MIN = 512;

/** Variance estimator: 'population' divides by n (paper-era C++, tf.moments), 'unbiased' by n − 1 (torch.var). */
export type VarianceEstimator = 'population' | 'unbiased';

/** Whose variance the corrected tensor should have (see the file header). */
export type VarianceTarget = 'received' | 'follow-beta';

/** Options of the variance correction; every field has the paper-era default. */
export interface VarianceCorrectionOptions {
  /** β: weight of the own model in the average, in [0, 1]. Default 0 (own model excluded). */
  readonly ownWeight?: number;
  /** Roles of the tensors to rescale. Default ['kernel']. */
  readonly roles?: readonly TensorRole[];
  /** Default 'population'. */
  readonly estimator?: VarianceEstimator;
  /** ε added to both variances, ≥ 0. Default 0 (DFL_torch uses 1e-4). */
  readonly epsilon?: number;
  /** Default 'received'. */
  readonly target?: VarianceTarget;
}

/** The paper-era C++ simulator (DFL2 @9968f33): own model excluded, kernels only, ÷n, no ε. */
export const VV_PAPER_ERA: Readonly<Required<VarianceCorrectionOptions>> = Object.freeze({
  ownWeight: 0, roles: Object.freeze(['kernel'] as TensorRole[]), estimator: 'population', epsilon: 0, target: 'received',
});

/** The DFL_torch port (@9ded1ad): every trainable tensor, ÷(n−1), ε = 1e-4; set ownWeight as that run did. */
export const VV_DFL_TORCH: Readonly<Required<VarianceCorrectionOptions>> = Object.freeze({
  ownWeight: 0, roles: Object.freeze(['kernel', 'bias', 'norm'] as TensorRole[]), estimator: 'unbiased', epsilon: 1e-4, target: 'received',
});

/** Minimum number of received models of the variance-corrected mean. */
export const VV_MIN_INPUTS = 1;

type Resolved = Required<VarianceCorrectionOptions>;

/** |scale − 1| at or below this is treated as 1 (see rescaleTensors). */
const SCALE_NOISE = 8 * Number.EPSILON;

function resolve(rule: string, o: VarianceCorrectionOptions): Resolved {
  // An option given as undefined takes its default.
  const r: Resolved = {
    ownWeight: o.ownWeight ?? VV_PAPER_ERA.ownWeight, roles: o.roles ?? VV_PAPER_ERA.roles, estimator: o.estimator ?? VV_PAPER_ERA.estimator,
    epsilon: o.epsilon ?? VV_PAPER_ERA.epsilon, target: o.target ?? VV_PAPER_ERA.target,
  };
  checkOption(Number.isFinite(r.ownWeight) && r.ownWeight >= 0 && r.ownWeight <= 1, rule, `ownWeight is ${r.ownWeight}; expected β in [0, 1]`);
  checkOption(r.estimator === 'population' || r.estimator === 'unbiased', rule, `estimator is ${String(r.estimator)}; expected 'population' or 'unbiased'`);
  checkOption(Number.isFinite(r.epsilon) && r.epsilon >= 0, rule, `epsilon is ${r.epsilon}; expected a finite value ≥ 0`);
  checkOption(r.target === 'received' || r.target === 'follow-beta', rule, `target is ${String(r.target)}; expected 'received' or 'follow-beta'`);
  for (const role of r.roles) checkOption(TENSOR_ROLES.includes(role), rule, `unknown role ${String(role)}; roles are ${TENSOR_ROLES.join(', ')}`);
  return r;
}

/** The tensors that get rescaled: role in `roles` and more than one element. */
export function correctedTensors(layout: Layout, roles: readonly TensorRole[]): TensorSpec[] {
  return layout.tensors.filter((t) => t.size > 1 && roles.includes(t.role));
}

/**
 * Kernel path: Σx² may exceed Σ(x − μ)² by at most this factor (|μ| ≤ ~16σ) for the one-pass variance
 * (Σx² − (Σx)²/n)/n to be used; beyond it the tensor is read again, shifted by its first element.
 *
 * Why it is safe: each of Σx and Σx² is summed in Float64 (x² of a float32 is exact) in two lanes per segment
 * of 8192 (1024 chunk sums of 8 elements per lane, each a two-level tree: kernels/assembly/mean.ts plainSums) and
 * then across segments, so each is off by at most γ = (1024 + 4 + segments)·2⁻⁵³ ≤ 2.6e-13 (tensors up to 10M
 * elements) relative to Σ|x|, Σx²; by Cauchy–Schwarz the error of Σx² − (Σx)²/n is then at most
 * 3γ·Σx² ≤ 3γ·256·Σ(x − μ)², i.e. the variance is within 2e-10 relative of the exact one (tested against a
 * Float64 two-pass oracle in variance-kernel.test.ts). The rescale factor √(target/variance) moves by half that, far
 * below a float32 ulp (6e-8): a corrected value moves by at most one ulp, and only when it lies within ~0.01 ulp
 * of a rounding boundary (or where it cancels against μ).
 */
export const PLAIN_MAX_CANCELLATION = 256;

/**
 * Variance of x[offset .. offset+size) in Float64. In JS: one pass over values shifted by the first element
 * (so the sum of squares does not cancel catastrophically). With the kernels (size ≥ 512): see
 * PLAIN_MAX_CANCELLATION. size ≥ 2 for 'unbiased'.
 */
export function tensorVariance(x: Float32Array, offset: number, size: number, estimator: VarianceEstimator = 'population'): number {
  if (size === 0) return 0;
  const wasm = size >= VARIANCE_KERNEL_MIN ? kernels() : null;
  if (wasm) {
    const [s1, s2] = plainSumsKernel(wasm, x, offset, size);
    return kernelMoments(wasm, x, offset, size, s1, s2, estimator).variance;
  }
  const k = x[offset]!;
  let s1 = 0, s2 = 0, t1 = 0, t2 = 0;
  const end = offset + size;
  let i = offset;
  // Two independent accumulator pairs halve the add-latency chain.
  for (; i + 1 < end; i += 2) {
    const a = x[i]! - k, b = x[i + 1]! - k;
    s1 += a; s2 += a * a; t1 += b; t2 += b * b;
  }
  if (i < end) { const a = x[i]! - k; s1 += a; s2 += a * a; }
  s1 += t1; s2 += t2;
  return varianceFromSums(s1, s2, size, estimator);
}

/**
 * μ and the variance of x[offset .. offset+size) from the kernels' Σx and Σx² over it (`plainSumsKernel`, or
 * the same sums taken while averaging): one-pass when well conditioned, else from shifted sums (see
 * PLAIN_MAX_CANCELLATION). The fused and the incremental paths both end here, so they agree bit for bit.
 */
function kernelMoments(wasm: Kernels, x: Float32Array, offset: number, size: number, s1: number, s2: number, estimator: VarianceEstimator): { mu: number; variance: number } {
  const ss = s2 - (s1 * s1) / size;
  if (ss * PLAIN_MAX_CANCELLATION >= s2) return { mu: s1 / size, variance: ss / (estimator === 'unbiased' ? size - 1 : size) };
  const shift = x[offset]!, [a1, a2] = shiftedSumsKernel(wasm, x, offset, size, shift);
  return { mu: shift + a1 / size, variance: varianceFromSums(a1, a2, size, estimator) };
}

/** The variance from Σa and Σa² of shifted values (a = x − x₀) over `size` elements. */
function varianceFromSums(s1: number, s2: number, size: number, estimator: VarianceEstimator): number {
  const ss = Math.max(0, s2 - (s1 * s1) / size);
  return ss / (estimator === 'unbiased' ? size - 1 : size);
}

/**
 * The variance-corrected mean of the received models (and the own model with weight β), per the file
 * header. `own` is required even with β = 0 (its length is checked; it is read only when β > 0).
 * `out` may be `own`.
 * @throws AggregationError ERR_TOO_FEW_INPUTS (no received model), ERR_LENGTH_MISMATCH (a vector or
 *   `out` ≠ layout.size), ERR_BAD_OPTION
 */
export function varianceCorrectedMean(
  layout: Layout, own: Float32Array, received: readonly Float32Array[], options: VarianceCorrectionOptions = {}, out?: Float32Array,
): Float32Array {
  const rule = 'varianceCorrectedMean';
  const o = resolve(rule, options);
  checkVectors(rule, [own], 1, layout.size);
  checkVectors(rule, received, VV_MIN_INPUTS, layout.size);
  const tensors = correctedTensors(layout, o.roles);
  const buffer = outBuffer(rule, layout.size, out === own ? undefined : out);
  // With the kernels, the large tensors' variance sums ride along the mean's staged pass (one read of each input).
  const wasm = kernels();
  const big = wasm && layout.size * received.length >= SUM_KERNEL_MIN_FLOATS ? tensors.filter((t) => t.size >= VARIANCE_KERNEL_MIN) : [];
  const fused = big.length > 0 ? { tensors: big, sums: new Float64Array(2 * received.length * big.length) } : null;
  const averaged = fused ? (weightedSumToF32(wasm!, received, null, received.length, buffer, fused), buffer) : mean(received, buffer);
  const varMean = new Float64Array(tensors.length);
  received.forEach((v, j) => {
    for (let t = 0, b = 0; t < tensors.length; t++) {
      const { offset, size } = tensors[t]!;
      if (fused && size >= VARIANCE_KERNEL_MIN) {
        const at = 2 * (j * big.length + b);
        varMean[t] += kernelMoments(wasm!, v, offset, size, fused.sums[at]!, fused.sums[at + 1]!, o.estimator).variance;
        b++;
      } else varMean[t] += tensorVariance(v, offset, size, o.estimator);
    }
  });
  for (let t = 0; t < tensors.length; t++) varMean[t] = varMean[t]! / received.length;
  const res = mixOwn(own, averaged, o.ownWeight);
  rescaleTensors(res, tensors, varMean, o);
  if (out === own) { own.set(res); return own; }
  return res;
}

/** res ← β·own + (1 − β)·res, element-wise in Float64. */
function mixOwn(own: Float32Array, res: Float32Array, beta: number): Float32Array {
  if (beta === 0) return res;
  const b = 1 - beta;
  for (let i = 0; i < res.length; i++) res[i] = beta * own[i]! + b * res[i]!;
  return res;
}

/** Rescale each tensor of `res` around its mean to the target variance (file header). */
function rescaleTensors(res: Float32Array, tensors: readonly TensorSpec[], receivedVar: Float64Array, o: Resolved): void {
  for (let t = 0; t < tensors.length; t++) {
    const { offset, size } = tensors[t]!;
    const wasm = size >= VARIANCE_KERNEL_MIN ? kernels() : null;
    let mu: number, variance: number;
    if (wasm) {
      // One pass for both, as for the received models (kernelMoments), so N identical models give their own
      // variance back; the rescale below in SIMD lanes with the same operations.
      const [s1, s2] = plainSumsKernel(wasm, res, offset, size);
      ({ mu, variance } = kernelMoments(wasm, res, offset, size, s1, s2, o.estimator));
    } else {
      let sum = 0;
      for (let i = offset; i < offset + size; i++) sum += res[i]!;
      mu = sum / size;
      variance = tensorVariance(res, offset, size, o.estimator);
    }
    const target = o.target === 'follow-beta' ? o.ownWeight * variance + (1 - o.ownWeight) * receivedVar[t]! : receivedVar[t]!;
    const denominator = variance + o.epsilon;
    if (denominator === 0) continue;
    const scale = Math.sqrt((target + o.epsilon) / denominator);
    // A scale within a few ulps of 1 is rounding noise (e.g. the mean of N equal variances): it would
    // move no value by a float32 ulp, except ones that cancel against μ, so skipping keeps averaging
    // identical models an exact identity.
    if (Math.abs(scale - 1) <= SCALE_NOISE) continue;
    if (wasm) rescaleKernel(wasm, res, offset, size, mu, scale);
    else for (let i = offset; i < offset + size; i++) res[i] = mu + (res[i]! - mu) * scale;
  }
}

/**
 * Incremental variance correction for asynchronous gossip (ALGORITHMS.md §1.3): keeps a Float64 running
 * sum of the received models, a running Σ Var(W_i) per corrected tensor and the count, so no model is
 * buffered. The roles and the estimator are fixed at construction because variances are taken on
 * receipt. `result` equals `varianceCorrectedMean` over the same models, bit for bit.
 */
export class VarianceCorrectionBuffer {
  readonly layout: Layout;
  private readonly acc: MeanAccumulator;
  private readonly tensors: TensorSpec[];
  private readonly varSum: Float64Array;
  private readonly fixed: Pick<Resolved, 'roles' | 'estimator'>;

  /** @throws AggregationError ERR_BAD_OPTION */
  constructor(layout: Layout, options: Pick<VarianceCorrectionOptions, 'roles' | 'estimator'> = {}) {
    const o = resolve('VarianceCorrectionBuffer', options);
    this.layout = layout;
    this.fixed = { roles: o.roles, estimator: o.estimator };
    this.acc = new MeanAccumulator(layout.size);
    this.tensors = correctedTensors(layout, o.roles);
    this.varSum = new Float64Array(this.tensors.length);
  }

  /** Number of models added since construction or the last reset. */
  get count(): number { return this.acc.count; }

  /**
   * Add one received model.
   * @throws AggregationError ERR_LENGTH_MISMATCH
   */
  add(vector: Float32Array): void {
    this.acc.add(vector);
    for (let t = 0; t < this.tensors.length; t++) {
      this.varSum[t] += tensorVariance(vector, this.tensors[t]!.offset, this.tensors[t]!.size, this.fixed.estimator);
    }
  }

  /** Whether at least `bufferSize` models were added (the simulator's aggregation trigger). */
  ready(bufferSize: number): boolean {
    return this.acc.count >= bufferSize;
  }

  /**
   * The corrected mean of the models added so far, mixed with `own` by `ownWeight`; does not reset.
   * @throws AggregationError ERR_TOO_FEW_INPUTS (nothing added), ERR_LENGTH_MISMATCH, ERR_BAD_OPTION
   */
  result(own: Float32Array, options: Pick<VarianceCorrectionOptions, 'ownWeight' | 'epsilon' | 'target'> = {}, out?: Float32Array): Float32Array {
    const rule = 'VarianceCorrectionBuffer.result';
    const o = resolve(rule, { ...options, ...this.fixed });
    checkVectors(rule, [own], 1, this.layout.size);
    if (this.acc.count < VV_MIN_INPUTS) {
      throw new AggregationError('ERR_TOO_FEW_INPUTS', `${rule}: needs at least ${VV_MIN_INPUTS} received model, got 0`);
    }
    const n = this.acc.count;
    const varMean = this.varSum.map((s) => s / n);
    const res = mixOwn(own, this.acc.result(outBuffer(rule, this.layout.size, out === own ? undefined : out)), o.ownWeight);
    rescaleTensors(res, this.tensors, varMean, o);
    if (out === own) { own.set(res); return own; }
    return res;
  }

  /** Forget every model added. */
  reset(): void {
    this.acc.reset();
    this.varSum.fill(0);
  }
}
