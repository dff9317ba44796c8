/**
 * Evaluation: mean cross-entropy loss, accuracy, the confusion matrix and per-class precision, recall and
 * F1 (Bristle's integrator needs per-class F1: ALGORITHMS.md §4.3). Forward passes run in chunks; the
 * metrics are computed in JS from the arg-max.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { makeBatch } from './batches.js';

export interface ClassMetrics { precision: number; recall: number; f1: number; support: number }

export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  perClass: ClassMetrics[];
}

const EVAL_CHUNK = 500;

/** Evaluate `model` on `indices` of `ds`. */
export function evaluateModel(model: tf.LayersModel, ds: Dataset, indices: ArrayLike<number>): Evaluation {
  const c = ds.classCount;
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  let lossSum = 0;
  const n = indices.length;
  for (let start = 0; start < n; start += EVAL_CHUNK) {
    const size = Math.min(EVAL_CHUNK, n - start);
    const batch = makeBatch(ds, indices, start, size, inputShape);
    try {
      const [lossT, predT] = tf.tidy(() => {
        const logits = model.apply(batch.x) as tf.Tensor2D;
        return [tf.losses.softmaxCrossEntropy(batch.y, logits, undefined, undefined, tf.Reduction.SUM), tf.argMax(logits, 1)];
      });
      lossSum += (lossT!.dataSync() as Float32Array)[0]!;
      const pred = predT!.dataSync() as Int32Array;
      lossT!.dispose(); predT!.dispose();
      for (let i = 0; i < size; i++) confusion[ds.y[indices[start + i]!]!]![pred[i]!]!++;
    } finally {
      batch.x.dispose(); batch.y.dispose();
    }
  }
  return metricsFromConfusion(confusion, n ? lossSum / n : NaN);
}

/** Accuracy and per-class precision/recall/F1 from a confusion matrix (0 where undefined). */
export function metricsFromConfusion(confusion: number[][], loss: number): Evaluation {
  const c = confusion.length;
  let correct = 0, total = 0;
  const perClass: ClassMetrics[] = [];
  for (let k = 0; k < c; k++) {
    const tp = confusion[k]![k]!;
    let support = 0, predicted = 0;
    for (let j = 0; j < c; j++) { support += confusion[k]![j]!; predicted += confusion[j]![k]!; }
    correct += tp; total += support;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ precision, recall, f1, support });
  }
  return { loss, accuracy: total ? correct / total : 0, samples: total, confusion, perClass };
}
