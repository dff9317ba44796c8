/**
 * Model-sized vectors reused across rounds (node/vector-bank.ts) must never change what a run measures: the
 * round collector reads round r's vectors (sums, consensus distance, evaluations) after the peers moved on
 * and their training writes into recycled vectors, so a vector given back too early shows here as records
 * that differ from copies taken when each peer reported.
 *
 * The collector's evaluations run here in the main thread, on the weights as they are when asked (the worker
 * pool stages them then), and answer once some peer reported two rounds later: the collector then still
 * reads round r's vectors while round r + 2 trains, which is when a vector given back too early is
 * overwritten, and the vectors it gives back are reused from round r + 3 on. Both follow the swarm's virtual
 * time, so they happen on every machine. On the worker pool the answers come in real time, and on a loaded
 * machine all of them came after the last round: nothing was reused and the test checked nothing (Node 24 CI).
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { evaluateDenseJs } from '../../node/learner/dense-eval.js';
import { WorkerPool } from '../../node/learner/pool.js';
import type { EvaluateTask } from '../../node/learner/tasks.js';
import { loadExperiment } from '../../topology-sim/experiment.js';
import { addModel, roundRecord, type RoundPartial } from '../../topology-sim/round-partial.js';
import { prepareRun } from '../../topology-sim/run-prepare.js';
import { RoundCollector } from '../../topology-sim/run-rounds.js';
import { buildSwarm } from '../../topology-sim/run-swarm.js';
import { VirtualSwarm } from '../../topology-sim/virtual-swarm.js';
import { accuracyStats, type RoundRecord } from '../../topology-sim/metrics.js';

const experiment = (name: string) => fileURLToPath(new URL(`../../topology-sim/experiments/${name}`, import.meta.url));

/** Consensus distance of `vectors` as the collector computes it (same order, same sums). */
function consensusOf(vectors: Float32Array[]): number {
  const p: RoundPartial = {
    run: '', round: 1, time: 0, accuracies: [], losses: [], sum: new Float64Array(vectors[0]!.length), sumSq: 0, count: 0,
    bytesSentRound: 0, bytesReceivedTotal: 0, rejectedTotal: 0, wall: { train: 0, exchange: 0, aggregate: 0 }, last: false,
  };
  for (const v of vectors) addModel(p, v);
  return roundRecord(p, undefined).consensusDistance;
}

describe('vector reuse across rounds on the virtual network', { timeout: 300_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

  /** An evaluation in the main thread (see the module comment). */
  const evaluate = (task: Omit<EvaluateTask, 'kind'>, data: Parameters<typeof evaluateDenseJs>[2]) =>
    evaluateDenseJs(task.spec, task.weights, data, task.indices);

  /**
   * Run `file`'s first run with `peers` peers for `rounds` rounds, evaluating every peer every round, and copy
   * each peer's vector when it reports; returns the records, the copies by round and the bank's counters.
   */
  async function runWithCopies(file: string, peers: number, rounds: number) {
    const { runs } = await loadExperiment(experiment(file), { eval: { every: 1, fraction: 1 } });
    const run = runs[0]!;
    Object.assign(run.experiment, { peers, rounds, eval: { ...run.experiment.eval, every: 1, fraction: 1 } });
    const prepared = await prepareRun(run, pool, () => {});
    const built = buildSwarm(prepared, pool, () => {});
    const swarm = built.swarm as VirtualSwarm;
    assert.ok(swarm instanceof VirtualSwarm);
    const copies = new Map<number, Map<number, Float32Array>>();
    // Evaluations wait until some peer reported their round + 2 (the last rounds': the final round).
    let reported = 0;
    const waiting: Array<{ round: number; answer: () => void }> = [];
    const answerDue = () => {
      for (const w of waiting.filter((x) => reported >= Math.min(x.round + 2, rounds))) { waiting.splice(waiting.indexOf(w), 1); w.answer(); }
    };
    const late = {
      evaluate: (task: Omit<EvaluateTask, 'kind'>, options: { priority: number }) => {
        const result = evaluate(task, prepared.data.dataset);
        return new Promise<typeof result>((resolve) => { waiting.push({ round: options.priority, answer: () => resolve(result) }); answerDue(); });
      },
    } as unknown as WorkerPool;
    const realRun = swarm.run.bind(swarm);
    swarm.run = (onRound, options) => realRun((i, s) => {
      const byPeer = copies.get(s.round) ?? new Map<number, Float32Array>();
      copies.set(s.round, byPeer.set(i, swarm.peerAt(i)!.vector()));
      onRound?.(i, s);
      if (s.round > reported) { reported = s.round; answerDue(); }
    }, options);
    await swarm.start();
    try {
      const records: RoundRecord[] = [];
      await new RoundCollector(prepared, built, { pool: late, onRecord: (r) => records.push(r) }).collect();
      return { records, copies, stats: swarm.vectors.stats(), frames: swarm.frameStats(), prepared };
    } finally { await swarm.stop(); }
  }

  for (const [file, label] of [['scale-10000-virtual.yaml', 'D-PSGD (mixes into its training output)'], ['bench-sim.yaml', 'gossip learning (merges into its training output)']] as const) {
    it(`keeps every round's records equal to copies taken at report time: ${label}`, async () => {
      const rounds = 6;
      const { records, copies, stats, frames, prepared } = await runWithCopies(file, 12, rounds);
      assert.equal(records.length, rounds);
      assert.ok(stats.reused > 0, `the bank reused no vector (${JSON.stringify(stats)}): this test would check nothing`);
      assert.ok(frames.reused > 0, `no frame buffer was reused (${JSON.stringify(frames)})`);
      for (const rec of records) {
        const byPeer = copies.get(rec.round)!;
        const vectors = [...byPeer.keys()].sort((a, b) => a - b).map((i) => byPeer.get(i)!);
        assert.equal(rec.consensusDistance, consensusOf(vectors), `round ${rec.round}: consensus distance from the collector's vectors`);
        const evals = vectors.map((weights) => evaluate({ spec: prepared.spec, weights, dataset: prepared.dataset, indices: prepared.testIndices }, prepared.data.dataset));
        assert.equal(rec.honest.mean, accuracyStats(evals.map((e) => e.accuracy)).mean, `round ${rec.round}: mean accuracy of the collector's vectors`);
      }
    });
  }
});
