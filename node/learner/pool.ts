/**
 * The worker-thread training pool (DESIGN.md seam 4): one worker per core by default, each with its own
 * TF.js backend, so the libp2p event loop keeps answering while peers train. Tasks are independent and
 * seeded, so results are bit-identical whatever the number of workers.
 *
 * Per-task overhead matters when a simulator sends hundreds of small tasks per round (scripts/bench-sim.ts):
 * weights travel through reusable SharedArrayBuffer staging vectors (no structured-clone copy, no transfer
 * that would detach a buffer in the worker; notes/batched-training.md §5), a dataset's shared buffers go to
 * each worker once, and queued tasks go out in batches (one message, one worker wake-up, for up to
 * MAX_IN_FLIGHT tasks), so a worker never idles while this thread is busy and wake-ups stay few.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { makeLayout, type Layout } from '../../aggregation/layout.js';
import { AbortError, MurmurError } from '../errors.js';
import { WorkerPoolError } from './errors.js';
import type { BackendChoice, BackendName } from './backend-info.js';
import type { AnyModelSpec } from './create-model.js';
import type { Evaluation } from './evaluate.js';
import type { DatasetRef, DescribeOutput, FromWorker, SerializedError, Task, TaskOutput, ToWorker, TrainOutput, TrainTask, EvaluateTask, WireTask } from './tasks.js';

export interface WorkerPoolInit {
  /** Number of workers (default: available cores). */
  size?: number;
  /** Backend preference handed to every worker (default tensorflow → wasm → cpu). */
  prefer?: BackendName[];
  /**
   * Cap of each worker's young V8 generation, MB (Worker `resourceLimits.maxYoungGenerationSizeMb`); default
   * V8's own (up to 3 × 16 MB semi-spaces). A daemon sets it small: a training task allocates few JS objects
   * (tensors live in the backend's memory), and every MB of young generation stays resident.
   */
  youngGenerationMb?: number;
}

export interface TaskOptions {
  signal?: AbortSignal;
  /**
   * Run after every queued foreground task, at most BACKGROUND_IN_FLIGHT per worker: for work off the critical
   * path, like a simulator's metric evaluations, which would otherwise delay the next round's training.
   */
  background?: boolean;
  /**
   * Lower goes first (default 0); equal priorities keep submission order, a foreground task before a
   * background one. A simulator passes the round: when peers drift apart (push gossip waits only for the
   * peers that push to you), a straggler's training and a round's evaluations run before the next round's
   * work of the peers ahead, instead of queueing behind it, so rounds close one by one, not in bursts.
   */
  priority?: number;
  /**
   * Train only: write the trained weights into this vector (as long as the task's weights; a recycled one, see
   * node/vector-bank.ts) and resolve with it, instead of a new vector per task.
   */
  output?: Float32Array;
}

interface Pending {
  id: number; task: Task; resolve: (v: unknown) => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void;
  /** Shared copy of the task's weights while the task is in a worker (train writes its result there). */
  staging?: Float32Array;
  /** Estimated work (taskWork) while in a worker. */
  work?: number;
  /** Where a train task's answer goes (TaskOptions.output); dropped on abort, so a late answer writes nowhere. */
  output?: Float32Array;
  background: boolean;
  priority: number;
}
/** Insert `p` after every queued task of its priority or lower (queues stay sorted, FIFO within a priority). */
function enqueue(queue: Pending[], p: Pending): void {
  let at = queue.length;
  while (at > 0 && queue[at - 1]!.priority > p.priority) at--;
  queue.splice(at, 0, p);
}

interface Slot {
  worker: Worker; index: number; ready: Promise<BackendChoice>;
  /** Tasks sent to this worker and not answered yet, oldest first (it runs them in order). */
  inFlight: Pending[];
  /** Σ taskWork of inFlight. */
  work: number;
  /** Dataset ids whose shared parts this worker already holds, by feature buffer. */
  datasets: WeakMap<SharedArrayBuffer, Set<string>>;
}

