import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../../../node/logger.js';
import { EngineTasks } from '../../../../../node/engine/modest/tasks.js';
import { FailedProbes, GONE_AFTER_FAILED_PROBES, MAX_RESENDS, ProgressWatch, SLOWEST_DECAY } from '../../../../../node/engine/modest/watch.js';
import type { Clock } from '../../../../../node/clock.js';

/** A watch whose clock and aggregated level the test moves by hand. */
function watch(baseMs: number): { w: ProgressWatch; step: (level: number, atMs: number) => void } {
  let now = 0, level = 0;
  const clock = { now: () => now } as unknown as Clock;
  const signal = new AbortController().signal;
  const w = new ProgressWatch({ clock, tasks: new EngineTasks(signal, () => {}), logger: silentLogger(), signal, baseMs, level: () => level, active: () => true });
  return { w, step: (l, at) => { level = l; now = at; w.onChange(); } };
}

describe('MoDeST progress watch: how long a hand-off waits before it is repeated', () => {
  it('a round as slow as a recent slow one is no stall: the wait grows to twice it', () => {
    const { w, step } = watch(20_000);
    step(1, 0);
    step(2, 15_000);
    assert.equal(w.firstWaitMs(), 30_000);
  });

  it('one slow round long ago (a swarm filling up) no longer stretches the wait once rounds are quick again', () => {
    const { w, step } = watch(20_000);
    step(1, 0);
    step(2, 22_000);
    // 30 rounds of 1 s: 2 × 22 s × 0.9^30 ≈ 1.9 s, so the configured 20 s applies again (it stayed 44 s).
    for (let k = 3; k <= 32; k++) step(k, 22_000 + (k - 2) * 1_000);
    assert.equal(w.firstWaitMs(), 20_000);
    assert.ok(2 * 22_000 * SLOWEST_DECAY ** 30 < 20_000);
  });
});

describe('MoDeST probes: when a hand-off peer counts as gone', () => {
  it('one unanswered probe is no verdict (a live peer on a starved machine); two in a row are; an answer starts over', () => {
    assert.equal(GONE_AFTER_FAILED_PROBES, 2);
    const f = new FailedProbes();
    assert.equal(f.count('a', false), false);
    assert.equal(f.count('a', true), false);
    assert.equal(f.count('a', false), false);
    assert.equal(f.count('b', false), false, 'counted per peer');
    assert.equal(f.count('a', false), true);
  });
});

/**
 * A watch on a clock whose sleeps return at once, time jumping ahead (no aggregation ever shows up): the times
 * at which the hand-off is repeated, and the peers probed each time.
 */
async function repeats(ahead: readonly string[], answers: (peer: string) => boolean): Promise<{ at: number[]; probed: string[][] }> {
  let now = 0;
  const clock = {
    now: () => now,
    sleep: async (ms: number, o: { signal?: AbortSignal } = {}) => { o.signal?.throwIfAborted(); now += ms; },
  } as unknown as Clock;
  const signal = new AbortController().signal;
  const tasks = new EngineTasks(signal, (err) => { throw err; });
  const w = new ProgressWatch({ clock, tasks, logger: silentLogger(), signal, baseMs: 20_000, level: () => 0, active: () => true, probeEveryMs: 1_000 });
  const at: number[] = [], probed: string[][] = [];
  let round: string[] = [];
  w.watch(2, 2, async () => { at.push(now); probed.push(round); round = []; }, {
    peers: () => ['agg'], ahead: () => ahead, alive: async (p) => { round.push(p); return answers(p); },
  });
  await tasks.drain();
  return { at, probed };
}

describe('MoDeST probes: a peer ahead in the order (watch.ts "Ahead")', () => {
  it('a peer the view now puts first, which the hand-off missed, is handed to at the first probe it answers', async () => {
    const { at, probed } = await repeats(['joiner'], () => true);
    assert.equal(at[0], 1_000, 'repeated at the first probe, not after the 20 s wait');
    assert.deepEqual(probed[0], ['agg', 'joiner']);
  });

  it('a peer ahead that the repeat misses again gets one repeat, outside the resend budget: the progress timeout keeps its repeats', async () => {
    const { at } = await repeats(['busy'], () => true); // answers probes, yet `ahead` keeps listing it
    assert.equal(at[0], 1_000);
    assert.deepEqual(at.slice(1), [21_000, 41_000, 61_000], 'after the one repeat for the peer ahead, only progress timeouts repeat');
  });

  it('a silent peer ahead (gone, not yet pruned) changes nothing: the hand-off waits its whole time', async () => {
    const { at } = await repeats(['dead'], (p) => p !== 'dead');
    assert.equal(at.length, MAX_RESENDS);
    assert.equal(at[0], 20_000);
  });
});
