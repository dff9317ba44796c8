/**
 * The in-memory dataset every learner, partitioner and worker thread reads. Features and labels live in
 * SharedArrayBuffers so a worker pool reads them without copies (DESIGN.md seam 4, notes/tfjs.md §5):
 * the buffers travel through postMessage as shared memory, see `datasetParts` / `datasetFromShared`.
 */
import { DatasetError } from './errors.js';

/** A labelled dataset: n rows of `featureCount` float features and one label each. */
export interface Dataset {
  readonly name: string;
  /** Row-major features, n × featureCount, backed by a SharedArrayBuffer so worker threads read it without copies. */
  readonly x: Float32Array;
  /** Labels 0..classCount-1, backed by a SharedArrayBuffer. */
  readonly y: Uint8Array;
  /** Number of rows n. */
  readonly size: number;
  /** Features per row: 784 for digits. */
  readonly featureCount: number;
  /** Number of classes: 10 for digits. Labels are Uint8, so at most 256. */
  readonly classCount: number;
  /** Input shape of one example for models, e.g. [28, 28, 1] for digits or [featureCount] for CSV. */
  readonly inputShape: readonly number[];
}

/**
 * The structured-clonable form of a Dataset: plain numbers plus the two SharedArrayBuffers, which
 * postMessage shares rather than copies.
 */
export interface DatasetParts {
  readonly name: string;
  readonly xBuffer: SharedArrayBuffer;
  /** Byte offset of the first feature in `xBuffer`. */
  readonly xByteOffset: number;
  readonly yBuffer: SharedArrayBuffer;
  /** Byte offset of the first label in `yBuffer`. */
  readonly yByteOffset: number;
  readonly size: number;
  readonly featureCount: number;
  readonly classCount: number;
  readonly inputShape: readonly number[];
}

/** Labels are stored as Uint8, which bounds the class count. */
export const MAX_CLASS_COUNT = 256;

function checkLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new DatasetError(`${what}: length must be a non-negative integer, got ${n}`);
}

/** A zero-filled Float32Array of length n backed by a new SharedArrayBuffer. */
export function sharedFloat32(n: number): Float32Array {
  checkLength(n, 'sharedFloat32');
  return new Float32Array(new SharedArrayBuffer(n * Float32Array.BYTES_PER_ELEMENT));
}

/** A zero-filled Uint8Array of length n backed by a new SharedArrayBuffer. */
export function sharedUint8(n: number): Uint8Array {
  checkLength(n, 'sharedUint8');
  return new Uint8Array(new SharedArrayBuffer(n));
}

/** Fields from which `createDataset` builds a Dataset; `size` is `y.length`, `inputShape` defaults to [featureCount]. */
export interface DatasetInit {
  name: string;
  x: Float32Array;
  y: Uint8Array;
  featureCount: number;
  classCount: number;
  inputShape?: readonly number[];
}

/**
 * Check the fields of a dataset and freeze it. Arrays not backed by a SharedArrayBuffer are copied into
 * one, so every Dataset can be handed to workers. Checks shapes and labels (O(n)), not feature values:
 * each loader checks those at the source, where it can name the file.
 * @throws DatasetError listing every problem found.
 */
export function createDataset(init: DatasetInit): Dataset {
  const { name, featureCount, classCount } = init;
  const inputShape = Object.freeze([...(init.inputShape ?? [featureCount])]);
  const size = init.y.length;
  const problems: string[] = [];
  if (!Number.isSafeInteger(featureCount) || featureCount < 1) problems.push(`featureCount must be an integer ≥ 1, got ${featureCount}`);
  if (!Number.isSafeInteger(classCount) || classCount < 1 || classCount > MAX_CLASS_COUNT) {
    problems.push(`classCount must be an integer in 1..${MAX_CLASS_COUNT} (labels are Uint8), got ${classCount}`);
  }
  if (init.x.length !== size * featureCount) {
    problems.push(`x has ${init.x.length} values but ${size} rows × ${featureCount} features need ${size * featureCount}`);
  }
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    problems.push(`inputShape must be a non-empty list of positive integers, got [${inputShape.join(', ')}]`);
  } else if (inputShape.reduce((a, b) => a * b, 1) !== featureCount) {
    problems.push(`inputShape [${inputShape.join(', ')}] holds ${inputShape.reduce((a, b) => a * b, 1)} values, not featureCount ${featureCount}`);
  }
  if (problems.length === 0) {
    for (let i = 0; i < size; i++) {
      if (init.y[i]! >= classCount) { problems.push(`label ${init.y[i]} at row ${i} is not below classCount ${classCount}`); break; }
    }
  }
  if (problems.length > 0) throw new DatasetError(`invalid dataset '${name}': ${problems.join('; ')}`, problems);
  const x = init.x.buffer instanceof SharedArrayBuffer ? init.x : copyShared(init.x, sharedFloat32(init.x.length));
  const y = init.y.buffer instanceof SharedArrayBuffer ? init.y : copyShared(init.y, sharedUint8(init.y.length));
  return Object.freeze({ name, x, y, size, featureCount, classCount, inputShape });
}

