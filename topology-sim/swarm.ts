/**
 * N real Peers in one process over libp2p (memory transport by default, TCP on loopback optionally), one
 * shared dataset and one shared worker pool (DESIGN.md "topology-sim"). Nodes get deterministic keys from
 * the experiment seed; edges of the topology are dialled with bounded concurrency before any round starts.
 */
import { deadline } from '../node/deadline.js';
import { multiaddr } from '@multiformats/multiaddr';
import type { ResolvedAlgorithm } from '../node/algorithms/registry.js';
import type { AsyncOptions } from '../node/engine/async-gossip.js';
import type { Clock } from '../node/clock.js';
import { systemClock } from '../node/clock.js';
import type { AnyModelSpec } from '../node/learner/create-model.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { DatasetRef, TrainTaskOptions } from '../node/learner/tasks.js';
import type { Logger } from '../node/logger.js';
import { silentLogger } from '../node/logger.js';
import type { Network } from '../node/network.js';
import { Peer, type RoundSettings, type RoundSummary } from '../node/peer.js';
import type { Layout } from '../aggregation/layout.js';
import { createMurmurNode, type MurmurNode } from '../protocols/libp2p.js';
import { libp2pNetwork } from '../protocols/libp2p-network.js';
import { peerHooks } from './peer-hooks.js';
import { libp2pPeerIds as peerIdsFor } from './peer-ids.js';
import { SwarmError } from './errors.js';

export interface SwarmPeerSpec {
  trainIndices: Uint32Array;
  /** Per-peer algorithm instance (instances may hold state, e.g. Bristle's trust table). */
  algorithm: ResolvedAlgorithm;
}

export interface SwarmInit {
  swarm: string;
  seed: number | string;
  transport: 'memory' | 'tcp';
  /** Neighbour lists by peer index (undirected). */
  graph: number[][];
  peers: SwarmPeerSpec[];
  algorithmName: string;
  mode: 'sync' | 'async';
  asyncOptions?: AsyncOptions;
  model: AnyModelSpec;
  layout: Layout;
  initial: Float32Array | ((index: number) => Float32Array);
  train: Omit<TrainTaskOptions, 'seed'>;
  rounds: RoundSettings;
  dataset: DatasetRef;
  testIndices: Uint32Array;
  /** Concurrent dials during bring-up (notes/libp2p-v3.md §4: 4–16). */
  dialConcurrency?: number;
  /** Neighbour indices of peer i in a round (churn, re-sampled topologies); default graph[i]. */
  neighboursOf?: (i: number, round: number) => number[];
  /** Whether peer i takes part in a round (churn); default always. */
  isOnline?: (i: number, round: number) => boolean;
  /** Give every node every address (O(N²) peer-store entries) so sends can dial peers outside the graph. */
  dialOnDemand?: boolean;
  /**
   * Multi-process swarms (`--processes K`, or one share per machine): this process hosts only these peer
   * indices; every peer listens on the fixed address `address(i)` and the others are reached there.
   */
  shares?: { hosted: number[]; address: (i: number) => string; connectTimeoutMs?: number };
}

export interface SwarmComponents { pool: WorkerPool; logger?: Logger; clock?: Clock }

export class Libp2pSwarm {
  readonly nodes: MurmurNode[] = [];
  readonly networks: Network[] = [];
  readonly peers: Peer[] = [];
  /** Global indices of the peers this process hosts (all of them unless `shares` is set). */
  readonly hosted: number[];
  private readonly local = new Map<number, number>();
  private ids: string[] = [];

  constructor(private readonly init: SwarmInit, private readonly components: SwarmComponents) {
    this.hosted = init.shares?.hosted ?? init.peers.map((_, i) => i);
    this.hosted.forEach((g, l) => this.local.set(g, l));
  }

  /** The Peer of global index `i`, if hosted here. */
  peerAt(i: number): Peer | undefined {
    const l = this.local.get(i);
    return l === undefined ? undefined : this.peers[l];
  }

