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
import { modelHash } from '../../node/model-hash.js';
import { Libp2pSwarm, type Libp2pSwarmInit as SwarmInit } from '../../topology-sim/libp2p-swarm.js';
import { circulant, ring } from '../../topology-sim/topologies.js';
import { constantBandwidth, dropProbability, uniformLatency } from '../../topology-sim/virtual-net.js';
import { libp2pPeerIds, VirtualSwarm, type VirtualSwarmInit } from '../../topology-sim/virtual-swarm.js';

const N = 8;
const SEED = 11;

describe('virtual swarm: 8 peers in a ring, 5 synchronous D-PSGD rounds, MLP 784-32-10 on digit shards', { timeout: 300_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());
  const ds = loadDigits();
  const { train, test } = trainTestSplit(ds.size, { seed: 2, testSize: 2000 });
  const parts = partition({ scheme: 'shards', classesPerPeer: 3 }, ds.y, train.subarray(0, 2400), N, 10, 2).parts;
  const spec: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: 3 };
  const dataset = { id: 'digits', parts: datasetParts(ds) };
  const testIndices = test.subarray(0, 500);

  async function swarmInit(): Promise<Omit<SwarmInit, 'transport'>> {
    const { layout, initial } = await pool.describe(spec);
    const registry = defaultRegistry();
    return {
      swarm: 'it-virtual', seed: SEED, graph: ring(N),
      peers: parts.map((p) => ({ trainIndices: p, algorithm: registry.resolve('dpsgd', {}, { layout, mode: 'sync' }) })),
      algorithmName: 'dpsgd', mode: 'sync', model: spec, layout, initial,
      train: { lr: 0.05, batchSize: 32, epochs: 1 },
      rounds: { maxRounds: 5, timeoutMs: 60_000, sendTimeoutMs: 60_000, minRoundMs: 0, periodMs: 1000, evalEvery: 5 },
      dataset, testIndices,
    };
  }

  async function runVirtual(extra: Partial<VirtualSwarmInit> = {}): Promise<{ hashes: string[]; accuracy: number[]; time: number }> {
    const swarm = new VirtualSwarm({ ...(await swarmInit()), ...extra }, { pool });
    try {
      await swarm.start();
      const accuracy: number[] = [];
      await swarm.run((i, s) => { if (s.evaluation) accuracy[i] = s.evaluation.accuracy; });
      assert.ok(swarm.peers.every((p) => p.round === 5));
      return { hashes: swarm.peers.map((p) => modelHash(p.vector())), accuracy, time: swarm.scheduler.now() };
    } finally { await swarm.stop(); }
  }

  let first: { hashes: string[]; accuracy: number[]; time: number } | null = null;

  it('gives identical models on every peer in two runs with the same seed, and raises mean accuracy', async () => {
    first = await runVirtual();
    const second = await runVirtual();
    assert.deepEqual(second.hashes, first.hashes);
    assert.equal(new Set(first.hashes).size, N, 'peers hold different models (shards differ)');
    // 5 rounds × (1 ms delivery) on the virtual clock: training costs 0 virtual ms by default.
    assert.equal(first.time, 5);
    const { layout: _l, initial } = await pool.describe(spec);
    const round0 = (await pool.evaluate({ spec, weights: initial, dataset, indices: testIndices })).accuracy;
    const mean = first.accuracy.reduce((a, b) => a + b, 0) / N;
    assert.equal(first.accuracy.length, N);
    assert.ok(mean > round0 + 0.1, `mean accuracy ${mean.toFixed(3)} vs round 0 ${round0.toFixed(3)}`);
  });

  it('gives the same models whatever the delivery delays (frames are aggregated sorted by sender)', async () => {
    assert.ok(first, 'needs the first test');
    const jittered = await runVirtual({ net: { latency: uniformLatency(1, 40, SEED), bandwidth: constantBandwidth(50_000) } });
    assert.deepEqual(jittered.hashes, first.hashes);
    assert.ok(jittered.time > first.time);
  });

  it('gives models bit-identical to a Libp2pSwarm over the memory transport with the same seed', async () => {
    assert.ok(first, 'needs the first test');
    const init = await swarmInit();
    const ids = await libp2pPeerIds(SEED, N);
    const virtual = await runVirtual({ peerIds: ids });
    assert.deepEqual(virtual.hashes, first!.hashes, 'by default the virtual swarm derives the libp2p ids (protocols/keys.ts)');
    const swarm = new Libp2pSwarm({ ...init, transport: 'memory' }, { pool });
    try {
      await swarm.start();
      assert.deepEqual(Array.from({ length: N }, (_, i) => swarm.peerId(i)), ids);
      await swarm.run();
      assert.deepEqual(swarm.peers.map((p) => modelHash(p.vector())), virtual.hashes);
    } finally { await swarm.stop(); }
  });
});

