/** The per-peer neighbour, presence and push-schedule hooks both swarms give their Peers. */
import type { PeerComponents } from '../node/peer.js';
import { pushSchedule } from './push-schedule.js';

export type PeerHooks = Pick<PeerComponents, 'neighbours' | 'isOnline' | 'pushSchedule'>;

/** What the hooks are computed from (a part of a swarm's init). */
export interface PeerHooksInit {
  seed: number | string;
  /** Neighbour lists by peer index (undirected). */
  graph: number[][];
  peers: readonly { algorithm: { instance: { targets: 'neighbours' | 'one-random' } } }[];
  neighboursOf?: (i: number, round: number) => number[];
  isOnline?: (i: number, round: number) => boolean;
}

/** Hooks for every peer, given the swarm's peer ids by index. */
export function peerHooks(init: PeerHooksInit, ids: readonly string[]): PeerHooks[] {
  const n = ids.length;
  const schedule = init.peers[0]?.algorithm.instance.targets === 'one-random'
    ? pushSchedule(n, init.seed, init.neighboursOf ?? ((j) => init.graph[j]!)) : null;
  return ids.map((_, i) => {
    const fixed = init.graph[i]!.map((j) => ids[j]!).sort();
    const neighbours = init.neighboursOf ? lastRoundOnly((round) => Object.freeze(init.neighboursOf!(i, round).map((j) => ids[j]!).sort())) : () => fixed;
    const isOnline = init.isOnline ? (round: number) => init.isOnline!(i, round) : undefined;
    const push = schedule ? {
      targets: (round: number) => { const t = schedule.target(i, round); return t < 0 ? [] : [ids[t]!]; },
      senders: (round: number) => schedule.senders(i, round).map((j) => ids[j]!).sort(),
    } : undefined;
    return { neighbours, isOnline, pushSchedule: push };
  });
}

/**
 * `list(round)` remembered for the last round asked (round 0 when none is given): a round asks for its
 * neighbours several times (the engine, its progress checks, status), and the lists depend only on the
 * round. Frozen, since every caller now shares one array.
 */
function lastRoundOnly(list: (round: number) => readonly string[]): (round?: number) => string[] {
  let at = NaN;
  let last: readonly string[] = [];
  return (round = 0) => {
    if (round !== at) { last = list(round); at = round; }
    return last as string[];
  };
}
