/**
 * The dense JS kernel (dense-js.ts) and its evaluation (dense-eval.ts) on the WebAssembly SIMD kernels of
 * aggregation/kernels (issue 15). Training runs the same Float64 arithmetic in the same order, with JS's own
 * Math.exp/log, so it returns dense-js.ts's weights bit for bit; only the batch plan and the abort checks stay
 * in JS. Evaluation sums in Float32, as the TF.js matMul it replaces, so its loss differs from the JS kernel's
 * in the last bits.
 *
 * Each thread keeps a dataset's non-zero features (CSR, sparseRows) resident in its kernel memory, copied once:
 * 12 MB for the 10,000 digits. Larger datasets (over MAX_RESIDENT_BYTES) stay on the JS kernels.
 */
import type { Dataset } from '../data/dataset.js';
import { kernels, type Kernels } from '../../aggregation/kernels/wasm.js';
import type { AnyModelSpec } from './create-model.js';
import { checkedWidths, denseBatches, layerOffsets, sparseRows } from './dense-shape.js';
import { resolveTrainOptions, type TrainOptions, type TrainResult } from './train.js';

/** A dataset's CSR (and its row starts) in kernel memory, by byte offset; `rowStart` is the JS copy of the row starts. */
interface ResidentCsr { start: number; col: number; val: number; rowStart: Int32Array }

/** Resident CSR bytes per thread at most (all datasets together). */
const MAX_RESIDENT_BYTES = 256 * 2 ** 20;
const resident = new WeakMap<Dataset, ResidentCsr | null>();
let residentBytes = 0;

/** The dataset's CSR in this thread's kernel memory, copied on first use; null when it would not fit. */
function residentCsr(k: Kernels, ds: Dataset): ResidentCsr | null {
  const hit = resident.get(ds);
  if (hit !== undefined) return hit;
  const csr = sparseRows(ds);
  const bytes = 4 * (csr.start.length + 2 * csr.col.length) + 48;
  if (residentBytes + bytes > MAX_RESIDENT_BYTES) { resident.set(ds, null); return null; }
  residentBytes += bytes;
  const start = k.reserve(4 * csr.start.length), col = k.reserve(4 * csr.col.length + 16), val = k.reserve(4 * csr.val.length + 16);
  k.i32.set(csr.start, start / 4);
  k.i32.set(csr.col, col / 4);
  k.f32.set(csr.val, val / 4);
  const entry = { start, col, val, rowStart: csr.start };
  resident.set(ds, entry);
  return entry;
}

interface NetAt { desc: number; w: number; labels: number; fromTo: number }
/** The last net laid out, with what it was laid out for: a simulator trains hundreds of tasks of one shape in a row. */
let lastNet: { k: Kernels; base: number; widths: readonly number[]; size: number; batch: number; csr: ResidentCsr; momentum: boolean; table: number[]; scale: number; at: NetAt } | null = null;

/**
 * The net table of aggregation/kernels/assembly/dense.ts, laid out in a fresh region. Regions start at the
 * reserved base and memory never shrinks, so the same inputs give the same offsets: the last layout is reused
 * (its table written again, other kernels may have used the region since).
 */
function layOut(k: Kernels, widths: readonly number[], size: number, batch: number, csr: ResidentCsr, momentum: boolean): NetAt {
  const c = lastNet;
  if (c && c.k === k && c.base === k.reserved && c.size === size && c.batch === batch && c.csr === csr && c.momentum === momentum
    && c.widths.length === widths.length && c.widths.every((x, i) => x === widths[i])) {
    k.i32.set(c.table, c.at.desc / 4);
    k.f64.fill(1, c.scale / 8, c.scale / 8 + widths.length - 1);
    return c.at;
  }
  const at = layOutAfresh(k, widths, size, batch, csr, momentum);
  lastNet = { k, base: k.reserved, widths: [...widths], size, batch, csr, momentum, table: at.table, scale: at.scale, at: at.net };
  return at.net;
}

