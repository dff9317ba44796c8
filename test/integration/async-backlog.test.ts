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

/** A learner that adds 1 to every weight; the virtual cost model decides how long it takes. */
const countingPool: LearnerPool = {
  async train(task) { return { weights: task.weights.map((x) => x + 1), result: { loss: 1, steps: 1, samples: task.indices?.length ?? 1 } }; },
  async evaluate() { return { loss: 0, accuracy: 0, samples: 0, confusion: [], perClass: [] }; },
};

const N = 6, ROUNDS = 8, PERIOD_MS = 100, SLOW = 0;
/** The slow peer trains 10 samples at 100 ms each: one training lasts 10 periods of its senders. */
const SLOW_TRAIN_MS = 1_000;

/**
 * A 3-peer async swarm in which peers 1 and 2 also announce `announced` as their finished round, before it runs
 * or (`atMs`) at that virtual time; peer 0 evaluates every period, in `evalMs` of virtual time.
 */
async function roundsOfPeer0(announced: number | null, maxRounds: number, atMs: number | null = null, evalMs = 0): Promise<Array<{ round: number; time: number }>> {
  const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
  const registry = defaultRegistry();
  const swarm = new VirtualSwarm({
    swarm: 'it-async-align', seed: 3, graph: complete(3),
    peers: Array.from({ length: 3 }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('gossip-learning', {}, { layout, mode: 'async' }) })),
    algorithmName: 'gossip-learning', mode: 'async', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
    train: {}, rounds: { maxRounds, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: PERIOD_MS, evalEvery: evalMs > 0 ? 1 : 0 },
    dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(evalMs > 0 ? 10 : 0),
    cost: (i) => ({ evaluateMsPerSample: i === 0 ? evalMs / 10 : 0 }),
  }, { pool: countingPool });
  const rounds: Array<{ round: number; time: number }> = [];
  const announce = (): void => {
    for (const i of [1, 2]) {
      void swarm.networks[i]!.announce({ swarm: 'it-async-align', round: announced!, degree: 2, age: 0, algorithm: 'gossip-learning', layoutHash: layout.hash, addresses: [] });
    }
  };
  try {
    await swarm.start();
    if (announced !== null && atMs === null) announce();
    if (announced !== null && atMs !== null) swarm.scheduler.schedule(1, atMs, announce);
    await swarm.run((i, s) => { if (i === 0) rounds.push({ round: s.round, time: s.time }); });
  } finally { await swarm.stop(); }
  return rounds;
}