describe('virtual swarm, logistic regression on digits', { timeout: 300_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

  it('runs asynchronous gossip learning on jittery, lossy links with a training cost, identically twice', async () => {
    const n = 16;
    const ds = loadDigits();
    const { train, test } = trainTestSplit(ds.size, { seed: 4, testSize: 1000 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [784], classes: 10, seed: 5 };
    const { layout, initial } = await pool.describe(spec);
    const once = async (): Promise<{ hashes: string[]; time: number; failures: number }> => {
      const registry = defaultRegistry();
      const swarm = new VirtualSwarm({
        swarm: 'it-virtual-async', seed: 6, graph: ring(n),
        peers: Array.from({ length: n }, (_, i) => ({ trainIndices: train.subarray(50 * i, 50 * i + 50), algorithm: registry.resolve('gossip-learning', {}, { layout, mode: 'async' }) })),
        algorithmName: 'gossip-learning', mode: 'async', model: spec, layout, initial,
        train: { lr: 0.05, batchSize: 16, epochs: 1 },
        rounds: { maxRounds: 5, timeoutMs: 1000, sendTimeoutMs: 500, minRoundMs: 0, periodMs: 100, evalEvery: 0 },
        dataset: { id: 'digits', parts: datasetParts(ds) }, testIndices: test.subarray(0, 100),
        net: { latency: uniformLatency(5, 80, 1), drop: dropProbability(0.2, 1) }, cost: { trainMsPerSample: 0.3 },
      }, { pool });
      try {
        await swarm.start();
        let failures = 0;
        await swarm.run((_i, s) => { failures += s.sendFailures; });
        return { hashes: swarm.peers.map((p) => modelHash(p.vector())), time: swarm.scheduler.now(), failures };
      } finally { await swarm.stop(); }
    };
    const a = await once();
    const b = await once();
    assert.deepEqual(b, a);
    assert.ok(a.failures > 0, 'some pushes were lost');
    // 5 periods of 100 ms plus training (50 samples × 0.3 ms = 15 ms a step) and lost sends' 500 ms deadlines
    assert.ok(a.time > 500, `virtual time ${a.time}`);
  });

  it('runs 1,000 peers (4-regular, 2 rounds, 8 samples each) and reports wall time and peak RSS', async (t) => {
    const n = 1000;
    const ds = loadDigits();
    const { train, test } = trainTestSplit(ds.size, { seed: 4, testSize: 1000 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [784], classes: 10, seed: 5 };
    const { layout, initial } = await pool.describe(spec);
    const registry = defaultRegistry();
    const rssBefore = process.memoryUsage.rss();
    let peakRss = rssBefore;
    const t0 = performance.now();
    const swarm = new VirtualSwarm({
      swarm: 'it-virtual-1000', seed: 6, graph: circulant(n, 4),
      peers: Array.from({ length: n }, (_, i) => ({ trainIndices: train.subarray(8 * i, 8 * i + 8), algorithm: registry.resolve('dpsgd', {}, { layout, mode: 'sync' }) })),
      algorithmName: 'dpsgd', mode: 'sync', model: spec, layout, initial,
      train: { lr: 0.05, batchSize: 8, epochs: 1 },
      rounds: { maxRounds: 2, timeoutMs: 60_000, sendTimeoutMs: 60_000, minRoundMs: 0, periodMs: 1000, evalEvery: 2 },
      dataset: { id: 'digits', parts: datasetParts(ds) }, testIndices: test.subarray(0, 50),
    }, { pool });
    try {
      await swarm.start();
      let summaries = 0;
      let received = 0;
      await swarm.run((_i, s) => {
        summaries++;
        received += s.received;
        if (summaries % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
      });
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const wallMs = performance.now() - t0;
      t.diagnostic(`1000 virtual peers, 4-regular, 2 rounds: wall ${(wallMs / 1000).toFixed(1)} s, ${swarm.scheduler.fired} events, `
        + `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB over the start)`);
      assert.equal(summaries, 2 * n);
      assert.equal(received, 2 * n * 4, 'every peer got its 4 neighbours’ frames in both rounds');
      assert.ok(swarm.peers.every((p) => p.round === 2));
    } finally { await swarm.stop(); }
  });
});
