/**
 * The model zoo. A model is built from a JSON-able spec (architecture + init seed), so every peer builds
 * the identical layout and the identical initial weights: weights are drawn from our seeded RNG, one stream
 * per tensor name, not from TF.js's global initialisers.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layout } from '../../aggregation/layout.js';
import { rngFor } from '../data/rng.js';
import { ModelSpecError } from './errors.js';
import { layoutOfModel, writeVector } from './flat.js';
import { buildSupermaskArchitecture, supermaskInitialScores } from './supermask.js';

export type { LogregSpec, MlpSpec, CnnSpec, SupermaskMlpSpec, SupermaskCnnSpec, ModelSpec } from './model-spec.js';
import type { ModelSpec, SupermaskCnnSpec, SupermaskMlpSpec } from './model-spec.js';
/** Zoo models whose trainable weights are kernels and biases. */
export const WEIGHT_ARCHS = ['logreg', 'mlp', 'cnn'] as const;
/** Zoo models whose only trainable tensors are supermask scores (supermask.ts). */
export const SUPERMASK_ARCHS = ['supermask-mlp', 'supermask-cnn'] as const;
/** Every zoo architecture (a spec's `arch`). */
export const MODEL_ARCHS = [...WEIGHT_ARCHS, ...SUPERMASK_ARCHS] as const;

/** Whether the spec builds a supermask model (its frozen weights depend on the seed, not on the vector). */
export function isSupermaskSpec(spec: ModelSpec): spec is SupermaskMlpSpec | SupermaskCnnSpec {
  return spec.arch === 'supermask-mlp' || spec.arch === 'supermask-cnn';
}

/** Validate an untrusted spec; errors list the known architectures and name the bad field. */
export function validateModelSpec(spec: unknown): ModelSpec {
  const s = spec as Partial<ModelSpec> | null;
  if (!s || typeof s !== 'object') throw new ModelSpecError('model spec must be an object');
  if (!MODEL_ARCHS.includes(s.arch as (typeof MODEL_ARCHS)[number])) {
    throw new ModelSpecError(`unknown model "${String(s.arch)}"; known models: ${MODEL_ARCHS.join(', ')}`);
  }
  const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  if (!Array.isArray(s.inputShape) || s.inputShape.length === 0 || !s.inputShape.every(posInt)) {
    throw new ModelSpecError(`model.inputShape must be a non-empty list of positive integers, got ${JSON.stringify(s.inputShape)}`);
  }
  if (!posInt(s.classes) || (s.classes as number) < 2) throw new ModelSpecError(`model.classes must be an integer ≥ 2, got ${String(s.classes)}`);
  if (typeof s.seed !== 'number' && typeof s.seed !== 'string') throw new ModelSpecError('model.seed must be a number or a string');
  if ((s.arch === 'mlp' || s.arch === 'supermask-mlp') && (!Array.isArray(s.hidden) || !s.hidden.every(posInt))) {
    throw new ModelSpecError(`model.hidden must be a list of positive integers for the ${s.arch}, got ${JSON.stringify(s.hidden)}`);
  }
  if ((s.arch === 'supermask-mlp' || s.arch === 'supermask-cnn') && s.sparsity !== undefined
    && !(typeof s.sparsity === 'number' && s.sparsity > 0 && s.sparsity <= 1)) {
    throw new ModelSpecError(`model.sparsity (fraction of edges kept) must be in (0, 1], got ${String(s.sparsity)}`);
  }
  if (s.arch === 'cnn' || s.arch === 'supermask-cnn') {
    if (s.inputShape.length !== 3) throw new ModelSpecError(`the ${s.arch} needs inputShape [height, width, channels], got ${JSON.stringify(s.inputShape)}`);
    if (s.filters !== undefined && !(Array.isArray(s.filters) && s.filters.length === 2 && s.filters.every(posInt))) {
      throw new ModelSpecError(`model.filters must be two positive integers, got ${JSON.stringify(s.filters)}`);
    }
    if (s.dense !== undefined && !(Array.isArray(s.dense) && s.dense.every(posInt))) {
      throw new ModelSpecError(`model.dense must be a list of positive integers, got ${JSON.stringify(s.dense)}`);
    }
  }
  return s as ModelSpec;
}

