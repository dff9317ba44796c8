/**
 * Shapes shared by the dense kernels (dense-js.ts, dense-wasm.ts, dense-eval.ts): layer widths and offsets of
 * the zoo's logreg/MLP specs, their parameter count, and the CSR form of a dataset's non-zero features.
 */
import type { Dataset } from '../data/dataset.js';
import { AbortError } from '../errors.js';
import type { AnyModelSpec } from './create-model.js';
import { LayoutMismatchError } from './errors.js';
import { batchPlan, resolveTrainOptions } from './train.js';

/**
 * Layer widths [inputs, hidden…, classes] of a spec the JS kernel trains, or null when it cannot
 * (CNN, supermask, Layers-file models).
 */
export function denseWidths(spec: AnyModelSpec): number[] | null {
  if (spec.arch !== 'logreg' && spec.arch !== 'mlp') return null;
  const inputs = spec.inputShape.reduce((a, b) => a * b, 1);
  return [inputs, ...(spec.arch === 'mlp' ? spec.hidden : []), spec.classes];
}

/** Parameter count of a dense net: Σ in·out + out per layer, in the zoo's layout order (kernel, bias). */
export function denseParamCount(widths: readonly number[]): number {
  let n = 0;
  for (let l = 0; l + 1 < widths.length; l++) n += widths[l]! * widths[l + 1]! + widths[l + 1]!;
  return n;
}

/** The non-zero features of every row of a dataset, row r at [start[r], start[r+1]) (CSR). */
export interface SparseRows {
  readonly start: Int32Array;
  readonly col: Int32Array;
  readonly val: Float32Array;
}

const sparseCache = new WeakMap<Dataset, SparseRows>();

/**
 * The CSR form of `ds`'s features, built on first use and cached per dataset object (a worker keeps one
 * Dataset per id). Costs 8 bytes per non-zero feature: 12 MB for the 10,000 digits.
 */
export function sparseRows(ds: Dataset): SparseRows {
  let csr = sparseCache.get(ds);
  if (csr) return csr;
  const x = ds.x, n = ds.size * ds.featureCount;
  let nnz = 0;
  for (let i = 0; i < n; i++) if (x[i] !== 0) nnz++;
  const start = new Int32Array(ds.size + 1), col = new Int32Array(nnz), val = new Float32Array(nnz);
  const f = ds.featureCount;
  let p = 0;
  for (let r = 0; r < ds.size; r++) {
    start[r] = p;
    for (let k = 0, base = r * f; k < f; k++) {
      const v = x[base + k]!;
      if (v !== 0) { col[p] = k; val[p] = v; p++; }
    }
  }
  start[ds.size] = p;
  csr = { start, col, val };
  sparseCache.set(ds, csr);
  return csr;
}

/** The spec's widths after checking that the weights and the dataset fit them. */
export function checkedWidths(spec: AnyModelSpec, weights: Float32Array, ds: Dataset): number[] {
  const widths = denseWidths(spec);
  if (!widths) throw new LayoutMismatchError('a logreg or mlp spec for the JS kernel', `arch ${spec.arch}`);
  const size = denseParamCount(widths);
  if (weights.length !== size) throw new LayoutMismatchError(`${size} parameters (${widths.join('-')})`, `${weights.length} parameters`);
  if (ds.featureCount !== widths[0] || ds.classCount !== widths[widths.length - 1]) {
    throw new LayoutMismatchError(`data with ${widths[0]} features and ${widths[widths.length - 1]} classes`, `${ds.featureCount} features and ${ds.classCount} classes`);
  }
  return widths;
}

/** Offset of each layer's kernel in the vector (its bias follows the kernel). */
export function layerOffsets(widths: readonly number[]): number[] {
  const offsets: number[] = [];
  for (let l = 0, off = 0; l + 1 < widths.length; l++) { offsets.push(off); off += widths[l]! * widths[l + 1]! + widths[l + 1]!; }
  return offsets;
}

/**
 * The batches of train.ts's batchPlan with each one's learning rate (cosine per epoch when asked), checking for an
 * abort before each batch: the loop both dense kernels run.
 * @throws AbortError when `signal`/`shouldStop` fires between batches
 */
export function* denseBatches(indices: ArrayLike<number>, o: ReturnType<typeof resolveTrainOptions>): Generator<{ rows: Uint32Array; size: number; lr: number }> {
  for (const b of batchPlan(indices, o)) {
    if (o.signal?.aborted || o.shouldStop?.()) throw new AbortError('training aborted');
    const lr = o.lrSchedule === 'cosine' ? (o.lr * (1 + Math.cos((Math.PI * b.epoch) / b.epochs))) / 2 : o.lr;
    yield { rows: b.order.subarray(b.start, b.start + b.size), size: b.size, lr };
  }
}