  /** Create and connect every hosted node, then build the peers (not started). */
  async start(): Promise<void> {
    const { init } = this;
    const n = init.peers.length;
    const logger = this.components.logger ?? silentLogger();
    for (const i of this.hosted) {
      const node = await createMurmurNode({
        transport: init.transport, seed: `${String(init.seed)}/peer-${i}`, preset: 'swarm', swarm: init.swarm,
        listen: init.shares ? [init.shares.address(i)] : init.transport === 'tcp' ? ['/ip4/127.0.0.1/tcp/0'] : undefined,
      });
      this.nodes.push(node);
    }
    this.ids = init.shares ? await peerIdsFor(init.seed, n) : this.nodes.map((nd) => nd.peerId.toString());
    for (const [l, i] of this.hosted.entries()) {
      const net = libp2pNetwork({ node: this.nodes[l]!, swarm: init.swarm, layout: init.peers[i]!.algorithm.instance.exchangeLayout, logger });
      await net.start();
      this.networks.push(net);
    }
    await this.dialEdges();
    // Re-sampled topologies reach peers they were not dialled to: then every node learns every address.
    if (init.dialOnDemand) await Promise.all(this.nodes.map((node) => Promise.all(this.nodes.map(async (other) => {
      if (other !== node) await node.peerStore.merge(other.peerId, { multiaddrs: other.getMultiaddrs() });
    }))));
    const hooks = peerHooks(init, this.ids);
    for (const i of this.hosted) {
      const initial = typeof init.initial === 'function' ? init.initial(i) : init.initial;
      this.peers.push(new Peer({
        swarm: init.swarm, seed: init.seed, algorithmName: init.algorithmName, algorithm: init.peers[i]!.algorithm.instance,
        mode: init.mode, asyncOptions: init.asyncOptions, model: init.model, layout: init.layout, initial,
        train: init.train, rounds: init.rounds, dataset: init.dataset, trainIndices: init.peers[i]!.trainIndices, testIndices: init.testIndices,
      }, { network: this.networks[this.local.get(i)!]!, pool: this.components.pool, clock: this.components.clock ?? systemClock, logger, ...hooks[i]! }));
    }
  }

  /**
   * Dial each undirected edge once (from the lower index), at most `dialConcurrency` at a time. With shares, a
   * remote peer may not listen yet: dials retry until `connectTimeoutMs`, and edges dialled by a remote lower
   * index are awaited as incoming connections.
   */
  private async dialEdges(): Promise<void> {
    const shares = this.init.shares;
    const giveUpAt = Date.now() + (shares?.connectTimeoutMs ?? 120_000);
    const edges: Array<[number, number]> = [];
    for (const i of this.hosted) for (const j of this.init.graph[i]!) if (i < j) edges.push([i, j]);
    let next = 0;
    const dialOne = async (i: number, j: number): Promise<void> => {
      const node = this.nodes[this.local.get(i)!]!;
      const target = this.local.has(j) ? this.nodes[this.local.get(j)!]!.getMultiaddrs()[0]!.toString() : `${shares!.address(j)}/p2p/${this.ids[j]!}`;
      for (let attempt = 0; ; attempt++) {
        try {
          await node.dial(multiaddr(target), { signal: deadline(60_000) });
          return;
        } catch (err) {
          if (!shares || Date.now() > giveUpAt) throw err;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    };
    const worker = async () => { while (next < edges.length) { const [i, j] = edges[next++]!; await dialOne(i, j); } };
    await Promise.all(Array.from({ length: Math.min(this.init.dialConcurrency ?? 8, edges.length) }, worker));
    if (!shares) return;
    // Edges a remote lower index dials to us: wait until they are connected.
    const incoming: Array<[number, number]> = [];
    for (const i of this.hosted) for (const j of this.init.graph[i]!) if (j < i && !this.local.has(j)) incoming.push([i, j]);
    for (const [i, j] of incoming) {
      const node = this.nodes[this.local.get(i)!]!;
      while (!node.getConnections().some((c) => c.remotePeer.toString() === this.ids[j])) {
        if (Date.now() > giveUpAt) throw new SwarmError('ERR_SWARM_CONNECT', `peer ${j} (another process) never connected to peer ${i}; is its share running?`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  peerId(index: number): string { return this.ids[index]!; }

  /** Start every peer and wait until all finished their rounds. */
  async run(onRound?: (peer: number, s: RoundSummary) => void): Promise<void> {
    const offs = this.peers.map((p, l) => p.onRound((s) => onRound?.(this.hosted[l]!, s)));
    try {
      await Promise.all(this.peers.map((p) => p.start()));
      await Promise.all(this.peers.map((p) => p.finished()));
    } finally {
      for (const off of offs) off();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    await Promise.all(this.networks.map((n) => n.stop()));
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
