/**
 * Messages between the worker pool and its workers. Only plain data crosses: Float32Arrays (train and
 * evaluate weights staged in SharedArrayBuffers, others cloned or transferred), SharedArrayBuffer-backed
 * datasets (shared, never copied; sent once per worker) and JSON-able specs.
 */
import type { TensorEntry } from '../../aggregation/layout.js';
import type { DatasetParts } from '../data/dataset.js';
import type { AnyModelSpec } from './create-model.js';
import type { Evaluation } from './evaluate.js';
import type { TrainOptions, TrainResult } from './train.js';
import type { BackendChoice, BackendName } from './backend.js';

/** A dataset as a worker sees it: an id for its cache and the shared parts (sent once per worker). */
export interface DatasetRef { id: string; parts: DatasetParts }

export type TrainTaskOptions = Omit<TrainOptions, 'signal' | 'shouldStop'>;

export interface TrainTask { kind: 'train'; spec: AnyModelSpec; weights: Float32Array; dataset: DatasetRef; indices: Uint32Array; options: TrainTaskOptions }
/** `kernel: 'js'` evaluates logreg/MLP specs with dense-js.ts's evaluateDense (the train option's twin). */
export interface EvaluateTask { kind: 'evaluate'; spec: AnyModelSpec; weights: Float32Array; dataset: DatasetRef; indices: Uint32Array; kernel?: 'tfjs' | 'js' }
export interface DescribeTask { kind: 'describe'; spec: AnyModelSpec }
export interface ExportTask { kind: 'export'; spec: AnyModelSpec; weights: Float32Array; dir: string }
export type Task = TrainTask | EvaluateTask | DescribeTask | ExportTask;

export interface TrainOutput { weights: Float32Array; result: TrainResult }
export interface DescribeOutput { tensors: TensorEntry[]; initial: Float32Array }

/** A dataset on the wire: `parts` only the first time a worker sees the id (it caches the views). */
export interface WireDatasetRef { id: string; parts?: DatasetParts }

/**
 * A task as sent to a worker. Train and evaluate weights are staged in a SharedArrayBuffer the worker may
 * overwrite: a train task writes its result there and answers without weights.
 */
export type WireTask =
  | (Omit<TrainTask, 'dataset'> & { dataset: WireDatasetRef })
  | (Omit<EvaluateTask, 'dataset'> & { dataset: WireDatasetRef })
  | DescribeTask | ExportTask;

export type TaskOutput<T extends Task> =
  T extends TrainTask ? TrainOutput : T extends EvaluateTask ? Evaluation : T extends DescribeTask ? DescribeOutput : void;

export type ToWorker =
  | { type: 'init'; prefer: BackendName[]; abortFlags: Int32Array }
  /** A batch of tasks, run in order; `lanes` abort flags per slot (pool.ts). */
  | { type: 'tasks'; slot: number; lanes: number; items: Array<{ id: number; task: WireTask }> };

export type FromWorker =
  | { type: 'ready'; backend: BackendChoice }
  | { type: 'init-failed'; error: SerializedError }
  /** Answers of one or more tasks, in the order they finished (worker.ts sends them in batches). */
  | { type: 'results'; items: TaskResult[] };

export type TaskResult = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export interface SerializedError { name: string; code?: string; message: string; stack?: string }
