/**
 * The libp2p swarm reuses model-sized vectors, frame buffers and receive buffers across rounds as the virtual swarm does
 * (topology-sim/libp2p-swarm.ts), and a memory swarm spread over processes connects the peers of one process
 * over memory and only the others over TCP. Reuse must never change what a run measures: records must equal
 * copies of the vectors taken when each peer reported (the models themselves are checked against the virtual
 * network by the e2e test `gives bit-identical models over the memory and virtual transports`). A failed send
 * must not pin its buffer, nor free one the connection may still hold.
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { deadline } from '../../node/deadline.js';
import { WorkerPool } from '../../node/learner/pool.js';
import type { Network, OutgoingFrame } from '../../node/network.js';
import { RemoteRejectedError, SendTimeoutError } from '../../protocols/errors.js';
import { loadExperiment } from '../../topology-sim/experiment.js';
import { Libp2pSwarm } from '../../topology-sim/libp2p-swarm.js';
import { prepareRun } from '../../topology-sim/run-prepare.js';
import { RoundCollector } from '../../topology-sim/run-rounds.js';
import { buildSwarm } from '../../topology-sim/run-swarm.js';
import type { RoundRecord } from '../../topology-sim/metrics.js';
import { consensusOf, copiesOf, lateEvaluations } from './late-evaluations.js';

const BENCH_SIM = fileURLToPath(new URL('../../topology-sim/experiments/bench-sim.yaml', import.meta.url));

/** bench-sim's `memory N=100 logreg` run with `peers` peers and `rounds` rounds (generous deadlines: no round may time out). */
async function memoryRun(peers: number, rounds: number) {
  const { runs } = await loadExperiment(BENCH_SIM, { network: { timeoutMs: 120_000, sendTimeoutMs: 120_000 } });
  const run = runs.find((r) => r.name === 'memory N=100 logreg')!;
  Object.assign(run.experiment, { peers, rounds });
  return run;
}

