import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../../../node/clock.js';
import { anySignal, deadline } from '../../../node/deadline.js';
import { Inbox } from '../../../protocols/inbox.js';

// A major GC on demand without --expose-gc on the command line (the flag only has to be set before the
// context that reads `gc` is made).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resolve with 'fired' when `signal` aborts, or 'never' after `ms`. */
function firedWithin(signal: AbortSignal, ms: number): Promise<'fired' | 'never'> {
  return new Promise((resolve) => {
    const guard = setTimeout(() => resolve('never'), ms);
    signal.addEventListener('abort', () => { clearTimeout(guard); resolve('fired'); }, { once: true });
  });
}

describe('deadline', () => {
  it('fires although a major GC runs while it waits (nodejs/node#57736)', async () => {
    const parent = new AbortController();
    // Nothing but the pending listener refers to the signal, as in a round's collect.
    const outcome = firedWithin(deadline(300, parent.signal), 5000);
    for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 30)); gc(); }
    assert.equal(await outcome, 'fired');
  });

  it('a round collect on the system clock ends at its deadline although a major GC runs meanwhile', async () => {
    const inbox = new Inbox<string>();
    const stop = new AbortController();
    const collect = inbox.collect(1, 0, ['a', 'b'], { signal: systemClock.timeout(300, stop.signal), stop: stop.signal });
    inbox.put('a', 1, 0, 1, 'frame of a');
    for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 30)); gc(); }
    // A ref'd guard keeps the process alive (the deadline's own timer does not, like AbortSignal.timeout's).
    let guardTimer: NodeJS.Timeout | undefined;
    const guard = new Promise<'hung'>((resolve) => { guardTimer = setTimeout(() => resolve('hung'), 5000); });
    const result = await Promise.race([collect, guard]);
    clearTimeout(guardTimer);
    assert.notEqual(result, 'hung', 'the collect never ended: its deadline was lost');
    assert.ok(result !== 'hung');
    assert.equal(result.timedOut, true);
    assert.deepEqual(result.missing, ['b']);
    assert.deepEqual(result.items.map((i) => i.item), ['frame of a']);
  });

  it('aborts with a TimeoutError after ms, or with the parent’s reason when the parent aborts first', async () => {
    const timed = deadline(10);
    await firedWithin(timed, 5000);
    assert.equal((timed.reason as DOMException).name, 'TimeoutError');

    const parent = new AbortController();
    const child = deadline(60_000, parent.signal);
    parent.abort(new Error('stopped'));
    assert.equal(child.aborted, true);
    assert.equal((child.reason as Error).message, 'stopped');

    const already = deadline(60_000, AbortSignal.abort('done'));
    assert.equal(already.aborted, true);
    assert.equal(already.reason, 'done');
  });

  it('anySignal follows the first source to abort and ignores undefined sources', () => {
    const a = new AbortController(), b = new AbortController();
    const any = anySignal(a.signal, undefined, b.signal);
    assert.equal(any.aborted, false);
    b.abort('b first');
    a.abort('a later');
    assert.equal(any.reason, 'b first');
  });
});
