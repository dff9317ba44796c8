/**
 * A plain-JS training kernel for the zoo's dense models (logreg, MLP with ReLU hidden layers; softmax
 * cross-entropy), selected with the train option `kernel: 'js'`. For models this small the per-step
 * overhead of TF.js dominates; loops over Float32Arrays that skip zero inputs (80% of MNIST pixels,
 * and every ReLU zero) are faster than any TF.js form on wasm (notes/batched-training.md §1, variant H;
 * §4: 0.036 s per 8,000-sample logreg round with two workers).
 *
 * Same semantics as train.ts: the same batch plan (batchPlan: same seed ⇒ same batch order), mean loss
 * over the batch, SGD with PyTorch weight decay g ← ∇L + wd·w (biases included), optional momentum
 * v ← μ·v + g reset per call, cosine lr per epoch, labelMap. Results match the TF.js path within float
 * rounding (test: ≤ 1e-4 after a few steps), and are deterministic (no threads, no Math.random).
 *
 * Number formats: weights, momentum and its gradient buffer stay Float32 as in TF.js (a Float64 working copy
 * cost more in copying than it saved); activations and back-propagated gradients are Float64 scratch. Without momentum, weight decay
 * is applied lazily: a layer's kernel is s·K with a scalar s, so decay multiplies s and a step touches only
 * the kernel rows of non-zero inputs (W ← c·W − lr·dW ⇔ s ← c·s, K ← K − (lr/s)·dW); s is folded back
 * into the weights at the end of the call. Inputs are read from a per-dataset CSR copy of the non-zero
 * features (sparseRows), built once per thread. Callers should not detach buffers in a thread that runs it
 * (notes/batched-training.md §5 measured ~30% on such loops; pool.ts stages weights in shared memory).
 */
import type { Dataset } from '../data/dataset.js';
import type { AnyModelSpec } from './create-model.js';
import { checkedWidths, denseBatches, denseWidths, layerOffsets, sparseRows } from './dense-shape.js';
import { trainDenseWasmInPlace } from './dense-wasm.js';
import { resolveTrainOptions, type TrainOptions, type TrainResult } from './train.js';

export { checkedWidths, denseParamCount, denseWidths, layerOffsets, sparseRows, type SparseRows } from './dense-shape.js';

/** Whether `kernel: 'js'` applies to this spec and these options (SAM and frozen subsets need TF.js). */
export function usesDenseJs(spec: AnyModelSpec, options: Pick<TrainOptions, 'kernel' | 'samRho' | 'trainable'>): boolean {
  return options.kernel === 'js' && options.samRho === undefined && options.trainable === undefined && denseWidths(spec) !== null;
}

/** Below this kernel scale the lazy decay is folded back into the weights (keeps K's magnitudes sane). */
const MIN_SCALE = 1e-3;

/** Reusable buffers for one (widths, batch size); the kernel is single-threaded, so one set per thread. */
interface Scratch {
  key: string;
  /** Momentum and gradient buffers (allocated on first use of momentum). */
  v: Float32Array | null;
  g: Float32Array | null;
  /** Labels of the batch's samples (after labelMap). */
  labels: Int32Array;
  /** Activations per layer output (ReLU applied for hidden layers; logits for the last). */
  act: Float64Array[];
  /** Back-propagated gradients for each layer's output. */
  grad: Float64Array[];
  /** Non-zero inputs of each layer, sample i at [from[i], to[i]) of (idx, val); layer 0 points into the CSR. */
  inputs: Inputs[];
}

/** Sparse inputs of one layer for the samples of a batch. */
interface Inputs {
  idx: Int32Array;
  val: Float32Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
}

/** One forward/backward problem: the weights being trained, their layer offsets and the batch. */
interface Net {
  readonly widths: readonly number[];
  readonly offsets: readonly number[];
  readonly w: Float32Array;
  /** Lazy decay factor of each layer's kernel (the true kernel is scale·K). */
  readonly scale: Float64Array;
  readonly s: Scratch;
}

let scratch: Scratch | null = null;

function scratchFor(widths: readonly number[], batch: number): Scratch {
  const key = `${widths.join(',')}/${batch}`;
  if (scratch?.key === key) return scratch;
  scratch = {
    key, v: null, g: null,
    labels: new Int32Array(batch),
    act: widths.slice(1).map((n) => new Float64Array(batch * n)),
    grad: widths.slice(1).map((n) => new Float64Array(batch * n)),
    inputs: widths.slice(0, -1).map((n, l) => ({
      idx: new Int32Array(l === 0 ? 0 : batch * n), val: new Float32Array(l === 0 ? 0 : batch * n),
      from: new Int32Array(batch), to: new Int32Array(batch),
    })),
  };
  return scratch;
}

