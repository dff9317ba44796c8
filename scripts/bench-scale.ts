/**
 * bench-scale: do ten thousand virtual peers fit in one process, and do memory and round time grow at most
 * linearly from a thousand? (issue 16). Runs topology-sim/experiments/scale-10000-virtual.yaml (logreg,
 * 8-regular, 5 rounds, virtual network; runs N=1000 and N=10000), each in its own child process so each peak
 * RSS is its own: the product's path (topology-sim/runner.ts: real Peers, sync engine, worker pool of 2).
 * Per run: bring-up (building the swarm), seconds per round (wall time from the first round's record to the
 * last's, over rounds − 1), the process's peak RSS (getrusage maxrss: every thread, workers included) and
 * MiB per peer = (peak RSS − RSS before bring-up) / N. Targets: peak RSS at N = 10,000 ≤ 6 GB; MiB per peer at
 * 10,000 ≤ at 1,000 (memory linear in N); seconds per round at 10,000 ≤ 10 × at 1,000 (time linear in N).
 * Usage: npm run bench -- bench-scale [--json] [--only N=1000]
 */
import '../node/polyfill.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../node/learner/pool.js';
import { loadExperiment } from '../topology-sim/experiment.js';
import { runExperimentRun } from '../topology-sim/runner.js';
import { jsonMode, printEnv, verdict, type Check } from './lib/bench.js';

const EXPERIMENT = fileURLToPath(new URL('../topology-sim/experiments/scale-10000-virtual.yaml', import.meta.url));
const WORKERS = 2;
const MAX_PEAK_RSS_BYTES = 6e9;
const MIB = 2 ** 20;

interface RunFigures { name: string; peers: number; bringUpS: number; secondsPerRound: number; peakRssBytes: number; mibPerPeer: number; accuracy: number }

/** One run, in this process; prints its figures as one JSON line. */
async function child(name: string): Promise<void> {
  const { runs } = await loadExperiment(EXPERIMENT);
  const run = runs.find((r) => r.name === name);
  if (!run) throw new Error(`no run named ${name} in ${EXPERIMENT}; runs: ${runs.map((r) => r.name).join(', ')}`);
  const pool = new WorkerPool({ size: WORKERS });
  await pool.start();
  const before = process.memoryUsage().rss;
  const closed: number[] = [];
  let upStart = NaN, upEnd = NaN, accuracy = NaN;
  try {
    await runExperimentRun(run, {
      pool,
      onInfo: (line) => {
        if (line.startsWith('bringing up')) upStart = performance.now();
        if (line.includes('peers connected')) upEnd = performance.now();
      },
      onRecord: (r) => { closed[r.round] = performance.now(); accuracy = r.honest.mean; },
    });
  } finally {
    await pool.stop();
  }
  const rounds = run.experiment.rounds;
  const peak = process.resourceUsage().maxRSS * 1024;
  const figures: RunFigures = {
    name, peers: run.experiment.peers, bringUpS: (upEnd - upStart) / 1000,
    secondsPerRound: (closed[rounds]! - closed[1]!) / 1000 / (rounds - 1),
    peakRssBytes: peak, mibPerPeer: (peak - before) / MIB / run.experiment.peers, accuracy,
  };
  console.log(JSON.stringify(figures));
}

async function parent(): Promise<void> {
  const { runs } = await loadExperiment(EXPERIMENT);
  const onlyAt = process.argv.indexOf('--only');
  const selected = runs.filter((r) => onlyAt < 0 || r.name === process.argv[onlyAt + 1]);
  const results: RunFigures[] = [];
  for (const run of selected) {
    const out = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', run.name], { encoding: 'utf8', maxBuffer: 64 * MIB, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
    if (out.status !== 0 || line === undefined) throw new Error(`run ${run.name} failed (exit ${out.status}, signal ${out.signal}); output:\n${out.stdout}`);
    results.push(JSON.parse(line) as RunFigures);
  }
  printEnv({ experiment: EXPERIMENT, workers: WORKERS, note: 'each run in its own process' });
  if (!jsonMode) {
    console.log('\nrun       peers   bring-up s   s/round   peak RSS MiB   MiB/peer   final accuracy');
    for (const r of results) {
      console.log(`${r.name.padEnd(8)} ${String(r.peers).padStart(6)} ${r.bringUpS.toFixed(1).padStart(12)} ${r.secondsPerRound.toFixed(3).padStart(9)} ${(r.peakRssBytes / MIB).toFixed(0).padStart(14)} ${r.mibPerPeer.toFixed(3).padStart(10)} ${(100 * r.accuracy).toFixed(1).padStart(15)}%`);
    }
    console.log('');
  }
  const small = results.find((r) => r.peers === 1000), big = results.find((r) => r.peers === 10_000);
  const checks: Check[] = [];
  if (big) checks.push({ name: 'peak RSS at N=10000', pass: big.peakRssBytes <= MAX_PEAK_RSS_BYTES, figure: `${(big.peakRssBytes / 1e9).toFixed(2)} GB`, target: '≤ 6 GB' });
  if (small && big) {
    checks.push({ name: 'MiB per peer, N=10000 vs N=1000', pass: big.mibPerPeer <= small.mibPerPeer, figure: `${big.mibPerPeer.toFixed(3)} vs ${small.mibPerPeer.toFixed(3)} MiB`, target: '≤ (linear memory)' });
    const ratio = big.secondsPerRound / small.secondsPerRound;
    checks.push({ name: 's/round, N=10000 / N=1000', pass: ratio <= 10, figure: `${ratio.toFixed(1)}×`, target: '≤ 10× (linear time)' });
  }
  if (checks.length === 0) checks.push({ name: 'runs', pass: results.length > 0, figure: `${results.length} run(s)`, target: 'N=10000 for the verdict' });
  verdict(checks, { results });
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1]!);
else await parent();
