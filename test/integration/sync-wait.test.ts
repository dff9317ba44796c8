import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../../node/algorithms/defaults.js';
import { datasetParts } from '../../node/data/dataset.js';
import { loadDigits } from '../../node/data/mnist.js';
import { trainTestSplit } from '../../node/data/split.js';
import { WorkerPool } from '../../node/learner/pool.js';
import type { ModelSpec } from '../../node/learner/models.js';
import { silentLogger } from '../../node/logger.js';
import { Peer, type RoundSummary } from '../../node/peer.js';
import { VirtualNet } from '../../topology-sim/virtual/net.js';
import { VirtualPool } from '../../topology-sim/virtual/pool.js';
import { VirtualScheduler } from '../../topology-sim/virtual/scheduler.js';

const ROUNDS = 8;
const TIMEOUT_MS = 10_000;

/**
 * Two peers on the virtual clock whose neighbour lists disagree, as a daemon's can while announcements are
 * in flight: p0 counts p1 as its neighbour, p1 does not count p0 (so it never sends to p0). p1 announces
 * each finished round. p0 must not wait out its round timeout for a frame p1 will never send: once p1
 * announced the round finished (or p1 is past it), p0's round ends.
 */
describe('a synchronous round stops waiting for a neighbour that finished it without us (virtual clock)', { timeout: 120_000 }, () => {
  const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

  it('no round of p0 waits out its timeout', async () => {
    const ds = loadDigits();
    const { train, test } = trainTestSplit(ds.size, { seed: 1, testSize: 200 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 };
    const { layout, initial } = await pool.describe(spec);
    const scheduler = new VirtualScheduler();
    const net = new VirtualNet({ scheduler });
    const ids = ['p0', 'p1'];
    const networks = ids.map((id) => net.join(id, { swarm: 'wait', layout }));
    const rounds: RoundSummary[][] = ids.map(() => []);
    const peers = ids.map((_, i) => {
      const network = networks[i]!;
      const { instance: algorithm, engine } = defaultRegistry().resolve('dpsgd', {}, { layout, mode: 'sync' });
      const peer = new Peer({
        swarm: 'wait', seed: 1, algorithmName: 'dpsgd', algorithm, mode: 'sync', engine, model: spec, layout, initial,
        train: { lr: 0.05, batchSize: 32, epochs: 1 },
        rounds: { maxRounds: ROUNDS, timeoutMs: TIMEOUT_MS, sendTimeoutMs: TIMEOUT_MS, minRoundMs: 1_000, periodMs: 1_000, evalEvery: 0 },
        dataset: { id: 'digits', parts: datasetParts(ds) }, trainIndices: train.subarray(i * 200, (i + 1) * 200), testIndices: test,
      }, {
        network, pool: new VirtualPool(pool, scheduler, i), clock: scheduler.clock(i), logger: silentLogger(),
        neighbours: () => (i === 0 ? ['p1'] : []),
      });
      peer.onRound((s) => {
        rounds[i]!.push(s);
        void network.announce({ swarm: 'wait', round: s.round, degree: 1, age: peer.age, algorithm: 'dpsgd', layoutHash: layout.hash, addresses: [] });
      });
      return peer;
    });
    for (const n of networks) await n.start();
    net.connect('p0', 'p1');
    for (const p of peers) await p.start();
    try {
      await scheduler.run(() => peers.every((p) => p.round >= ROUNDS));
    } finally {
      await Promise.all(peers.map((p) => p.stop()));
      await Promise.all(networks.map((n) => n.stop()));
    }
    const times = [0, ...rounds[0]!.map((s) => s.time)];
    const longest = Math.max(...times.slice(1).map((t, k) => t - times[k]!));
    assert.ok(longest < TIMEOUT_MS, `p0's longest round took ${longest} ms (timeout ${TIMEOUT_MS} ms)`);
    assert.equal(rounds[0]!.at(-1)!.round, ROUNDS);
  });
});
