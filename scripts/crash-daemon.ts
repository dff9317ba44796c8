/**
 * Question: does a daemon killed with SIGKILL at any moment come back intact? Target (issue 7): 20 kills
 * (during training, during the store commit, during a transfer); after each, the store opens and verifies
 * clean (every checkpoint and the current model pass their checksums), its last committed round is at
 * least the last round the daemon reported committed, and the restarted daemon resumes at that round with
 * the model hash its history records.
 *
 * Two daemons on loopback (mlp 784-32-10, the built-in digits split in two): a stable neighbour and the
 * victim, which bootstraps from it. Before each kill the victim's phase is polled through its control API
 * as fast as it answers; the kill lands when the phase is the one wanted (cycling training → committing →
 * exchanging), after a short seeded delay, or at a seeded random moment if that phase was not seen within
 * 20 s. The phase reported is the last one seen before the kill.
 * Usage: npm run bench -- crash-daemon [--kills 20] [--seed 1] [--json]
 */
import '../node/polyfill.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectControl, type ControlClient } from '../node/control/client.js';
import type { StatusInfo } from '../node/control/types.js';
import { rngFor } from '../node/data/rng.js';
import { store } from '../node/store.js';
import { logEntries, spawnDaemon, waitFor, type DaemonProcess } from './lib/daemon-harness.js';
import { jsonMode, printEnv, verdict, type Check } from './lib/bench.js';

type Target = 'training' | 'committing' | 'exchanging';
const TARGETS: readonly Target[] = ['training', 'committing', 'exchanging'];
/** Longest seeded delay between seeing the phase and the kill, ms: well inside how long each phase lasts. */
const MAX_DELAY_MS: Record<Target, number> = { training: 200, committing: 1, exchanging: 5 };
const PHASE_WAIT_MS = 20_000;

interface KillResult {
  kill: number; wanted: Target; phase: string; reportedRound: number; committedRound: number | null;
  problems: string[]; resumedRound: number | null; resumedHash: string | null; storedHash: string | null; checkpoints: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const common = (i: number): string[] => [
  '--listen', '/ip4/127.0.0.1/tcp/0', '--swarm', 'crash', '--peers', '2', '--peer-index', String(i), '--model', 'mlp', '--hidden', '32',
  '--set', 'workers=1', '--set', 'rounds.minRoundMs=300', '--set', 'rounds.timeoutMs=3000', '--set', 'data.evalSize=200',
  '--set', 'network.announceEveryMs=1000', '--log-level', 'info',
];

const lastReported = (d: DaemonProcess): number =>
  Math.max(-1, ...logEntries(d).filter((e) => e.msg === 'round finished' && e.level === 30).map((e) => Number(e.round)));

/** Poll the phase until it is `wanted` (then wait a seeded delay) or PHASE_WAIT_MS passed (then a random moment). */
async function killDuring(victim: DaemonProcess, client: ControlClient, wanted: Target, delayMs: number, fallbackMs: number): Promise<string> {
  const end = Date.now() + PHASE_WAIT_MS;
  let phase = 'unknown';
  while (Date.now() < end) {
    phase = (await client.get<StatusInfo>('/status', { timeoutMs: 2000 }).catch(() => ({ phase: 'unknown' }))).phase;
    if (phase === wanted) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      victim.child.kill('SIGKILL');
      return phase;
    }
  }
  await new Promise((r) => setTimeout(r, fallbackMs));
  victim.child.kill('SIGKILL');
  return `${phase} (no ${wanted} seen)`;
}

/** Open the victim's store after the kill: problems, the committed round and hash, the checkpoints read back. */
async function inspect(dataDir: string): Promise<{ problems: string[]; round: number | null; hash: string | null; checkpoints: number }> {
  const st = store({ dataDir });
  try {
    await st.start();
  } catch (err) {
    return { problems: [`the store does not open: ${(err as Error).message}`], round: null, hash: null, checkpoints: 0 };
  }
  try {
    const problems = await st.verify();
    const round = await st.lastCommittedRound();
    const current = await st.current();
    const [latest] = await st.history({ reverse: true, limit: 1 });
    if (round !== null && (current?.round !== round || latest?.round !== round || current.hash !== latest.modelHash)) {
      problems.push(`committed round ${round}: current ${current?.round}/${current?.hash}, latest history ${latest?.round}/${latest?.modelHash}`);
    }
    let checkpoints = 0;
    for (const c of await st.checkpoints()) {
      const model = await st.checkpoint(c.round).catch((err: unknown) => { problems.push((err as Error).message); return null; });
      if (model?.hash === c.hash) checkpoints++;
      else problems.push(`checkpoint ${c.round} reads back as ${model?.hash ?? 'nothing'}, index says ${c.hash}`);
    }
    return { problems, round, hash: current?.hash ?? null, checkpoints };
  } finally {
    await st.stop();
  }
}