describe('asynchronous gossip in a live swarm: the period count follows the neighbours\' announced rounds', { timeout: 120_000 }, () => {
  it('a peer behind the round its neighbours finished jumps to it', async () => {
    const rounds = await roundsOfPeer0(50, 60);
    assert.equal(rounds[0]!.round, 50, `first round ${rounds[0]!.round}: the neighbours finished 50 (and are in 51)`);
    assert.equal(rounds[1]!.round, 51);
  });

  it('a period that ends after the neighbours finished a later round is labelled with the round they finished', async () => {
    // Peer 0's first period starts at 100 ms (round 1) and evaluates for 500 ms; the neighbours say at 300 ms they finished 50.
    const rounds = await roundsOfPeer0(50, 60, 300, 500);
    assert.equal(rounds[0]!.round, 50, `first round ${rounds[0]!.round}: level with the neighbours, not ahead of them (they are still in 51)`);
  });

  it('round labels do not run ahead of the periods: the fastest of peers that announce every round never skips one', async () => {
    // 4 peers whose periods differ (peer i evaluates for 15·i ms), each announcing its finished round as a daemon does.
    // Labelling a period with the round the others are in made every later finisher skip a round (a ratchet).
    const n = 4, layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
    const registry = defaultRegistry();
    const swarm = new VirtualSwarm({
      swarm: 'it-async-ratchet', seed: 4, graph: complete(n),
      peers: Array.from({ length: n }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('gossip-learning', {}, { layout, mode: 'async' }) })),
      algorithmName: 'gossip-learning', mode: 'async', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
      train: {}, rounds: { maxRounds: 30, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: PERIOD_MS, evalEvery: 1 },
      dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(10),
      cost: (i) => ({ evaluateMsPerSample: (15 * i) / 10 }),
    }, { pool: countingPool });
    const rounds: number[][] = Array.from({ length: n }, () => []);
    try {
      await swarm.start();
      await swarm.run((i, s) => {
        rounds[i]!.push(s.round);
        void swarm.networks[i]!.announce({ swarm: 'it-async-ratchet', round: s.round, degree: n - 1, age: 0, algorithm: 'gossip-learning', layoutHash: layout.hash, addresses: [] });
      });
    } finally { await swarm.stop(); }
    const skips = rounds[0]!.slice(1).filter((r, k) => r !== rounds[0]![k]! + 1);
    assert.deepEqual(skips, [], `the fastest peer's rounds: ${rounds[0]!.join(', ')}`);
    assert.ok(rounds.slice(1).every((rs) => rs.length >= 10), `every peer ran its periods: ${rounds.map((rs) => rs.length).join(', ')}`);
  });

  it('a peer more than one round ahead of its neighbours holds each period back, by one period at most', async () => {
    const free = await roundsOfPeer0(null, 10);
    const held = await roundsOfPeer0(1, 10);
    const periods = (r: Array<{ round: number; time: number }>, from: number): number[] =>
      r.filter((x) => x.round > from).map((x) => x.time - r.find((y) => y.round === x.round - 1)!.time);
    // Neighbours announced round 1 (they are in 2) and never more: rounds 1 (level with them) to 3 run freely, later ones hold.
    assert.deepEqual(held.map((r) => r.round), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(periods(free, 1).every((p) => p < 1.5 * PERIOD_MS), `free periods ${periods(free, 1).join(', ')} ms`);
    assert.ok(periods(held, 4).every((p) => p >= 2 * PERIOD_MS && p < 2.5 * PERIOD_MS), `held periods ${periods(held, 4).join(', ')} ms: one more period each, never more`);
  });
});

describe('asynchronous gossip on a peer slower than its senders', { timeout: 120_000 }, () => {
  it('merges the frames that waited in one turn (the newest per sender): its rounds keep coming', async () => {
    const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
    const registry = defaultRegistry();
    const swarm = new VirtualSwarm({
      swarm: 'it-async-backlog', seed: 2, graph: complete(N),
      peers: Array.from({ length: N }, () => ({ trainIndices: Uint32Array.from({ length: 10 }, (_, i) => i), algorithm: registry.resolve('gossip-learning', {}, { layout, mode: 'async' }) })),
      algorithmName: 'gossip-learning', mode: 'async', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
      train: {}, rounds: { maxRounds: ROUNDS, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: PERIOD_MS, evalEvery: 0 },
      dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(0),
      cost: (i) => ({ trainMsPerSample: i === SLOW ? SLOW_TRAIN_MS / 10 : 0 }),
    }, { pool: countingPool });
    const times: number[] = [];
    const merged: number[] = [];
    try {
      await swarm.start();
      await swarm.run((i, s) => { if (i === SLOW) { times.push(s.time); merged.push(s.received); } });
    } finally { await swarm.stop(); }
    const gaps = times.slice(1).map((t, k) => t - times[k]!);
    // Its senders push ~1 frame a period to it: one training per frame queued 10 trainings per training, and
    // each round waited behind all of them (gaps growing by ~10 s a round). Coalesced: one training per turn.
    assert.equal(times.length, ROUNDS);
    assert.ok(Math.max(...gaps) <= 3 * SLOW_TRAIN_MS + PERIOD_MS, `gaps between the slow peer's rounds: ${gaps.join(', ')} ms`);
    assert.ok(merged.some((m) => m > 1), `some turn merged several frames: ${merged.join(', ')}`);
  });
});
