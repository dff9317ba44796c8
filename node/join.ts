/**
 * Joining a swarm that is already training (issue 12, item 2; hivemind's `load_state_from_peers`). Before
 * its first round a new or restarted peer waits a bounded time for its neighbours' announcements, so it
 * learns the round the swarm runs; when it is fresh (no stored model) or far behind, it asks a neighbour
 * for its current model (protocols/state-transfer.ts, verified by layout hash and model hash there) and
 * starts from it instead of from the initial weights or an old checkpoint. The engine then lands on the
 * swarm's round. Node-side only: the transfer arrives through the narrow `requestState` function the
 * daemon binds to libp2p, so node/ never imports protocols/.
 *
 * An adopted state is persisted (`persist`: the daemon commits it to its store as the current model, with a
 * history entry naming the neighbour) before the first round runs on it. Otherwise the round a peer shows
 * would be one its store does not hold: a `kill -9` between the join and the first commit restarted it fresh
 * (joining and transferring again) and `murmur status` of the stopped peer fell back to an older round; a
 * test that killed a joiner "at round ≥ 3" found nothing committed. A failed commit (full disk) only warns:
 * the peer still starts from the adopted state and its first round commits again.
 */
import type { Clock } from './clock.js';
import { anySignal } from './deadline.js';
import type { Logger } from './logger.js';
import { modelHash } from './model-hash.js';
import type { Store } from './store.js';
import type { NeighbourProgress } from './engine/sync-rounds.js';

/** A neighbour's model as the transfer delivers it: values of our layout, its last finished round and age. */
export interface JoinedState { readonly vector: Float32Array; readonly round: number; readonly age: number }

/** Where the peer stands before it joins: its resumed round, and whether the store held no model at all. */
export interface OwnStanding { readonly round: number; readonly fresh: boolean }

/** What the Peer calls before its first round; null keeps its own state. */
export type JoinHook = (own: OwnStanding, progress: NeighbourProgress, signal: AbortSignal) => Promise<JoinedState | null>;

/** Defaults of {@link JoinInit}. */
export const DEFAULT_JOIN_WAIT_MS = 10_000;
export const DEFAULT_JOIN_SETTLE_MS = 1_000;
export const DEFAULT_FAR_BEHIND_ROUNDS = 5;
export const DEFAULT_JOIN_ATTEMPTS = 3;
export const DEFAULT_STATE_REQUEST_MS = 20_000;
/** How often the wait looks at the neighbour list (announcements also wake it). */
const POLL_MS = 250;

export interface JoinInit {
  /** Longest wait for a first neighbour's announcement, ms (default 10 s); 0 skips the wait. */
  waitMs?: number;
  /** After the first announcement, wait this much longer for the others (bounded by waitMs), ms. */
  settleMs?: number;
  /** Fetch a neighbour's model when the swarm runs more than this many rounds ahead of our next one. */
  farBehindRounds?: number;
  /** Neighbours asked in turn, at most. */
  attempts?: number;
  /** Deadline of one state request, ms. */
  requestMs?: number;
  /** Fetch a neighbour's model at all (default true); false only waits for the announcements. */
  fetchState?: boolean;
}

export interface JoinComponents {
  /** The neighbours now (connected swarm members). */
  neighbours(): string[];
  /** One state transfer from `peer`: null when it has none; rejects when it fails (unreachable, invalid, hash mismatch, timeout). */
  requestState(peer: string, options: { signal: AbortSignal }): Promise<JoinedState | null>;
  clock: Clock;
  logger: Logger;
  /** Make an adopted state the peer's committed model before its first round (the daemon: a store commit). */
  persist?(state: JoinedState, from: string): Promise<void>;
}

/** What the join phase found and did (logged, and returned for tests). */
export interface JoinOutcome {
  /** The round the neighbours run (0: nobody announced). */
  readonly swarmRound: number;
  readonly heard: number;
  readonly waitedMs: number;
  /** The neighbour whose model we adopted, or null. */
  readonly from: string | null;
  readonly state: JoinedState | null;
}

/**
 * The join phase as a Peer hook (node/peer.ts PeerComponents.join). Every wait is bounded: waitMs for the
 * announcements, `attempts` × requestMs for the transfer; a failure leaves the peer on its own state.
 */
export function joinPhase(init: JoinInit, components: JoinComponents): JoinHook {
  return async (own, progress, signal) => (await joinSwarm(own, progress, init, components, signal)).state;
}

