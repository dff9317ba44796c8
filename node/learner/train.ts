/**
 * Local training with a custom step (tf.variableGrads), not model.fit: it is faster on wasm and SAM and
 * supermasks need it (notes/tfjs.md §2, §6). SGD with PyTorch semantics: g ← ∇L + wd·w; with momentum μ,
 * v ← μ·v + g and w ← w − lr·v; the momentum buffer lives for one train() call, so each round starts fresh
 * as DFedSAM's code does (ALGORITHMS.md §2.1). SAM takes both gradients on the same mini-batch and
 * perturbs by ρ·g/‖g‖ with the global norm over all trained tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layout } from '../../aggregation/layout.js';
import type { Dataset } from '../data/dataset.js';
import { rngFor } from '../data/rng.js';
import { AbortError } from '../errors.js';
import { makeBatch } from './batches.js';
import { TrainOptionsError } from './errors.js';
import { layoutVariables, weightName } from './flat.js';

export interface TrainOptions {
  /** Learning rate (default 0.05). */
  lr?: number;
  /** Momentum μ (default 0: plain SGD). */
  momentum?: number;
  /** Weight decay, coupled into the gradient as in PyTorch SGD (default 0). */
  weightDecay?: number;
  batchSize?: number;
  /** Passes over the local data (default 1). Ignored when `steps` is set. */
  epochs?: number;
  /** Exact number of mini-batch steps (cycling through reshuffled data), instead of epochs. */
  steps?: number;
  /** 'cosine' anneals lr per local epoch, lr·(1 + cos(π·e/E))/2 (FRL's CosineAnnealingLR, T_max = E). */
  lrSchedule?: 'constant' | 'cosine';
  /** SAM radius ρ; absent = plain SGD (ρ = 0 runs the SAM path, which then equals SGD exactly). */
  samRho?: number;
  /** Train only these tensor names (frozen-subset mode); absent = all trainable tensors. */
  trainable?: readonly string[];
  /** Relabel training examples: label c is learned as labelMap[c] (label-flipping attacks in simulations). */
  labelMap?: number[];
  /**
   * Training kernel: 'tfjs' (default) runs the Layers model's custom step; 'js' runs the plain-JS dense
   * kernel of dense-js.ts for logreg and MLP specs (same results within float rounding, several times faster
   * for these small models; notes/batched-training.md variant H). Other specs and SAM / frozen-subset
   * training always use 'tfjs'.
   */
  kernel?: 'tfjs' | 'js';
  /** Seed of the batch order; a stream is derived per call from (seed, 'batches'). */
  seed: number | string;
  signal?: AbortSignal;
  /** Polled between batches, like `signal` (worker threads cannot see an AbortSignal of the main thread). */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  /** Mean training loss over the steps taken. */
  loss: number;
  steps: number;
  samples: number;
}

const DEFAULTS = { lr: 0.05, momentum: 0, weightDecay: 0, batchSize: 32, epochs: 1 };

/** Options with defaults filled in; throws TrainOptionsError naming the bad option. */
export function resolveTrainOptions(o: TrainOptions): Required<Omit<TrainOptions, 'steps' | 'trainable' | 'signal' | 'samRho' | 'shouldStop' | 'lrSchedule' | 'labelMap' | 'kernel'>> & TrainOptions {
  // A plain loop: this runs once per training task, hundreds of times a simulated round (entries/filter/fromEntries cost ~8 µs).
  const r = { ...DEFAULTS } as Record<string, unknown>;
  for (const k of Object.keys(o)) { const v = (o as unknown as Record<string, unknown>)[k]; if (v !== undefined) r[k] = v; }
  return checkedTrainOptions(o, r as Required<TrainOptions>);
}

function checkedTrainOptions(o: TrainOptions, r: Required<TrainOptions>): Required<TrainOptions> {
  const bad = (k: string, v: unknown, why: string): never => { throw new TrainOptionsError(`train option ${k} = ${String(v)}: ${why}`); };
  if (!(r.lr > 0) || !Number.isFinite(r.lr)) bad('lr', r.lr, 'must be a positive number');
  if (!(r.momentum >= 0 && r.momentum < 1)) bad('momentum', r.momentum, 'must be in [0, 1)');
  if (!(r.weightDecay >= 0) || !Number.isFinite(r.weightDecay)) bad('weightDecay', r.weightDecay, 'must be ≥ 0');
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) bad('batchSize', r.batchSize, 'must be a positive integer');
  if (!Number.isInteger(r.epochs) || r.epochs < 0) bad('epochs', r.epochs, 'must be an integer ≥ 0');
  if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 0)) bad('steps', o.steps, 'must be an integer ≥ 0');
  if (o.samRho !== undefined && (!(o.samRho >= 0) || !Number.isFinite(o.samRho))) bad('samRho', o.samRho, 'must be ≥ 0');
  if (o.kernel !== undefined && o.kernel !== 'tfjs' && o.kernel !== 'js') bad('kernel', o.kernel, "must be 'tfjs' or 'js'");
  return r;
}

