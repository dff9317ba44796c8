/**
 * The Peer: wires network, learner pool, store and algorithm, and runs the round engine its algorithm's
 * registry entry names (node/engine/registry.ts; DESIGN.md seam 3), knowing none by name. The same class runs in `murmur daemon` and, hundreds at a time, in the simulator; everything it
 * touches arrives through PeerComponents (STYLE.md §1.2).
 */
import type { Layout } from '../aggregation/layout.js';
import type { AlgorithmInstance, TrustScore } from './algorithms/types.js';
import type { Clock } from './clock.js';
import { datasetFromShared } from './data/dataset.js';
import { deriveRng, type Rng } from './data/rng.js';
import { PeerStateError } from './errors.js';

export { PeerStateError };
import type { AnyModelSpec } from './learner/create-model.js';
import type { LearnerPool, TaskOptions } from './learner/pool.js';
import type { DatasetRef, TrainTaskOptions } from './learner/tasks.js';
import type { Logger } from './logger.js';
import { guardModelHash, modelHash } from './model-hash.js';
import type { Network } from './network.js';
import type { VectorBank } from './vector-bank.js';
import type { PeerRecord, Store } from './store.js';
import type { JoinHook } from './join.js';
import type { EngineContext, ModelState, NeighbourProgress, Phase, RoundSettings, RoundSummary } from './engine/context.js';
import type { Engine, EngineChoice } from './engine/engine.js';
import { engineFactory } from './engine/registry.js';

export type { Phase, RoundSummary, RoundSettings } from './engine/context.js';

export interface PeerInit {
  swarm: string;
  /** Seed of this peer's random streams (batch order, targets, tie-breaks). */
  seed: number | string;
  algorithmName: string;
  algorithm: AlgorithmInstance;
  mode: 'sync' | 'async';
  /** The round engine and its options (ResolvedAlgorithm.engine from the algorithm registry). */
  engine: EngineChoice;
  model: AnyModelSpec;
  layout: Layout;
  /** The swarm's shared initial weights (used when the store holds no model). */
  initial: Float32Array;
  train: Omit<TrainTaskOptions, 'seed'>;
  rounds: RoundSettings;
  dataset: DatasetRef;
  trainIndices: Uint32Array;
  testIndices: Uint32Array;
}

export interface PeerComponents {
  network: Network;
  pool: LearnerPool;
  clock: Clock;
  logger: Logger;
  store?: Store;
  /** The neighbour ids for a round (from the config, a topology, or the connected peers). */
  neighbours: (round?: number) => string[];
  /** Churn in simulations: whether this peer takes part in a round (default: always). */
  isOnline?: (round: number) => boolean;
  /**
   * Push gossip in synchronous rounds (algorithms whose targets are 'one-random'): whom this peer sends to and
   * who sends to it in a round. A simulator knows every peer's seeded choice, so rounds stay deterministic;
   * without it the peer picks a random neighbour and waits out the timeout for whoever sends.
   */
  pushSchedule?: { targets(round: number): string[]; senders(round: number): string[] };
  /**
   * Joining a swarm already training (node/join.ts): runs before the first round; a state it returns (a
   * neighbour's current model) replaces ours. The daemon passes one; simulations start in lockstep.
   */
  join?: JoinHook;
  /**
   * Members of a live swarm announce every period: an engine with membership prunes one not heard for this long, ms (the daemon:
   * network.memberSilencePeriods × announceEveryMs). Unset (simulations, which do not announce): never.
   */
  memberSilenceMs?: number;
  /**
   * Simulations: reuse model-sized vectors across rounds (node/vector-bank.ts). With the sync-rounds engine the
   * Peer then trains into bank vectors and holds its state vector in the bank; a round listener that keeps a
   * `vectorView()` past the round must hold it too. Other engines ignore it.
   */
  vectors?: VectorBank;
}

export interface PeerStatus {
  peerId: string;
  algorithm: string;
  mode: 'sync' | 'async';
  round: number;
  phase: Phase;
  age: number;
  accuracy: number | null;
  loss: number | null;
  neighbours: string[];
  modelHash: string;
  /** Engine-specific state (`Engine.status`, e.g. a sampling engine's view and role). */
  extra?: Record<string, unknown>;
}

export class Peer {
  private readonly state: ModelState;
  private phase: Phase = 'stopped';
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private lastEval: { accuracy: number; loss: number } | null = null;
  private readonly roundListeners = new Set<(s: RoundSummary) => void>();
  /** Last finished round each swarm member announced (DESIGN.md "Wire protocol": announcements). */
  private readonly announcedRounds = new Map<string, number>();
  private unsubscribeAnnouncements: (() => void) | null = null;
  private engineError: unknown = null;
  private engine: Engine | null = null;
  /** The neighbours the current synchronous round waits for (health reports). */
  private waiting: readonly string[] = [];
  /** The store held no model: this peer starts from the initial weights. */
  private fresh = true;

  /** The vector bank in use (PeerComponents.vectors, sync-rounds engine only). */
  private readonly bank: VectorBank | undefined;

