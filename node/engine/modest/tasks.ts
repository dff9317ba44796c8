/**
 * The concurrency plumbing of an event-driven engine (engine.ts): tracked fire-and-forget tasks
 * (errors logged, never unhandled), conditions to wait for that are re-checked on every state change, and
 * one lock that serialises updates of the model state (training, aggregating) without blocking the network.
 */
import { AbortError } from '../../errors.js';

export class EngineTasks {
  private readonly tasks = new Set<Promise<void>>();
  private readonly waiters = new Set<{ cond: () => boolean; done: () => void }>();
  private lock: Promise<void> = Promise.resolve();

  /**
   * `signal` stops every wait; `onError` gets a task's failure; `onChange` runs first on every `poke` (e.g.
   * to cancel watchdogs whose condition now holds).
   */
  constructor(private readonly signal: AbortSignal, private readonly onError: (err: unknown) => void, private readonly onChange: () => void = () => {}) {}

  /** Tasks still running. */
  get size(): number { return this.tasks.size; }

  /** Run `p` in the background: a rejection goes to onError; its end re-checks the waiters. */
  track(p: Promise<unknown>): void {
    const t: Promise<void> = p.then(() => {}, (err: unknown) => this.onError(err)).finally(() => {
      this.tasks.delete(t);
      this.poke();
    });
    this.tasks.add(t);
  }

  /** Resolve once `cond()` holds (checked now and on every poke); reject with AbortError on the signal. */
  until(cond: () => boolean): Promise<void> {
    if (this.signal.aborted) return Promise.reject(new AbortError('the engine was stopped'));
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.waiters.delete(w); reject(new AbortError('the engine was stopped')); };
      const w = { cond, done: () => { this.waiters.delete(w); this.signal.removeEventListener('abort', onAbort); resolve(); } };
      this.waiters.add(w);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** State changed: re-check every waiter. */
  poke(): void {
    this.onChange();
    for (const w of [...this.waiters]) if (w.cond()) w.done();
  }

  /** Run `fn` after every earlier locked section settled; the next one waits for this one. */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(() => {}, () => {});
    return run;
  }

  /** Wait for every tracked task to settle (shutdown). */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
