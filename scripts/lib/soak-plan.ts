/**
 * The seeded schedule of a soak run (scripts/soak-swarm.ts): when each daemon joins, which ones are killed
 * with SIGKILL and restarted, which one leaves for good, which one is slow. Same seed, same schedule.
 */
import { rngFor } from '../../node/data/rng.js';

export interface SoakShape {
  peers: number;
  durationMs: number;
  /** Joins are spread uniformly over [0, joinSpreadMs]; peer 0 starts first. */
  joinSpreadMs: number;
  kills: number;
  /** Whether one peer leaves for good (SIGTERM, never back) and one trains 3 local epochs a round. */
  leaver: boolean;
  slow: boolean;
  seed: number;
}

/** The CI-sized soak (issue 12 Done-when): 4 daemons, joins over 20 s, one kill -9, 90 s; no leaver, no slow peer. */
export const CI_SOAK_SHAPE: Readonly<Omit<SoakShape, 'seed'>> = Object.freeze({ peers: 4, durationMs: 90_000, joinSpreadMs: 20_000, kills: 1, leaver: false, slow: false });
/** Round timeout of every soak daemon, ms; the stall limit is 3 of these. */
export const SOAK_ROUND_TIMEOUT_MS = 10_000;
/** Test digits each daemon (and the lockstep reference) evaluates on. */
export const SOAK_EVAL_SIZE = 500;

export interface SoakKill { readonly peer: number; readonly atMs: number; readonly restartAfterMs: number }

export interface SoakPlan {
  readonly shape: SoakShape;
  /** Join time of each peer, ms from the start (peer 0 at 0). */
  readonly joinAtMs: readonly number[];
  readonly kills: readonly SoakKill[];
  /** The peer that leaves for good and when, or null. */
  readonly leave: { readonly peer: number; readonly atMs: number } | null;
  readonly slowPeer: number | null;
}

/** No event in the last part of the run: the swarm gets this long to settle before it is measured. */
const SETTLE_MS = 30_000;

export function soakPlan(shape: SoakShape): SoakPlan {
  const rng = rngFor('soak', shape.seed);
  const joinAtMs = Array.from({ length: shape.peers }, (_, i) => (i === 0 ? 0 : Math.round(rng.next() * shape.joinSpreadMs)));
  // Peer 0 is the bootstrap address of the others, peer 1 its stand-in: neither leaves for good.
  const leave = shape.leaver && shape.peers > 3 ? { peer: shape.peers - 1, atMs: Math.round(shape.durationMs / 2) } : null;
  const slowPeer = shape.slow && shape.peers > 3 ? shape.peers - 2 : null;
  const lastEvent = Math.max(shape.joinSpreadMs + 5_000, shape.durationMs - SETTLE_MS);
  const kills: SoakKill[] = [];
  for (let k = 0; k < shape.kills; k++) {
    const candidates = Array.from({ length: shape.peers }, (_, i) => i).filter((i) => i !== leave?.peer);
    const peer = candidates[rng.int(candidates.length)]!;
    const earliest = Math.max(joinAtMs[peer]! + 10_000, ...kills.filter((x) => x.peer === peer).map((x) => x.atMs + x.restartAfterMs + 10_000));
    const atMs = Math.round(earliest + rng.next() * Math.max(0, lastEvent - earliest));
    kills.push({ peer, atMs, restartAfterMs: 2_000 + rng.int(6_000) });
  }
  kills.sort((a, b) => a.atMs - b.atMs);
  return { shape, joinAtMs, kills, leave, slowPeer };
}

/**
 * Algorithm parameters of a soak pass, the same for the daemons and the lockstep reference. MoDeST's paper
 * defaults (a sample of s = 10, a 300 s aggregation timeout) are for swarms far larger than a soak's: with 4
 * or 8 peers no sample could ever fill and no round would finish in 10 minutes. So a soak samples about
 * half the swarm, one aggregator, gives an aggregation one round timeout and repeats an unanswered hand-off
 * after two. Others: their defaults.
 */
export function soakAlgorithmParams(algorithm: string, peers: number, roundTimeoutMs: number): Record<string, number> {
  if (algorithm !== 'modest') return {};
  const sampleSize = Math.max(2, Math.ceil(peers / 2));
  return {
    sampleSize, aggregators: 1, minModels: Math.max(1, sampleSize - 1), aggregationTimeoutMs: roundTimeoutMs, pingTimeoutMs: 2_000,
    // A hand-off nobody answered is repeated after two aggregation timeouts (the default adds 10 pings: 40 s).
    progressTimeoutMs: 2 * roundTimeoutMs,
  };
}
