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
    const neighbours = init.neighboursOf ? lastRoundsOnly((round) => Object.freeze(init.neighboursOf!(i, round).map((j) => ids[j]!).sort())) : () => fixed;
    const isOnline = init.isOnline ? (round: number) => init.isOnline!(i, round) : undefined;
    const push = schedule ? {
      targets: (round: number) => { const t = schedule.target(i, round); return t < 0 ? [] : [ids[t]!]; },
      senders: (round: number) => schedule.senders(i, round).map((j) => ids[j]!).sort(),
    } : undefined;
    return { neighbours, isOnline, pushSchedule: push };
  });
}

/**
 * `list(round)` remembered for the last two rounds asked (round 0 when none is given: a peer's status and
 * progress ask without one, its round engine with its round): a round asks for its neighbours several times,
 * and the lists depend only on the round. Frozen, since callers now share one array.
 */
function lastRoundsOnly(list: (round: number) => readonly string[]): (round?: number) => string[] {
  const at = [NaN, NaN];
  const lists: Array<readonly string[]> = [[], []];
  let older = 0;
  return (round = 0) => {
    const hit = at[0] === round ? 0 : at[1] === round ? 1 : -1;
    if (hit >= 0) return lists[hit] as string[];
    at[older] = round;
    lists[older] = list(round);
    const filled = older;
    older = 1 - older;
    return lists[filled] as string[];
  };
}
