/**
 * Staging mini-batches from a shared dataset into tensors. Rows are copied into reusable Float32Arrays
 * (one copy into TF.js's memory follows); labels become one-hot in JS, which is cheaper than tf.oneHot.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';

export interface Batch { x: tf.Tensor; y: tf.Tensor2D; size: number }

/** Build one batch of `indices[start, start+size)`; the caller disposes the tensors (or runs inside tidy). */
/** `labelMap` relabels examples (a label-flipping attacker in simulations). */
export function makeBatch(ds: Dataset, indices: ArrayLike<number>, start: number, size: number, inputShape: readonly number[], labelMap?: readonly number[]): Batch {
  const f = ds.featureCount, c = ds.classCount;
  const xs = new Float32Array(size * f);
  const ys = new Float32Array(size * c);
  for (let i = 0; i < size; i++) {
    const row = indices[start + i]!;
    xs.set(ds.x.subarray(row * f, row * f + f), i * f);
    const label = ds.y[row]!;
    ys[i * c + (labelMap ? labelMap[label]! : label)] = 1;
  }
  return { x: tf.tensor(xs, [size, ...inputShape]), y: tf.tensor2d(ys, [size, c]), size };
}
