/**
 * bench-footprint: how much memory does a daemon hold while it trains and exchanges models, and how long
 * is a round? (issue 13 "A small footprint"). Three `murmur daemon` processes on loopback each train on a
 * third of the digits (share i of 3) with the product's defaults and exchange every round; after WARMUP
 * rounds, every daemon's RSS (/proc VmRSS, all threads: training workers included) is sampled every
 * SAMPLE_EVERY_MS for WINDOW rounds. The figure is the largest daemon's median RSS over the window; the
 * round time is the median wall time between committed rounds and the median of each round's work
 * (train + exchange + aggregate + evaluate, from the history).
 *
 * The daemons run as a device runs them: the compiled `murmur` bin (dist/, rebuilt first) started through
 * its shebang, which sets the process-level memory settings (node/cli/main.ts). Under tsx the same daemon
 * holds ~250 MB more (the TypeScript loader in every thread).
 *
 * Targets: MLP ≤ 200 MB, CNN ≤ 300 MB steady-state RSS, and a round no slower than before the cut
 * (BEFORE: measured with this script's workload at commit 42ac9d6, before the footprint work).
 *
 *   npm run bench -- bench-footprint [--model mlp|cnn|both] [--window N] [--root DIR] [--json]
 */
import '../node/polyfill.js';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectControl, type ControlClient } from '../node/control/client.js';
import { waitFor, type DaemonProcess } from './lib/daemon-harness.js';
import { processMemory } from './lib/rss.js';
import { jsonMode, printEnv, summarize, verdict, type Check } from './lib/bench.js';

const MB = 1_000_000;
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] ?? fallback : fallback; };
const MODELS = flag('model', 'both') === 'both' ? ['mlp', 'cnn'] as const : [flag('model', 'mlp') as 'mlp' | 'cnn'];
const WARMUP = 3;
const WINDOW = Number(flag('window', '8'));
const SAMPLE_EVERY_MS = 1_000;
const TARGET_MB: Record<'mlp' | 'cnn', number> = { mlp: 200, cnn: 300 };
/**
 * Before the footprint work: this script with `--root` on a build of commit 42ac9d6 (its bin, its defaults),
 * largest daemon's median RSS and median round work, on the 2-core machine of 2026-12-07 under a load
 * average of ~30 (other jobs running): re-measure both on a quiet machine before trusting a small
 * difference. The round-time check allows 25% for the machine's noise.
 */
const BEFORE: Record<'mlp' | 'cnn', { rssMb: number; roundMs: number }> = {
  mlp: { rssMb: 356, roundMs: 2954 },
  cnn: { rssMb: 301, roundMs: 25_978 },
};
const ROUND_SLACK = 1.25;

/** The checkout whose daemon is measured; `--root DIR` measures another one (e.g. the commit before). */
const ROOT = flag('root', fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'dist', 'node', 'cli', 'main.js');

/** Compile dist/ so the bin is this checkout's code. */
function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
}

/** `murmur daemon` through the bin's shebang, as `npx murmur daemon` or an installed `murmur` runs it. */
function spawnBinDaemon(dataDir: string, args: string[]): DaemonProcess {
  const child = spawn(BIN, ['daemon', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MURMUR_DATA_DIR: '' } });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => { log.push(...d.toString().split('\n').filter(Boolean)); if (log.length > 200) log.splice(0, log.length - 200); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, dataDir, log, exited };
}

interface History { round: number; time: number; phaseMs?: Record<string, number> }
interface Status { peerId: string; addresses: string[]; round: number }

interface Result { model: string; rssMb: number[]; peakMb: number[]; roundWallMs: number; roundWorkMs: number; rounds: number }

