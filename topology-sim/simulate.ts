/**
 * `murmur sim`: every run of an experiment in turn, one shared worker pool, one output folder with
 * results.jsonl, summary.csv, config.json (seed, package versions, backend) and report.html. An abort (Ctrl-C)
 * stops the swarm and still writes what was measured.
 */
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { mergePartials, readPartials, runShares } from './multi-process.js';
import { encodePartial } from './round-partial.js';
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
  /** Spread each run over this many processes on this machine (TCP between them; memory within each for a memory swarm). */
  processes?: number;
  /** This process is one share of a multi-process swarm: write partial records to `partials`, no report. */
  share?: { index: number; count: number; partials: string };
}

export interface SimulateResult { outDir: string; results: Map<string, RunResult>; summaries: RunSummary[]; aborted: boolean; backend: string }

export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = resolve(o.outDir ?? o.runs[0]?.experiment.output ?? join('runs', `${o.name}-${stamp}`));
  const processes = o.processes ?? o.runs[0]?.experiment.processes ?? 1;
  if (!o.share && processes > 1) return simulateMultiProcess(o, outDir, processes);
  const workers = o.workers ?? o.runs[0]?.experiment.workers;
  const pool = new WorkerPool({ size: workers, prefer: o.backend ? [o.backend as 'wasm'] : undefined });
  await pool.start();
  const backend = describeBackend(pool.backend());
  o.onInfo?.(`backend: ${backend}; ${pool.size} training workers; output: ${outDir}`);
  const writer = await openMetricsWriter(join(outDir, 'results.jsonl'));
  const partials = o.share ? createWriteStream(o.share.partials) : null;
  const results = new Map<string, RunResult>();
  let aborted = false;
  try {
    for (const run of o.runs) {
      if (o.signal?.aborted) { aborted = true; break; }
      o.onInfo?.(`run ${run.name}: ${run.experiment.peers} peers, ${run.experiment.rounds} rounds, ${run.experiment.algorithm.name}, ${run.experiment.transport}`);
      const r = await runExperimentRun(run, {
        pool, signal: o.signal, onInfo: o.onInfo, share: o.share,
        onPartial: partials ? (p) => partials.write(`${encodePartial(p)}\n`) : undefined,
        onRecord: (rec) => { writer.append(rec); o.onRecord?.(rec, run); },
      });
      results.set(run.name, r);
      if (r.aborted) { aborted = true; break; }
    }
  } finally {
    await writer.close();
    if (partials) await new Promise((r) => partials.end(r));
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

/** K share processes, then one merged report. */
async function simulateMultiProcess(o: SimulateOptions, outDir: string, processes: number): Promise<SimulateResult> {
  o.onInfo?.(`spreading each run over ${processes} processes (TCP on 127.0.0.1 between them; a memory swarm keeps memory within each)`);
  const files = await runShares({ raw: o.raw, outDir, processes, backend: o.backend, signal: o.signal, onInfo: o.onInfo });
  const runs = o.runs.map((r) => r.name);
  const records = mergePartials(await readPartials(files), runs, processes);
  const writer = await openMetricsWriter(join(outDir, 'results.jsonl'));
  for (const r of records) { writer.append(r); const run = o.runs.find((x) => x.name === r.run); if (run) o.onRecord?.(r, run); }
  await writer.close();
  const done = runs.filter((n) => records.some((r) => r.run === n));
  const config = { experiment: o.file, processes, resolved: o.runs.map((r) => ({ run: r.name, ...r.experiment })), versions: dependencyVersions(), aborted: !!o.signal?.aborted };
  await writeReport(outDir, { title: o.name, records, config, runs: done });
  return { outDir, results: new Map(), summaries: summarizeRuns(records, { runs: done }), aborted: !!o.signal?.aborted, backend: `${processes} processes` };
}
