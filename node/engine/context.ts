/**
 * What a round engine needs from its Peer: the mutable model state, the collaborators, and a few hooks. The
 * engines own the control flow (when to train, send, wait and merge); the Peer owns wiring and lifecycle.
 */
import type { Layout } from '../../aggregation/layout.js';
import type { AlgorithmInstance } from '../algorithms/types.js';
import type { Clock } from '../clock.js';
import type { Rng } from '../data/rng.js';
import type { AnyModelSpec } from '../learner/create-model.js';
import type { Evaluation } from '../learner/evaluate.js';
import type { LearnerPool } from '../learner/pool.js';
import type { DatasetRef, TrainTaskOptions } from '../learner/tasks.js';
import type { Logger } from '../logger.js';
import type { Network } from '../network.js';

export type Phase = 'starting' | 'training' | 'exchanging' | 'aggregating' | 'evaluating' | 'committing' | 'idle' | 'stopping' | 'stopped';

export interface ModelState {
  vector: Float32Array;
  round: number;
  age: number;
}

/** Per-round measurements, kept in history and fed to metrics. */
export interface RoundSummary {
  round: number;
  time: number;
  modelHash: string;
  age: number;
  trainLoss: number | null;
  samples: number;
  evaluation: Pick<Evaluation, 'accuracy' | 'loss'> | null;
  /** Frames received and expected over all gossip steps of the round. */
  received: number;
  expected: number;
  timedOut: boolean;
  sendFailures: number;
  bytesOut: number;
  phaseMs: { train: number; exchange: number; aggregate: number; evaluate: number };
  /** MoDeST: what this peer did in the round (trainer of round r, aggregator of sample index r + 1). */
  roles?: readonly ('trainer' | 'aggregator')[];
}

export interface EngineContext {
  readonly selfId: string;
  readonly swarm: string;
  readonly seed: number | string;
  readonly layout: Layout;
  readonly spec: AnyModelSpec;
  readonly algorithm: AlgorithmInstance;
  readonly train: Omit<TrainTaskOptions, 'seed'>;
  readonly dataset: DatasetRef;
  /** Labels of the dataset by row (a view on the shared buffer). */
  readonly labels: Uint8Array;
  readonly trainIndices: Uint32Array;
  readonly testIndices: Uint32Array;
  readonly network: Network;
  readonly pool: LearnerPool;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly neighbours: (round?: number) => string[];
  readonly isOnline: (round: number) => boolean;
  readonly pushSchedule?: { targets(round: number): string[]; senders(round: number): string[] };
  /** A live swarm's members announce periodically: one not heard for this long is pruned (MoDeST); unset: never. */
  readonly memberSilenceMs?: number;
  readonly rounds: RoundSettings;
  readonly state: ModelState;
  setPhase(phase: Phase): void;
  /** Seeded stream for this peer, round and purpose. */
  rng(round: number, purpose: string): Rng;
  /** Persist and publish one finished round. */
  finishRound(summary: RoundSummary): Promise<void>;
}

export interface RoundSettings {
  /** Stop after this round (inclusive); Infinity runs until stopped. */
  maxRounds: number;
  /** How long a gossip step waits for the neighbours' frames. */
  timeoutMs: number;
  /** Per-send deadline. */
  sendTimeoutMs: number;
  /** Minimum wall time of a round (the daemon paces itself; 0 in simulations). */
  minRoundMs: number;
  /** Asynchronous gossip period Δ. */
  periodMs: number;
  /** Evaluate on the test indices every this many rounds (0 = never). */
  evalEvery: number;
}
