import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { AlgorithmInstance } from '../../../../node/algorithms/types.js';
import { systemClock, type Clock } from '../../../../node/clock.js';
import type { EngineContext, NeighbourProgress } from '../../../../node/engine/context.js';
import { awaitedSenders, runSyncRounds } from '../../../../node/engine/sync-rounds.js';
import { deriveRng } from '../../../../node/data/rng.js';
import { silentLogger } from '../../../../node/logger.js';
import type { CollectOptions, Network, OutgoingFrame, SendOptions } from '../../../../node/network.js';
import { VirtualScheduler } from '../../../../topology-sim/virtual/scheduler.js';

/** Neighbours' last announced finished rounds; a missing key never announced. */
const progress = (finished: Record<string, number>) => ({ finished: (p: string) => finished[p] });

describe('awaitedSenders: a synchronous round waits only for neighbours active in it', () => {
  it('waits for neighbours in this round or one behind, and for those that never announced', () => {
    // Round 10: a finished 9 (in 10), b finished 8 (in 9, its announcement may lag), c never announced.
    assert.deepEqual(awaitedSenders(['a', 'b', 'c'], 10, progress({ a: 9, b: 8 })), ['a', 'b', 'c']);
  });

  it('does not wait for a neighbour more than one round behind: it jumps to the swarm round instead', () => {
    // d finished 7, so it is in round 8 < 10 − 1.
    assert.deepEqual(awaitedSenders(['a', 'd'], 10, progress({ a: 9, d: 7 })), ['a']);
  });

  it('does not wait for a neighbour that already finished this round: its frame came first or never will', () => {
    assert.deepEqual(awaitedSenders(['a', 'e', 'f'], 10, progress({ a: 9, e: 10, f: 12 })), ['a']);
  });
});

/** What a stub network saw: the signal of every send and every collect. */
interface Seen { sends: AbortSignal[]; collects: AbortSignal[] }

/**
 * A context for `rounds` lockstep rounds of one peer with one neighbour, on `clock`: no training (no local
 * rows), sends accepted at once, each collect answered at once with nothing (the neighbour's frame is not
 * needed to close a round), aggregation keeps the model. Only the engine's own signals are left to watch.
 */
function stubContext(clock: Clock, rounds: number, seen: Seen, networkSendTimeoutMs?: number): EngineContext {
  const network = {
    selfId: 'p0', sendTimeoutMs: networkSendTimeoutMs,
    send: async (_to: string, _frame: OutgoingFrame, options: SendOptions = {}) => { seen.sends.push(options.signal!); return 16; },
    collect: async (_round: number, _step: number, _from: readonly string[], options: CollectOptions = {}) => { seen.collects.push(options.signal!); return []; },
    discardBefore: () => {},
  } as unknown as Network;
  const algorithm = {
    trainer: {}, gossipSteps: 2, targets: 'neighbours', encoding: 'f32',
    extract: (v: Float32Array) => v, insert: (_v: Float32Array, p: Float32Array) => p, aggregate: () => null,
  } as unknown as AlgorithmInstance;
  return {
    selfId: 'p0', swarm: 's', seed: 1, algorithm, network, clock, logger: silentLogger(),
    train: {}, trainIndices: new Uint32Array(0), testIndices: new Uint32Array(0), labels: new Uint8Array(0),
    neighbours: () => ['p1'], isOnline: () => true,
    rounds: { maxRounds: rounds, timeoutMs: 60_000, sendTimeoutMs: 30_000, minRoundMs: 0, periodMs: 1_000, evalEvery: 0 },
    state: { vector: new Float32Array(4), round: 0, age: 0 },
    setPhase: () => {}, finishRound: async () => {}, rng: (round: number, purpose: string) => deriveRng(1, 'p0', round, purpose),
  } as unknown as EngineContext;
}

/** Neighbour progress that never hears an announcement, counting its live subscriptions. */
function quietProgress(): NeighbourProgress & { subscribed: () => number } {
  const listeners = new Set<() => void>();
  return {
    swarmRound: () => 0, finished: () => undefined,
    onAnnouncement: (l) => { const own = () => l(); listeners.add(own); return () => { listeners.delete(own); }; },
    subscribed: () => listeners.size,
  };
}

describe('runSyncRounds: no round leaves a deadline behind', () => {
  const ROUNDS = 20;

  it('on the virtual clock: after 20 rounds the peer signal has no listener left and no deadline ever fires', async () => {
    const scheduler = new VirtualScheduler();
    const seen: Seen = { sends: [], collects: [] };
    const stop = new AbortController();
    const progress = quietProgress();
    await runSyncRounds(stubContext(scheduler.clock(0), ROUNDS, seen), stop.signal, progress);
    assert.equal(seen.collects.length, 2 * ROUNDS);
    assert.equal(seen.sends.length, 2 * ROUNDS);
    // Each round's collect deadline and send deadline followed the peer's signal; all let go of it.
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0, 'a round deadline still listens on the peer signal');
    assert.equal(progress.subscribed(), 0, 'a round still listens for announcements');
    // Released deadlines have their events cancelled: running out the queue fires nothing, moves no time.
    while (await scheduler.step()) { /* only cancelled events are left, none fires */ }
    assert.equal(scheduler.now(), 0, 'a released deadline still fired');
    assert.ok([...seen.collects, ...seen.sends].every((s) => !s.aborted), 'a released deadline aborted its signal');
    // And a later stop reaches none of them.
    stop.abort();
    assert.ok([...seen.collects, ...seen.sends].every((s) => !s.aborted), 'a finished round still follows the peer signal');
  });

  it('adds no send deadline when the network bounds every send no later than the engine would', async () => {
    const scheduler = new VirtualScheduler();
    const stop = new AbortController();
    const bounded: Seen = { sends: [], collects: [] };
    await runSyncRounds(stubContext(scheduler.clock(0), 3, bounded, 30_000), stop.signal);
    assert.ok(bounded.sends.every((s) => s === stop.signal), 'sends get the peer signal itself');
    const looser: Seen = { sends: [], collects: [] };
    await runSyncRounds(stubContext(scheduler.clock(0), 3, looser, 30_001), stop.signal);
    assert.ok(looser.sends.every((s) => s !== stop.signal), 'a network bound later than the engine’s needs the engine’s deadline');
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });

  it('on the system clock: after 20 rounds the peer signal has no listener left', async () => {
    const seen: Seen = { sends: [], collects: [] };
    const stop = new AbortController();
    await runSyncRounds(stubContext(systemClock, ROUNDS, seen), stop.signal, quietProgress());
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
    stop.abort();
    assert.ok([...seen.collects, ...seen.sends].every((s) => !s.aborted));
  });
});
