/**
 * A training worker: one TF.js instance, one model per architecture (reused across peers: weights are
 * loaded per task, notes/tfjs.md §4, §9), datasets cached by id as shared views.
 */
import '../polyfill.js';
import { parentPort } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import type { Layout } from '../../aggregation/layout.js';
import { datasetFromShared, type Dataset } from '../data/dataset.js';
import { AbortError } from '../errors.js';
import { selectBackend } from './backend.js';
import { createModel, modelKey, type AnyModelSpec } from './create-model.js';
import { denseWidths, trainDenseJsInPlace, usesDenseJs } from './dense-js.js';
import { evaluateDense } from './dense-eval.js';
import { evaluateModel } from './evaluate.js';
import { readVector, writeVector } from './flat.js';
import { saveLayersModelTo } from './layers-io.js';
import type { FromWorker, TaskResult, ToWorker, WireDatasetRef, WireTask } from './tasks.js';
import { trainModel, type TrainResult } from './train.js';

if (!parentPort) throw new Error('node/learner/worker.ts must run in a worker thread');
const port = parentPort;

const models = new Map<string, { model: tf.LayersModel; layout: Layout; initial: Float32Array }>();
const datasets = new Map<string, Dataset>();
let abortFlags: Int32Array = new Int32Array(1);

async function modelFor(spec: AnyModelSpec) {
  const key = modelKey(spec);
  let m = models.get(key);
  if (!m) { m = await createModel(spec); models.set(key, m); }
  return m;
}

/** The pool sends a dataset's parts once per worker; parts that do come replace the cached views. */
function datasetFor(ref: WireDatasetRef): Dataset {
  if (ref.parts) { const ds = datasetFromShared(ref.parts); datasets.set(ref.id, ds); return ds; }
  const ds = datasets.get(ref.id);
  if (!ds) throw new Error(`dataset "${ref.id}" was never sent to this worker`);
  return ds;
}

/** Train results go back in the task's shared staging vector when it has one (pool.ts), else as a transfer. */
function trained(task: { weights: Float32Array }, weights: Float32Array, result: TrainResult): { value: unknown; transfer: ArrayBuffer[] } {
  if (!(task.weights.buffer instanceof SharedArrayBuffer)) return { value: { weights, result }, transfer: weights === task.weights ? [] : [weights.buffer as ArrayBuffer] };
  if (weights !== task.weights) task.weights.set(weights);
  return { value: { result }, transfer: [] };
}

async function run(task: WireTask, id: number, flag: number): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  const shouldStop = () => Atomics.load(abortFlags, flag) === id;
  if (shouldStop()) throw new AbortError('the task was aborted before it started');
  switch (task.kind) {
    case 'describe': {
      const m = task.spec.arch === 'layers' ? await modelFor(task.spec) : await createModel(task.spec);
      const initial = m.initial.slice();
      if (task.spec.arch !== 'layers') m.model.dispose();
      return { value: { tensors: m.layout.tensors.map((t) => ({ name: t.name, shape: [...t.shape], role: t.role })), initial }, transfer: [initial.buffer as ArrayBuffer] };
    }
    case 'train': {
      if (usesDenseJs(task.spec, task.options)) {
        // Trained in place: the vector is this task's own (shared staging or a clone), never transferred.
        return trained(task, task.weights, trainDenseJsInPlace(task.spec, task.weights, datasetFor(task.dataset), task.indices, { ...task.options, shouldStop }));
      }
      const m = await modelFor(task.spec);
      writeVector(m.model, m.layout, task.weights);
      const result = trainModel(m.model, m.layout, datasetFor(task.dataset), task.indices, { ...task.options, shouldStop });
      return trained(task, readVector(m.model, m.layout), result);
    }
    case 'evaluate': {
      if (task.kernel === 'js' && denseWidths(task.spec)) return { value: evaluateDense(task.spec, task.weights, datasetFor(task.dataset), task.indices), transfer: [] };
      const m = await modelFor(task.spec);
      writeVector(m.model, m.layout, task.weights);
      return { value: evaluateModel(m.model, datasetFor(task.dataset), task.indices), transfer: [] };
    }
    case 'export': {
      const m = await modelFor(task.spec);
      writeVector(m.model, m.layout, task.weights);
      await saveLayersModelTo(m.model, task.dir);
      return { value: undefined, transfer: [] };
    }
  }
}

const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

/**
 * Answers go out in batches: each message wakes the pool's thread, and on a busy machine a wake-up can cost it
 * its CPU (the woken thread runs first). An answer waits at most ANSWER_DELAY_MS for the tasks after it, and
 * never for a task that has not arrived yet (the batch goes when the queue runs dry).
 */
const ANSWER_DELAY_MS = 1;
let outbox: TaskResult[] = [], outboxTransfer: ArrayBuffer[] = [], outboxSince = 0, pendingTasks = 0;
function answer(result: TaskResult, transfer: ArrayBuffer[]): void {
  if (outbox.length === 0) outboxSince = performance.now();
  outbox.push(result);
  outboxTransfer.push(...transfer);
  pendingTasks--;
  if (pendingTasks === 0 || performance.now() - outboxSince >= ANSWER_DELAY_MS) flushAnswers();
}
function flushAnswers(): void {
  if (outbox.length === 0) return;
  post({ type: 'results', items: outbox }, outboxTransfer);
  outbox = []; outboxTransfer = [];
}
const serialize = (err: unknown) => {
  const e = err as { name?: string; code?: string; message?: string; stack?: string };
  return { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(err), stack: e?.stack };
};

// Tasks run one at a time, in arrival order: the pool sends batches and more before these answered, and a
// task that awaits (model loading) must not interleave with the next on the shared model. Each answers alone.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    abortFlags = msg.abortFlags;
    selectBackend(msg.prefer).then((backend) => post({ type: 'ready', backend }), (err) => post({ type: 'init-failed', error: serialize(err) }));
    return;
  }
  pendingTasks += msg.items.length;
  for (const { id, task } of msg.items) {
    queue = queue.then(() => run(task, id, msg.slot * msg.lanes + (id % msg.lanes))).then(
      ({ value, transfer }) => answer({ id, ok: true, value }, transfer),
      (err) => answer({ id, ok: false, error: serialize(err) }, []),
    );
  }
});
