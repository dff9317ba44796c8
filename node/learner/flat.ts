/**
 * Moving a model's trainable weights to and from one Float32Array (DESIGN.md seam 1). Reads return a
 * fresh vector; writes copy the caller's vector, so the model never aliases a buffer the peer may later
 * mutate in a merge (the cpu backend's tf.tensor() does not copy: notes/tfjs.md §3).
 */
import * as tf from '@tensorflow/tfjs';
import { makeLayout, type Layout, type TensorRole } from '../../aggregation/layout.js';
import { LayoutMismatchError } from './errors.js';

/** Variables that belong to the layout: the model's trainable weights, in model order. */
export function layoutVariables(model: tf.LayersModel): tf.LayerVariable[] {
  return model.trainableWeights;
}

/** Stable tensor name: the (explicit) layer name plus the weight's unscoped name, e.g. "dense0/kernel". */
export function weightName(v: tf.LayerVariable): string {
  const original = (v as unknown as { originalName?: string }).originalName ?? v.name;
  const parts = original.split('/');
  const suffix = parts[parts.length - 1]!.replace(/_\d+$/, '');
  const layer = parts.length > 1 ? parts[parts.length - 2]! : 'tensor';
  return `${layer}/${suffix}`;
}

/** Role from the weight's name: kernels, biases, normalisation parameters and supermask scores. */
export function roleOf(name: string): TensorRole {
  const leaf = name.split('/').pop()!;
  if (leaf === 'bias') return 'bias';
  if (leaf === 'gamma' || leaf === 'beta') return 'norm';
  if (leaf === 'scores') return 'score';
  return 'kernel';
}

/** The layout of a model's trainable weights. */
export function layoutOfModel(model: tf.LayersModel): Layout {
  return makeLayout(layoutVariables(model).map((v) => {
    const name = weightName(v);
    return { name, shape: v.shape as number[], role: roleOf(name) };
  }));
}

/** A new vector holding the model's current trainable weights. */
export function readVector(model: tf.LayersModel, layout: Layout): Float32Array {
  const vars = layoutVariables(model);
  checkVars(vars, layout);
  const out = new Float32Array(layout.size);
  vars.forEach((v, i) => {
    const t = v.read();
    out.set(t.dataSync() as Float32Array, layout.tensors[i]!.offset);
  });
  return out;
}

/** Load `vector` into the model's trainable weights (copying it). */
export function writeVector(model: tf.LayersModel, layout: Layout, vector: Float32Array): void {
  if (vector.length !== layout.size) {
    throw new LayoutMismatchError(`${layout.size} parameters (layout ${layout.hash})`, `${vector.length} parameters`);
  }
  const vars = layoutVariables(model);
  checkVars(vars, layout);
  vars.forEach((v, i) => {
    const spec = layout.tensors[i]!;
    const t = tf.tensor(vector.slice(spec.offset, spec.offset + spec.size), spec.shape as number[]);
    v.write(t);
    t.dispose();
  });
}

function checkVars(vars: tf.LayerVariable[], layout: Layout): void {
  if (vars.length !== layout.tensors.length) {
    throw new LayoutMismatchError(`${layout.tensors.length} tensors (layout ${layout.hash})`, `${vars.length} tensors in the model`);
  }
  vars.forEach((v, i) => {
    const spec = layout.tensors[i]!;
    const shape = v.shape as number[];
    if (shape.length !== spec.shape.length || shape.some((d, j) => d !== spec.shape[j])) {
      throw new LayoutMismatchError(`${spec.name} [${spec.shape.join(',')}]`, `${weightName(v)} [${shape.join(',')}]`);
    }
  });
}