/** Tasks a worker holds at most (running or waiting in its message queue). */
const MAX_IN_FLIGHT = 16;
/** A worker gets a new batch once it holds this many tasks or fewer, before it runs dry. */
const REFILL_AT = 4;
/** Background tasks a worker holds at most, so a foreground task that arrives waits behind few of them. */
const BACKGROUND_IN_FLIGHT = 2;
/** Abort slots per worker: an abort of task id is flagged at [slot · ABORT_LANES + id mod ABORT_LANES]. */
const ABORT_LANES = MAX_IN_FLIGHT;

/** Rough cost of a task in sample passes: training runs forward and backward (×3), evaluation forward only. */
function taskWork(task: Task): number {
  if (task.kind === 'evaluate') return task.indices.length;
  if (task.kind !== 'train') return 1;
  const o = task.options;
  return 3 * (o.steps !== undefined ? o.steps * (o.batchSize ?? 32) : task.indices.length * (o.epochs ?? 1));
}

const here = import.meta.url;
const workerUrl = new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here);

/**
 * Compiled builds run worker.js directly. Under tsx (tests, `npm run bench`) the worker is a .ts file and
 * Node 20 workers do not inherit tsx's loader hooks, so a tiny bootstrap registers tsx first.
 */
function spawnWorker(youngGenerationMb: number | undefined): Worker {
  const resourceLimits = youngGenerationMb === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } };
  if (!workerUrl.pathname.endsWith('.ts')) return new Worker(workerUrl, resourceLimits);
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(bootstrap, { eval: true, execArgv: [], ...resourceLimits });
}

function rehydrate(e: SerializedError): Error {
  const err = e.code ? new MurmurError(e.code, e.message) : new Error(e.message);
  err.name = e.name;
  return err;
}

/** What a Peer needs from its learner: the simulator's virtual network wraps it to run on virtual time. */
export interface LearnerPool {
  train(task: Omit<TrainTask, 'kind'>, options?: TaskOptions): Promise<TrainOutput>;
  evaluate(task: Omit<EvaluateTask, 'kind'>, options?: TaskOptions): Promise<Evaluation>;
}

export class WorkerPool implements LearnerPool {
  readonly size: number;
  private readonly prefer: BackendName[];
  private readonly youngGenerationMb: number | undefined;
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private backgroundQueue: Pending[] = [];
  private nextId = 1;
  /**
   * Ids of tasks the workers must abandon, ABORT_LANES per slot. Ids are unique, so a stale entry never
   * matches; two aborted tasks of one worker sharing a lane only make the older run to its (ignored) end.
   */
  private abortFlags = new Int32Array(new SharedArrayBuffer(4));
  /** Free SharedArrayBuffer-backed staging vectors by length. */
  private staging = new Map<number, Float32Array[]>();
  private started = false;
  private backendChoice: BackendChoice | null = null;

  constructor(init: WorkerPoolInit = {}) {
    this.size = Math.max(1, init.size ?? availableParallelism());
    this.prefer = init.prefer ?? ['tensorflow', 'wasm', 'cpu'];
    this.youngGenerationMb = init.youngGenerationMb;
  }

  isStarted(): boolean { return this.started; }

  /** Spawn the workers and wait until each has its backend. */
  async start(): Promise<void> {
    if (this.started) return;
    this.abortFlags = new Int32Array(new SharedArrayBuffer(4 * this.size * ABORT_LANES));
    this.slots = Array.from({ length: this.size }, (_, i) => this.spawn(i));
    this.started = true;
    const choices = await Promise.all(this.slots.map((s) => s.ready));
    this.backendChoice = choices[0]!;
  }

  /** Reject queued and running tasks, then terminate the workers. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const err = new AbortError('the worker pool stopped');
    for (const p of [...this.queue.splice(0), ...this.backgroundQueue.splice(0)]) this.settle(p, () => p.reject(err));
    await Promise.all(this.slots.map(async (s) => {
      for (const p of s.inFlight.splice(0)) this.settle(p, () => p.reject(err));
      await s.worker.terminate();
    }));
    this.slots = [];
  }

  /** The backend the workers use (after start). */
  backend(): BackendChoice {
    if (!this.backendChoice) throw new WorkerPoolError('the worker pool has not started');
    return this.backendChoice;
  }

  train(task: Omit<TrainTask, 'kind'>, options: TaskOptions = {}): Promise<TrainOutput> {
    return this.submit({ kind: 'train', ...task }, options);
  }

