/**
 * A peer's learner pool on virtual time. The real task goes to the shared WorkerPool at once (so many
 * peers' tasks run in parallel); its result reaches the peer through an event of that peer at
 * now + cost, so continuations run in the same order in every run (scheduler.ts). The cost model turns
 * work into virtual time: 0 by default, i.e. computation is instantaneous on the virtual clock.
 */
import { AbortError } from '../../node/errors.js';
import type { Evaluation } from '../../node/learner/evaluate.js';
import type { LearnerPool, TaskOptions } from '../../node/learner/pool.js';
import type { EvaluateTask, TrainOutput, TrainTask } from '../../node/learner/tasks.js';
import { LinkModelError } from './errors.js';
import type { Settled, VirtualScheduler } from './scheduler.js';

/** Virtual duration of learner work. Both rates are ms per sample, finite and ≥ 0; default 0. */
export interface CostModel {
  /** Per training sample processed (indices × epochs, or steps × batch size). */
  trainMsPerSample?: number;
  /** Per evaluated sample. */
  evaluateMsPerSample?: number;
}

/** Resolved, validated cost model. */
export interface ResolvedCostModel {
  readonly trainMsPerSample: number;
  readonly evaluateMsPerSample: number;
}

const DEFAULT_BATCH_SIZE = 32;
/** Owners told apart by the pool's tie-break (inOwnerOrder); later ones share its last place. */
const OWNER_SPAN = 2 ** 20;

/** Validate a cost model (LinkModelError for a negative or non-finite rate) and fill defaults. */
export function resolveCostModel(cost: CostModel = {}): ResolvedCostModel {
  const check = (field: string, v: number | undefined): number => {
    const x = v ?? 0;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new LinkModelError(`cost ${field}`, x, 'must be a finite number of ms ≥ 0');
    return x;
  };
  return Object.freeze({ trainMsPerSample: check('trainMsPerSample', cost.trainMsPerSample), evaluateMsPerSample: check('evaluateMsPerSample', cost.evaluateMsPerSample) });
}

/**
 * Training samples a task will process, known before it runs (so the event's key is fixed at submission):
 * steps × batch size when `steps` is set, else indices × epochs (defaults as node/learner/train.ts).
 */
export function plannedTrainSamples(task: Omit<TrainTask, 'kind'>): number {
  const o = task.options;
  if (o.steps !== undefined) return o.steps * Math.min(o.batchSize ?? DEFAULT_BATCH_SIZE, task.indices.length);
  return task.indices.length * (o.epochs ?? 1);
}

/** `LearnerPool` of one virtual peer (owner index `owner` of the scheduler). */
export class VirtualPool implements LearnerPool {
  private readonly cost: ResolvedCostModel;

  constructor(private readonly inner: LearnerPool, private readonly scheduler: VirtualScheduler, readonly owner: number, cost: CostModel = {}) {
    this.cost = resolveCostModel(cost);
  }

  train(task: Omit<TrainTask, 'kind'>, options: TaskOptions = {}): Promise<TrainOutput> {
    const ms = this.cost.trainMsPerSample * plannedTrainSamples(task);
    return this.submit(() => this.inner.train(task, this.inOwnerOrder(options)), ms, options.signal);
  }

  evaluate(task: Omit<EvaluateTask, 'kind'>, options: TaskOptions = {}): Promise<Evaluation> {
    const ms = this.cost.evaluateMsPerSample * task.indices.length;
    return this.submit(() => this.inner.evaluate(task, this.inOwnerOrder(options)), ms, options.signal);
  }

  /**
   * The scheduler hands results over in owner order (scheduler.ts), so tasks of one priority (a round)
   * should finish in that order too: otherwise the driver waits for peer 0's task, queued behind hundreds
   * submitted before it, while their results sit ready, and the main thread's work on them piles up after
   * the workers have finished. The owner only breaks ties: the priority moves into (p − 1, p), so the task
   * ranks as before against every whole priority (foreground or background). Speed only; results do not
   * depend on the pool's order.
   */
  private inOwnerOrder(options: TaskOptions): TaskOptions {
    return { ...options, priority: (options.priority ?? 0) - 1 + (Math.min(this.owner, OWNER_SPAN - 1) + 1) / (OWNER_SPAN + 1) };
  }

  private submit<T>(start: () => Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(new AbortError('the task was aborted before it started'));
    return new Promise<T>((resolve, reject) => {
      // An abort (the peer stops) rejects at once, in real time, like the WorkerPool; the event is dropped.
      const onAbort = (): void => { event.cancel(); reject(new AbortError('the task was aborted')); };
      const event = this.scheduler.defer(this.owner, ms, start(), (outcome: Settled<T>) => {
        signal?.removeEventListener('abort', onAbort);
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