  constructor(private readonly init: PeerInit, private readonly components: PeerComponents) {
    // Only the sync-rounds engine is known to keep no state vector past its round (node/vector-bank.ts).
    this.bank = init.engine.name === 'sync-rounds' ? components.vectors : undefined;
    this.state = modelState(init.initial, this.bank);
  }

  get id(): string { return this.components.network.selfId; }
  isStarted(): boolean { return this.controller !== null; }

  /** Resume from the store (or start from the shared initial model) and launch the round engine. */
  async start(): Promise<void> {
    if (this.controller) return;
    this.phase = 'starting';
    const stored = await this.components.store?.current();
    if (stored) {
      if (stored.layoutHash !== this.init.layout.hash || stored.vector.length !== this.init.layout.size) {
        throw new PeerStateError(`the data dir holds a model of layout ${stored.layoutHash} (${stored.vector.length} parameters) but this peer is configured for layout ${this.init.layout.hash} (${this.init.layout.size}); use another data dir for another model`);
      }
      Object.assign(this.state, { vector: stored.vector, round: stored.round, age: stored.age });
      this.fresh = false;
      this.components.logger.info({ round: stored.round, modelHash: stored.hash }, 'resumed from the last committed round');
    } else {
      this.state.vector = this.init.algorithm.initialize?.(this.init.initial.slice()) ?? this.init.initial.slice();
    }
    this.unsubscribeAnnouncements = this.components.network.onAnnouncement((from, m) => {
      if (m.swarm === this.init.swarm) this.announcedRounds.set(from, Math.max(this.announcedRounds.get(from) ?? 0, m.round));
    });
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
  }

  /** Abort in-flight work, wait for the engine to unwind, and leave the store consistent. */
  async stop(): Promise<void> {
    if (!this.controller) return;
    this.phase = 'stopping';
    this.controller.abort();
    await this.loop;
    this.unsubscribeAnnouncements?.();
    this.controller = null;
    this.loop = null;
    this.phase = 'stopped';
  }

  /**
   * Leave the swarm gracefully, then stop: an engine with membership first advertises its leave (so it is
   * never sampled again); for the others this is stop().
   */
  async leave(): Promise<void> {
    await this.engine?.leave?.();
    await this.stop();
  }

  /** Resolves when the engine ends (max rounds reached, stopped, or failed: then it rejects). */
  async finished(): Promise<void> {
    await this.loop;
    if (this.engineError) throw this.engineError;
  }

  onRound(listener: (s: RoundSummary) => void): () => void {
    this.roundListeners.add(listener);
    return () => this.roundListeners.delete(listener);
  }

  /** The current weights (a copy). */
  vector(): Float32Array { return this.state.vector.slice(); }
  /**
   * The current weights themselves, read-only: engines replace the state vector once a round is over and never
   * write a finished round's vector again (model-hash.ts), so a round listener may keep it without a copy —
   * holding it in `vectors()` while it does, when the Peer has a vector bank.
   */
  vectorView(): Float32Array { return this.state.vector; }
  /** The vector bank this Peer's state vectors come from, if any (PeerComponents.vectors). */
  vectors(): VectorBank | undefined { return this.bank; }
  get layout(): Layout { return this.init.layout; }
  get round(): number { return this.state.round; }
  get age(): number { return this.state.age; }

  status(): PeerStatus {
    return {
      peerId: this.id, algorithm: this.init.algorithmName, mode: this.init.mode, round: this.state.round, phase: this.phase,
      age: this.state.age, accuracy: this.lastEval?.accuracy ?? null, loss: this.lastEval?.loss ?? null,
      neighbours: this.components.neighbours(), modelHash: modelHash(this.state.vector),
      ...(this.engine?.status ? { extra: this.engine.status() } : {}),
    };
  }

  /** The neighbours the current synchronous round waits for (empty when it is not waiting). */
  waitingFor(): readonly string[] { return this.waiting; }

  trust(): TrustScore[] { return this.init.algorithm.trust?.() ?? []; }

  private async run(signal: AbortSignal): Promise<void> {
    const ctx = this.context();
    try {
      await this.join(signal);
      this.engine = engineFactory(this.init.engine.name)(ctx, this.init.engine.options);
      await this.engine.run(signal);
      this.phase = 'idle';
    } catch (err) {
      if (signal.aborted) return;
      this.engineError = err;
      this.phase = 'idle';
      this.components.logger.error({ err }, 'the round engine stopped on an error');
    }
  }

  /** The join phase, if the Peer has one: adopt the neighbour's state it returns (layout checked again here). */
  private async join(signal: AbortSignal): Promise<void> {
    const hook = this.components.join;
    if (hook === undefined) return;
    const state = await hook({ round: this.state.round, fresh: this.fresh }, this.neighbourProgress(), signal);
    if (state === null) return;
    if (state.vector.length !== this.init.layout.size) throw new PeerStateError(`a joined state has ${state.vector.length} parameters; layout ${this.init.layout.hash} has ${this.init.layout.size}`);
    Object.assign(this.state, { vector: state.vector, round: state.round, age: state.age });
  }

