/**
 * Evaluation of the zoo's dense models without Layers models: the WebAssembly SIMD kernels where they run
 * (dense-wasm.ts), else 2-D matMuls on the TF.js wasm backend, plain JS on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { AbortError } from '../errors.js';
import type { AnyModelSpec } from './create-model.js';
import { LayoutMismatchError } from './errors.js';
import { metricsFromConfusion, type Evaluation } from './evaluate.js';
import { batchPlan, resolveTrainOptions, type TrainOptions, type TrainResult } from './train.js';
import { gatherDot } from './dense-js.js';
import { denseScoresWasm } from './dense-wasm.js';
import { checkedWidths, layerOffsets, sparseRows } from './dense-shape.js';

/** Adds row `o`'s argmax to `confusion[label]` and returns its cross-entropy, logsumexp(z) − z[label]. */
function scoreRow(z: Float32Array | Float64Array, o: number, c: number, label: number, confusion: number[][]): number {
  let max = -Infinity, arg = 0;
  for (let j = 0; j < c; j++) if (z[o + j]! > max) { max = z[o + j]!; arg = j; }
  let sum = 0;
  for (let j = 0; j < c; j++) sum += Math.exp(z[o + j]! - max);
  confusion[label]![arg]!++;
  return Math.log(sum) + max - z[o + label]!;
}

/**
 * Test loss and accuracy of the dense model of `spec` with `weights` on `indices` of `ds`, in plain JS over
 * the CSR rows (the metrics of evaluate.ts's evaluateModel).
 * @throws LayoutMismatchError when `weights` or the dataset do not fit the spec
 */
export function evaluateDenseJs(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>): Evaluation {
  const widths = checkedWidths(spec, weights, ds);
  const L = widths.length - 1, c = widths[L]!, offsets = layerOffsets(widths), csr = sparseRows(ds);
  const maxWidth = Math.max(...widths.slice(1));
  const z = new Float64Array(maxWidth), hidx = new Int32Array(maxWidth), hval = new Float32Array(maxWidth);
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  let lossSum = 0;
  for (let n = 0; n < indices.length; n++) {
    const row = indices[n]!;
    let idx = csr.col, val = csr.val, p0 = csr.start[row]!, p1 = csr.start[row + 1]!;
    for (let l = 0; l < L; l++) {
      const fo = widths[l + 1]!, bias = offsets[l]! + widths[l]! * fo;
      gatherDot(z, 0, fo, weights, offsets[l]!, idx, val, p0, p1);
      let q = 0;
      for (let j = 0; j < fo; j++) {
        z[j] = z[j]! + weights[bias + j]!;
        if (l + 1 < L && z[j]! > 0) { hidx[q] = j; hval[q] = z[j]!; q++; }
      }
      idx = hidx; val = hval; p0 = 0; p1 = q;
    }
    lossSum += scoreRow(z, 0, c, ds.y[row]!, confusion);
  }
  return metricsFromConfusion(confusion, indices.length ? lossSum / indices.length : NaN);
}

/** A test set held as a tensor by this thread: its rows restricted to `cols`, the features non-zero in some row. */
interface ResidentTest { ds: Dataset; indices: Uint32Array; x: tf.Tensor2D; cols: Int32Array; labels: Uint8Array }
/** Newest last; at most RESIDENT_TESTS. */
const residentTests: ResidentTest[] = [];
const RESIDENT_TESTS = 2;
/** Larger test sets are evaluated in JS instead of being held in the wasm heap (4 GiB cap, notes/tfjs.md §4). */
const MAX_RESIDENT_FLOATS = 16 * 2 ** 20;

/**
 * evaluateDenseJs's metrics with TF.js 2-D matMuls on a test set kept resident as one tensor: the fastest
 * form on wasm (one model at a time, never tiled: notes/batched-training.md §3; 1.3 / 2.4 ms per 2,000
 * digits for logreg / MLP here, vs 5.2 / 6.1 ms through the Layers model and 2.5 / 6.5 ms in JS). On the
 * cpu backend and for test sets over MAX_RESIDENT_FLOATS it runs evaluateDenseJs, faster there.
 */
