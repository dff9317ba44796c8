/**
 * FRL supermask models (edge-popup): every layer holds frozen "signed constant" weights W and trainable
 * scores S of the same shape; the forward pass uses W ⊙ mask, mask = the top-k fraction of |S| in the
 * layer; the backward pass is straight-through, so ∂L/∂S = sign(S) · ∂L/∂mask (ALGORITHMS.md §5.1,
 * SPIN-UMass/FRL `models/modules.py` MaskConv + `module_util.py` GetSubnet; notes/tfjs.md §7).
 *
 * Only the scores are trainable weights, so a model's Layout (the travelling vector) is the scores alone,
 * role 'score'. W is a non-trainable weight derived from the spec's seed when the layer is built; it never
 * travels, so every peer of a swarm must build from the same seed (and a worker caches one model per seed).
 */
import * as tf from '@tensorflow/tfjs';
import { supermaskKeptCount } from '../../aggregation/frl.js';
import type { Layout } from '../../aggregation/layout.js';
import { rngFor } from '../data/rng.js';
import type { SupermaskCnnSpec, SupermaskMlpSpec } from './model-spec.js';

/** Fraction of each layer's edges kept by the mask (FRL's `sparsity` = k, 0.5 in every FRL experiment). */
export const DEFAULT_SPARSITY = 0.5;
/** ReLU gain of the signed-constant weights, |W| = gain/√fan_in (PyTorch `calculate_gain('relu')`). */
export const SIGNED_CONSTANT_GAIN = Math.SQRT2;


// |s| as an order-preserving integer key: the float's bits without the sign (non-negative floats sort like
// their bit patterns). Keys above INF_KEY are NaN.
const ABS_MASK = 0x7fffffff;
const INF_KEY = 0x7f800000;
// 31-bit keys → 65,536 buckets of 1/128 of a binade: the threshold's bucket holds well under 1% of a layer.
const BUCKET_SHIFT = 15;
// Per-thread scratch (a worker runs one task at a time); never the scores' own storage, which on the cpu
// backend is the tensor itself (notes/tfjs.md §3).
const histogram = new Uint32Array(1 << (31 - BUCKET_SHIFT));
let bucketKeys = new Uint32Array(0);

/** The k-th largest of keys[0, m) (1 ≤ k ≤ m) by quickselect, reordering `keys`. */
function kthLargestKey(keys: Uint32Array, m: number, k: number): number {
  const t = m - k; // ascending position
  let lo = 0, hi = m - 1;
  while (lo < hi) {
    // Median of three: a value present in [lo, hi], so the scans below cannot run past the range.
    const x = keys[lo]!, y = keys[(lo + hi) >>> 1]!, z = keys[hi]!;
    const p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    let i = lo, j = hi;
    while (i <= j) {
      while (keys[i]! < p) i++;
      while (keys[j]! > p) j--;
      if (i <= j) { const s = keys[i]!; keys[i] = keys[j]!; keys[j] = s; i++; j--; }
    }
    // Now keys[lo..j] ≤ p ≤ keys[i..hi], and every entry strictly between j and i equals p.
    if (t <= j) hi = j; else if (t >= i) lo = i; else break;
  }
  return keys[t]!;
}

/**
 * The supermask of one layer: 1 for the `supermaskKeptCount(n, sparsity)` entries of largest |score|, else 0,
 * ties at the threshold resolved by that function's rule (aggregation/frl.ts: the highest indices are kept), so
 * the count is exact and every peer, and the vote's `maskTopKAbs`, derive the same mask.
 * NaN scores are never kept (a layer with fewer finite-or-infinite scores than k keeps all of them).
 * `scores` is only read.
 *
 * O(n): a histogram of the |s| keys finds the threshold's bucket, a quickselect on a scratch copy of that
 * bucket's few entries finds the threshold, then one branch-free pass writes the mask. The threshold is the
 * supermask's hot spot (notes/tfjs.md §7): for 200,704 scores this takes ~1.4 ms, a quickselect on a copy of
 * the whole layer ~5.8 ms, a sort ~18 ms.
 */