/** Plan of (start offsets into a reshuffled index order): epochs × ⌈n/b⌉ batches, or exactly `steps`. */
export function* batchPlan(indices: ArrayLike<number>, o: { batchSize: number; epochs: number; steps?: number; seed: number | string }): Generator<{ order: Uint32Array; start: number; size: number; epoch: number; epochs: number }> {
  const n = indices.length;
  if (n === 0) return;
  const rng = rngFor('batches', o.seed);
  const order = Uint32Array.from(indices as ArrayLike<number>);
  const perEpoch = Math.ceil(n / o.batchSize);
  const total = o.steps ?? o.epochs * perEpoch;
  const epochs = Math.ceil(total / perEpoch);
  for (let s = 0; s < total; s++) {
    const k = s % perEpoch;
    if (k === 0) rng.shuffleTyped(order);
    const start = k * o.batchSize;
    yield { order, start, size: Math.min(o.batchSize, n - start), epoch: Math.floor(s / perEpoch), epochs };
  }
}

/**
 * Train `model` in place on `indices` of `ds`. Tensors made here are freed here; the abort signal is
 * checked between batches so a round deadline never waits out an epoch.
 */
export function trainModel(model: tf.LayersModel, layout: Layout, ds: Dataset, indices: ArrayLike<number>, options: TrainOptions): TrainResult {
  const o = resolveTrainOptions(options);
  const all = layoutVariables(model);
  const names = all.map(weightName);
  if (o.trainable) {
    const unknown = o.trainable.filter((n) => !names.includes(n));
    if (unknown.length) throw new TrainOptionsError(`trainable lists unknown tensors ${unknown.join(', ')}; the layout has ${names.join(', ')}`);
  }
  const vars = all.filter((_, i) => !o.trainable || o.trainable.includes(names[i]!)).map((v) => v.read() as tf.Variable);
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  void layout;
  let momentum: tf.Tensor[] | null = null;
  let lossSum = 0, steps = 0, samples = 0;
  const lossScalars: tf.Scalar[] = [];
  try {
    for (const b of batchPlan(indices, o)) {
      if (o.signal?.aborted || o.shouldStop?.()) throw new AbortError('training aborted');
      const batch = makeBatch(ds, b.order, b.start, b.size, inputShape, o.labelMap);
      try {
        const lr = o.lrSchedule === 'cosine' ? (o.lr * (1 + Math.cos((Math.PI * b.epoch) / b.epochs))) / 2 : o.lr;
        const [loss, ...nextMomentum] = tf.tidy(() => step(model, vars, batch.x, batch.y, { ...o, lr }, momentum));
        if (momentum) for (const t of momentum) t.dispose();
        momentum = nextMomentum.length ? nextMomentum : null;
        lossScalars.push(loss as tf.Scalar);
      } finally {
        batch.x.dispose(); batch.y.dispose();
      }
      steps++; samples += b.size;
      // Read losses in small groups: one sync per step would serialise the backend.
      if (lossScalars.length >= 16) lossSum += drain(lossScalars);
    }
    lossSum += drain(lossScalars);
  } finally {
    for (const t of lossScalars) t.dispose();
    if (momentum) for (const t of momentum) t.dispose();
  }
  return { loss: steps ? lossSum / steps : NaN, steps, samples };
}

function drain(scalars: tf.Scalar[]): number {
  let s = 0;
  for (const t of scalars) { s += t.dataSync()[0]!; t.dispose(); }
  scalars.length = 0;
  return s;
}

function lossOf(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor2D): () => tf.Scalar {
  return () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
}

/** One optimizer step inside the caller's tidy; returns [loss, ...new momentum buffers] (tidy keeps them). */
function step(model: tf.LayersModel, vars: tf.Variable[], x: tf.Tensor, y: tf.Tensor2D,
  o: { lr: number; momentum: number; weightDecay: number; samRho?: number }, momentum: tf.Tensor[] | null): tf.Tensor[] {
  const lossFn = lossOf(model, x, y);
  const first = tf.variableGrads(lossFn, vars);
  let loss = first.value;
  let grads = vars.map((v) => first.grads[v.name]!);
  if (o.samRho !== undefined) {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
    const scale = tf.div(o.samRho, tf.add(norm, 1e-12));
    const saved = vars.map((v) => tf.clone(v));
    vars.forEach((v, i) => v.assign(tf.add(v, tf.mul(grads[i]!, scale))));
    const second = tf.variableGrads(lossFn, vars);
    vars.forEach((v, i) => v.assign(saved[i]!));
    grads = vars.map((v) => second.grads[v.name]!);
    loss = first.value;
  }
  if (o.weightDecay > 0) grads = grads.map((g, i) => tf.add(g, tf.mul(vars[i]!, o.weightDecay)));
  let nextMomentum: tf.Tensor[] | null = null;
  if (o.momentum > 0) {
    nextMomentum = grads.map((g, i) => (momentum ? tf.add(tf.mul(momentum[i]!, o.momentum), g) : tf.clone(g)));
    grads = nextMomentum;
  }
  vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(grads[i]!, o.lr))));
  return [loss, ...(nextMomentum ?? [])];
}