  /**
   * The round the neighbours are in: an announcement carries the author's last finished round, so its
   * author is in the next one. The upper median over the neighbours that announced, so one neighbour that
   * lies about its round cannot make the peer skip rounds while at least two others tell the truth; 0 when
   * no neighbour announced yet.
   */
  private neighboursRound(): number {
    const current = this.components.neighbours()
      .filter((p) => this.announcedRounds.has(p))
      .map((p) => this.announcedRounds.get(p)! + 1)
      .sort((a, b) => a - b);
    return current.length === 0 ? 0 : current[Math.floor(current.length / 2)]!;
  }

  /** The neighbours' progress as the sync engine reads it (node/engine/context.ts NeighbourProgress). */
  private neighbourProgress(): NeighbourProgress {
    return {
      swarmRound: () => this.neighboursRound(),
      finished: (peer) => this.announcedRounds.get(peer),
      onAnnouncement: (listener) => this.components.network.onAnnouncement((_, m) => { if (m.swarm === this.init.swarm) listener(); }),
      waiting: (peers) => { this.waiting = [...peers]; },
    };
  }

  private context(): EngineContext {
    const { init, components: c } = this;
    const rngs = (round: number, purpose: string): Rng => deriveRng(init.seed, this.id, round, purpose);
    return {
      selfId: this.id, swarm: init.swarm, seed: init.seed, layout: init.layout, spec: init.model, algorithm: init.algorithm,
      train: init.train, dataset: init.dataset, labels: datasetFromShared(init.dataset.parts).y, trainIndices: init.trainIndices, testIndices: init.testIndices,
      network: c.network, pool: this.bank ? bankedPool(c.pool, this.bank, init.layout.size) : c.pool, clock: c.clock, logger: c.logger, neighbours: c.neighbours, rounds: init.rounds,
      progress: this.neighbourProgress(),
      isOnline: c.isOnline ?? (() => true),
      pushSchedule: c.pushSchedule,
      memberSilenceMs: c.memberSilenceMs,
      state: this.state,
      setPhase: (p) => { if (this.phase !== 'stopping') this.phase = p; },
      rng: rngs,
      finishRound: (s) => this.finishRound(s),
    };
  }

  private async finishRound(s: RoundSummary): Promise<void> {
    if (s.evaluation) this.lastEval = s.evaluation;
    const bank = this.bank;
    if (bank !== undefined) {
      // The summary's lazy hash reads the state vector, which the bank may reuse once the round is released.
      const vector = this.state.vector, generation = bank.generation(vector);
      guardModelHash(s, () => bank.generation(vector) === generation);
    }
    const store = this.components.store;
    if (store) {
      try {
        await store.commitRound({
          model: { round: s.round, age: this.state.age, layoutHash: this.init.layout.hash, vector: this.state.vector, hash: s.modelHash, savedAt: s.time },
          history: { ...s, accuracy: s.evaluation?.accuracy ?? null, loss: s.evaluation?.loss ?? null },
          peers: this.peerRecords(s.time),
          // What `murmur export` needs to rebuild the model from a checkpoint.
          extra: { model: this.init.model, algorithm: this.init.algorithmName, swarm: this.init.swarm },
        });
      } catch (err) {
        // A full disk or an I/O error must not kill the peer: the round stays uncommitted, the next one retries.
        this.components.logger.error({ err, round: s.round }, 'could not commit the round; continuing without it');
      }
    }
    this.components.logger.info({
      round: s.round, accuracy: s.evaluation?.accuracy, received: s.received, expected: s.expected, timedOut: s.timedOut, sendFailures: s.sendFailures,
      ...(s.roles !== undefined ? { roles: s.roles } : {}),
    }, 'round finished');
    for (const l of this.roundListeners) l(s);
  }

  private peerRecords(now: number): PeerRecord[] {
    const trust = new Map(this.trust().map((t) => [t.peer, t.score]));
    return this.components.network.traffic().map((t) => ({
      id: t.peer, addresses: [], firstSeen: t.lastSeen || now, lastSeen: t.lastSeen, framesIn: t.framesIn, framesOut: t.framesOut,
      bytesIn: t.bytesIn, bytesOut: t.bytesOut, rejections: { ...t.rejections },
      ...(trust.has(t.peer) ? { trust: { score: trust.get(t.peer)! } } : {}),
    }));
  }
}

/** A peer's model state; with a bank its vector is held from assignment until replaced (node/vector-bank.ts). */
function modelState(initial: Float32Array, bank: VectorBank | undefined): ModelState {
  if (!bank) return { vector: initial, round: 0, age: 0 };
  let vector = initial;
  return {
    get vector() { return vector; },
    set vector(v: Float32Array) {
      if (v === vector) return;
      bank.hold(v);
      bank.release(vector);
      vector = v;
    },
    round: 0, age: 0,
  };
}

/** The pool as the engine sees it with a bank: training writes into a bank vector, not a new one per round. */
function bankedPool(pool: LearnerPool, bank: VectorBank, size: number): LearnerPool {
  return {
    train: (task, options: TaskOptions = {}) => pool.train(task, task.weights.length === size ? { ...options, output: bank.take(size) } : options),
    evaluate: (task, options) => pool.evaluate(task, options),
  };
}