export function maskOf(scores: Float32Array, sparsity: number): Float32Array {
  const n = scores.length;
  const mask = new Float32Array(n);
  const k = supermaskKeptCount(n, sparsity);
  if (k === 0) return mask;
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  histogram.fill(0);
  for (let i = 0; i < n; i++) {
    const u = bits[i]! & ABS_MASK;
    if (u <= INF_KEY) histogram[u >>> BUCKET_SHIFT]!++;
  }
  let above = 0, b = histogram.length - 1;
  for (; b >= 0; b--) {
    const c = histogram[b]!;
    if (above + c >= k) break;
    above += c;
  }
  let threshold = 0, excess = 0;
  if (b >= 0) {
    if (bucketKeys.length < histogram[b]!) bucketKeys = new Uint32Array(Math.max(histogram[b]!, 2 * bucketKeys.length));
    let m = 0;
    for (let i = 0; i < n; i++) {
      const u = bits[i]! & ABS_MASK;
      if (u >>> BUCKET_SHIFT === b && u <= INF_KEY) bucketKeys[m++] = u;
    }
    threshold = kthLargestKey(bucketKeys, m, k - above);
    let atOrAbove = above;
    for (let j = 0; j < m; j++) if (bucketKeys[j]! >= threshold) atOrAbove++;
    excess = atOrAbove - k;
  }
  for (let i = 0; i < n; i++) {
    const u = bits[i]! & ABS_MASK;
    mask[i] = +(u >= threshold) & +(u <= INF_KEY);
  }
  // Ties at the threshold beyond k: drop the lowest-indexed ones (supermaskKeptCount's rule keeps the highest).
  for (let i = 0; excess > 0; i++) {
    if ((bits[i]! & ABS_MASK) === threshold) { mask[i] = 0; excess--; }
  }
  return mask;
}

/**
 * mask(|S|) with a straight-through gradient (`dy => dy`); applied to tf.abs(S) it gives
 * ∂L/∂S = sign(S)·∂L/∂mask, FRL's rule. The mask is built in JS into a fresh array (a reused buffer would
 * alias an earlier mask tensor on the cpu backend).
 */
export function supermaskOp(sparsity: number): (absScores: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const s = args[0] as tf.Tensor;
    const mask = maskOf(s.dataSync() as Float32Array, sparsity);
    return { value: tf.tensor(mask, s.shape), gradFunc: (dy: tf.Tensor) => dy };
  }) as (absScores: tf.Tensor) => tf.Tensor;
}

/** fan_in of a kernel shape: [in, out] for dense, [kh, kw, in, out] for conv (PyTorch's fan_in mode). */
function fanInOf(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** Frozen weights of tensor `name`: ±√2/√fan_in, the sign from stream rngFor('init', seed, name). */
export function signedConstantWeights(seed: number | string, name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const c = SIGNED_CONSTANT_GAIN / Math.sqrt(fanInOf(shape));
  const rng = rngFor('init', seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() < 0.5 ? -c : c;
  return out;
}

/** Initial scores of tensor `name`: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform, a = √5) from rngFor('init', seed, name). */
export function initialScoreValues(seed: number | string, name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const b = 1 / Math.sqrt(fanInOf(shape));
  const rng = rngFor('init', seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * b;
  return out;
}

/**
 * The initial vector of a supermask spec: each 'score' tensor from `initialScoreValues(seed, its name)`,
 * the values its layer draws when built (FRL's S⁰, whose sorted values V are the vote's fixed table).
 * Tensors of other roles, which a supermask layout does not have, stay 0.
 */
export function supermaskInitialScores(spec: SupermaskMlpSpec | SupermaskCnnSpec, layout: Layout): Float32Array {
  const v = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    if (t.role === 'score') v.set(initialScoreValues(spec.seed, t.name, t.shape), t.offset);
  }
  return v;
}

/** Config of a supermask layer; JSON-able, so models save and load as TF.js Layers files. */
export interface SupermaskLayerArgs {
  /** Explicit layer name: the tensors are `<name>/kernel` (frozen) and `<name>/scores` (trained). */
  name: string;
  seed: number | string;
  /** Fraction kept, in (0, 1]; default DEFAULT_SPARSITY. */
  sparsity?: number;
  activation?: 'relu' | 'linear';
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  trainable?: boolean;
}

/** Shared part of the masked dense and conv layers: W, S, the mask op and the activation. */
abstract class SupermaskLayer extends tf.layers.Layer {
  readonly seed: number | string;
  readonly sparsity: number;
  readonly activation: 'relu' | 'linear';
  private readonly supermask: (absScores: tf.Tensor) => tf.Tensor;
  protected kernel: tf.LayerVariable | null = null;
  protected scores: tf.LayerVariable | null = null;

  constructor(args: SupermaskLayerArgs) {
    super(args);
    this.seed = args.seed;
    this.sparsity = args.sparsity ?? DEFAULT_SPARSITY;
    this.activation = args.activation ?? 'linear';
    this.supermask = supermaskOp(this.sparsity);
  }

  /** Shape of W and S for an input of `inputShape` (batch axis first). */
  protected abstract weightShape(inputShape: tf.Shape): number[];
  /** The layer's op with effective weights `w`. */
  protected abstract forward(x: tf.Tensor, w: tf.Tensor): tf.Tensor;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = this.weightShape((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape);
    this.kernel = this.addWeight('kernel', shape, 'float32', tf.initializers.zeros(), undefined, false);
    this.scores = this.addWeight('scores', shape, 'float32', tf.initializers.zeros(), undefined, true);
    for (const [v, values] of [
      [this.kernel, signedConstantWeights(this.seed, `${this.name}/kernel`, shape)],
      [this.scores, initialScoreValues(this.seed, `${this.name}/scores`, shape)],
    ] as const) {
      const t = tf.tensor(values, shape);
      v.write(t);
      t.dispose();
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const w = tf.mul(this.kernel!.read(), this.supermask(tf.abs(this.scores!.read())));
      const y = this.forward(x, w);
      return this.activation === 'relu' ? tf.relu(y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed, sparsity: this.sparsity, activation: this.activation };
  }
}

/** Fully connected supermask layer, no bias: y = x · (W ⊙ mask), W of shape [in, units]. */
export class MaskedDense extends SupermaskLayer {
  static readonly className = 'MaskedDense';
  readonly units: number;
  constructor(args: SupermaskLayerArgs & { units: number }) {
    super(args);
    this.units = args.units;
  }
  protected weightShape(inputShape: tf.Shape): number[] { return [inputShape[inputShape.length - 1]!, this.units]; }
  protected forward(x: tf.Tensor, w: tf.Tensor): tf.Tensor { return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D); }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...s.slice(0, -1), this.units];
  }
  override getConfig(): tf.serialization.ConfigDict { return { ...super.getConfig(), units: this.units }; }
}