async function run(): Promise<{ checks: Check[]; figures: Record<string, unknown> }> {
  const kills = Number(arg('kills', '20'));
  const seed = arg('seed', '1');
  const rng = rngFor('crash-daemon', seed);
  const root = await mkdtemp(join(tmpdir(), 'murmur-crash-'));
  const [stableDir, victimDir] = [join(root, 'stable'), join(root, 'victim')];
  const started = performance.now();
  const procs: DaemonProcess[] = [];
  const results: KillResult[] = [];
  try {
    const stable = spawnDaemon(stableDir, common(0));
    procs.push(stable);
    const s0 = await waitFor('the stable daemon', async () => (await connectControl(stableDir)).get<StatusInfo>('/status'), 120_000);
    const boot = s0.addresses.find((a) => a.includes('/tcp/'))!;
    let victim = spawnDaemon(victimDir, [...common(1), '--bootstrap', boot]);
    procs.push(victim);
    for (let kill = 0; kill < kills; kill++) {
      const wanted = TARGETS[kill % TARGETS.length]!;
      const client = await waitFor('the victim’s control API', () => connectControl(victimDir), 120_000);
      // Killed only once it has committed a round since its start and exchanges with its neighbour, so there
      // is a round to resume and transfers are in flight.
      await waitFor('the victim to commit a round with its neighbour', async () => {
        const s = await client.get<StatusInfo>('/status');
        return s.neighbours.length > 0 && s.round > Math.max(0, results[results.length - 1]?.committedRound ?? 0);
      }, 60_000, 100);
      const phase = await killDuring(victim, client, wanted, rng.int(MAX_DELAY_MS[wanted] + 1), rng.int(2000));
      await victim.exited;
      const reportedRound = lastReported(victim);
      const state = await inspect(victimDir);
      if (state.round !== null && state.round < reportedRound) state.problems.push(`committed round ${state.round} < reported ${reportedRound}`);
      victim = spawnDaemon(victimDir, [...common(1), '--bootstrap', boot]);
      procs.push(victim);
      const v = victim;
      const resumed = state.round === null
        ? null
        : await waitFor('the resume log line', async () => logEntries(v).find((e) => e.msg === 'resumed from the last committed round'), 120_000, 100);
      results.push({
        kill, wanted, phase, reportedRound, committedRound: state.round, problems: state.problems, checkpoints: state.checkpoints,
        resumedRound: resumed === null ? null : Number(resumed.round), resumedHash: resumed === null ? null : String(resumed.modelHash), storedHash: state.hash,
      });
      if (!jsonMode) {
        const r = results[results.length - 1]!;
        console.log(`  kill ${String(kill + 1).padStart(2)}: wanted ${wanted.padEnd(10)} phase ${r.phase.padEnd(12)} reported ${r.reportedRound}, committed ${r.committedRound}, ` +
          `resumed ${r.resumedRound} ${r.resumedHash === r.storedHash ? 'same hash' : 'HASH DIFFERS'}, ${r.checkpoints} checkpoints ok${r.problems.length ? `, PROBLEMS: ${r.problems.join('; ')}` : ''}`);
      }
    }
    // The stable neighbour must have survived its neighbour dying 20 times.
    const stableAlive = stable.child.exitCode === null && (await (await connectControl(stableDir)).get<StatusInfo>('/status')).round > s0.round;
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    const minutes = (performance.now() - started) / 60_000;

    const clean = results.filter((r) => r.problems.length === 0).length;
    const resumedOk = results.filter((r) => r.committedRound !== null && r.resumedRound === r.committedRound && r.resumedHash === r.storedHash).length;
    const byPhase: Record<string, number> = {};
    for (const r of results) byPhase[r.phase.split(' ')[0]!] = (byPhase[r.phase.split(' ')[0]!] ?? 0) + 1;
    printEnv({ daemons: '2 on loopback, mlp 784-32-10', kills, seed, minutes: minutes.toFixed(1) });
    if (!jsonMode) console.log(`\nphase at the kill: ${Object.entries(byPhase).map(([p, c]) => `${p} ${c}`).join(', ')}\n`);
    const phasesHit = TARGETS.filter((p) => (byPhase[p] ?? 0) > 0);
    return {
      figures: { results, byPhase, minutes },
      checks: [
        { name: 'kills', pass: results.length === kills, figure: String(results.length), target: String(kills) },
        { name: 'stores open and verify clean', pass: clean === kills, figure: `${clean}/${kills}`, target: `${kills}/${kills}` },
        { name: 'resumed at the committed round with its hash', pass: resumedOk === kills, figure: `${resumedOk}/${kills}`, target: `${kills}/${kills}` },
        { name: 'phases hit', pass: phasesHit.length === TARGETS.length, figure: phasesHit.join('+') || 'none', target: TARGETS.join('+') },
        { name: 'neighbour kept running', pass: stableAlive, figure: stableAlive ? 'yes' : 'no', target: 'yes' },
      ],
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null) { p.child.kill('SIGKILL'); await p.exited; }
    await rm(root, { recursive: true, force: true });
  }
}

const { checks, figures } = await run();
verdict(checks, figures);
