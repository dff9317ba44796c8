/**
 * Model-sized vectors reused across rounds (node/vector-bank.ts) must never change what a run measures: the
 * round collector reads round r's vectors (sums, consensus distance, evaluations) after the peers moved on
 * and their training writes into recycled vectors, so a vector given back too early shows here as records
 * that differ from copies taken when each peer reported.
 *
 * The collector's evaluations answer two swarm rounds late on the swarm's own reports, so vectors are both
 * read late and reused on every machine (late-evaluations.ts).
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { evaluateDenseJs } from '../../node/learner/dense-eval.js';
import { WorkerPool } from '../../node/learner/pool.js';
import { loadExperiment } from '../../topology-sim/experiment.js';
import { prepareRun } from '../../topology-sim/run-prepare.js';
import { RoundCollector } from '../../topology-sim/run-rounds.js';
import { buildSwarm } from '../../topology-sim/run-swarm.js';
import { VirtualSwarm } from '../../topology-sim/virtual-swarm.js';
import { accuracyStats, type RoundRecord } from '../../topology-sim/metrics.js';
import { consensusOf, copiesOf, lateEvaluations } from './late-evaluations.js';

const experiment = (name: string) => fileURLToPath(new URL(`../../topology-sim/experiments/${name}`, import.meta.url));

describe('vector reuse across rounds on the virtual network', { timeout: 300_000 }, () => {
  const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
  before(() => pool.start());
  after(() => pool.stop());

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
    const late = lateEvaluations(swarm, rounds, prepared.data.dataset);
    await swarm.start();
    try {
      const records: RoundRecord[] = [];
      await new RoundCollector(prepared, built, { pool: late.pool, onRecord: (r) => records.push(r) }).collect();
      return { records, copies: late.copies, stats: swarm.vectors.stats(), frames: swarm.frameStats(), prepared };
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
        const vectors = copiesOf(copies, rec.round);
        assert.equal(rec.consensusDistance, consensusOf(vectors), `round ${rec.round}: consensus distance from the collector's vectors`);
        const evals = vectors.map((weights) => evaluateDenseJs(prepared.spec, weights, prepared.data.dataset, prepared.testIndices));
        assert.equal(rec.honest.mean, accuracyStats(evals.map((e) => e.accuracy)).mean, `round ${rec.round}: mean accuracy of the collector's vectors`);
      }
    });
  }
});