/** 2-D convolution supermask layer, stride 1, no bias: W of shape [k, k, in, filters] (NHWC). */
export class MaskedConv2D extends SupermaskLayer {
  static readonly className = 'MaskedConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly padding: 'same' | 'valid';
  constructor(args: SupermaskLayerArgs & { filters: number; kernelSize: number; padding?: 'same' | 'valid' }) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.padding = args.padding ?? 'same';
  }
  protected weightShape(inputShape: tf.Shape): number[] {
    return [this.kernelSize, this.kernelSize, inputShape[inputShape.length - 1]!, this.filters];
  }
  protected forward(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, this.padding);
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [b, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (d: number | null) => (d === null ? null : this.padding === 'same' ? d : d - this.kernelSize + 1);
    return [b ?? null, out(h ?? null), out(w ?? null), this.filters];
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, padding: this.padding };
  }
}

// Registered on import so saved supermask models load back through tf.loadLayersModel (layers-io.ts).
tf.serialization.registerClass(MaskedDense);
tf.serialization.registerClass(MaskedConv2D);

/**
 * The architecture of a supermask spec, its frozen W and initial scores already in place (seeded per
 * tensor). supermask-mlp: [flatten] → masked dense `hidden` (ReLU) → masked dense `classes`.
 * supermask-cnn (FRL's MNIST LeNet, `models/small.py`): masked conv3×3 c1 (same, ReLU) → masked conv3×3 c2
 * (same, ReLU) → max-pool 2 → flatten → masked dense `dense` (ReLU) → masked dense `classes`; defaults
 * c1 = 32, c2 = 64, dense = [128].
 */
export function buildSupermaskArchitecture(spec: SupermaskMlpSpec | SupermaskCnnSpec): tf.LayersModel {
  const model = tf.sequential({ name: spec.arch });
  const common = { seed: spec.seed, sparsity: spec.sparsity ?? DEFAULT_SPARSITY };
  const first = () => (model.layers.length === 0 ? { inputShape: [...spec.inputShape] } : {});
  if (spec.arch === 'supermask-cnn') {
    const [c1, c2] = spec.filters ?? [32, 64];
    model.add(new MaskedConv2D({ ...common, ...first(), name: 'conv0', filters: c1, kernelSize: 3, padding: 'same', activation: 'relu' }));
    model.add(new MaskedConv2D({ ...common, name: 'conv1', filters: c2, kernelSize: 3, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
    model.add(tf.layers.flatten({ name: 'flatten' }));
    (spec.dense ?? [128]).forEach((units, i) => model.add(new MaskedDense({ ...common, name: `dense${i}`, units, activation: 'relu' })));
  } else {
    // Flatten only multi-dimensional inputs (it needs rank ≥ 3 including the batch axis).
    if (spec.inputShape.length > 1) model.add(tf.layers.flatten({ name: 'flatten', inputShape: [...spec.inputShape] }));
    spec.hidden.forEach((units, i) => model.add(new MaskedDense({ ...common, ...first(), name: `dense${i}`, units, activation: 'relu' })));
  }
  model.add(new MaskedDense({ ...common, ...first(), name: 'out', units: spec.classes }));
  return model;
}
