/**
 * One swarm interface (DESIGN.md "topology-sim"): N real Peers in one process, over libp2p
 * (libp2p-swarm.ts: memory transport, or TCP on loopback, possibly spread over processes) or over the
 * virtual network (virtual-swarm.ts). Both derive their peers' ids from the experiment seed the same way
 * (protocols/keys.ts) and build their Peers here, so the runner drives either without knowing which.
 */
import type { Layout } from '../aggregation/layout.js';
import type { ResolvedAlgorithm } from '../node/algorithms/registry.js';
import type { Clock } from '../node/clock.js';
import type { AnyModelSpec } from '../node/learner/create-model.js';
import type { LearnerPool } from '../node/learner/pool.js';
import type { DatasetRef, TrainTaskOptions } from '../node/learner/tasks.js';
import type { Logger } from '../node/logger.js';
import type { Network } from '../node/network.js';
import { Peer, type RoundSettings, type RoundSummary } from '../node/peer.js';
import type { VectorBank } from '../node/vector-bank.js';
import { peerHooks } from './peer-hooks.js';

export interface SwarmPeerSpec {
  trainIndices: Uint32Array;
  /** Per-peer algorithm instance (instances may hold state, e.g. Bristle's trust table) and its engine. */
  algorithm: ResolvedAlgorithm;
}

/** What every swarm is built from; each implementation adds its own network settings. */
export interface SwarmInit {
  swarm: string;
  seed: number | string;
  /** Neighbour lists by peer index (undirected). */
  graph: number[][];
  peers: SwarmPeerSpec[];
  algorithmName: string;
  mode: 'sync' | 'async';
  model: AnyModelSpec;
  layout: Layout;
  initial: Float32Array | ((index: number) => Float32Array);
  train: Omit<TrainTaskOptions, 'seed'>;
  rounds: RoundSettings;
  dataset: DatasetRef;
  testIndices: Uint32Array;
  /** Neighbour indices of peer i in a round (churn, re-sampled topologies); default graph[i]. */
  neighboursOf?: (i: number, round: number) => number[];
  /** Whether peer i takes part in a round (churn); default always. */
  isOnline?: (i: number, round: number) => boolean;
}

/** A swarm of Peers: built by start(), run to the last round by run(), torn down by stop(). */
export interface Swarm {
  /** Global indices of the peers this process hosts, ascending (all of them in a one-process swarm). */
  readonly hosted: readonly number[];
  /** The hosted Peers, in `hosted` order. */
  readonly peers: readonly Peer[];
  /** The hosted peers' networks, in `hosted` order. */
  readonly networks: readonly Network[];
  /** Build the networks, connect the topology's edges and build the Peers (not started). */
  start(): Promise<void>;
  /** The Peer of global index `i`, if hosted here. */
  peerAt(i: number): Peer | undefined;
  /** The id of peer `i` (hosted or not). */
  peerId(i: number): string;
  /**
   * Start every hosted peer and resolve when all finished their rounds; `onRound` gets (global index, summary).
   * Rejects with the first engine error the swarm cannot go on from; `options.signal` stops the swarm.
   */
  run(onRound?: (peer: number, s: RoundSummary) => void, options?: { signal?: AbortSignal }): Promise<void>;
  /** Take hosted peer `i` off the network (churn after it stopped): sends and pings to it fail from now on. */
  disconnect(i: number): Promise<void>;
  /** Stop the peers and their networks. */
  stop(): Promise<void>;
}

/** What one peer is wired to: its network, learner pool view, clock and logger (and a vector bank: PeerComponents.vectors). */
export interface PeerWiring { network: Network; pool: LearnerPool; clock: Clock; logger: Logger; vectors?: VectorBank }

/**
 * The one place that constructs a swarm's Peers: for each hosted global index i (in order), a Peer of the
 * swarm's init with its neighbour, presence and push-schedule hooks over `ids`, wired by `wiring(i, local)`.
 */
export function buildPeers(init: SwarmInit, ids: readonly string[], hosted: readonly number[], wiring: (i: number, local: number) => PeerWiring): Peer[] {
  const hooks = peerHooks(init, ids);
  return hosted.map((i, local) => {
    const initial = typeof init.initial === 'function' ? init.initial(i) : init.initial;
    const spec = init.peers[i]!;
    return new Peer({
      swarm: init.swarm, seed: init.seed, algorithmName: init.algorithmName, algorithm: spec.algorithm.instance,
      mode: init.mode, engine: spec.algorithm.engine, model: init.model, layout: init.layout, initial,
      train: init.train, rounds: init.rounds, dataset: init.dataset, trainIndices: spec.trainIndices, testIndices: init.testIndices,
    }, { ...wiring(i, local), ...hooks[i]! });
  });
}
