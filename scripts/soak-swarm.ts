/**
 * Question: does a live swarm of real daemons keep training through late joins, crashes, restarts, a peer
 * that leaves, a slow peer and a hostile peer? (issue 12). Real `murmur daemon` processes on loopback TCP
 * (MLP 784-32-10, the built-in digits split N ways, IID), joins spread over the first minute, SIGKILLs with
 * restarts at seeded random times, one peer leaving for good, one training 3 local epochs a round, and a
 * hostile peer sending malformed frames and endless length prefixes throughout. One pass per algorithm:
 * dpsgd (synchronous), gossip-learning (asynchronous), modest (its own engine).
 *
 * Targets, per pass: no peer goes longer than 3 round timeouts without finishing a round while it runs
 * (from 'murmur daemon running', its join phase included; the process start-up before it is printed apart);
 * live peers' rounds differ by at most 3 at the end; every live peer ends within 3 points of a lockstep
 * simulation of the same swarm at the same round; no daemon crashes; every restart resumes the round its
 * store committed. Peak RSS per daemon is printed. MoDeST is measured as the simulator measures it: a
 * peer's round is its round estimate ('in round', from `murmur status`; it finishes only the rounds it is
 * sampled for), and a round's model is its aggregator's average (accuracy of the peer's last round as
 * aggregator), not a trainer's local model.
 * Usage: npm run bench -- soak-swarm [--ci] [--peers 8] [--minutes 10] [--algorithms dpsgd,gossip-learning,modest]
 *        [--seed 1] [--keep] [--log-level info] [--json]   (--ci: 4 daemons, joins over 20 s, one kill, 90 s, no leaver/slow peer;
 *        --keep: leave the work dir with every daemon's log, daemon-<lifetime>.log beside its data dir)
 */
import '../node/polyfill.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonMode, printEnv, verdict, type Check } from './lib/bench.js';
import { soakChecks } from './lib/soak-checks.js';
import { CI_SOAK_SHAPE, SOAK_EVAL_SIZE, SOAK_ROUND_TIMEOUT_MS, soakAlgorithmParams, soakPlan, type SoakShape } from './lib/soak-plan.js';
import { lockstepAccuracy } from './lib/soak-reference.js';
import { runSoakPass, type SoakAlgorithm, type SoakPassReport } from './lib/soak-run.js';

const ROUND_TIMEOUT_MS = SOAK_ROUND_TIMEOUT_MS;
const EVAL_SIZE = SOAK_EVAL_SIZE;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function printPass(algorithm: string, report: SoakPassReport, reference: number[]): void {
  if (jsonMode) return;
  console.log(`\n${algorithm}: ${(report.wallMs / 60_000).toFixed(1)} min`);
  console.log('peer  role    rounds  last  in round  longest gap  start-up  accuracy (round)  lockstep  peak RSS  restarts (committed→resumed)');
  for (const p of report.peers) {
    const ref = reference[Math.min(p.finalAccuracyRound ?? p.roundAtEnd, reference.length - 1)];
    console.log([
      String(p.index).padEnd(4), p.role.padEnd(7), String(p.roundsDone).padStart(6), String(p.roundAtEnd).padStart(5), String(p.swarmRoundAtEnd ?? '—').padStart(9),
      `${(p.longestGapMs / 1000).toFixed(1)} s`.padStart(12), `${(p.longestBootMs / 1000).toFixed(1)} s`.padStart(9), (p.finalAccuracy === null ? '—' : `${(100 * p.finalAccuracy).toFixed(2)}% (${String(p.finalAccuracyRound)})`).padStart(16),
      (ref === undefined ? '—' : `${(100 * ref).toFixed(2)}%`).padStart(9), `${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB`.padStart(9),
      ' ' + (p.restarts.map((r) => `${String(r.committed)}→${String(r.resumed)}`).join(', ') || '—'),
    ].join(' '));
  }
  const starting = report.peers.filter((p) => p.startingAtEnd).map((p) => p.index);
  if (starting.length > 0) console.log(`restarted and still starting or joining at the end (rounds read once they landed): peer ${starting.join(', ')}`);
  if (report.hostile) {
    const h = report.hostile;
    console.log(`hostile peer: ${h.attacks} attacks (${Object.entries(h.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}), ${h.refused} refused at the door, ${h.identities} identities`);
  }
}

const ci = process.argv.includes('--ci');
const shape: SoakShape = ci
  ? { ...CI_SOAK_SHAPE, seed: Number(arg('seed', '1')) }
  : {
    peers: Number(arg('peers', '8')), durationMs: Number(arg('minutes', '10')) * 60_000, joinSpreadMs: 60_000, kills: 4,
    leaver: true, slow: true, seed: Number(arg('seed', '1')),
  };
const algorithms = arg('algorithms', ci ? 'dpsgd' : 'dpsgd,gossip-learning,modest').split(',') as SoakAlgorithm[];
const workDir = await mkdtemp(join(tmpdir(), 'murmur-soak-'));
printEnv({ workload: `${shape.peers} daemons, ${shape.durationMs / 60_000} min per pass, ${algorithms.join(', ')}`, workDir });
const checks: Check[] = [];
const figures: Record<string, unknown> = {};
try {
  for (const algorithm of algorithms) {
    const plan = soakPlan(shape);
    const report = await runSoakPass({
      plan, algorithm, workDir, roundTimeoutMs: ROUND_TIMEOUT_MS, hostile: true, logLevel: arg('log-level', 'info'),
      progress: (line) => { if (!jsonMode) console.log(`  [${algorithm}] ${line}`); },
    });
    const rounds = Math.max(...report.peers.map((p) => p.roundAtEnd));
    const reference = await lockstepAccuracy({ peers: shape.peers, rounds: Math.max(1, rounds), algorithm, evalSize: EVAL_SIZE, workDir, params: soakAlgorithmParams(algorithm, shape.peers, ROUND_TIMEOUT_MS) });
    printPass(algorithm, report, reference);
    checks.push(...soakChecks(algorithm, report, reference, ROUND_TIMEOUT_MS));
    figures[algorithm] = { ...report, reference };
  }
} finally {
  if (process.argv.includes('--keep')) console.log(`work dir kept: ${workDir}`);
  else await rm(workDir, { recursive: true, force: true });
}
verdict(checks, figures);