  evaluate(task: Omit<EvaluateTask, 'kind'>, options: TaskOptions = {}): Promise<Evaluation> {
    return this.submit({ kind: 'evaluate', ...task }, options);
  }

  /** Layout and seeded initial weights of a model spec. */
  async describe(spec: AnyModelSpec, options: TaskOptions = {}): Promise<{ layout: Layout; initial: Float32Array }> {
    const out: DescribeOutput = await this.submit({ kind: 'describe', spec }, options);
    return { layout: makeLayout(out.tensors), initial: out.initial };
  }

  /** Write `weights` as a TF.js Layers model into `dir`. */
  exportModel(spec: AnyModelSpec, weights: Float32Array, dir: string, options: TaskOptions = {}): Promise<void> {
    return this.submit({ kind: 'export', spec, weights, dir }, options);
  }

  /** Tasks waiting for a worker. */
  queued(): number { return this.queue.length + this.backgroundQueue.length; }

  private submit<T extends Task>(task: T, options: TaskOptions): Promise<TaskOutput<T>> {
    if (!this.started) return Promise.reject(new WorkerPoolError('the worker pool has not started; call start() first'));
    if (options.signal?.aborted) return Promise.reject(new AbortError());
    const { output } = options;
    if (output !== undefined && (task.kind !== 'train' || output.length !== task.weights.length)) {
      return Promise.reject(new WorkerPoolError(`the output vector has ${output.length} elements; it is for train tasks only, as long as their weights (${task.kind === 'train' ? task.weights.length : task.kind + ' task'})`));
    }
    return new Promise<TaskOutput<T>>((resolve, reject) => {
      const p: Pending = {
        id: this.nextId++, task, resolve: resolve as (v: unknown) => void, reject, signal: options.signal,
        background: options.background === true, priority: options.priority ?? 0, output,
      };
      if (options.signal) {
        p.onAbort = () => this.abort(p);
        options.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      enqueue(p.background ? this.backgroundQueue : this.queue, p);
      this.pump();
    });
  }

  private abort(p: Pending): void {
    for (const q of [this.queue, this.backgroundQueue]) {
      const qi = q.indexOf(p);
      if (qi >= 0) { q.splice(qi, 1); this.settle(p, () => p.reject(new AbortError())); return; }
    }
    const slot = this.slots.find((s) => s.inFlight.includes(p));
    // The worker skips the task or stops at its next batch; its late answer is ignored and frees the staging.
    if (slot) { Atomics.store(this.abortFlags, slot.index * ABORT_LANES + (p.id % ABORT_LANES), p.id); this.settle(p, () => p.reject(new AbortError())); }
  }

  private settle(p: Pending, fn: () => void): void {
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    p.onAbort = undefined;
    // A settled task's output belongs to its caller now (or, aborted, to nobody): a late answer must not write it.
    p.output = undefined;
    fn();
    p.resolve = () => {}; p.reject = () => {};
  }

  private pump(): void {
    // Once a worker runs low, queued tasks go out in order, each to the worker with the least estimated work
    // in hand (an evaluation of 2,000 rows outweighs a 16-sample training task), up to MAX_IN_FLIGHT each;
    // one message per worker. Background tasks follow when no foreground task waits.
    if (!this.slots.some((s) => s.inFlight.length <= REFILL_AT)) return;
    const batches = new Map<Slot, Array<{ id: number; task: WireTask }>>();
    const takes = (s: Slot, background: boolean) => s.inFlight.length < MAX_IN_FLIGHT
      && (!background || s.inFlight.filter((x) => x.background).length < BACKGROUND_IN_FLIGHT);
    while (this.queue.length > 0 || this.backgroundQueue.length > 0) {
      let background = this.queue.length === 0 || (this.backgroundQueue.length > 0 && this.backgroundQueue[0]!.priority < this.queue[0]!.priority);
      let slot: Slot | null = null;
      for (const s of this.slots) if (takes(s, background) && (!slot || s.work < slot.work)) slot = s;
      if (!slot && background && this.queue.length > 0) {
        // The background cap is reached everywhere: the next foreground task goes instead.
        background = false;
        for (const s of this.slots) if (takes(s, false) && (!slot || s.work < slot.work)) slot = s;
      }
      if (!slot) break;
      const p = (background ? this.backgroundQueue : this.queue).shift()!;
      p.work = taskWork(p.task);
      slot.inFlight.push(p);
      slot.work += p.work;
      const items = batches.get(slot) ?? [];
      items.push({ id: p.id, task: this.wire(slot, p) });
      batches.set(slot, items);
    }
    for (const [slot, items] of batches) {
      const msg: ToWorker = { type: 'tasks', slot: slot.index, lanes: ABORT_LANES, items };
      slot.ready.then(() => slot.worker.postMessage(msg), () => {});
    }
  }

  /** The task as sent to `slot`: weights staged in shared memory, dataset parts only on first use. */
  private wire(slot: Slot, p: Pending): WireTask {
    const task = p.task;
    if (task.kind !== 'train' && task.kind !== 'evaluate') return task;
    const free = this.staging.get(task.weights.length);
    const staging = free?.pop() ?? new Float32Array(new SharedArrayBuffer(task.weights.byteLength));
    staging.set(task.weights);
    p.staging = staging;
    const { id, parts } = task.dataset;
    let ids = slot.datasets.get(parts.xBuffer);
    if (!ids) { ids = new Set(); slot.datasets.set(parts.xBuffer, ids); }
    const known = ids.has(id);
    ids.add(id);
    return { ...task, weights: staging, dataset: known ? { id } : { id, parts } };
  }

  /**
   * A task's answer: train results come back in its staging vector, which is then free again; they are copied
   * into the task's output vector, or a new one.
   */
  private answer(p: Pending, value: unknown): unknown {
    const staging = p.staging;
    if (!staging) return value;
    p.staging = undefined;
    let out = value;
    if (p.task.kind === 'train' && value !== undefined) {
      const weights = p.output ?? new Float32Array(staging.length);
      weights.set(staging);
      out = { ...(value as Omit<TrainOutput, 'weights'>), weights };
    }
    const free = this.staging.get(staging.length) ?? [];
    free.push(staging);
    this.staging.set(staging.length, free);
    return out;
  }

  private spawn(index: number): Slot {
    const worker = spawnWorker(this.youngGenerationMb);
    worker.unref();
    let readyResolve!: (b: BackendChoice) => void, readyReject!: (e: unknown) => void;
    const ready = new Promise<BackendChoice>((res, rej) => { readyResolve = res; readyReject = rej; });
    ready.catch(() => {});
    const slot: Slot = { worker, index, inFlight: [], work: 0, datasets: new WeakMap(), ready };
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') { readyResolve(msg.backend); return; }
      if (msg.type === 'init-failed') { readyReject(new WorkerPoolError(`a training worker could not start TF.js: ${msg.error.message}`)); return; }
      for (const r of msg.items) {
        const i = slot.inFlight.findIndex((x) => x.id === r.id);
        if (i < 0) continue;
        const p = slot.inFlight.splice(i, 1)[0]!;
        slot.work -= p.work ?? 0;
        if (r.ok) { const value = this.answer(p, r.value); this.settle(p, () => p.resolve(value)); }
        else { this.answer(p, undefined); this.settle(p, () => p.reject(rehydrate(r.error))); }
      }
      this.pump();
    });
    worker.on('error', (err) => {
      readyReject(err);
      for (const p of slot.inFlight.splice(0)) this.settle(p, () => p.reject(new WorkerPoolError(`a training worker crashed: ${err.message}`, { cause: err })));
    });
    worker.on('exit', (code) => {
      if (!this.started) return;
      for (const p of slot.inFlight.splice(0)) this.settle(p, () => p.reject(new WorkerPoolError(`a training worker exited (code ${code})`)));
      // Replace a dead worker so the pool keeps its size.
      const i = this.slots.indexOf(slot);
      if (i >= 0) { this.slots[i] = this.spawn(index); this.pump(); }
    });
    const init: ToWorker = { type: 'init', prefer: this.prefer, abortFlags: this.abortFlags };
    worker.postMessage(init);
    return slot;
  }
}

/** Factory in the project's service shape. */
export function workerPool(init: WorkerPoolInit = {}): WorkerPool {
  return new WorkerPool(init);
}

export type { DatasetRef };
