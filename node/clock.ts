/**
 * Time as the Peer sees it. The daemon uses the system clock; the simulator's virtual network injects a
 * virtual one, so the same engine code runs on real and simulated time (STYLE.md "Resource lifecycles").
 */
import { deadline, releasableDeadline, type ReleasableDeadline } from './deadline.js';
import { AbortError } from './errors.js';

export interface Clock {
  /** Milliseconds (epoch for the system clock, virtual otherwise). */
  now(): number;
  /** Resolve after `ms`; reject with AbortError when the signal aborts first. */
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * A signal that aborts after `ms` on this clock (or when `parent` aborts). Fine to drop unreleased: for
   * occasional waits. Hot paths (a send, a round's collect) use `deadline` and release it.
   */
  timeout(ms: number, parent?: AbortSignal): AbortSignal;
  /**
   * A deadline after `ms` on this clock that also aborts when any of `parents` aborts (with its reason),
   * and whose timer and parent listeners go as soon as `release()` is called (node/deadline.ts). Cheaper
   * than `timeout` on the virtual clock (one AbortController, no weak references); call `release()` when
   * the guarded work is done, or the parents hold it until it fires. `abort()` ends the wait early.
   */
  deadline(ms: number, ...parents: Array<AbortSignal | undefined>): ReleasableDeadline;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, options = {}) {
    return new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) { reject(new AbortError()); return; }
      const onAbort = () => { clearTimeout(timer); reject(new AbortError()); };
      const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  timeout: (ms, parent) => deadline(ms, parent),
  deadline: (ms, ...parents) => releasableDeadline(ms, ...parents),
};