export async function joinSwarm(own: OwnStanding, progress: NeighbourProgress, init: JoinInit, c: JoinComponents, signal: AbortSignal): Promise<JoinOutcome> {
  const t0 = c.clock.now();
  const heard = await waitForAnnouncements(progress, init, c, signal);
  const swarmRound = progress.swarmRound();
  const waitedMs = c.clock.now() - t0;
  const behind = swarmRound - (own.round + 1);
  const fetch = init.fetchState !== false && swarmRound > 1 && (own.fresh || behind > (init.farBehindRounds ?? DEFAULT_FAR_BEHIND_ROUNDS));
  const summary = { ownRound: own.round, fresh: own.fresh, swarmRound, neighboursHeard: heard, waitedMs };
  if (!fetch) {
    c.logger.info(summary, heard === 0 ? 'join: no neighbour announced in time; starting on our own state' : 'join: starting from our own state on the swarm round');
    return { swarmRound, heard, waitedMs, from: null, state: null };
  }
  for (const peer of stateSources(c.neighbours(), progress, swarmRound).slice(0, init.attempts ?? DEFAULT_JOIN_ATTEMPTS)) {
    signal.throwIfAborted();
    const t1 = c.clock.now();
    try {
      const state = await c.requestState(peer, { signal: c.clock.timeout(init.requestMs ?? DEFAULT_STATE_REQUEST_MS, signal) });
      if (state === null || state.round <= own.round) {
        c.logger.info({ peer, round: state?.round ?? null }, 'join: neighbour has no newer state; asking the next one');
        continue;
      }
      c.logger.info({ ...summary, from: peer, round: state.round, age: state.age, transferMs: c.clock.now() - t1 },
        "join: adopted a neighbour's current model (verified layout and model hash)");
      await persistAdopted(state, peer, c);
      return { swarmRound, heard, waitedMs, from: peer, state };
    } catch (err) {
      signal.throwIfAborted();
      c.logger.warn({ peer, err: (err as Error)?.message }, 'join: state transfer failed; asking the next neighbour');
    }
  }
  c.logger.warn(summary, 'join: no neighbour gave its state; starting on our own state on the swarm round');
  return { swarmRound, heard, waitedMs, from: null, state: null };
}

/** Commit the adopted state (see the header); a failure is logged, never thrown: the state is still good. */
async function persistAdopted(state: JoinedState, from: string, c: JoinComponents): Promise<void> {
  if (c.persist === undefined) return;
  try {
    await c.persist(state, from);
  } catch (err) {
    c.logger.warn({ round: state.round, err: (err as Error)?.message }, 'join: could not commit the adopted model; its first round will');
  }
}

/**
 * The daemon's `persist`: the adopted state becomes the store's current model (a checkpoint), with a history
 * entry that names the neighbour it came from and has no evaluation; `extra` as a round commit gives it.
 */
export function commitAdoptedState(store: Pick<Store, 'commitRound'>, layoutHash: string, extra: Record<string, unknown>): NonNullable<JoinComponents['persist']> {
  return async (state, from) => {
    const hash = modelHash(state.vector), now = Date.now();
    await store.commitRound({
      model: { round: state.round, age: state.age, layoutHash, vector: state.vector, hash, savedAt: now },
      history: { round: state.round, time: now, modelHash: hash, age: state.age, accuracy: null, loss: null, adoptedFrom: from },
      extra,
    });
  };
}

/**
 * Wait until a neighbour announced, then `settleMs` more for the others, all within `waitMs`. Returns how
 * many neighbours announced. Woken by announcements and by a short poll (a neighbour list grows with
 * connections, which announce nothing).
 */
async function waitForAnnouncements(progress: NeighbourProgress, init: JoinInit, c: JoinComponents, signal: AbortSignal): Promise<number> {
  const waitMs = init.waitMs ?? DEFAULT_JOIN_WAIT_MS;
  const settleMs = init.settleMs ?? DEFAULT_JOIN_SETTLE_MS;
  const heard = (): number => c.neighbours().filter((p) => progress.finished(p) !== undefined).length;
  const end = c.clock.now() + waitMs;
  let settleEnd = Infinity;
  while (c.clock.now() < Math.min(end, settleEnd)) {
    if (heard() > 0 && settleEnd === Infinity) settleEnd = c.clock.now() + settleMs;
    const wake = new AbortController();
    const off = progress.onAnnouncement(() => wake.abort());
    try {
      await c.clock.sleep(Math.max(0, Math.min(POLL_MS, end - c.clock.now(), settleEnd - c.clock.now())), { signal: anySignal(signal, wake.signal) })
        .catch((err: unknown) => { if (signal.aborted) throw err; });
    } finally { off(); }
  }
  return heard();
}

/** Neighbours that run the swarm's round (or later), most advanced first, ties by id: who to ask, in order. */
export function stateSources(neighbours: readonly string[], progress: Pick<NeighbourProgress, 'finished'>, swarmRound: number): string[] {
  return neighbours
    .map((p) => ({ p, finished: progress.finished(p) }))
    .filter((x): x is { p: string; finished: number } => x.finished !== undefined && x.finished + 1 >= swarmRound - 1 && x.finished > 0)
    .sort((a, b) => b.finished - a.finished || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0))
    .map((x) => x.p);
}
