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
 * A peer of a MoDeST hand-off that is known gone (it stops answering: a SIGKILLed daemon) is replaced at once
 * by the next available peer of the order (node/engine/modest/watch.ts "Known gone"), not after the progress
 * timeout: the soak lost 20 s on every killed aggregator. Virtual time, seeded: no timing dependence.
 */
const N = 6, S = 3, AGG_TIMEOUT_MS = 30_000, PROGRESS_MS = 60_000, PROBE_MS = 1_000, PING_MS = 1_000;

const instantPool: LearnerPool = {
  async train(task) { return { weights: task.weights.map((x) => x + 1), result: { loss: 1, steps: 1, samples: 1 } }; },
  async evaluate() { return { loss: 0, accuracy: 0, samples: 0, confusion: [], perClass: [] }; },
};

const ids = Array.from({ length: N }, (_, i) => virtualPeerId(i, N));
/** The order every peer derives for sample index `k` (ALGORITHMS.md §3.1), as peer indices. */
const orderOf = (k: number): number[] => sampleOrder([...ids].sort(), k, md5, peerIdBytes).map((id) => ids.indexOf(id));

interface Scenario {
  /** The round whose first aggregator summary ends the run. */
  round: number;
  probeEveryMs: number;
  /** This peer (and `with`) goes off the network when it receives its first frame of this kind and sample index. */
  gone?: { peer: number; kind: 'model' | 'aggregate'; index: number; with?: number };
  /** minModels (default s). */
  minModels?: number;
  /** This peer trains for this long (virtual ms) each round. */
  slow?: { peer: number; trainMs: number };
}

/** Run a 6-peer swarm (s = 3, a = 1, minModels = 3) until the first aggregator summary of `round` (another peer's than the gone one). */
async function firstAggregation(sc: Scenario): Promise<{ found: RoundSummary | null; trainers: Map<number, number[]> }> {
  const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
  const registry = defaultRegistry();
  const params = { sampleSize: S, aggregators: 1, minModels: sc.minModels ?? S, aggregationTimeoutMs: AGG_TIMEOUT_MS, pingTimeoutMs: PING_MS, progressTimeoutMs: PROGRESS_MS, probeEveryMs: sc.probeEveryMs };
  const swarm = new VirtualSwarm({
    swarm: 'it-modest-gone', seed: 7, graph: complete(N), peerIds: 'indexed',
    peers: Array.from({ length: N }, () => ({ trainIndices: new Uint32Array([0]), algorithm: registry.resolve('modest', params, { layout, mode: 'sync' }) })),
    algorithmName: 'modest', mode: 'sync', model: { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 }, layout, initial: new Float32Array(3),
    train: {}, rounds: { maxRounds: 8, timeoutMs: 1000, sendTimeoutMs: 5000, minRoundMs: 0, periodMs: 1000, evalEvery: 0 },
    dataset: { id: 'digits', parts: datasetParts(loadDigits()) }, testIndices: new Uint32Array(0),
    // MoDeST trains 5 steps of batch min(20, 1 index): 5 samples a round (topology-sim/virtual/pool.ts plannedTrainSamples).
    cost: (i) => ({ trainMsPerSample: i === sc.slow?.peer ? sc.slow.trainMs / 5 : 0 }),
  }, { pool: instantPool });
  const stop = new AbortController();
  let found: RoundSummary | null = null;
  const trainers = new Map<number, number[]>();
  try {
    await swarm.start();
    const gone = sc.gone;
    if (gone !== undefined) {
      swarm.networks[gone.peer]!.onFrame((f) => {
        if (f.kind !== gone.kind || f.round !== gone.index) return;
        void swarm.disconnect(gone.peer);
        if (gone.with !== undefined) void swarm.disconnect(gone.with);
      });
    }
    void swarm.clocks[0]!.sleep(10 * PROGRESS_MS, { signal: stop.signal }).then(() => stop.abort(), () => {});
    await swarm.run((i, s) => {
      if (s.roles?.includes('trainer')) trainers.set(s.round, [...(trainers.get(s.round) ?? []), i].sort());
      if (found === null && i !== gone?.peer && i !== gone?.with && s.round === sc.round && s.roles?.includes('aggregator')) { found = s; stop.abort(); }
    }, { signal: stop.signal }).catch((err: unknown) => { if (!stop.signal.aborted && (err as { code?: string }).code !== 'ERR_SIMULATION_STALLED') throw err; });
  } finally { await swarm.stop(); }
  return { found, trainers };
}

