/**
 * N real Peers on the virtual network (DESIGN.md "topology-sim"): the shape of topology-sim/swarm.ts's
 * Libp2pSwarm (start(), run(onRound), stop(), peers, networks, peerId(i)), so an experiment can pick
 * either, but no sockets, keys or timers: each peer is a Peer, a VirtualNetwork, a VirtualPool over the
 * shared WorkerPool and a VirtualClock, all driven by one VirtualScheduler. Same seed ⇒ same events in the
 * same order ⇒ bit-identical models (DESIGN.md seam 5), and 1,000+ peers fit in one process.
 *
 * Peer ids are 'v0000', 'v0001', … (zero-padded, so sorting by id sorts by index). A Peer's random streams
 * and its aggregation order depend on its id, so a virtual run reproduces a Libp2pSwarm run bit for bit only
 * with that swarm's ids: pass `peerIds: await libp2pPeerIds(seed, n)`.
 */
import type { Clock } from '../node/clock.js';
import { ConfigError } from '../node/errors.js';
import type { LearnerPool } from '../node/learner/pool.js';
import type { Logger } from '../node/logger.js';
import { silentLogger } from '../node/logger.js';
import { Peer, type RoundSummary } from '../node/peer.js';
import { peerHooks } from './peer-hooks.js';
import type { SwarmInit } from './swarm.js';
import { VirtualNet, type VirtualNetInit } from './virtual/net.js';
import type { VirtualNetwork } from './virtual/network.js';
import { VirtualPool, type CostModel } from './virtual/pool.js';
import { VirtualScheduler, type RunOptions } from './virtual/scheduler.js';

/** Everything of SwarmInit but the libp2p transport settings, plus the virtual network's own. */
export interface VirtualSwarmInit extends Omit<SwarmInit, 'transport' | 'dialConcurrency'> {
  /** Link models and network tunables; default 1 ms latency, unlimited bandwidth, no loss. */
  net?: Omit<VirtualNetInit, 'scheduler' | 'logger'>;
  /** Virtual duration of learner work, for every peer or by peer index; default 0 (instantaneous). */
  cost?: CostModel | ((index: number) => CostModel);
  /** Peer ids by index; default `virtualPeerId(i, n)`. Must be unique. */
  peerIds?: readonly string[];
}

/** Injected collaborators: the shared (real) learner pool and the logger handed to every peer. */
export interface VirtualSwarmComponents {
  pool: LearnerPool;
  logger?: Logger;
}

/** The virtual id of peer `index` in a swarm of `n`: 'v' + index, zero-padded to max(4, digits of n − 1). */
export function virtualPeerId(index: number, n: number): string {
  const width = Math.max(4, String(Math.max(0, n - 1)).length);
  return `v${String(index).padStart(width, '0')}`;
}

export { libp2pPeerIds } from './peer-ids.js';

/** A swarm of Peers on one virtual network and clock. */
export class VirtualSwarm {
  readonly scheduler = new VirtualScheduler();
  readonly net: VirtualNet;
  readonly networks: VirtualNetwork[] = [];
  readonly pools: VirtualPool[] = [];
  readonly clocks: Clock[] = [];
  readonly peers: Peer[] = [];
  private ids: string[] = [];

  constructor(private readonly init: VirtualSwarmInit, private readonly components: VirtualSwarmComponents) {
    this.net = new VirtualNet({ ...init.net, scheduler: this.scheduler, logger: components.logger });
  }

  /** Join and connect every peer (the topology's edges), then build the Peers (not started). */
  async start(): Promise<void> {
    if (this.peers.length > 0) return;
    const { init } = this;
    const n = init.peers.length;
    if (init.graph.length !== n) throw new ConfigError(`the graph has ${init.graph.length} nodes but the swarm has ${n} peers; give one neighbour list per peer`);
    this.ids = init.peerIds !== undefined ? [...init.peerIds] : Array.from({ length: n }, (_, i) => virtualPeerId(i, n));
    if (this.ids.length !== n) throw new ConfigError(`peerIds has ${this.ids.length} ids but the swarm has ${n} peers`);
    const logger = this.components.logger ?? silentLogger();
    for (let i = 0; i < n; i++) {
      const network = this.net.join(this.ids[i]!, { swarm: init.swarm, layout: init.peers[i]!.algorithm.instance.exchangeLayout });
      await network.start();
      this.networks.push(network);
    }
    init.graph.forEach((nbrs, i) => nbrs.forEach((j) => { if (i < j) this.net.connect(this.ids[i]!, this.ids[j]!); }));
    const hooks = peerHooks(init, this.ids);
    for (let i = 0; i < n; i++) {
      const initial = typeof init.initial === 'function' ? init.initial(i) : init.initial;
      const cost = typeof init.cost === 'function' ? init.cost(i) : init.cost;
      const pool = new VirtualPool(this.components.pool, this.scheduler, i, cost);
      const clock = this.scheduler.clock(i);
      this.pools.push(pool);
      this.clocks.push(clock);
      this.peers.push(new Peer({
        swarm: init.swarm, seed: init.seed, algorithmName: init.algorithmName, algorithm: init.peers[i]!.algorithm.instance,
        mode: init.mode, engine: init.peers[i]!.algorithm.engine, model: init.model, layout: init.layout, initial,
        train: init.train, rounds: init.rounds, dataset: init.dataset, trainIndices: init.peers[i]!.trainIndices, testIndices: init.testIndices,
      }, { network: this.networks[i]!, pool, clock, logger, ...hooks[i]! }));
    }
  }

  peerId(index: number): string { return this.ids[index]!; }

  /**
   * Start every peer and drive the virtual clock until all finished their rounds. Rejects with the first
   * engine error, SimulationStalledError if the peers wait on nothing, or AbortError on `options.signal`.
   */
  async run(onRound?: (peer: number, s: RoundSummary) => void, options: RunOptions = {}): Promise<void> {
    const offs = this.peers.map((p, i) => p.onRound((s) => onRound?.(i, s)));
    let finished = 0;
    let failure: { error: unknown } | null = null;
    try {
      await Promise.all(this.peers.map((p) => p.start()));
      for (const p of this.peers) {
        p.finished().then(() => { finished++; }, (error: unknown) => { failure ??= { error }; finished++; });
      }
      await this.scheduler.run(() => finished === this.peers.length || failure !== null, options);
      if (failure !== null) throw (failure as { error: unknown }).error;
    } finally {
      for (const off of offs) off();
    }
  }

  /** Stop the peers and their networks and drop the remaining events. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    await Promise.all(this.networks.map((n) => n.stop()));
    this.scheduler.clear();
  }
}
