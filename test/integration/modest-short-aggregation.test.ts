import '../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { defaultRegistry } from '../../node/algorithms/defaults.js';
import { datasetParts } from '../../node/data/dataset.js';
import { loadDigits } from '../../node/data/mnist.js';
import type { LearnerPool } from '../../node/learner/pool.js';
import type { RoundSummary } from '../../node/engine/context.js';
import { complete } from '../../topology-sim/topologies.js';
import { VirtualSwarm } from '../../topology-sim/virtual-swarm.js';

const N = 6, TIMEOUT_MS = 5_000;

/**
 * A learner that trains in no time, except that the trainings numbered in `fail` (1-based, in call order) fail:
 * those trainers never hand their model on. (A training that never ends would stop the virtual clock, which
 * advances only when every peer waits on it.)
 */
function failingPool(fail: ReadonlySet<number>): LearnerPool {
  let calls = 0;
  return {
    async train(task) {
      calls += 1;
      if (fail.has(calls)) throw new Error(`training ${calls} fails on purpose`);
      return { weights: task.weights.map((x) => x + 1), result: { loss: 1, steps: 1, samples: 1 } };
    },
    async evaluate() { return { loss: 0, accuracy: 0, samples: 0, confusion: [], perClass: [] }; },
  };
}

/** The first aggregator summary of round 1 of an n-peer MoDeST swarm (s = 3, a = 1, minModels = 3), or null. */
async function firstAggregation(fail: ReadonlySet<number>, n = N): Promise<RoundSummary | null> {
  const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
  const registry = defaultRegistry();
  const params = { sampleSize: 3, aggregators: 1, minModels: 3, aggregationTimeoutMs: TIMEOUT_MS, pingTimeoutMs: 1_000, progressTimeoutMs: 600_000 };
  const swarm = new VirtualSwarm({
    swarm: 'it-modest-short', seed: 11, graph: complete(n),
    peers: Array.from({ length: n }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('modest', params, { layout, mode: 'sync' }) })),
    algorithmName: 'modest', mode: 'sync', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
    train: {}, rounds: { maxRounds: 3, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: 1000, evalEvery: 0 },
    dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(0),
  }, { pool: failingPool(fail) });
  const stop = new AbortController();
  let found: RoundSummary | null = null;
  try {
    await swarm.start();
    // Ends when the round is found, after 10 timeouts of virtual time, or when nothing is left to do (stalled).
    void swarm.clocks[0]!.sleep(10 * TIMEOUT_MS, { signal: stop.signal }).then(() => stop.abort(), () => {});
    await swarm.run((_, s) => {
      if (found === null && s.round === 1 && s.roles?.includes('aggregator')) { found = s; stop.abort(); }
    }, { signal: stop.signal }).catch((err: unknown) => { if (!stop.signal.aborted && (err as { code?: string }).code !== 'ERR_SIMULATION_STALLED') throw err; });
  } finally { await swarm.stop(); }
  return found;
}

describe('MoDeST: an aggregation short of minModels at its timeout (ours, for liveness)', { timeout: 120_000 }, () => {
  it('with every model in, aggregates at once, without a timeout', async () => {
    const s = await firstAggregation(new Set());
    assert.ok(s !== null, 'round 1 was aggregated');
    assert.equal(s.received, 3);
    assert.equal(s.timedOut, false);
    assert.ok(s.time < TIMEOUT_MS, `aggregated at ${s.time} ms of virtual time`);
  });

  it('waits one more timeout, then goes on with the one model that arrived', async () => {
    // Two of round 1's three trainers never finish: one model reaches the aggregator, short of minModels = 3.
    const s = await firstAggregation(new Set([2, 3]));
    assert.ok(s !== null, 'round 1 was aggregated (the swarm did not stall on the short index)');
    assert.equal(s.received, 1);
    assert.equal(s.timedOut, true);
    assert.ok(s.time >= 2 * TIMEOUT_MS && s.time < 3 * TIMEOUT_MS, `aggregated at ${s.time} ms of virtual time, expected in [2, 3) timeouts`);
  });

  it('a swarm smaller than s (still filling up) aggregates as soon as every candidate’s model is in, without a timeout', async () => {
    // 2 peers, s = 3: the view has 2 candidates, so the sample can never fill (view.ts aggregationQuorum).
    const s = await firstAggregation(new Set(), 2);
    assert.ok(s !== null, 'round 1 was aggregated');
    assert.equal(s.received, 2);
    assert.equal(s.expected, 2);
    assert.equal(s.timedOut, false);
    assert.ok(s.time < TIMEOUT_MS, `aggregated at ${s.time} ms of virtual time`);
  });
});