/**
 * Train the dense model of `spec` from `weights` on `indices` of `ds`; returns the new weights in a new
 * Float32Array (the input is not modified) and the result as train.ts's trainModel does.
 * @throws LayoutMismatchError when `weights` or the dataset do not fit the spec
 * @throws TrainOptionsError for invalid options; AbortError when `signal`/`shouldStop` fires between batches
 */
export function trainDenseJs(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>, options: TrainOptions): { weights: Float32Array; result: TrainResult } {
  const out = weights.slice();
  return { weights: out, result: trainDenseJsInPlace(spec, out, ds, indices, options) };
}

/**
 * trainDenseJs on the caller's vector: `weights` is overwritten with the trained weights (with unspecified
 * values if it throws). For callers that own a private copy (a worker's task): saves an allocation and a copy.
 */
export function trainDenseJsInPlace(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>, options: TrainOptions): TrainResult {
  // The same arithmetic on the WebAssembly SIMD kernels where they run (bit-identical; dense-wasm.ts).
  return trainDenseWasmInPlace(spec, weights, ds, indices, options) ?? trainDenseScalarInPlace(spec, weights, ds, indices, options);
}

/** trainDenseJsInPlace in scalar JS: the fallback where the kernels do not run, and their reference in tests. */
export function trainDenseScalarInPlace(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>, options: TrainOptions): TrainResult {
  const o = resolveTrainOptions(options);
  const widths = checkedWidths(spec, weights, ds);
  const size = weights.length, L = widths.length - 1;
  const offsets = layerOffsets(widths);
  const s = scratchFor(widths, o.batchSize);
  const net: Net = { widths, offsets, w: weights, scale: new Float64Array(L).fill(1), s };
  const csr = sparseRows(ds), first = s.inputs[0]!;
  first.idx = csr.col; first.val = csr.val;
  const momentum = o.momentum > 0;
  if (momentum) {
    if (!s.v || s.v.length !== size) { s.v = new Float32Array(size); s.g = new Float32Array(size); }
    s.v.fill(0);
  }
  let lossSum = 0, steps = 0, samples = 0;
  for (const b of denseBatches(indices, o)) {
    const lr = b.lr;
    for (let i = 0; i < b.size; i++) {
      const row = b.rows[i]!, label = ds.y[row]!;
      s.labels[i] = o.labelMap ? o.labelMap[label]! : label;
      first.from[i] = csr.start[row]!;
      first.to[i] = csr.start[row + 1]!;
    }
    lossSum += forward(net, b.size);
    if (momentum) stepMomentum(net, b.size, lr, o.weightDecay, o.momentum, steps === 0);
    else stepLazy(net, b.size, lr, o.weightDecay);
    steps++; samples += b.size;
  }
  for (let l = 0; l < L; l++) foldScale(net, l);
  return { loss: steps ? lossSum / steps : NaN, steps, samples };
}

/** Multiply layer l's kernel by its lazy decay factor and reset the factor to 1. */
function foldScale(net: Net, l: number): void {
  const sc = net.scale[l]!;
  if (sc === 1) return;
  const w = net.w, off = net.offsets[l]!, end = off + net.widths[l]! * net.widths[l + 1]!;
  for (let i = off; i < end; i++) w[i] = sc * w[i]!;
  net.scale[l] = 1;
}

/**
 * out[o+j] = Σ_{p∈[p0,p1)} val[p]·w[off + idx[p]·fo + j] for j < fo. Register-blocked over j (8, 4, 2, 1
 * columns per pass): V8 keeps the block's sums in registers, 2–2.5× faster than a loop over j per input.
 */
