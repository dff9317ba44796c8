/**
 * One pass of the soak harness (scripts/soak-swarm.ts): real `murmur daemon` processes on loopback TCP,
 * started, killed, restarted and stopped on the plan's schedule, watched through their logs (every
 * 'round finished' line) and /proc, while the hostile peer attacks them. Returns what each peer did.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { store } from '../../node/store.js';
import { connectControl } from '../../node/control/client.js';
import type { StatusInfo } from '../../node/control/types.js';
import { logEntries, spawnDaemon, waitFor, type DaemonProcess } from './daemon-harness.js';
import { processMemory } from './rss.js';
import { runHostilePeer, type HostileReport } from './soak-hostile.js';
import { SOAK_EVAL_SIZE, soakAlgorithmParams, type SoakPlan } from './soak-plan.js';

export type SoakAlgorithm = 'dpsgd' | 'gossip-learning' | 'modest';

export interface SoakPassInit {
  plan: SoakPlan;
  algorithm: SoakAlgorithm;
  workDir: string;
  /** rounds.timeoutMs of every daemon; the stall limit is 3 of these. */
  roundTimeoutMs: number;
  hostile: boolean;
  progress?: (line: string) => void;
  /** Daemons' log level (default info; debug shows what each wait was waiting on, read with --keep). */
  logLevel?: string;
}

/** A restart: the round the store held after the kill, and the round the daemon said it resumed from. */
export interface SoakRestart { readonly committed: number | null; readonly resumed: number | null }

export interface SoakPeerReport {
  readonly index: number;
  readonly role: 'normal' | 'slow' | 'leaver';
  readonly peerId: string;
  /** Last round finished (over all lifetimes) and rounds finished in all. */
  readonly lastRound: number;
  readonly roundsDone: number;
  /**
   * Longest wait for a round while the daemon ran: from 'murmur daemon running' (its join phase included)
   * to its first round, between rounds, and from its last round to its end, ms.
   */
  readonly longestGapMs: number;
  /**
   * Longest process start-up (spawn to 'murmur daemon running': node, tsx, TF.js, workers), ms. Reported
   * apart: it measures the machine's load, not the swarm (22 s seen at load 15 on 2 cores).
   */
  readonly longestBootMs: number;
  /**
   * Accuracy of the peer's last evaluated model that stands for its round, and that round: its last evaluated
   * round; for MoDeST its last round as aggregator (the round's average), as the lockstep simulation measures
   * a MoDeST round (topology-sim/run-rounds.ts: a trainer's local model stands in only where no aggregator reported).
   */
  readonly finalAccuracy: number | null;
  readonly finalAccuracyRound: number | null;
  readonly peakRssBytes: number;
  readonly restarts: readonly SoakRestart[];
  /** Exits nobody asked for (crashes). */
  readonly unexpectedExits: number;
  /** Running at the end (not the leaver). */
  readonly live: boolean;
  /** Last round finished when the run ended, before the daemons were stopped. */
  readonly roundAtEnd: number;
  /**
   * The round the peer was in when the run ended: roundAtEnd, or for MoDeST its round estimate (`murmur status`
   * sampleIndex, ALGORITHMS.md §3.3): a MoDeST peer finishes only the rounds it is sampled for, so its last
   * finished round says how lucky the draw was, not whether it kept up (null: not running, or no answer).
   */
  readonly swarmRoundAtEnd: number | null;
  /**
   * A restart that had finished no round yet when the run ended (still starting or joining under load);
   * the end is then read once it landed (or 3 round timeouts later), for every peer at the same moment.
   */
  readonly startingAtEnd: boolean;
}

export interface SoakPassReport { readonly peers: SoakPeerReport[]; readonly hostile: HostileReport | null; readonly wallMs: number }

interface Life { proc: DaemonProcess; startedAt: number; endedAt: number | null; expectedExit: boolean }

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const rounds = (proc: DaemonProcess): Array<{ round: number; time: number; accuracy?: number; roles?: string[] }> =>
  logEntries(proc).filter((e) => e.msg === 'round finished')
    .map((e) => ({ round: Number(e.round), time: Number(e.time), accuracy: e.accuracy as number | undefined, roles: e.roles as string[] | undefined }));

/** A running daemon's round estimate (MoDeST: the sample index its status shows), or null. */
async function roundEstimate(dataDir: string): Promise<number | null> {
  try {
    const status = await (await connectControl(dataDir)).get<StatusInfo>('/status');
    const index = (status.extra as { sampleIndex?: unknown } | undefined)?.sampleIndex;
    return typeof index === 'number' ? index : status.round;
  } catch {
    return null;
  }
}