describe('MoDeST: a hand-off peer known gone is replaced at once (probes, ours after HEAD AggAck)', { timeout: 120_000 }, () => {
  // The first round r whose aggregator (the first of order(r + 1)) did not train it: it goes off the network on
  // its first model, so its trainers must find a stand-in (had it trained, the sample would be short as well).
  const r = [1, 2, 3].find((k) => !orderOf(k).slice(0, S).includes(orderOf(k + 1)[0]!))!;
  const aggregator = orderOf(r + 1)[0]!;

  it('an aggregator gone after taking a model: its trainers hand their models to the next one within a probe or two', async () => {
    const { found: s } = await firstAggregation({ round: r, probeEveryMs: PROBE_MS, gone: { peer: aggregator, kind: 'model', index: r + 1 } });
    assert.ok(s !== null, `round ${r} was aggregated by another peer`);
    assert.equal(s.received, S, `every trainer of round ${r} reached the stand-in aggregator`);
    assert.ok(s.time < 5 * PROBE_MS + 3 * PING_MS, `aggregated at ${s.time} ms of virtual time`);
  });

  it('without probes the same swarm waits out the progress timeout (what the probes save)', async () => {
    const { found: s } = await firstAggregation({ round: r, probeEveryMs: 0, gone: { peer: aggregator, kind: 'model', index: r + 1 } });
    assert.ok(s !== null, `round ${r} was aggregated by another peer`);
    assert.ok(s.time >= PROGRESS_MS, `aggregated at ${s.time} ms of virtual time`);
  });

  // A trainer of round 2 (neither aggregator of index 2 nor of 3) goes off the network once it got the average.
  const trainer2 = orderOf(2).slice(0, S).find((i) => i !== orderOf(2)[0] && i !== orderOf(3)[0])!;

  it('a trainer gone after taking the average: its aggregator hands the average to the next peer of the order, whose model fills the sample', async () => {
    const { found: s, trainers } = await firstAggregation({ round: 2, probeEveryMs: PROBE_MS, gone: { peer: trainer2, kind: 'aggregate', index: 2 } });
    assert.ok(s !== null, 'round 2 was aggregated');
    assert.equal(s.received, S, 'the stand-in trainer’s model made the sample full');
    assert.equal(s.timedOut, false);
    assert.ok(s.time < AGG_TIMEOUT_MS, `aggregated at ${s.time} ms of virtual time`);
    const standIn = orderOf(2).filter((i) => i !== trainer2)[S - 1]!;
    assert.ok(trainers.get(2)?.includes(standIn), `the next peer of order(2), ${standIn}, trained round 2 (trainers [${trainers.get(2)}])`);
  });

  it('a slow trainer that answers its probes is waited for, never replaced', async () => {
    const trainMs = 10 * PROBE_MS;
    const { found: s, trainers } = await firstAggregation({ round: 2, probeEveryMs: PROBE_MS, slow: { peer: trainer2, trainMs } });
    assert.ok(s !== null && s.received === S && !s.timedOut, 'round 2 aggregated its full sample');
    assert.ok(s.time >= trainMs, `aggregated at ${s.time} ms, before the slow trainer could have finished`);
    assert.deepEqual(trainers.get(2), orderOf(2).slice(0, S).sort(), 'round 2 was trained by its derived sample only');
  });

  // A trainer of round k goes off the network once it got the average, and so does the aggregator that handed
  // it out (itself a trainer of k, as a is a prefix of the sample): nobody finds stand-ins, and the aggregator
  // of k + 1 learns from its probes that both are gone (minModels 1 here, so what arrived is enough).
  const k = [2, 3, 4, 5, 6].find((j) => orderOf(j)[0] !== orderOf(j + 1)[0])!;
  const lostTrainer = orderOf(k).slice(0, S).find((i) => i !== orderOf(k)[0] && i !== orderOf(k + 1)[0])!;

  it('an aggregator whose sampled trainers are known gone aggregates what arrived (≥ minModels) without waiting out its timeout', async () => {
    const gone = { peer: lostTrainer, kind: 'aggregate' as const, index: k, with: orderOf(k)[0]! };
    const { found: s } = await firstAggregation({ round: k, probeEveryMs: PROBE_MS, minModels: 1, gone });
    assert.ok(s !== null, `round ${k} was aggregated`);
    assert.equal(s.received, S - 2);
    assert.ok(s.time < AGG_TIMEOUT_MS / 3, `aggregated at ${s.time} ms of virtual time`);
    const { found: unprobed } = await firstAggregation({ round: k, probeEveryMs: 0, minModels: 1, gone });
    assert.ok(unprobed !== null && unprobed.time >= AGG_TIMEOUT_MS, `without probes: aggregated at ${unprobed?.time} ms, at its timeout`);
  });

  it('short of minModels with every missing sampled trainer known gone, it goes on at its first timeout, not after a second (aggregation.ts)', async () => {
    // The same two peers gone, minModels = s = 3: one model arrives. Nothing more can come, so the second
    // timeout (kept for trainers that may still send) would only add to every peer's wait (a soak: 20 s).
    const gone = { peer: lostTrainer, kind: 'aggregate' as const, index: k, with: orderOf(k)[0]! };
    const { found: s } = await firstAggregation({ round: k, probeEveryMs: PROBE_MS, gone });
    assert.ok(s !== null, `round ${k} was aggregated`);
    assert.equal(s.received, S - 2);
    assert.equal(s.timedOut, true);
    assert.ok(s.time >= AGG_TIMEOUT_MS && s.time < 2 * AGG_TIMEOUT_MS, `aggregated at ${s.time} ms of virtual time, expected in [1, 2) timeouts`);
    // Unprobed, nobody is known gone: the index waits its second timeout, as for a trainer that may still send.
    const { found: unprobed } = await firstAggregation({ round: k, probeEveryMs: 0, gone });
    assert.ok(unprobed !== null && unprobed.time >= 2 * AGG_TIMEOUT_MS, `without probes: aggregated at ${unprobed?.time} ms, after two timeouts`);
  });
});
