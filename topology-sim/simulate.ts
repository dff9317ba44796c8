/**
 * `murmur sim`: every run of an experiment in turn, one shared worker pool, one output folder with
 * results.jsonl, summary.csv, config.json (seed, package versions, backend) and report.html. An abort (Ctrl-C)
 * stops the swarm and still writes what was measured.
 */
import { join, resolve } from 'node:path';
import { describeBackend } from '../node/learner/backend.js';
import { dependencyVersions } from '../node/package-info.js';
import { WorkerPool } from '../node/learner/pool.js';
import type { ResolvedRun } from './experiment.js';
import { openMetricsWriter, summarizeRuns, type RoundRecord, type RunSummary } from './metrics.js';
import { writeReport } from './report.js';
import { runExperimentRun, type RunResult } from './runner.js';

export interface SimulateOptions {
  file: string;
  name: string;
  runs: ResolvedRun[];
  raw: unknown;
  outDir?: string;
  workers?: number;
  backend?: string;
  signal?: AbortSignal;
  onRecord?: (r: RoundRecord, run: ResolvedRun) => void;
  onInfo?: (line: string) => void;
}

export interface SimulateResult { outDir: string; results: Map<string, RunResult>; summaries: RunSummary[]; aborted: boolean; backend: string }

export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = resolve(o.outDir ?? o.runs[0]?.experiment.output ?? join('runs', `${o.name}-${stamp}`));
  const workers = o.workers ?? o.runs[0]?.experiment.workers;
  const pool = new WorkerPool({ size: workers, prefer: o.backend ? [o.backend as 'wasm'] : undefined });
  await pool.start();
  const backend = describeBackend(pool.backend());
  o.onInfo?.(`backend: ${backend}; ${pool.size} training workers; output: ${outDir}`);
  const writer = await openMetricsWriter(join(outDir, 'results.jsonl'));
  const results = new Map<string, RunResult>();
  let aborted = false;
  try {
    for (const run of o.runs) {
      if (o.signal?.aborted) { aborted = true; break; }
      o.onInfo?.(`run ${run.name}: ${run.experiment.peers} peers, ${run.experiment.rounds} rounds, ${run.experiment.algorithm.name}, ${run.experiment.transport}`);
      const r = await runExperimentRun(run, {
        pool, signal: o.signal, onInfo: o.onInfo,
        onRecord: (rec) => { writer.append(rec); o.onRecord?.(rec, run); },
      });
      results.set(run.name, r);
      if (r.aborted) { aborted = true; break; }
    }
  } finally {
    await writer.close();
    await pool.stop();
  }
  const runs = o.runs.map((r) => r.name).filter((n) => results.has(n));
  const config = {
    experiment: o.file, resolved: o.runs.map((r) => ({ run: r.name, ...r.experiment })), backend, versions: dependencyVersions(),
    topology: Object.fromEntries([...results].map(([k, v]) => [k, v.topology])),
    memory: Object.fromEntries([...results].map(([k, v]) => [k, v.memory])),
    attackers: Object.fromEntries([...results].map(([k, v]) => [k, v.attackers])),
    partitions: Object.fromEntries([...results].map(([k, v]) => [k, v.partitionHistograms])),
    aborted,
  };
  await writeReport(outDir, { title: `${o.name}${aborted ? ' (interrupted)' : ''}`, records: [...writer.records], config, runs });
  return { outDir, results, summaries: summarizeRuns([...writer.records], { runs }), aborted, backend };
}