export function evaluateDense(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>): Evaluation {
  const widths = checkedWidths(spec, weights, ds);
  // The WebAssembly SIMD kernels where they run: sparse rows, Float32 sums (dense-wasm.ts), ~3× the matMul below.
  const scores = indices.length > 0 ? denseScoresWasm(spec, weights, ds, indices) : null;
  if (scores) {
    const c = widths[widths.length - 1]!;
    const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
    for (let i = 0; i < indices.length; i++) confusion[ds.y[indices[i]!]!]![scores.predicted[i]!]!++;
    return metricsFromConfusion(confusion, scores.lossSum / indices.length);
  }
  if (tf.getBackend() === 'cpu' || indices.length * ds.featureCount > MAX_RESIDENT_FLOATS || indices.length === 0) {
    return evaluateDenseJs(spec, weights, ds, indices);
  }
  const offsets = layerOffsets(widths), L = widths.length - 1, c = widths[L]!;
  // Features that are zero in every test row are left out of the first matMul (161 of 784 pixels for the
  // 2,000 test digits: 21% fewer FLOPs). Exact unless a dropped weight is not finite (0·∞ = NaN): then JS.
  const firstKernel = weights.subarray(0, widths[0]! * widths[1]!);
  for (let i = 0; i < firstKernel.length; i++) if (!Number.isFinite(firstKernel[i]!)) return evaluateDenseJs(spec, weights, ds, indices);
  const test = residentTest(ds, indices);
  if (test.cols.length === 0) return evaluateDenseJs(spec, weights, ds, indices);
  const logits = tf.tidy(() => {
    let h: tf.Tensor2D = test.x;
    for (let l = 0; l < L; l++) {
      const fi = widths[l]!, fo = widths[l + 1]!, off = offsets[l]!;
      const w = l > 0 ? tf.tensor2d(weights.subarray(off, off + fi * fo), [fi, fo]) : tf.tensor2d(gatherRows(firstKernel, fo, test.cols), [test.cols.length, fo]);
      const b = tf.tensor1d(weights.subarray(off + fi * fo, off + fi * fo + fo));
      h = tf.fused.matMul({ a: h, b: w, bias: b, activation: l + 1 < L ? 'relu' : 'linear' }) as tf.Tensor2D;
    }
    return h;
  });
  const z = logits.dataSync() as Float32Array;
  logits.dispose();
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  let lossSum = 0;
  for (let i = 0; i < indices.length; i++) lossSum += scoreRow(z, i * c, c, test.labels[i]!, confusion);
  return metricsFromConfusion(confusion, lossSum / indices.length);
}

/** Rows `rows` of a row-major [*, width] matrix, packed. */
function gatherRows(m: Float32Array, width: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) out.set(m.subarray(rows[i]! * width, rows[i]! * width + width), i * width);
  return out;
}

function residentTest(ds: Dataset, indices: ArrayLike<number>): ResidentTest {
  const same = (t: ResidentTest) => t.ds === ds && t.indices.length === indices.length && t.indices.every((r, i) => r === indices[i]);
  const hit = residentTests.find(same);
  if (hit) return hit;
  const f = ds.featureCount, n = indices.length, labels = new Uint8Array(n), used = new Uint8Array(f);
  for (let i = 0; i < n; i++) {
    labels[i] = ds.y[indices[i]!]!;
    for (let k = 0, base = indices[i]! * f; k < f; k++) if (ds.x[base + k] !== 0) used[k] = 1;
  }
  const cols = Int32Array.from(Array.from(used.keys()).filter((k) => used[k] === 1));
  const xs = new Float32Array(n * cols.length);
  for (let i = 0; i < n; i++) for (let c = 0, base = indices[i]! * f; c < cols.length; c++) xs[i * cols.length + c] = ds.x[base + cols[c]!]!;
  const entry = { ds, indices: Uint32Array.from(indices), x: tf.tensor2d(xs, [n, cols.length]), cols, labels };
  residentTests.push(entry);
  if (residentTests.length > RESIDENT_TESTS) residentTests.shift()!.x.dispose();
  return entry;
}
