/**
 * Churn schedules for simulations (issue "Topology simulator", item 7): crashes at a round, a per-round online
 * probability, join and leave schedules. All draws are seeded by (seed, peer, round), so every peer computes
 * the same presence of every other peer — the simulator's stand-in for a failure detector, except for crashes,
 * which neighbours only notice when their sends fail or their waits time out.
 */
import { rngFor } from '../node/data/rng.js';
import { ConfigError } from '../node/errors.js';
import type { ChurnSpec } from './experiment.js';

export interface Presence {
  /** Whether peer i takes part in round r (it is joined, not left, not crashed, and online this round). */
  online(i: number, round: number): boolean;
  /** Whether neighbours know peer i is away in round r (scheduled absence); crashed peers are not known. */
  knownAbsent(i: number, round: number): boolean;
  /** The round at which peer i crashes, or Infinity. */
  crashRound(i: number): number;
  /** The first round peer i takes part in. */
  joinRound(i: number): number;
}

/** Build the presence schedule of `peers` peers; `eligible` limits crashes (e.g. to honest peers). */
export function presence(spec: ChurnSpec | undefined, peers: number, seed: number | string, eligible: (i: number) => boolean = () => true): Presence {
  const crash = new Array<number>(peers).fill(Infinity);
  const join = new Array<number>(peers).fill(0);
  const leave = new Array<number>(peers).fill(Infinity);
  if (spec?.crash) {
    const candidates = Array.from({ length: peers }, (_, i) => i).filter(eligible);
    const k = Math.round(spec.crash.fraction * candidates.length);
    for (const i of rngFor('crash', seed).sample(candidates, k)) crash[i] = spec.crash.round;
  }
  for (const j of spec?.join ?? []) {
    if (j.peer >= peers) throw new ConfigError(`churn.join: peer ${j.peer} does not exist (peers: ${peers})`);
    join[j.peer] = j.round;
  }
  for (const l of spec?.leave ?? []) {
    if (l.peer >= peers) throw new ConfigError(`churn.leave: peer ${l.peer} does not exist (peers: ${peers})`);
    leave[l.peer] = l.round;
  }
  const p = spec?.online ?? 1;
  const randomlyOnline = (i: number, r: number) => p >= 1 || rngFor('online', seed, i, r).next() < p;
  const scheduled = (i: number, r: number) => r >= join[i]! && r < leave[i]! && randomlyOnline(i, r);
  return {
    online: (i, r) => r < crash[i]! && scheduled(i, r),
    knownAbsent: (i, r) => !scheduled(i, r),
    crashRound: (i) => crash[i]!,
    joinRound: (i) => join[i]!,
  };
}