export function gatherDot(out: Float64Array, o: number, fo: number, w: Float32Array, off: number, idx: Int32Array, val: Float32Array, p0: number, p1: number): void {
  let j = 0;
  for (; j + 8 <= fo; j += 8) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let p = p0; p < p1; p++) {
      const v = val[p]!, r = off + idx[p]! * fo + j;
      a0 += v * w[r]!; a1 += v * w[r + 1]!; a2 += v * w[r + 2]!; a3 += v * w[r + 3]!;
      a4 += v * w[r + 4]!; a5 += v * w[r + 5]!; a6 += v * w[r + 6]!; a7 += v * w[r + 7]!;
    }
    out[o + j] = a0; out[o + j + 1] = a1; out[o + j + 2] = a2; out[o + j + 3] = a3;
    out[o + j + 4] = a4; out[o + j + 5] = a5; out[o + j + 6] = a6; out[o + j + 7] = a7;
  }
  for (; j + 4 <= fo; j += 4) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let p = p0; p < p1; p++) {
      const v = val[p]!, r = off + idx[p]! * fo + j;
      a0 += v * w[r]!; a1 += v * w[r + 1]!; a2 += v * w[r + 2]!; a3 += v * w[r + 3]!;
    }
    out[o + j] = a0; out[o + j + 1] = a1; out[o + j + 2] = a2; out[o + j + 3] = a3;
  }
  for (; j + 2 <= fo; j += 2) {
    let a0 = 0, a1 = 0;
    for (let p = p0; p < p1; p++) { const v = val[p]!, r = off + idx[p]! * fo + j; a0 += v * w[r]!; a1 += v * w[r + 1]!; }
    out[o + j] = a0; out[o + j + 1] = a1;
  }
  for (; j < fo; j++) {
    let a0 = 0;
    for (let p = p0; p < p1; p++) a0 += val[p]! * w[off + idx[p]! * fo + j]!;
    out[o + j] = a0;
  }
}

/** target[off + idx[p]·fo + j] += a·val[p]·g[gi+j] for p ∈ [p0,p1), j < fo: the sparse half of xᵀ·G, blocked like gatherDot. */
function scatterOuter(target: Float32Array, off: number, fo: number, idx: Int32Array, val: Float32Array, p0: number, p1: number, a: number, g: Float64Array, gi: number): void {
  let j = 0;
  for (; j + 8 <= fo; j += 8) {
    const g0 = a * g[gi + j]!, g1 = a * g[gi + j + 1]!, g2 = a * g[gi + j + 2]!, g3 = a * g[gi + j + 3]!;
    const g4 = a * g[gi + j + 4]!, g5 = a * g[gi + j + 5]!, g6 = a * g[gi + j + 6]!, g7 = a * g[gi + j + 7]!;
    for (let p = p0; p < p1; p++) {
      const v = val[p]!, r = off + idx[p]! * fo + j;
      target[r] += v * g0; target[r + 1] += v * g1; target[r + 2] += v * g2; target[r + 3] += v * g3;
      target[r + 4] += v * g4; target[r + 5] += v * g5; target[r + 6] += v * g6; target[r + 7] += v * g7;
    }
  }
  for (; j + 4 <= fo; j += 4) {
    const g0 = a * g[gi + j]!, g1 = a * g[gi + j + 1]!, g2 = a * g[gi + j + 2]!, g3 = a * g[gi + j + 3]!;
    for (let p = p0; p < p1; p++) {
      const v = val[p]!, r = off + idx[p]! * fo + j;
      target[r] += v * g0; target[r + 1] += v * g1; target[r + 2] += v * g2; target[r + 3] += v * g3;
    }
  }
  for (; j + 2 <= fo; j += 2) {
    const g0 = a * g[gi + j]!, g1 = a * g[gi + j + 1]!;
    for (let p = p0; p < p1; p++) { const v = val[p]!, r = off + idx[p]! * fo + j; target[r] += v * g0; target[r + 1] += v * g1; }
  }
  for (; j < fo; j++) {
    const g0 = a * g[gi + j]!;
    for (let p = p0; p < p1; p++) target[off + idx[p]! * fo + j] += val[p]! * g0;
  }
}