/**
 * Build the TF.js model with zero weights (supermask models: with their seeded frozen weights and initial
 * scores). Layer names are explicit so layouts match across processes.
 */
export function buildArchitecture(spec: ModelSpec): tf.LayersModel {
  const s = validateModelSpec(spec);
  if (isSupermaskSpec(s)) return buildSupermaskArchitecture(s);
  const model = tf.sequential({ name: s.arch });
  const zeros = 'zeros' as const;
  const features = s.inputShape.reduce((a, b) => a * b, 1);
  if (s.arch === 'cnn') {
    const [c1, c2] = s.filters ?? [6, 16];
    model.add(tf.layers.conv2d({ name: 'conv0', inputShape: s.inputShape, filters: c1, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: zeros }));
    model.add(tf.layers.maxPooling2d({ name: 'pool0', poolSize: 2 }));
    model.add(tf.layers.conv2d({ name: 'conv1', filters: c2, kernelSize: 5, padding: 'valid', activation: 'relu', kernelInitializer: zeros }));
    model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
    model.add(tf.layers.flatten({ name: 'flatten' }));
    (s.dense ?? [120, 84]).forEach((units, i) => model.add(tf.layers.dense({ name: `dense${i}`, units, activation: 'relu', kernelInitializer: zeros })));
  } else {
    // Flatten only multi-dimensional inputs (it needs rank ≥ 3 including the batch axis).
    if (s.inputShape.length > 1) model.add(tf.layers.flatten({ name: 'flatten', inputShape: s.inputShape }));
    if (s.arch === 'mlp') {
      s.hidden.forEach((units, i) => model.add(tf.layers.dense({ name: `dense${i}`, units, activation: 'relu', kernelInitializer: zeros, inputShape: i === 0 && model.layers.length === 0 ? [features] : undefined })));
    }
  }
  model.add(tf.layers.dense({ name: 'out', units: s.classes, kernelInitializer: zeros, inputShape: model.layers.length === 0 ? [features] : undefined }));
  return model;
}

/**
 * The initial weight vector of a spec: Glorot-uniform kernels (TF.js's default, limit √(6/(fanIn+fanOut)))
 * and zero biases, each tensor from its own stream rngFor('init', seed, tensor name); for a supermask spec,
 * the initial scores (supermask.ts `supermaskInitialScores`).
 */
export function initialVector(spec: ModelSpec, layout: Layout): Float32Array {
  if (isSupermaskSpec(spec)) return supermaskInitialScores(spec, layout);
  const v = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    if (t.role !== 'kernel') continue;
    const shape = t.shape;
    const receptive = shape.length > 2 ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : 1;
    const fanIn = shape.length >= 2 ? shape[shape.length - 2]! * receptive : shape[0]!;
    const fanOut = shape.length >= 2 ? shape[shape.length - 1]! * receptive : shape[0]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const rng = rngFor('init', spec.seed, t.name);
    for (let i = t.offset; i < t.offset + t.size; i++) v[i] = (2 * rng.next() - 1) * limit;
  }
  return v;
}

/** A ready model: architecture + its layout + the seeded initial weights loaded. */
export function buildModel(spec: ModelSpec): { model: tf.LayersModel; layout: Layout; initial: Float32Array } {
  const model = buildArchitecture(spec);
  const layout = layoutOfModel(model);
  const initial = initialVector(spec, layout);
  writeVector(model, layout, initial);
  return { model, layout, initial };
}

/** Layout of a spec without keeping the model (builds and disposes it). */
export function layoutOfSpec(spec: ModelSpec): Layout {
  const model = buildArchitecture(spec);
  try { return layoutOfModel(model); } finally { model.dispose(); }
}
