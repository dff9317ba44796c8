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

const ROUNDS = 14;
const JOIN_AT_MS = 6_500;

/**
 * Three peers wired as a daemon wires them (neighbours = connected peers that announced our swarm; an
 * announcement on start and after every round), on the virtual clock: peers 0 and 1 start at once, peer 2
 * joins 6.5 virtual seconds later, while the others are in their seventh round.
 */
describe('a late joiner in synchronous rounds (virtual clock, daemon-style membership)', { timeout: 120_000 }, () => {
  const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

  it('lands on the running round: no frame of it is stale and its neighbours receive every frame they wait for', async () => {
    const ds = loadDigits();
    const { train, test } = trainTestSplit(ds.size, { seed: 1, testSize: 500 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 };
    const { layout, initial } = await pool.describe(spec);
    const scheduler = new VirtualScheduler();
    const net = new VirtualNet({ scheduler });
    const ids = ['p0', 'p1', 'p2'];
    const networks = ids.map((id) => net.join(id, { swarm: 'late', layout }));
    const members = ids.map(() => new Set<string>());
    const rounds: RoundSummary[][] = ids.map(() => []);
    const peers = ids.map((_, i) => {
      const network = networks[i]!;
      // As the daemon does: a newcomer is answered with our own announcement, so it learns our round.
      network.onAnnouncement((from) => { if (!members[i]!.has(from)) { members[i]!.add(from); announce(); } });
      const { instance: algorithm, engine } = defaultRegistry().resolve('dpsgd', {}, { layout, mode: 'sync' });
      const peer = new Peer({
        swarm: 'late', seed: 1, algorithmName: 'dpsgd', algorithm, mode: 'sync', engine, model: spec, layout, initial,
        train: { lr: 0.05, batchSize: 32, epochs: 1 },
        rounds: { maxRounds: ROUNDS, timeoutMs: 10_000, sendTimeoutMs: 10_000, minRoundMs: 1_000, periodMs: 1_000, evalEvery: 0 },
        dataset: { id: 'digits', parts: datasetParts(ds) }, trainIndices: train.subarray(i * 300, (i + 1) * 300), testIndices: test,
      }, {
        network, pool: new VirtualPool(pool, scheduler, i), clock: scheduler.clock(i), logger: silentLogger(),
        neighbours: () => network.connectedPeers().filter((p) => members[i]!.has(p)),
      });
      function announce(): void {
        if (network.isStarted()) void network.announce({ swarm: 'late', round: peer.round, degree: 2, age: peer.age, algorithm: 'dpsgd', layoutHash: layout.hash, addresses: [] });
      }
      peer.onRound((s) => { rounds[i]!.push(s); announce(); });
      return { peer, network, announce };
    });
    const bringUp = async (i: number): Promise<void> => {
      await peers[i]!.network.start();
      for (let j = 0; j < i; j++) net.connect(ids[i]!, ids[j]!);
      await peers[i]!.peer.start();
      peers[i]!.announce();
    };
    await bringUp(0);
    await bringUp(1);
    let joined = false;
    scheduler.schedule(2, JOIN_AT_MS, () => { void bringUp(2).then(() => { joined = true; }); });
    try {
      await scheduler.run(() => joined && peers.every((p) => p.peer.round >= ROUNDS));
    } finally {
      await Promise.all(peers.map((p) => p.peer.stop()));
      await Promise.all(peers.map((p) => p.network.stop()));
    }

    const stale = networks.flatMap((n) => n.traffic()).reduce((s, t) => s + (t.rejections.stale ?? 0), 0);
    assert.equal(stale, 0, 'frames of the joiner (or to it) were refused as stale');
    // The joiner's first round with neighbours is the round they were running, not one already closed.
    const firstShared = rounds[2]!.find((s) => s.expected > 0)!;
    const runningThen = Math.max(...[0, 1].map((i) => rounds[i]!.filter((s) => s.time <= firstShared.time - 1_000).length)) + 1;
    assert.ok(firstShared.round >= runningThen, `joiner's first shared round ${firstShared.round}, neighbours were in ${runningThen}`);
    for (const i of [0, 1, 2]) {
      const waited = rounds[i]!.filter((s) => s.expected > 0);
      const short = waited.filter((s) => s.received !== s.expected);
      assert.deepEqual(short.map((s) => `round ${s.round}: ${s.received}/${s.expected}`), [], `peer ${i} waited for frames that never came`);
      assert.equal(rounds[i]!.at(-1)!.round, ROUNDS);
    }
  });
});
