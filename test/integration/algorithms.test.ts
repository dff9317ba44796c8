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
import { Libp2pSwarm } from '../../topology-sim/libp2p-swarm.js';

const N = 8;
const ring = Array.from({ length: N }, (_, i) => [(i + N - 1) % N, (i + 1) % N]);
const cases: Array<{ name: string; params?: Record<string, unknown>; supermask?: boolean; pretrained?: boolean }> = [
  { name: 'dpsgd' }, { name: 'dfedsam' }, { name: 'dfedsam-mgs', params: { gossipSteps: 2 } }, { name: 'variance-corrected' },
  { name: 'mean' }, { name: 'median' }, { name: 'trimmed-mean', params: { f: 1 } }, { name: 'krum', params: { f: 0, m: 2 } },
  { name: 'centered-clipping', params: { tau: 5 } },
  { name: 'bristle', pretrained: true }, { name: 'frl', supermask: true }, { name: 'gossip-learning' },
];

describe('every synchronous algorithm: 8 peers in a ring over the memory transport, MLP on digit shards', { timeout: 600_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());
  const ds = loadDigits();
  const { train, test } = trainTestSplit(ds.size, { seed: 2, testSize: 2000 });
  const parts = partition({ scheme: 'shards', classesPerPeer: 3 }, ds.y, train.subarray(0, 4000), N, 10, 2).parts;
  const spec: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: 3 };
  const dataset = { id: 'digits', parts: datasetParts(ds) };
  const testIndices = test.subarray(0, 500);

  for (const c of cases) {
    it(`${c.name} runs 5 rounds and beats round 0`, async () => {
      const modelSpec: ModelSpec = c.supermask ? { arch: 'supermask-mlp', inputShape: [784], classes: 10, hidden: [64], seed: 3 } : spec;
      const described = await pool.describe(modelSpec);
      const layout = described.layout;
      let initial = described.initial;
      if (c.pretrained) {
        // Bristle's frozen feature extractor, pre-trained on rows no peer holds (train[4000..6000)).
        initial = (await pool.train({ spec, weights: initial, dataset, indices: train.subarray(4000, 6000), options: { lr: 0.1, epochs: 2, seed: 9 } })).weights;
      }
      const registry = defaultRegistry();
      // Round 0 is the model every peer starts from (Bristle zeroes the output layer first).
      const start = registry.resolve(c.name, c.params ?? {}, { layout, mode: 'sync', initial }).instance.initialize?.(initial) ?? initial;
      const round0 = (await pool.evaluate({ spec: modelSpec, weights: start, dataset, indices: testIndices })).accuracy;
      const swarm = new Libp2pSwarm({
        swarm: `it-${c.name}`, seed: 5, transport: 'memory', graph: ring,
        peers: parts.map((p) => ({ trainIndices: p, algorithm: registry.resolve(c.name, c.params ?? {}, { layout, mode: 'sync', initial }) })),
        algorithmName: c.name, mode: 'sync', model: modelSpec, layout, initial,
        train: { lr: 0.05, batchSize: c.supermask ? 8 : 32, epochs: 1 },
        rounds: { maxRounds: 5, timeoutMs: 60_000, sendTimeoutMs: 60_000, minRoundMs: 0, periodMs: 1000, evalEvery: 5 },
        dataset, testIndices,
      }, { pool });
      try {
        await swarm.start();
        const final: number[] = [];
        await swarm.run((i, s) => { if (s.evaluation) final[i] = s.evaluation.accuracy; });
        const mean = final.reduce((a, b) => a + b, 0) / N;
        assert.equal(final.length, N);
        assert.ok(mean > round0, `${c.name}: mean accuracy ${mean.toFixed(3)} vs round 0 ${round0.toFixed(3)}`);
      } finally { await swarm.stop(); }
    });
  }
});