/** Forward pass into s.act; returns the batch's mean cross-entropy and leaves dLoss/dlogits in the last grad. */
function forward(net: Net, size: number): number {
  const { widths, offsets, w, scale, s } = net;
  const L = widths.length - 1;
  for (let l = 0; l < L; l++) {
    const fi = widths[l]!, fo = widths[l + 1]!, off = offsets[l]!, bias = off + fi * fo, sc = scale[l]!;
    const out = s.act[l]!, inp = s.inputs[l]!, next = l + 1 < L ? s.inputs[l + 1]! : null;
    for (let i = 0; i < size; i++) {
      const o = i * fo;
      gatherDot(out, o, fo, w, off, inp.idx, inp.val, inp.from[i]!, inp.to[i]!);
      if (next === null) {
        for (let j = 0; j < fo; j++) out[o + j] = sc * out[o + j]! + w[bias + j]!;
        continue;
      }
      // ReLU, and the non-zero activations become the next layer's sparse inputs.
      let q = o;
      next.from[i] = q;
      for (let j = 0; j < fo; j++) {
        const z = sc * out[o + j]! + w[bias + j]!;
        if (z > 0) { out[o + j] = z; next.idx[q] = j; next.val[q] = z; q++; } else out[o + j] = 0;
      }
      next.to[i] = q;
    }
  }
  // Softmax cross-entropy: loss = logsumexp(z) − z[label]; dLoss/dz = (softmax(z) − onehot) / batch.
  const c = widths[L]!, logits = s.act[L - 1]!, g = s.grad[L - 1]!;
  let loss = 0;
  for (let i = 0; i < size; i++) {
    const o = i * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (logits[o + j]! > max) max = logits[o + j]!;
    let sum = 0;
    for (let j = 0; j < c; j++) { const e = Math.exp(logits[o + j]! - max); g[o + j] = e; sum += e; }
    const label = s.labels[i]!;
    loss += Math.log(sum) + max - logits[o + label]!;
    for (let j = 0; j < c; j++) g[o + j] = g[o + j]! / sum / size;
    g[o + label] -= 1 / size;
  }
  return loss / size;
}

/**
 * Back-propagate s.grad[l] into s.grad[l − 1] through layer l's kernel (before it changes) and the ReLU
 * of the layer below: dH[i,k] = [h[i,k] > 0] · Σ_j G[i,j]·W[k,j].
 */
function backInto(net: Net, l: number, size: number): void {
  const { widths, offsets, w, s } = net;
  const fi = widths[l]!, fo = widths[l + 1]!, off = offsets[l]!, sc = net.scale[l]!;
  const g = s.grad[l]!, dh = s.grad[l - 1]!, inp = s.inputs[l]!;
  dh.fill(0, 0, size * fi);
  for (let i = 0; i < size; i++) {
    const gi = i * fo, hi = i * fi;
    for (let p = inp.from[i]!, e = inp.to[i]!; p < e; p++) {
      const k = inp.idx[p]!, r = off + k * fo;
      let acc = 0;
      for (let j = 0; j < fo; j++) acc += g[gi + j]! * w[r + j]!;
      dh[hi + k] = sc * acc;
    }
  }
}

/** Plain SGD step with lazily applied weight decay (see the file header). */
function stepLazy(net: Net, size: number, lr: number, wd: number): void {
  const { widths, offsets, w, s } = net;
  const decay = 1 - lr * wd;
  for (let l = widths.length - 2; l >= 0; l--) {
    const fo = widths[l + 1]!, off = offsets[l]!, bias = off + widths[l]! * fo, g = s.grad[l]!, inp = s.inputs[l]!;
    if (l > 0) backInto(net, l, size);
    net.scale[l] = net.scale[l]! * decay;
    if (net.scale[l]! < MIN_SCALE) foldScale(net, l);
    const a = -lr / net.scale[l]!;
    for (let i = 0; i < size; i++) scatterOuter(w, off, fo, inp.idx, inp.val, inp.from[i]!, inp.to[i]!, a, g, i * fo);
    for (let j = 0; j < fo; j++) {
      let gb = 0;
      for (let i = 0; i < size; i++) gb += g[i * fo + j]!;
      w[bias + j] = w[bias + j]! * decay - lr * gb;
    }
  }
}

/** SGD with momentum: dense gradient g = ∇L + wd·w, v ← μ·v + g (v = g on the first step), w ← w − lr·v. */
function stepMomentum(net: Net, size: number, lr: number, wd: number, mu: number, first: boolean): void {
  const { widths, offsets, w, s } = net;
  const v = s.v!, grad = s.g!;
  for (let l = widths.length - 2; l >= 0; l--) {
    const fo = widths[l + 1]!, off = offsets[l]!, bias = off + widths[l]! * fo, end = bias + fo, g = s.grad[l]!, inp = s.inputs[l]!;
    if (l > 0) backInto(net, l, size);
    grad.fill(0, off, end);
    for (let i = 0; i < size; i++) {
      scatterOuter(grad, off, fo, inp.idx, inp.val, inp.from[i]!, inp.to[i]!, 1, g, i * fo);
      for (let j = 0; j < fo; j++) grad[bias + j] += g[i * fo + j]!;
    }
    for (let i = off; i < end; i++) {
      const gi = grad[i]! + wd * w[i]!;
      const vi = first ? gi : mu * v[i]! + gi;
      v[i] = vi;
      w[i] = w[i]! - lr * vi;
    }
  }
}