export async function runSoakPass(init: SoakPassInit): Promise<SoakPassReport> {
  const { plan, algorithm } = init;
  const n = plan.shape.peers;
  const say = init.progress ?? (() => {});
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const dirs = Array.from({ length: n }, (_, i) => join(init.workDir, `${algorithm}-peer${i}`));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }).then(() => mkdir(d, { recursive: true }))));
  const ids: string[] = new Array<string>(n).fill('');
  const lives: Life[][] = dirs.map(() => []);
  const restarts: SoakRestart[][] = dirs.map(() => []);
  const peakRss = new Array<number>(n).fill(0);
  const roundAtEnd = new Array<number>(n).fill(0);
  const startingAtEnd = new Array<boolean>(n).fill(false);
  const swarmRoundAtEnd = new Array<number | null>(n).fill(null);
  const address = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${ids[i]}`;
  const current = (i: number): Life | undefined => lives[i]!.at(-1);
  const running = (i: number): boolean => { const l = current(i); return l !== undefined && l.proc.child.exitCode === null && l.proc.child.signalCode === null; };

  const args = (i: number): string[] => {
    const boot = [0, 1].filter((b) => b !== i && ids[b] !== '').flatMap((b) => ['--bootstrap', address(b)]);
    return [
      '--listen', `/ip4/127.0.0.1/tcp/${ports[i]}`, ...boot, '--swarm', `soak-${algorithm}`, '--peers', String(n), '--peer-index', String(i),
      '--model', 'mlp', '--hidden', '32', '--algorithm', algorithm, ...(algorithm === 'gossip-learning' ? ['--mode', 'async'] : []),
      ...Object.entries(soakAlgorithmParams(algorithm, n, init.roundTimeoutMs)).flatMap(([k, v]) => ['--set', `algorithm.${k}=${v}`]),
      '--set', 'workers=1', '--set', `rounds.timeoutMs=${init.roundTimeoutMs}`, '--set', 'rounds.minRoundMs=1000',
      '--set', `data.evalSize=${SOAK_EVAL_SIZE}`, '--set', 'network.announceEveryMs=2000',
      ...(plan.slowPeer === i ? ['--set', 'train.epochs=3'] : []), '--log-level', init.logLevel ?? 'info',
    ];
  };
  const start = async (i: number): Promise<void> => {
    const proc = spawnDaemon(dirs[i]!, args(i));
    const life: Life = { proc, startedAt: Date.now(), endedAt: null, expectedExit: false };
    const logFile = join(dirs[i]!, `daemon-${lives[i]!.length}.log`);
    // Each lifetime's log is kept beside its data dir (soak-swarm --keep leaves them for reading).
    void proc.exited.then(async () => { life.endedAt = Date.now(); await writeFile(logFile, proc.log.join('\n') + '\n').catch(() => {}); });
    lives[i]!.push(life);
    if (ids[i] === '') {
      // A daemon that dies while starting is a crash of the pass (counted), not the end of the harness.
      const line = await waitFor(`peer ${i} to start`, async () => (life.endedAt !== null ? { exited: true } : logEntries(proc).find((e) => e.msg === 'murmur daemon running')), 180_000);
      if ('exited' in line) say(`peer ${i} exited while starting: ${proc.log.slice(-3).join(' | ')}`);
      else ids[i] = String(line.peerId);
    }
  };
  const stop = async (i: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
    const life = current(i);
    if (life === undefined || !running(i)) return;
    life.expectedExit = true;
    life.proc.child.kill(signal);
    await life.proc.exited;
  };

  const t0 = Date.now();
  const at = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - Date.now())));
  const hostileStop = new AbortController();
  const rssTimer = setInterval(() => {
    for (let i = 0; i < n; i++) {
      const pid = current(i)?.proc.child.pid;
      if (pid !== undefined && running(i)) void processMemory(pid).then((m) => { if (Number.isFinite(m.peak)) peakRss[i] = Math.max(peakRss[i]!, m.peak); }, () => {});
    }
  }, 2000);
  const hostile = init.hostile
    ? runHostilePeer(() => ids.map((id, i) => (id !== '' && running(i) ? address(i) : '')).filter(Boolean), plan.shape.seed, hostileStop.signal)
    : null;
  try {
    const events: Array<{ atMs: number; run: () => Promise<void> }> = [
      ...plan.joinAtMs.map((ms, i) => ({ atMs: ms, run: async () => { say(`peer ${i} joins`); await start(i); } })),
      ...plan.kills.map((k) => ({ atMs: k.atMs, run: async () => {
        if (!running(k.peer)) return;
        say(`kill -9 peer ${k.peer}`);
        await stop(k.peer, 'SIGKILL');
        const s = store({ dataDir: join(dirs[k.peer]!) });
        let committed: number | null = null;
        try { await s.start(); committed = (await s.current())?.round ?? null; } finally { await s.stop(); }
        await new Promise((r) => setTimeout(r, k.restartAfterMs));
        say(`restart peer ${k.peer} (committed round ${String(committed)})`);
        await start(k.peer);
        const life = current(k.peer)!;
        const resumedLine = await waitFor(`peer ${k.peer} to resume`, async () => (life.endedAt !== null ? { msg: 'exited' } : logEntries(life.proc).find((e) => e.msg === 'resumed from the last committed round' || e.msg === 'murmur daemon running')), 180_000);
        restarts[k.peer]!.push({ committed, resumed: resumedLine.msg === 'resumed from the last committed round' ? Number(resumedLine.round) : null });
      } })),
      ...(plan.leave ? [{ atMs: plan.leave.atMs, run: async () => { say(`peer ${plan.leave!.peer} leaves for good`); await stop(plan.leave!.peer, 'SIGTERM'); } }] : []),
    ].sort((a, b) => a.atMs - b.atMs);
    // Events run in time order; one that takes long (a slow start) delays the next, never reorders them.
    for (const e of events) { await at(e.atMs); await e.run(); }
    await at(plan.shape.durationMs);
    // A restart still starting or joining at the end (no round in its new life yet) gets up to the stall
    // limit (3 round timeouts) to land; then every peer's round is read at that same moment.
    for (let i = 0; i < n; i++) startingAtEnd[i] = running(i) && rounds(current(i)!.proc).length === 0;
    await Promise.all(startingAtEnd.map(async (starting, i) => {
      if (!starting) return;
      const life = current(i)!;
      await waitFor(`peer ${i}'s first round`, async () => rounds(life.proc).length > 0 || life.endedAt !== null, 3 * init.roundTimeoutMs).catch(() => null);
    }));
    for (let i = 0; i < n; i++) roundAtEnd[i] = Math.max(0, ...lives[i]!.flatMap((l) => rounds(l.proc).map((r) => r.round)));
    if (algorithm === 'modest') {
      await Promise.all(dirs.map(async (dir, i) => { swarmRoundAtEnd[i] = running(i) ? await roundEstimate(dir) : null; }));
    } else for (let i = 0; i < n; i++) swarmRoundAtEnd[i] = roundAtEnd[i]!;
  } finally {
    hostileStop.abort();
    clearInterval(rssTimer);
    for (let i = 0; i < n; i++) await stop(i, 'SIGTERM').catch(() => {});
  }
  const hostileReport = hostile ? await hostile : null;

  const peers = dirs.map((_, i): SoakPeerReport => {
    const all = lives[i]!.flatMap((l) => rounds(l.proc));
    let longestGapMs = 0, longestBootMs = 0;
    for (const life of lives[i]!) {
      const running = logEntries(life.proc).find((e) => e.msg === 'murmur daemon running');
      const runningAt = running === undefined ? (life.endedAt ?? Date.now()) : Number(running.time);
      longestBootMs = Math.max(longestBootMs, runningAt - life.startedAt);
      // A lifetime's gaps: from the daemon running to its first round, between rounds, and from its last round to its end.
      const times = [runningAt, ...rounds(life.proc).map((r) => r.time), life.endedAt ?? Date.now()];
      for (let k = 1; k < times.length; k++) longestGapMs = Math.max(longestGapMs, times[k]! - times[k - 1]!);
    }
    const evaluated = all.filter((r) => typeof r.accuracy === 'number');
    const standing = algorithm === 'modest' ? (evaluated.filter((r) => r.roles?.includes('aggregator')).at(-1) ?? evaluated.at(-1)) : evaluated.at(-1);
    return {
      index: i, role: plan.slowPeer === i ? 'slow' : plan.leave?.peer === i ? 'leaver' : 'normal', peerId: ids[i]!,
      lastRound: Math.max(0, ...all.map((r) => r.round)), roundsDone: all.length, longestGapMs, longestBootMs,
      finalAccuracy: standing?.accuracy ?? null, finalAccuracyRound: standing?.round ?? null, peakRssBytes: peakRss[i]!, restarts: restarts[i]!,
      unexpectedExits: lives[i]!.filter((l) => !l.expectedExit).length,
      live: plan.leave?.peer !== i, roundAtEnd: roundAtEnd[i]!, swarmRoundAtEnd: swarmRoundAtEnd[i]!, startingAtEnd: startingAtEnd[i]!,
    };
  });
  return { peers, hostile: hostileReport, wallMs: Date.now() - t0 };
}
