/**
 * Algorithm = trainer + exchange + aggregator (DESIGN.md seam 3). An entry of the registry turns validated
 * hyperparameters into an instance the round engines drive; the math itself stays in aggregation/.
 */
import type { z } from 'zod';
import type { Layout } from '../../aggregation/layout.js';
import type { WireEncoding } from '../network.js';
import type { Rng } from '../data/rng.js';
import type { Evaluation } from '../learner/evaluate.js';
import type { TrainTaskOptions } from '../learner/tasks.js';
import type { EngineChoice } from '../engine/choice.js';

export type EngineMode = 'sync' | 'async';

/** A model (or part of one) received from a neighbour, decoded and validated. */
export interface Contribution {
  readonly from: string;
  /** Dense payload in the exchange layout (null for ranking frames). */
  readonly values: Float32Array | null;
  readonly rankings: Uint32Array[] | null;
  /** The sender's degree, carried in the frame header (for Metropolis–Hastings weights). */
  readonly degree: number;
  /** The sender's model age (gossip learning) or sample count. */
  readonly age: number;
}

/** What the peer hands to an aggregator. */
export interface AggregateInput {
  /** The peer's own payload in the exchange layout (for a full-model exchange, the whole vector). */
  readonly own: Float32Array;
  readonly ownAge: number;
  /**
   * `own` is this round's private training output, held by nobody else yet: the rule may write its result
   * into it (the simulator then allocates no new vector per peer and round). Unset: treat `own` as read-only.
   */
  readonly ownWritable?: boolean;
  /** The peer's current neighbour count. */
  readonly degree: number;
  /** Contributions sorted by sender id (determinism: DESIGN.md seam 5). */
  readonly received: readonly Contribution[];
  readonly round: number;
  readonly step: number;
  /** Seeded for (seed, peer, round, 'aggregate'). */
  readonly rng: Rng;
  /** The peer's full trainable vector (the payload is cut from it). */
  readonly full: Float32Array;
  /** Evaluate a full vector on local examples (rules that score models on local data, e.g. Bristle). */
  readonly evaluate: (full: Float32Array, indices: Uint32Array) => Promise<Evaluation>;
  /** The peer's local training rows (to draw a local validation set from). */
  readonly trainIndices: Uint32Array;
  /** Labels of the peer's dataset, indexed by row. */
  readonly labels: Uint8Array;
}

/** A new payload (exchange layout) and age; null keeps the current model (Flower's "no update"). */
export type AggregateOutput = { vector: Float32Array; age: number } | null;

export interface TrustScore { peer: string; score: number; details?: Record<string, number> }

/** The environment an instance is created for. */
export interface AlgorithmEnv {
  /** Layout of the full trainable vector. */
  readonly layout: Layout;
  /** Mode the engine runs (some algorithms support only one). */
  readonly mode: EngineMode;
  /** The swarm's shared initial vector (FRL derives its fixed score values V from it). */
  readonly initial?: Float32Array;
}

export interface AlgorithmInstance {
  /** Extra training options merged over the peer's (e.g. SAM's ρ, a frozen subset, local steps). */
  readonly trainer: Partial<TrainTaskOptions>;
  /** Round-dependent training options (e.g. FRL's lr·0.999^round), merged over `trainer`. */
  trainerForRound?(round: number): Partial<TrainTaskOptions>;
  /** Transform the swarm's initial vector before the first round (e.g. Bristle zeroes the output layer). */
  initialize?(initial: Float32Array): Float32Array;
  /** How many gossip steps follow each local training (DFedSAM-MGS's Q; 1 for most). */
  readonly gossipSteps: number;
  /** Whom a peer sends to in synchronous rounds. */
  readonly targets: 'neighbours' | 'one-random';
  /** Wire encoding of the payload. */
  readonly encoding: WireEncoding;
  /** Layout of what travels (a sub-layout for head-only exchanges); defaults to the full layout. */
  readonly exchangeLayout: Layout;
  /** Cut the travelling part out of the full vector (identity for full-model exchanges). */
  extract(full: Float32Array): Float32Array;
  /** Put an aggregated payload back into a copy of the full vector. */
  insert(full: Float32Array, payload: Float32Array): Float32Array;
  /** What travels: model parameters (default) or per-tensor rankings of the score tensors (FRL). */
  readonly payload?: 'model' | 'ranking';
  /** For ranking payloads: the rankings of the current full vector. */
  rank?(full: Float32Array): Uint32Array[];
  /** Adjust the full vector after local training (e.g. Bristle keeps only its own classes' columns). */
  afterTrain?(before: Float32Array, after: Float32Array, trainIndices: Uint32Array, labels: Uint8Array): Float32Array;
  /** Combine one gossip step's contributions (synchronous rounds) or one received model (asynchronous). */
  aggregate(input: AggregateInput): AggregateOutput | Promise<AggregateOutput>;
  /** Per-neighbour trust scores, when the rule keeps any (Bristle). */
  trust?(): TrustScore[];
}

export interface AlgorithmDefinition<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Kebab-case registry key, matching its aggregation file. */
  readonly name: string;
  readonly description: string;
  readonly modes: readonly EngineMode[];
  /** Hyperparameters with defaults; unknown keys are errors. */
  readonly params: z.ZodType<P>;
  /**
   * The round engine that drives it and the engine's options (node/engine/registry.ts); default: the mode's
   * engine (sync rounds or asynchronous gossip) with its default options.
   */
  engine?(params: P, env: AlgorithmEnv): EngineChoice;
  create(params: P, env: AlgorithmEnv): AlgorithmInstance;
}

/** Helpers for the common full-model exchange. */
export const fullExchange = (layout: Layout) => ({
  exchangeLayout: layout,
  extract: (full: Float32Array) => full,
  insert: (_full: Float32Array, payload: Float32Array) => payload,
});
