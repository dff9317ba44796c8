import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../../node/algorithms/defaults.js';
import { datasetParts } from '../../node/data/dataset.js';
import { loadDigits } from '../../node/data/mnist.js';
import { partition } from '../../node/data/partitioners.js';
import { trainTestSplit } from '../../node/data/split.js';
import { WorkerPool } from '../../node/learner/pool.js';
import type { ModelSpec } from '../../node/learner/models.js';
import type { RoundSummary } from '../../node/peer.js';
import { Libp2pSwarm } from '../../topology-sim/libp2p-swarm.js';

describe('4 peers over TCP on 127.0.0.1, 5 synchronous D-PSGD rounds on digit shards', { timeout: 240_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  let swarm: Libp2pSwarm | null = null;
  before(() => pool.start());
  after(async () => { await swarm?.stop(); await pool.stop(); });

  it('raises every peer’s test accuracy and receives every frame sent', async () => {
    const ds = loadDigits();
    const { train, test } = trainTestSplit(ds.size, { seed: 1, testSize: 2000 });
    // Shards: two classes per peer, the non-IID case where averaging matters.
    const parts = partition({ scheme: 'shards', classesPerPeer: 2 }, ds.y, train.subarray(0, 4000), 4, 10, 1).parts;
    const spec: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: 1 };
    const { layout, initial } = await pool.describe(spec);
    const registry = defaultRegistry();
    const ring = [[1, 3], [0, 2], [1, 3], [2, 0]];
    swarm = new Libp2pSwarm({
      swarm: 'it-dpsgd', seed: 1, transport: 'tcp', graph: ring,
      peers: parts.map((p) => ({ trainIndices: p, algorithm: registry.resolve('dpsgd', {}, { layout, mode: 'sync' }) })),
      algorithmName: 'dpsgd', mode: 'sync', model: spec, layout, initial,
      train: { lr: 0.05, batchSize: 32, epochs: 1 },
      rounds: { maxRounds: 5, timeoutMs: 60_000, sendTimeoutMs: 60_000, minRoundMs: 0, periodMs: 1000, evalEvery: 1 },
      dataset: { id: 'digits', parts: datasetParts(ds) }, testIndices: test.subarray(0, 1000),
    }, { pool });
    await swarm.start();
    const acc: number[][] = [[], [], [], []];
    const received: number[] = [];
    await swarm.run((i, s: RoundSummary) => { acc[i]![s.round - 1] = s.evaluation!.accuracy; received.push(s.received); });
    // Round 1 (after one local epoch and one averaging step) vs round 5.
    for (let i = 0; i < 4; i++) assert.ok(acc[i]![4]! > acc[i]![0]!, `peer ${i}: accuracy ${acc[i]!.map((a) => a.toFixed(3)).join(' → ')}`);
    assert.deepEqual(received, new Array(20).fill(2), 'every peer got both neighbours’ frames in every round');
    const traffic = swarm.networks.flatMap((n) => n.traffic());
    const framesOut = traffic.reduce((s, t) => s + t.framesOut, 0);
    const framesIn = traffic.reduce((s, t) => s + t.framesIn, 0);
    assert.equal(framesOut, 4 * 2 * 5);
    assert.equal(framesIn, framesOut);
    assert.equal(traffic.reduce((s, t) => s + t.bytesIn, 0), traffic.reduce((s, t) => s + t.bytesOut, 0));
  });
});