function layOutAfresh(k: Kernels, widths: readonly number[], size: number, batch: number, csr: ResidentCsr, momentum: boolean): { net: NetAt; table: number[]; scale: number } {
  const L = widths.length - 1, offsets = layerOffsets(widths);
  const r = k.region();
  const desc = r.alloc(4 * (8 + 8 * L)), w = r.alloc(4 * size + 16), scale = r.alloc(8 * L), labels = r.alloc(4 * batch);
  const v = momentum ? r.alloc(4 * size) : 0, g = momentum ? r.alloc(4 * size) : 0;
  const layers = widths.slice(0, -1).map((fi, l) => {
    const fo = widths[l + 1]!;
    return [fi, fo, offsets[l]!, r.alloc(8 * batch * fo), r.alloc(8 * batch * fo),
      l === 0 ? csr.col : r.alloc(4 * batch * fi), l === 0 ? csr.val : r.alloc(4 * batch * fi), r.alloc(8 * batch)];
  });
  const table = [L, w, scale, labels, v, g, 0, 0, ...layers.flat()];
  k.i32.set(table, desc / 4);
  k.f64.fill(1, scale / 8, scale / 8 + L);
  return { net: { desc, w, labels, fromTo: layers[0]![7]! }, table, scale };
}

/**
 * dense-js.ts trainDenseJsInPlace on the kernels (bit-identical); null when the kernels are off in this thread or
 * the dataset is too large to keep resident (the caller then runs the JS kernel).
 */
export function trainDenseWasmInPlace(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>, options: TrainOptions): TrainResult | null {
  const k = kernels();
  if (!k) return null;
  const o = resolveTrainOptions(options);
  const widths = checkedWidths(spec, weights, ds);
  const csr = residentCsr(k, ds);
  if (!csr) return null;
  const momentum = o.momentum > 0, batch = o.batchSize;
  const net = layOut(k, widths, weights.length, batch, csr, momentum);
  k.f32.set(weights, net.w / 4);
  const rowStart = csr.rowStart, i32 = k.i32, labels = net.labels / 4, from = net.fromTo / 4;
  let lossSum = 0, steps = 0, samples = 0;
  for (const b of denseBatches(indices, o)) {
    for (let i = 0; i < b.size; i++) {
      const row = b.rows[i]!, label = ds.y[row]!;
      i32[labels + i] = o.labelMap ? o.labelMap[label]! : label;
      // Sample i's input range: start at from[i], end at from[size + i] (the kernel's from/to table).
      i32[from + i] = rowStart[row]!;
      i32[from + b.size + i] = rowStart[row + 1]!;
    }
    lossSum += k.x.denseBatch(net.desc, b.size, b.lr, o.weightDecay, o.momentum, steps === 0 ? 1 : 0);
    steps++; samples += b.size;
  }
  k.x.denseFold(net.desc);
  weights.set(k.f32.subarray(net.w / 4, net.w / 4 + weights.length));
  return { loss: steps ? lossSum / steps : NaN, steps, samples };
}

/** What evaluateDense needs from a forward pass: each row's predicted class and the summed cross-entropy. */
export interface DenseScores { predicted: Int32Array; lossSum: number }

/**
 * Forward pass of the dense model on `indices` of `ds` on the kernels (Float32 sums), scored there with JS's
 * exp/log: the predicted class of each row and the summed cross-entropy (dense-eval.ts scoreRow's arithmetic);
 * null when the kernels are off or the dataset is too large to keep resident.
 */
export function denseScoresWasm(spec: AnyModelSpec, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>): DenseScores | null {
  const k = kernels();
  if (!k) return null;
  const widths = checkedWidths(spec, weights, ds);
  const csr = residentCsr(k, ds);
  if (!csr) return null;
  const L = widths.length - 1, c = widths[L]!, n = indices.length, offsets = layerOffsets(widths);
  // The kernel reads and writes whole 32-unit blocks: 128 bytes of slack after the weights and the scratch.
  const maxWidth = Math.max(...widths.slice(1)) + 32;
  const r = k.region();
  const desc = r.alloc(4 * (8 + 8 * L)), w = r.alloc(4 * weights.length + 128), rows = r.alloc(4 * n), out = r.alloc(4 * (n * c + 4));
  const z = r.alloc(4 * maxWidth), hIdx = r.alloc(4 * maxWidth), hVal = r.alloc(4 * maxWidth), labels = r.alloc(4 * n), pred = r.alloc(4 * n);
  k.i32.set([L, w, 0, 0, 0, 0, 0, 0, ...widths.slice(0, -1).flatMap((fi, l) => [fi, widths[l + 1]!, offsets[l]!, 0, 0, 0, 0, 0])], desc / 4);
  k.f32.set(weights, w / 4);
  k.i32.set(indices as ArrayLike<number>, rows / 4);
  for (let i = 0; i < n; i++) k.i32[labels / 4 + i] = ds.y[indices[i]!]!;
  k.x.denseLogits(desc, rows, n, csr.start, csr.col, csr.val, out, z, hIdx, hVal);
  const lossSum = k.x.denseScore(out, n, c, labels, pred);
  return { predicted: k.i32.slice(pred / 4, pred / 4 + n), lossSum };
}
