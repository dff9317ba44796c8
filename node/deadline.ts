/**
 * Deadlines that always fire. On Node 20, `AbortSignal.any([AbortSignal.timeout(ms), parent])` holds the
 * timeout signal only weakly (by its timer and by `any`): a major GC can free it and the combined signal
 * then never aborts (nodejs/node#57736) — a round's collect waited for ever that way. Here the timer's
 * callback holds the controller strongly, and a parent is followed through a listener (the parent holds the
 * child, not the other way round), so the deadline fires whatever the garbage collector does. Every
 * deadline in Murmuration is made here; a virtual clock supplies its own timer (`deadlineOn`).
 */

import { setMaxListeners } from 'node:events';

/** What a deadline aborts with: the same `TimeoutError` DOMException as AbortSignal.timeout. */
export function timeoutReason(ms: number): DOMException {
  return new DOMException(`the operation timed out after ${ms} ms`, 'TimeoutError');
}

/**
 * Starts a one-shot timer that calls `fire` after `ms` (finite, ≥ 0) and returns its cancel function. The
 * timer must hold `fire` strongly until it fires or is cancelled (that is what keeps a deadline alive).
 */
export type StartTimer = (ms: number, fire: () => void) => () => void;

/** The wall-clock timer: unref'd, so a pending deadline does not keep the process alive (like AbortSignal.timeout). */
const wallTimer: StartTimer = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

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
   * span, thousands of them in a busy swarm). The signal then never aborts. Idempotent.
   */
  release(): void;
  /**
   * End the wait now, as its owner (e.g. nothing more can arrive): releases like `release()`, then aborts
   * the signal with `reason` (default: an AbortError DOMException, so it is not taken for a timeout).
   */
  abort(reason?: unknown): void;
}

/** As `deadline`, plus an early `release()` (see ReleasableDeadline). */
export function releasableDeadline(ms: number, ...parents: Array<AbortSignal | undefined>): ReleasableDeadline {
  return deadlineOn(wallTimer, ms, parents);
}

const NO_OP = (): void => {};

/**
 * A releasable deadline on any timer (node/clock.ts's virtual clock passes its scheduler): one
 * AbortController, one listener per parent, one timer; nothing weak, so nothing the GC can lose.
 */
export function deadlineOn(start: StartTimer, ms: number, parents: ReadonlyArray<AbortSignal | undefined>): ReleasableDeadline {
  const controller = new AbortController();
  let cancelTimer = NO_OP;
  const unfollow = follow(controller, parents, () => cancelTimer());
  const release = (): void => { cancelTimer(); cancelTimer = NO_OP; unfollow(); };
  const abort = (reason?: unknown): void => { release(); controller.abort(reason); };
  if (controller.signal.aborted || ms === Infinity) return { signal: controller.signal, release, abort };
  cancelTimer = start(Math.max(0, ms), () => {
    cancelTimer = NO_OP;
    unfollow();
    controller.abort(timeoutReason(ms));
  });
  return { signal: controller.signal, release, abort };
}

/**
 * A signal that aborts when the first of `signals` aborts, with its reason. Unlike AbortSignal.any on Node
 * 20, it is held strongly by its sources' listeners, so it cannot be collected while a source may fire.
 */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const controller = new AbortController();
  follow(controller, signals, NO_OP);
  return controller.signal;
}

/** Parents whose listener limit is already raised (setMaxListeners is not free, and a parent sees thousands of children). */
const raised = new WeakSet<AbortSignal>();

/**
 * Abort `controller` when one of `parents` aborts (calling `onParentAbort` first); returns a function that
 * stops following them. Only the parents and the controller's owner can abort it, and both unfollow.
 */
function follow(controller: AbortController, parents: ReadonlyArray<AbortSignal | undefined>, onParentAbort: () => void): () => void {
  let live: AbortSignal[] | null = null;
  for (const p of parents) {
    if (p === undefined) continue;
    if (p.aborted) {
      controller.abort(p.reason);
      return NO_OP;
    }
    (live ??= []).push(p);
  }
  if (live === null) return NO_OP;
  const sources = live;
  const onAbort = (event: Event): void => {
    unfollow();
    onParentAbort();
    controller.abort((event.target as AbortSignal).reason);
  };
  const unfollow = (): void => { for (const p of sources) p.removeEventListener('abort', onAbort); };
  for (const p of sources) {
    // A parent outlives its children and many may be in flight at once (a send per neighbour): it is a
    // shared long-lived signal, whose listener limit is raised (STYLE.md "Cancellation").
    if (!raised.has(p)) { setMaxListeners(Infinity, p); raised.add(p); }
    p.addEventListener('abort', onAbort, { once: true });
  }
  return unfollow;
}