async function measure(model: 'mlp' | 'cnn'): Promise<Result> {
  const root = await mkdtemp(join(tmpdir(), `murmur-footprint-${model}-`));
  const daemons: DaemonProcess[] = [];
  const common = (i: number): string[] => [
    '--listen', '/ip4/127.0.0.1/tcp/0', '--peers', '3', '--peer-index', String(i), '--model', model, '--log-level', 'warn',
  ];
  try {
    const dirs = [0, 1, 2].map((i) => join(root, `peer${i}`));
    daemons.push(spawnBinDaemon(dirs[0]!, common(0)));
    // In-process API clients: a CLI process per poll would itself load the 2 cores being measured.
    const client = (d: string): Promise<ControlClient> => waitFor(`the daemon at ${d}`, () => connectControl(d), 180_000);
    const first = await (await client(dirs[0]!)).get<Status>('/status');
    const boot = first.addresses.find((a) => a.includes('/tcp/'))!;
    for (const i of [1, 2]) daemons.push(spawnBinDaemon(dirs[i]!, [...common(i), '--bootstrap', boot]));
    const clients = await Promise.all(dirs.map(client));
    const rounds = async (): Promise<number[]> => Promise.all(clients.map(async (c) => (await c.get<Status>('/status')).round));
    const start = await waitFor(`${WARMUP} rounds on every daemon`, async () => { const r = await rounds(); return Math.min(...r) >= WARMUP ? r : null; }, 600_000, 1000);
    const from = Math.max(...start) + 1;
    const samples: number[][] = daemons.map(() => []);
    const peaks: number[] = daemons.map(() => 0);
    for (;;) {
      for (const [i, d] of daemons.entries()) {
        const m = await processMemory(d.child.pid!);
        samples[i]!.push(m.now);
        peaks[i] = Math.max(peaks[i]!, m.peak);
      }
      if (Math.min(...(await rounds())) >= from + WINDOW) break;
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
    }
    const history = await clients[0]!.get<History[]>(`/history?from=${from - 1}&limit=${WINDOW + 1}`);
    const walls = history.slice(1).map((h, i) => h.time - history[i]!.time);
    const works = history.slice(1).map((h) => Object.values(h.phaseMs ?? {}).reduce((a, b) => a + b, 0));
    return {
      model, rssMb: samples.map((s) => summarize(s).median / MB), peakMb: peaks.map((p) => p / MB),
      roundWallMs: summarize(walls).median, roundWorkMs: summarize(works).median, rounds: history.length - 1,
    };
  } finally {
    for (const d of daemons) if (d.child.exitCode === null) { d.child.kill('SIGTERM'); }
    await Promise.all(daemons.map((d) => Promise.race([d.exited, new Promise((r) => setTimeout(r, 20_000))])));
    for (const d of daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

if (!jsonMode) console.log('building dist/ (tsc)…');
build();
await chmod(BIN, 0o755);
printEnv({ workload: `3 daemons on loopback, share i of 3 of the digits each, defaults; ${WARMUP} warm-up rounds, ${WINDOW} measured` });
const results: Result[] = [];
for (const model of MODELS) {
  const r = await measure(model);
  results.push(r);
  if (!jsonMode) {
    console.log(`${model}: RSS median per daemon ${r.rssMb.map((x) => x.toFixed(0)).join(' / ')} MB (peak ${r.peakMb.map((x) => x.toFixed(0)).join(' / ')} MB); `
      + `round: ${r.roundWallMs.toFixed(0)} ms wall, ${r.roundWorkMs.toFixed(0)} ms work (median of ${r.rounds}); `
      + `before: ${BEFORE[model].rssMb.toFixed(0)} MB, ${BEFORE[model].roundMs.toFixed(0)} ms work`);
  }
}
const checks: Check[] = results.flatMap((r): Check[] => {
  const model = r.model as 'mlp' | 'cnn';
  const rss = Math.max(...r.rssMb);
  const before = BEFORE[model].roundMs;
  return [
    { name: `${model} RSS`, pass: rss <= TARGET_MB[model], figure: `${model} daemon RSS ${rss.toFixed(0)} MB`, target: `≤ ${TARGET_MB[model]} MB` },
    {
      name: `${model} round`, pass: !Number.isFinite(before) || r.roundWorkMs <= before * ROUND_SLACK,
      figure: `${model} round work ${r.roundWorkMs.toFixed(0)} ms`, target: `≤ ${Number.isFinite(before) ? (before * ROUND_SLACK).toFixed(0) : '?'} ms (before ${before.toFixed(0)} ms + 25%)`,
    },
  ];
});
verdict(checks, { results });
