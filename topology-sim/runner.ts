/**
 * Runs one run of an experiment in three steps: prepare (data, partition, model, pre-training:
 * run-prepare.ts), build the swarm (topology, attackers, churn, one algorithm per peer, the transport:
 * run-swarm.ts), and collect its rounds into records over the honest peers, written as they are finalised
 * (run-rounds.ts; STYLE.md §3.5: the report only reads the records). Memory is sampled while the swarm exists.
 */
import type { RoundSummary } from '../node/peer.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { ResolvedRun } from './experiment.js';
import type { RoundRecord } from './metrics.js';
import type { RoundPartial } from './round-partial.js';
import { prepareRun } from './run-prepare.js';
import { RoundCollector } from './run-rounds.js';
import { buildSwarm } from './run-swarm.js';

export interface RunDeps {
  pool: WorkerPool;
  signal?: AbortSignal;
  /** Called with each finalised round record. */
  onRecord?: (r: RoundRecord) => void;
  /** Called as each peer reports a round (benchmarks time rounds by it: records can close in bursts). */
  onPeerRound?: (peer: number, round: number, summary: RoundSummary) => void;
  /** Free-form progress lines (bring-up, topology facts). */
  onInfo?: (line: string) => void;
  /** Called with each round's partial (multi-process runs ship these to the merging process). */
  onPartial?: (p: RoundPartial) => void;
  /** This process hosts share `index` of `count` (peers i with i mod count = index). */
  share?: { index: number; count: number };
}

export interface MemoryReport {
  /** RSS before the swarm was built (data, workers and TF.js loaded), bytes. */
  baselineRss: number;
  /** Highest RSS sampled while the swarm existed, bytes. */
  peakRss: number;
  /** (peak − baseline − peers × weight bytes) / peers, bytes: what a peer costs beyond its weights. */
  perPeerBeyondWeights: number;
  weightBytes: number;
}

export interface RunResult {
  memory: MemoryReport;
  records: RoundRecord[];
  topology: { edges: number; meanDegree: number; spectralGap: number };
  attackers: number[];
  /** Model hash of every peer at the end (determinism checks). */
  finalHashes: string[];
  partitionHistograms: number[][];
  aborted: boolean;
}

/** Highest RSS while the swarm exists, sampled every 100 ms. */
function memorySampler(): { stop(): { baselineRss: number; peakRss: number } } {
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);
  sampler.unref();
  return { stop: () => { clearInterval(sampler); return { baselineRss, peakRss: Math.max(peakRss, process.memoryUsage().rss) }; } };
}

export async function runExperimentRun(run: ResolvedRun, deps: RunDeps): Promise<RunResult> {
  const info = deps.onInfo ?? (() => {});
  const prepared = await prepareRun(run, deps.pool, info);
  const { e, n, layout } = prepared;
  const built = buildSwarm(prepared, deps.pool, info, deps.share);
  const { swarm } = built;
  const memoryUse = memorySampler();
  const t0 = Date.now();
  info(`bringing up ${n} peers over the ${e.transport} transport…`);
  await swarm.start();
  info(`${n} peers connected in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const collector = new RoundCollector(prepared, built, deps);
  const { aborted } = await collector.collect();
  const finalHashes = Array.from({ length: n }, (_, i) => swarm.peerAt(i)?.status().modelHash ?? '');
  const { baselineRss, peakRss } = memoryUse.stop();
  await swarm.stop();
  const weightBytes = layout.size * 4;
  const memory = { baselineRss, peakRss, weightBytes, perPeerBeyondWeights: (peakRss - baselineRss - n * weightBytes) / n };
  info(`memory: baseline RSS ${(baselineRss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB, ${(memory.perPeerBeyondWeights / 2 ** 20).toFixed(2)} MiB per peer beyond its ${(weightBytes / 2 ** 10).toFixed(0)} KiB of weights`);
  return {
    memory, records: collector.records, attackers: [...built.attackers].sort((a, b) => a - b), finalHashes,
    partitionHistograms: prepared.split.histograms, aborted, topology: built.topology,
  };
}
