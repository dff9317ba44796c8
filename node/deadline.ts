/**
 * Deadlines that always fire. On Node 20, `AbortSignal.any([AbortSignal.timeout(ms), parent])` holds the
 * timeout signal only weakly (by its timer and by `any`): a major GC can free it and the combined signal
 * then never aborts (nodejs/node#57736) — a round's collect waited for ever that way. Here the timer's
 * callback holds the controller strongly, and a parent is followed through a listener (the parent holds the
 * child, not the other way round), so the deadline fires whatever the garbage collector does. Every
 * deadline in Murmuration is made here.
 */

import { setMaxListeners } from 'node:events';

/** What a deadline aborts with: the same `TimeoutError` DOMException as AbortSignal.timeout. */
export function timeoutReason(ms: number): DOMException {
  return new DOMException(`the operation timed out after ${ms} ms`, 'TimeoutError');
}

/**
 * A signal that aborts after `ms` (reason: a `TimeoutError` DOMException), or as soon as any `parent`
 * aborts (with that parent's reason). The timer does not keep the process alive (like AbortSignal.timeout)
 * and is cleared when a parent aborts first; `Infinity` means no timer.
 */
export function deadline(ms: number, ...parents: Array<AbortSignal | undefined>): AbortSignal {
  return releasableDeadline(ms, ...parents).signal;
}

/** A deadline with a `release()` that clears its timer and leaves its parents at once. */
export interface ReleasableDeadline {
  readonly signal: AbortSignal;
  /**
   * Call once the guarded work is done: the timer and the parents' listeners go now, not when the timer
   * would have fired (a per-frame deadline would otherwise keep a timer and a closure alive for its whole
   * span, thousands of them in a busy swarm). The signal then never aborts.
   */
  release(): void;
}

/** As `deadline`, plus an early `release()` (see ReleasableDeadline). */
export function releasableDeadline(ms: number, ...parents: Array<AbortSignal | undefined>): ReleasableDeadline {
  const controller = new AbortController();
  const unfollow = follow(controller, parents);
  if (controller.signal.aborted || ms === Infinity) return { signal: controller.signal, release: unfollow };
  const timer = setTimeout(() => {
    unfollow();
    controller.abort(timeoutReason(ms));
  }, Math.max(0, ms));
  timer.unref?.();
  controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return { signal: controller.signal, release: () => { clearTimeout(timer); unfollow(); } };
}

/**
 * A signal that aborts when the first of `signals` aborts, with its reason. Unlike AbortSignal.any on Node
 * 20, it is held strongly by its sources' listeners, so it cannot be collected while a source may fire.
 */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const controller = new AbortController();
  follow(controller, signals);
  return controller.signal;
}

/** Abort `controller` when one of `parents` aborts; returns a function that stops following them. */
function follow(controller: AbortController, parents: ReadonlyArray<AbortSignal | undefined>): () => void {
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  const already = live.find((p) => p.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return () => {};
  }
  const onAbort = (event: Event): void => {
    unfollow();
    controller.abort((event.target as AbortSignal).reason);
  };
  const unfollow = (): void => { for (const p of live) p.removeEventListener('abort', onAbort); };
  // A parent outlives its children and many may be in flight at once (a send per neighbour): it is a
  // shared long-lived signal, whose listener limit is raised (STYLE.md "Cancellation").
  setMaxListeners(Infinity, ...live);
  for (const p of live) p.addEventListener('abort', onAbort, { once: true });
  // Once the child aborts for any reason, the parents need not hold it any longer.
  controller.signal.addEventListener('abort', unfollow, { once: true });
  return unfollow;
}
