/**
 * One entry for every model source: a zoo spec (built from its seed) or a user's TF.js Layers model on disk
 * (its saved weights are the initial vector).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Layout } from '../../aggregation/layout.js';
import { ModelSpecError } from './errors.js';
import { layoutOfModel, readVector } from './flat.js';
import { loadLayersModelFrom } from './layers-io.js';
import { buildModel, isSupermaskSpec, validateModelSpec, SUPERMASK_ARCHS, WEIGHT_ARCHS, type ModelSpec } from './models.js';

/** A user's Layers model: `path` is a model.json file or a directory holding one. */
export interface LayersFileSpec { arch: 'layers'; path: string }
export type AnyModelSpec = ModelSpec | LayersFileSpec;

export interface CreatedModel { model: tf.LayersModel; layout: Layout; initial: Float32Array }

/** Validate a spec of either kind; unknown architectures list every known one. */
export function validateAnyModelSpec(spec: unknown): AnyModelSpec {
  const s = spec as Partial<LayersFileSpec> | null;
  if (s && typeof s === 'object' && s.arch === 'layers') {
    if (typeof s.path !== 'string' || s.path.length === 0) throw new ModelSpecError('model.path must name a model.json file or its directory');
    return s as LayersFileSpec;
  }
  try {
    return validateModelSpec(spec);
  } catch (err) {
    if (err instanceof ModelSpecError && err.message.startsWith('unknown model')) {
      throw new ModelSpecError(`unknown model "${String((s as { arch?: unknown })?.arch)}"; known models: ${[...WEIGHT_ARCHS, 'layers', ...SUPERMASK_ARCHS].join(', ')}`);
    }
    throw err;
  }
}

/** Build or load the model of `spec` with its initial weights in place. */
export async function createModel(spec: AnyModelSpec): Promise<CreatedModel> {
  const s = validateAnyModelSpec(spec);
  if (s.arch !== 'layers') return buildModel(s);
  const model = await loadLayersModelFrom(s.path);
  const layout = layoutOfModel(model);
  return { model, layout, initial: readVector(model, layout) };
}

/**
 * Cache key for one model per architecture in a worker. The seed only changes initial weights, except for
 * supermask models, whose frozen weights come from the seed and are not in the vector: there it is kept.
 */
export function modelKey(spec: AnyModelSpec): string {
  if (spec.arch === 'layers') return `layers:${spec.path}`;
  if (isSupermaskSpec(spec)) return JSON.stringify(spec);
  const { seed: _seed, ...arch } = spec;
  return JSON.stringify(arch);
}