describe('the libp2p swarm over the memory transport', { timeout: 300_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

  /** A started (connected, not running) memory swarm of `peers` peers for one round, with its prepared run and graph. */
  async function startedSwarm(peers: number) {
    const prepared = await prepareRun(await memoryRun(peers, 1), pool, () => {});
    const built = buildSwarm(prepared, pool, () => {});
    const swarm = built.swarm as Libp2pSwarm;
    await swarm.start();
    return { prepared, graph: built.graph, swarm };
  }

  it('reuses vectors and frame buffers and keeps every round\'s records equal to copies taken at report time', async () => {
    // Evaluations answer two swarm rounds late, so vectors are both read late and reused (late-evaluations.ts).
    const rounds = 6;
    const run = await memoryRun(12, rounds);
    Object.assign(run.experiment, { eval: { ...run.experiment.eval, every: 1, fraction: 1 } });
    const prepared = await prepareRun(run, pool, () => {});
    const built = buildSwarm(prepared, pool, () => {});
    const swarm = built.swarm as Libp2pSwarm;
    assert.ok(swarm instanceof Libp2pSwarm);
    const late = lateEvaluations(swarm, rounds, prepared.data.dataset);
    await swarm.start();
    const records: RoundRecord[] = [];
    try {
      await new RoundCollector(prepared, built, { pool: late.pool, onRecord: (r) => records.push(r) }).collect();
    } finally { await swarm.stop(); }
    assert.equal(records.length, rounds);
    const frames = swarm.frameStats(), vectors = swarm.vectors.stats();
    assert.ok(frames.reused > 0, `no frame buffer was reused (${JSON.stringify(frames)})`);
    const received = swarm.receiveStats();
    assert.ok(received.reused > 0, `no receive buffer was reused (${JSON.stringify(received)})`);
    assert.ok(vectors.reused > 0, `the bank reused no vector (${JSON.stringify(vectors)}): this test would check nothing`);
    for (const rec of records) {
      assert.equal(rec.consensusDistance, consensusOf(copiesOf(late.copies, rec.round)), `round ${rec.round}`);
    }
  });

  it('lends a refused frame\'s buffer again, never a timed-out one\'s, and keeps no loan of either', async () => {
    const { swarm } = await startedSwarm(10);
    try {
      type Recycling = { inner: Pick<Network, 'send'>; send: Network['send']; stats(): { created: number; reused: number; loans: number } };
      const net = (swarm as unknown as { recycling: Recycling[] }).recycling[0]!;
      assert.ok(net !== undefined, 'the run recycles frame buffers (sync-rounds engine)');
      const target = swarm.peerId(1);
      // The receiver refuses rounds 1–30 as stale after reading them; rounds 31–40 time out mid-stream.
      const timedOut = new Set<Uint8Array>();
      net.inner = {
        send: async (to: string, frame: OutgoingFrame) => {
          const buffer = (frame.kind === 'ranking' ? undefined : frame.buffer)!(4096);
          assert.ok(!timedOut.has(buffer), `round ${frame.round} was encoded into a buffer a timed-out send may still hold`);
          if (frame.round <= 30) throw new RemoteRejectedError(to, 'stale');
          timedOut.add(buffer);
          throw new SendTimeoutError(to, 1);
        },
      };
      const values = new Float32Array(8);
      const sendRounds = async (from: number, to: number) => {
        for (let round = from; round <= to; round++) {
          await assert.rejects(net.send(target, { kind: 'model', round, step: 0, degree: 1, age: round, values, encoding: 'f32' }));
        }
      };
      await sendRounds(1, 30);
      assert.deepEqual(net.stats(), { created: 1, reused: 29, loans: 1 }, 'a refusal after reading settles the buffer');
      await sendRounds(31, 40);
      assert.deepEqual(net.stats(), { created: 10, reused: 30, loans: 1 }, 'each timed-out buffer is dropped, and its loan too');
    } finally { await swarm.stop(); }
  });

  it('ends the bring-up only once both ends of every edge hold its connection', async () => {
    const { graph, swarm } = await startedSwarm(12);
    try {
      // Checked as start() resolves, before another turn of the event loop: a dial resolves a turn before the listener holds it.
      const missing: string[] = [];
      for (const [i, row] of graph.entries()) {
        for (const j of row) if (swarm.nodes[i]!.getConnections(swarm.nodes[j]!.peerId).length === 0) missing.push(`${i}→${j}`);
      }
      assert.deepEqual(missing, [], 'peers without the connection of an edge when the bring-up ended');
    } finally { await swarm.stop(); }
  });

  it('gives each frame received before its peer starts a buffer of its own', async () => {
    // Between swarm.start() and run() (or while another process's share already sends) the peers exist but
    // have not started: their frames wait in the inbox and must not share a receive buffer.
    const { prepared, graph, swarm } = await startedSwarm(10);
    try {
      const target = 1;
      const [a, b] = graph[target]!;
      assert.ok(a !== undefined && b !== undefined && !swarm.peerAt(target)!.isStarted());
      const frame = (fill: number): OutgoingFrame => ({
        kind: 'model', round: 1, step: 0, degree: 2, age: 1, values: new Float32Array(prepared.layout.size).fill(fill), encoding: 'f32',
      });
      await swarm.networks[a]!.send(swarm.peerId(target), frame(1));
      await swarm.networks[b]!.send(swarm.peerId(target), frame(2));
      const frames = await swarm.networks[target]!.collect(1, 0, [swarm.peerId(a), swarm.peerId(b)], { signal: deadline(60_000) });
      const first = new Map(frames.map((f) => [f.from, f.values![0]]));
      assert.deepEqual([first.get(swarm.peerId(a)), first.get(swarm.peerId(b))], [1, 2], 'one buffer lent to both frames');
    } finally { await swarm.stop(); }
  });

  it('connects the peers of one process over memory and those of another process over TCP', async () => {
    const run = await memoryRun(10, 1);
    run.experiment.network.portBase = 23000 + (process.pid % 200) * 8;
    const prepared = await prepareRun(run, pool, () => {});
    const shares = [0, 1].map((index) => buildSwarm(prepared, pool, () => {}, { index, count: 2 }).swarm as Libp2pSwarm);
    try {
      await Promise.all(shares.map((s) => s.start()));
      for (const [k, share] of shares.entries()) {
        for (const node of share.nodes) {
          const connections = node.getConnections();
          assert.ok(connections.length > 0);
          for (const c of connections) {
            const remote = prepared.split.parts.findIndex((_, i) => share.peerId(i) === c.remotePeer.toString());
            const sameProcess = remote % 2 === k;
            assert.equal(c.remoteAddr.getComponents()[0]!.name === 'memory', sameProcess, `${c.remoteAddr.toString()} to peer ${remote} (share ${k})`);
          }
        }
      }
    } finally { await Promise.all(shares.map((s) => s.stop())); }
  });
});