function copyShared<A extends Float32Array | Uint8Array>(src: A, dst: A): A {
  dst.set(src);
  return dst;
}

/**
 * A new dataset holding the rows `indices` of `ds`, in that order, copied into new SharedArrayBuffers
 * (so the subset outlives and is independent of `ds`). Repeated indices are allowed and repeat the row.
 * @throws DatasetError when an index is not an integer in 0..size-1.
 */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}[${indices.length}]`): Dataset {
  const k = indices.length, f = ds.featureCount;
  const x = sharedFloat32(k * f), y = sharedUint8(k);
  for (let i = 0; i < k; i++) {
    const j = indices[i]!;
    if (!Number.isInteger(j) || j < 0 || j >= ds.size) {
      throw new DatasetError(`subset of '${ds.name}': index ${j} at position ${i} is not a row (0..${ds.size - 1})`);
    }
    x.set(ds.x.subarray(j * f, j * f + f), i * f);
    y[i] = ds.y[j]!;
  }
  return createDataset({ name, x, y, featureCount: f, classCount: ds.classCount, inputShape: ds.inputShape });
}

/**
 * Count of each class among the rows `indices` of label array `y`: result[c] = #{i : y[indices[i]] = c}.
 * @throws DatasetError when a label is not an integer in 0..classCount-1 or an index is outside `y`.
 */
export function classHistogram(y: ArrayLike<number>, indices: ArrayLike<number>, classCount: number): number[] {
  const h = new Array<number>(classCount).fill(0);
  for (let i = 0; i < indices.length; i++) {
    const label = y[indices[i]!];
    if (label === undefined || !Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new DatasetError(`classHistogram: row ${indices[i]} has label ${label}, expected an integer in 0..${classCount - 1}`);
    }
    h[label]!++;
  }
  return h;
}

/**
 * The transferable parts of a dataset, for postMessage to a worker thread: the SharedArrayBuffers are
 * shared, nothing is copied (a dataset built outside `createDataset` with plain buffers is copied once).
 */
export function datasetParts(ds: Dataset): DatasetParts {
  const x = ds.x.buffer instanceof SharedArrayBuffer ? ds.x : copyShared(ds.x, sharedFloat32(ds.x.length));
  const y = ds.y.buffer instanceof SharedArrayBuffer ? ds.y : copyShared(ds.y, sharedUint8(ds.y.length));
  return {
    name: ds.name,
    xBuffer: x.buffer as SharedArrayBuffer, xByteOffset: x.byteOffset,
    yBuffer: y.buffer as SharedArrayBuffer, yByteOffset: y.byteOffset,
    size: ds.size, featureCount: ds.featureCount, classCount: ds.classCount, inputShape: [...ds.inputShape],
  };
}

/**
 * Rebuild a Dataset from its transferable parts (for worker threads: the SABs travel, nothing is copied).
 * The returned arrays are views on the same memory as the sender's.
 * @throws DatasetError when the buffers are not shared or are too short for size × featureCount.
 */
export function datasetFromShared(parts: DatasetParts): Dataset {
  const { xBuffer, yBuffer, size, featureCount } = parts;
  if (!(xBuffer instanceof SharedArrayBuffer) || !(yBuffer instanceof SharedArrayBuffer)) {
    throw new DatasetError(`datasetFromShared('${parts.name}'): xBuffer and yBuffer must be SharedArrayBuffers`);
  }
  checkLength(size, 'datasetFromShared size');
  checkLength(featureCount, 'datasetFromShared featureCount');
  checkLength(parts.xByteOffset, 'datasetFromShared xByteOffset');
  checkLength(parts.yByteOffset, 'datasetFromShared yByteOffset');
  const xBytes = size * featureCount * Float32Array.BYTES_PER_ELEMENT;
  if (parts.xByteOffset % Float32Array.BYTES_PER_ELEMENT !== 0 || parts.xByteOffset + xBytes > xBuffer.byteLength
    || parts.yByteOffset + size > yBuffer.byteLength) {
    throw new DatasetError(`datasetFromShared('${parts.name}'): buffers of ${xBuffer.byteLength} and ${yBuffer.byteLength} bytes `
      + `cannot hold ${size} rows × ${featureCount} features at offsets ${parts.xByteOffset} and ${parts.yByteOffset}`);
  }
  return createDataset({
    name: parts.name,
    x: new Float32Array(xBuffer, parts.xByteOffset, size * featureCount),
    y: new Uint8Array(yBuffer, parts.yByteOffset, size),
    featureCount, classCount: parts.classCount, inputShape: parts.inputShape,
  });
}
