/**
 * Push gossip in synchronous simulated rounds: each peer sends to one neighbour drawn from its seeded stream
 * (seed, peer, round); since the simulator knows every draw, each peer also knows who sends to it, so a round
 * waits for exactly those frames and stays deterministic.
 */
import { rngFor } from '../node/data/rng.js';

export interface PushSchedule {
  /** Peer index that `i` pushes to in `round`, or -1 (no neighbours). */
  target(i: number, round: number): number;
  /** Peer indices that push to `i` in `round`, ascending. */
  senders(i: number, round: number): number[];
}

export function pushSchedule(peers: number, seed: number | string, neighboursOf: (i: number, round: number) => number[]): PushSchedule {
  const cache = new Map<number, { targets: Int32Array; senders: number[][] }>();
  const plan = (round: number) => {
    let p = cache.get(round);
    if (!p) {
      const targets = new Int32Array(peers).fill(-1);
      const senders: number[][] = Array.from({ length: peers }, () => []);
      for (let j = 0; j < peers; j++) {
        const nbrs = neighboursOf(j, round);
        if (nbrs.length === 0) continue;
        const t = nbrs[rngFor('push', seed, j, round).int(nbrs.length)]!;
        targets[j] = t;
        senders[t]!.push(j);
      }
      p = { targets, senders };
      cache.set(round, p);
      cache.delete(round - 3);
    }
    return p;
  };
  return { target: (i, r) => plan(r).targets[i]!, senders: (i, r) => plan(r).senders[i]! };
}
