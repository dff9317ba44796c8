import '../../../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AlgorithmInstance } from '../../../../../node/algorithms/types.js';
import { deriveRng } from '../../../../../node/data/rng.js';
import type { EngineContext } from '../../../../../node/engine/context.js';
import { ModestEngine } from '../../../../../node/engine/modest/engine.js';
import type { ModestSettings } from '../../../../../node/engine/modest/settings.js';
import { silentLogger } from '../../../../../node/logger.js';
import type { Network } from '../../../../../node/network.js';
import { VirtualScheduler } from '../../../../../topology-sim/virtual/scheduler.js';

const SETTINGS: ModestSettings = {
  sampleSize: 4, aggregators: 1, successFraction: 1, minModels: 3, aggregationTimeoutMs: 10_000, pingTimeoutMs: 2_000,
  inactivityThreshold: 50, progressTimeoutMs: 20_000, probeEveryMs: 1_000,
};

/**
 * Does a fresh MoDeST peer (round 0, alone in its view, so first of order(1)) train the bootstrap round 1, when
 * the join phase heard neighbours whose median is in `swarmRound` (0: nobody announced)? Runs 1 s of virtual time.
 */
async function bootstraps(swarmRound: number): Promise<boolean> {
  const scheduler = new VirtualScheduler();
  const clock = scheduler.clock(0);
  let trained = false;
  const network = {
    selfId: 'p0', onFrame: () => () => {}, onAnnouncement: () => () => {}, announce: async () => {},
    ping: async () => { throw new Error('nobody there'); }, send: async () => 0,
  } as unknown as Network;
  const algorithm = { exchangeLayout: { hash: 'h' }, extract: (v: Float32Array) => v } as unknown as AlgorithmInstance;
  const ctx = {
    selfId: 'p0', swarm: 's', seed: 1, algorithm, network, clock, logger: silentLogger(), train: {},
    trainIndices: new Uint32Array(0), testIndices: new Uint32Array(0), labels: new Uint8Array(0),
    neighbours: () => [], isOnline: () => true, memberSilenceMs: 10_000,
    progress: { swarmRound: () => swarmRound, finished: () => undefined, onAnnouncement: () => () => {}, waiting: () => {} },
    rounds: { maxRounds: 1_000, timeoutMs: 10_000, sendTimeoutMs: 10_000, minRoundMs: 0, periodMs: 1_000, evalEvery: 0 },
    state: { vector: new Float32Array(4), round: 0, age: 0 },
    setPhase: (p: string) => { if (p === 'training') trained = true; }, finishRound: async () => {},
    rng: (round: number, purpose: string) => deriveRng(1, 'p0', round, purpose),
  } as unknown as EngineContext;
  const stop = new AbortController();
  const run = new ModestEngine(ctx, SETTINGS).run(stop.signal).catch(() => {});
  void clock.sleep(1_000).then(() => stop.abort());
  await scheduler.run(() => stop.signal.aborted).catch(() => {});
  await run;
  return trained;
}

describe('MoDeST: a fresh peer joining a running swarm', { timeout: 60_000 }, () => {
  it('in a fresh swarm (nobody announced), the first s of order(1) train the shared initial model (§3.2 bootstrap)', async () => {
    assert.equal(await bootstraps(0), true);
  });

  it('in a running swarm (the join phase heard round 50), it waits to be sampled instead of training a round 1 of its own', async () => {
    assert.equal(await bootstraps(51), false);
  });
});
