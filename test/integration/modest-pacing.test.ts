import '../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { defaultRegistry } from '../../node/algorithms/defaults.js';
import { datasetParts } from '../../node/data/dataset.js';
import { loadDigits } from '../../node/data/mnist.js';
import type { LearnerPool } from '../../node/learner/pool.js';
import { complete } from '../../topology-sim/topologies.js';
import { VirtualSwarm } from '../../topology-sim/virtual-swarm.js';

/** A learner that trains in no time: without pacing, MoDeST rounds follow each other as fast as frames travel. */
const instantPool: LearnerPool = {
  async train(task) { return { weights: task.weights.map((x) => x + 1), result: { loss: 1, steps: 1, samples: 1 } }; },
  async evaluate() { return { loss: 0, accuracy: 0, samples: 0, confusion: [], perClass: [] }; },
};

const N = 6, ROUNDS = 5, MIN_ROUND_MS = 1_000;

/** Virtual time of the last round summary of a 6-peer MoDeST swarm (s = 3, a = 1) run for 5 rounds. */
async function lastSummaryAt(minRoundMs: number): Promise<number> {
  const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
  const registry = defaultRegistry();
  const params = { sampleSize: 3, aggregators: 1, aggregationTimeoutMs: 5_000, pingTimeoutMs: 1_000 };
  const swarm = new VirtualSwarm({
    swarm: 'it-modest-pacing', seed: 5, graph: complete(N),
    peers: Array.from({ length: N }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('modest', params, { layout, mode: 'sync' }) })),
    algorithmName: 'modest', mode: 'sync', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
    train: {}, rounds: { maxRounds: ROUNDS, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs, periodMs: 1000, evalEvery: 0 },
    dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(0),
  }, { pool: instantPool });
  let last = 0;
  try {
    await swarm.start();
    await swarm.run((_, s) => { if (s.round === ROUNDS) last = Math.max(last, s.time); });
  } finally { await swarm.stop(); }
  return last;
}

describe('MoDeST in a daemon paces its rounds (rounds.minRoundMs)', { timeout: 120_000 }, () => {
  it('a trainer hands its model on no sooner than minRoundMs after its round started', async () => {
    const unpaced = await lastSummaryAt(0);
    const paced = await lastSummaryAt(MIN_ROUND_MS);
    assert.ok(unpaced < MIN_ROUND_MS, `without pacing the 5 rounds take ${unpaced} ms of virtual time`);
    // Round r's trainers start no sooner than (r - 1) × minRoundMs and hand on no sooner than r × minRoundMs.
    assert.ok(paced >= ROUNDS * MIN_ROUND_MS, `paced: round ${ROUNDS} ended at ${paced} ms, before ${ROUNDS} × ${MIN_ROUND_MS} ms`);
  });
});
