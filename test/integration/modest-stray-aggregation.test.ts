import '../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { defaultRegistry } from '../../node/algorithms/defaults.js';
import { datasetParts } from '../../node/data/dataset.js';
import { loadDigits } from '../../node/data/mnist.js';
import type { LearnerPool } from '../../node/learner/pool.js';
import type { RoundSummary } from '../../node/engine/context.js';
import { md5, peerIdBytes } from '../../node/engine/modest/membership.js';
import { sampleOrder } from '../../node/engine/modest/view.js';
import { complete } from '../../topology-sim/topologies.js';
import { VirtualSwarm, virtualPeerId } from '../../topology-sim/virtual-swarm.js';

/**
 * A stray model (its trainer's ping to the right aggregator timed out under load) makes a peer start an
 * aggregation the swarm then completes elsewhere. Once the index's average or beacon reaches the stray
 * aggregator, its aggregation is dropped (node/engine/modest/aggregation.ts): waiting out two timeouts for
 * models that went elsewhere held back that peer's later round summaries (a loaded soak: a 38 s wait).
 * Virtual time, seeded.
 */
const N = 6, S = 3, AGG_TIMEOUT_MS = 30_000, INDEX = 3;

const instantPool: LearnerPool = {
  async train(task) { return { weights: task.weights.map((x) => x + 1), result: { loss: 1, steps: 1, samples: 1 } }; },
  async evaluate() { return { loss: 0, accuracy: 0, samples: 0, confusion: [], perClass: [] }; },
};
const ids = Array.from({ length: N }, (_, i) => virtualPeerId(i, N));
const orderOf = (k: number): number[] => sampleOrder([...ids].sort(), k, md5, peerIdBytes).map((id) => ids.indexOf(id));

describe('MoDeST: a stray aggregation of an index done elsewhere is dropped', { timeout: 120_000 }, () => {
  it('the stray aggregator reports no aggregation of its own for that round, and does not wait out its timeouts', async () => {
    // Neither aggregator of index 2 nor of index 3: it would otherwise refuse index-2 models once it aggregates 3.
    const stray = [...Array(N).keys()].find((i) => i !== orderOf(INDEX)[0] && i !== orderOf(INDEX - 1)[0])!;
    const sender = [...Array(N).keys()].find((i) => i !== stray)!;
    const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
    const params = { sampleSize: S, aggregators: 1, minModels: S, aggregationTimeoutMs: AGG_TIMEOUT_MS, pingTimeoutMs: 1_000, progressTimeoutMs: 600_000, probeEveryMs: 1_000 };
    const registry = defaultRegistry();
    const swarm = new VirtualSwarm({
      swarm: 'it-modest-stray', seed: 5, graph: complete(N), peerIds: 'indexed',
      peers: Array.from({ length: N }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('modest', params, { layout, mode: 'sync' }) })),
      algorithmName: 'modest', mode: 'sync', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
      train: {}, rounds: { maxRounds: 6, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: 1000, evalEvery: 0 },
      dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(0),
    }, { pool: instantPool });
    const stop = new AbortController();
    const summaries: Array<{ peer: number; s: RoundSummary }> = [];
    try {
      await swarm.start();
      const view = ids.map((id) => [id, { lastActive: 0, index: 0, status: 'join' as const }] as const);
      // Sent once the virtual clock runs (the run below drives it).
      const sent = swarm.networks[sender]!.send(ids[stray]!, { kind: 'model', round: INDEX, step: 0, degree: N - 1, age: 1, values: new Float32Array(3), encoding: 'f32', view });
      void swarm.clocks[0]!.sleep(3 * AGG_TIMEOUT_MS, { signal: stop.signal }).then(() => stop.abort(), () => {});
      await swarm.run((peer, s) => { summaries.push({ peer, s }); }, { signal: stop.signal })
        .catch((err: unknown) => { if (!stop.signal.aborted && (err as { code?: string }).code !== 'ERR_SIMULATION_STALLED') throw err; });
      await sent;
    } finally { await swarm.stop(); }
    const aggregated = summaries.filter(({ s }) => s.round === INDEX - 1 && s.roles?.includes('aggregator'));
    assert.ok(aggregated.some(({ peer }) => peer !== stray), `round ${INDEX - 1} was aggregated by its aggregator`);
    const strays = aggregated.filter(({ peer }) => peer === stray);
    assert.deepEqual(strays.map(({ s }) => `${s.received} at ${s.time} ms`), [], `peer ${stray} aggregated its stray model of index ${INDEX}`);
  });
});
