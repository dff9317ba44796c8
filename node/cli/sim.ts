/** `murmur sim <experiment>`: run an experiment file and print a summary table; the report goes to a folder. */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { backendFromEnv, setPath } from '../config.js';
import { ConfigError } from '../errors.js';
import { loadExperiment } from '../../topology-sim/experiment.js';
import { simulate } from '../../topology-sim/simulate.js';
import { join } from 'node:path';
import { openMetricsWriter, summarizeRuns, type RunSummary } from '../../topology-sim/metrics.js';
import { mergePartials, readPartials } from '../../topology-sim/multi-process.js';
import { writeReport } from '../../topology-sim/report.js';
import { renderRows, type Column } from './render.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface SimFlags { set?: string[]; out?: string; peers?: string; rounds?: string; transport?: string; workers?: string; backend?: string; json?: boolean; quiet?: boolean; processes?: string; share?: string; partials?: string }

const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(2)}%` : '-');
const columns: Column<RunSummary>[] = [
  { key: 'run', value: (s) => s.run },
  { key: 'rounds', value: (s) => s.finalRound },
  { key: 'finalMean', header: 'final mean acc', value: (s) => s.finalMean, format: pct },
  { key: 'finalMin', header: 'final min acc', value: (s) => s.finalMin, format: pct },
  { key: 'bestMean', header: 'best mean acc', value: (s) => s.bestMean, format: pct },
  { key: 'roundsTo', header: 'rounds to 80/85/90%', value: (s) => s.roundsTo, format: (v) => (v as (number | null)[]).map((x) => x ?? '-').join(' / ') },
  { key: 'totalMbSent', header: 'MB sent', value: (s) => s.totalMbSent, format: (v) => (v as number).toFixed(1) },
  { key: 'wallS', header: 'wall s', value: (s) => s.wallS, format: (v) => (v as number).toFixed(1) },
];

export function registerSimCommand(program: Command): void {
  program.command('sim')
    .description('simulate a swarm from an experiment file (JSON or YAML) and write a report')
    .argument('<experiment>', 'experiment file, e.g. topology-sim/experiments/quickstart.yaml')
    .option('--set <key=value>', 'override any experiment field, e.g. --set rounds=5 (repeatable)', collect)
    .option('--out <dir>', 'output folder (default runs/<name>-<time>)')
    .option('--peers <n>', 'number of peers')
    .option('--rounds <n>', 'number of rounds')
    .option('--transport <t>', 'memory | tcp | virtual')
    .option('--workers <n>', 'training worker threads (default: cores)')
    .option('--backend <name>', 'tensorflow | wasm | cpu')
    .option('--processes <k>', 'spread the swarm over k processes on this machine (TCP between them)')
    .option('--share <s/k>', 'host share s of k of a multi-machine swarm (needs --partials; see network.hosts)')
    .option('--partials <file>', 'where a share writes its partial round records')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, f: SimFlags) => {
      const over: Record<string, unknown> = {};
      const int = (name: string, v: string) => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${name} ${v}: expected a positive integer`); return String(n); };
      if (f.peers) setPath(over, 'peers', int('peers', f.peers));
      if (f.rounds) setPath(over, 'rounds', int('rounds', f.rounds));
      if (f.transport) setPath(over, 'transport', JSON.stringify(f.transport));
      if (f.out) setPath(over, 'output', JSON.stringify(f.out));
      for (const kv of f.set ?? []) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new ConfigError(`--set ${kv}: expected key.path=value`);
        setPath(over, kv.slice(0, eq), kv.slice(eq + 1));
      }
      if (f.processes) setPath(over, 'processes', int('processes', f.processes));
      let share: { index: number; count: number; partials: string } | undefined;
      if (f.share) {
        const m = /^(\d+)\/(\d+)$/.exec(f.share);
        if (!m || Number(m[1]) >= Number(m[2])) throw new ConfigError(`--share ${f.share}: expected s/k with 0 ≤ s < k`);
        if (!f.partials) throw new ConfigError('--share needs --partials <file>');
        share = { index: Number(m[1]), count: Number(m[2]), partials: f.partials };
      }
      const { base, runs, raw } = await loadExperiment(file, over);
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\ninterrupted: stopping the swarm and writing what was measured (Ctrl-C again to quit at once)\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      const tty = process.stderr.isTTY && !f.quiet && !f.json;
      const bar = tty ? new cliProgress.SingleBar({ format: '{run} |{bar}| round {value}/{total} | acc {acc} | ETA {eta_formatted}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      let barRun = '';
      const say = (line: string) => { if (f.quiet || f.json) return; if (bar && barRun) bar.stop(), (barRun = ''); process.stderr.write(`${line}\n`); };
      try {
        const result = await simulate({
          file, name: base.name, runs, raw, outDir: f.out, workers: f.workers ? Number(f.workers) : undefined,
          backend: f.backend ?? backendFromEnv(), signal: controller.signal, onInfo: say, share,
          onRecord: (rec, run) => {
            if (f.quiet || f.json) return;
            if (bar) {
              if (barRun !== run.name) { bar.start(run.experiment.rounds, 0, { run: run.name, acc: '-' }); barRun = run.name; }
              bar.update(rec.round, { acc: pct(rec.honest.mean) });
              if (rec.round >= run.experiment.rounds) { bar.stop(); barRun = ''; }
            } else {
              process.stderr.write(`${run.name} round ${rec.round}/${run.experiment.rounds}: mean accuracy ${pct(rec.honest.mean)} (min ${pct(rec.honest.min)}), ${(rec.bytesSent / 1e6).toFixed(1)} MB sent, ${(rec.wallMs.total / 1000).toFixed(2)} s\n`);
            }
          },
        });
        bar?.stop();
        if (share) return;
        process.stdout.write(renderRows(result.summaries, columns, { json: !!f.json }));
        if (!f.json) process.stdout.write(`report: ${result.outDir}/report.html\n`);
        if (result.aborted) process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

/** `murmur sim-merge`: one report from the partial records of a swarm's shares (one file per machine). */
export function registerSimMergeCommand(program: Command): void {
  program.command('sim-merge')
    .description('merge the partial records of a multi-machine swarm into one report')
    .argument('<experiment>', 'the experiment file every share ran')
    .argument('<partials...>', 'one partial-records file per share')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (file: string, files: string[], f: { out: string }) => {
      const { base, runs } = await loadExperiment(file);
      const records = mergePartials(await readPartials(files), runs.map((r) => r.name), files.length);
      const writer = await openMetricsWriter(join(f.out, 'results.jsonl'));
      for (const r of records) writer.append(r);
      await writer.close();
      const done = runs.map((r) => r.name).filter((n) => records.some((r) => r.run === n));
      await writeReport(f.out, { title: base.name, records, config: { experiment: file, shares: files, resolved: runs.map((r) => ({ run: r.name, ...r.experiment })) }, runs: done });
      process.stdout.write(renderRows(summarizeRuns(records, { runs: done }), columns, { json: false }));
      process.stdout.write(`report: ${f.out}/report.html\n`);
    });
}
