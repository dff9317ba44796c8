/**
 * The virtual Swarm (swarm.ts): N real Peers on the virtual network, no sockets or timers: each peer is a
 * Peer, a VirtualNetwork, a VirtualPool over the shared WorkerPool and a VirtualClock, all driven by one
 * VirtualScheduler. Same seed ⇒ same events in the same order ⇒ bit-identical models (DESIGN.md seam 5), and
 * 1,000+ peers fit in one process.
 *
 * Peer ids are by default those the libp2p swarm's nodes get from the same seed (protocols/keys.ts): a Peer's
 * random streams and its aggregation order depend on its id, so a synchronous run is then bit-identical to
 * the same run over libp2p. `peerIds: 'indexed'` gives 'v0000', 'v0001', … instead (sorting by id sorts by index).
 */
import type { Clock } from '../node/clock.js';
import { ConfigError } from '../node/errors.js';
import type { LearnerPool } from '../node/learner/pool.js';
import type { Logger } from '../node/logger.js';
import { silentLogger } from '../node/logger.js';
import type { Peer, RoundSummary } from '../node/peer.js';
import { RecyclingNetwork } from '../node/frame-buffers.js';
import { VectorBank } from '../node/vector-bank.js';
import { swarmPeerIds } from '../protocols/keys.js';
import { buildPeers, type Swarm, type SwarmInit } from './swarm.js';
import { VirtualNet, type VirtualNetInit } from './virtual/net.js';
import type { VirtualNetwork } from './virtual/network.js';
import { VirtualPool, type CostModel } from './virtual/pool.js';
import { VirtualScheduler, type RunOptions } from './virtual/scheduler.js';

/** SwarmInit plus the virtual network's own settings. */
export interface VirtualSwarmInit extends SwarmInit {
  /** Link models and network tunables; default 1 ms latency, unlimited bandwidth, no loss. */
  net?: Omit<VirtualNetInit, 'scheduler' | 'logger'>;
  /** Virtual duration of learner work, for every peer or by peer index; default 0 (instantaneous). */
  cost?: CostModel | ((index: number) => CostModel);
  /** Peer ids by index (unique), 'indexed' for `virtualPeerId(i, n)`, or default 'seeded': the libp2p swarm's ids (protocols/keys.ts). */
  peerIds?: readonly string[] | 'indexed' | 'seeded';
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

/** The ids the libp2p swarm's peers get from `seed` (protocols/keys.ts), for tests that pin them. */
export const libp2pPeerIds = swarmPeerIds;

/** A swarm of Peers on one virtual network and clock. */
export class VirtualSwarm implements Swarm {
  readonly scheduler = new VirtualScheduler();
  readonly net: VirtualNet;
  readonly networks: VirtualNetwork[] = [];
  readonly pools: VirtualPool[] = [];
  readonly clocks: Clock[] = [];
  /** Model-sized vectors shared by the peers across rounds (node/vector-bank.ts); the round collector holds what it keeps. */
  readonly vectors = new VectorBank();
  peers: Peer[] = [];
  hosted: number[] = [];
  private ids: string[] = [];
  private readonly indexOf = new Map<string, number>();
  private readonly recycling: RecyclingNetwork[] = [];

  constructor(private readonly init: VirtualSwarmInit, private readonly components: VirtualSwarmComponents) {
    this.net = new VirtualNet({ ...init.net, scheduler: this.scheduler, logger: components.logger });
  }

  /** Join and connect every peer (the topology's edges), then build the Peers (not started). */
  async start(): Promise<void> {
    if (this.peers.length > 0) return;
    const { init } = this;
    const n = init.peers.length;
    if (init.graph.length !== n) throw new ConfigError(`the graph has ${init.graph.length} nodes but the swarm has ${n} peers; give one neighbour list per peer`);
    const ids = init.peerIds ?? 'seeded';
    this.ids = ids === 'seeded' ? await swarmPeerIds(init.seed, n) : ids === 'indexed' ? Array.from({ length: n }, (_, i) => virtualPeerId(i, n)) : [...ids];
    if (this.ids.length !== n) throw new ConfigError(`peerIds has ${this.ids.length} ids but the swarm has ${n} peers`);
    this.ids.forEach((id, i) => this.indexOf.set(id, i));
    const logger = this.components.logger ?? silentLogger();
    for (let i = 0; i < n; i++) {
      const network = this.net.join(this.ids[i]!, { swarm: init.swarm, layout: init.peers[i]!.algorithm.instance.exchangeLayout });
      await network.start();
      this.networks.push(network);
    }
    init.graph.forEach((nbrs, i) => nbrs.forEach((j) => { if (i < j) this.net.connect(this.ids[i]!, this.ids[j]!); }));
    this.hosted = Array.from({ length: n }, (_, i) => i);
    this.peers = buildPeers(init, this.ids, this.hosted, (i) => {
      const cost = typeof init.cost === 'function' ? init.cost(i) : init.cost;
      const pool = new VirtualPool(this.components.pool, this.scheduler, i, cost);
      const clock = this.scheduler.clock(i);
      this.pools.push(pool);
      this.clocks.push(clock);
      // Frame buffers are recycled for engines that read a round's frames only in that round (node/frame-buffers.ts).
      const network = init.peers[i]!.algorithm.engine.name === 'sync-rounds' ? new RecyclingNetwork(this.networks[i]!, this) : this.networks[i]!;
      if (network instanceof RecyclingNetwork) this.recycling.push(network);
      return { network, pool, clock, logger, vectors: this.vectors };
    });
  }

  peerId(index: number): string { return this.ids[index]!; }

  /** Frame buffers the peers created and reused so far (node/frame-buffers.ts). */
  frameStats(): { created: number; reused: number } {
    return this.recycling.reduce((t, n) => { const s = n.stats(); return { created: t.created + s.created, reused: t.reused + s.reused }; }, { created: 0, reused: 0 });
  }

  /** FrameReaders (node/frame-buffers.ts): peer `id` may still read a frame of `round` while it runs and has not finished it. */
  mayRead(id: string, round: number): boolean {
    const i = this.indexOf.get(id);
    const peer = i === undefined ? undefined : this.peers[i];
    return peer !== undefined && peer.isStarted() && peer.round < round;
  }

  peerAt(i: number): Peer | undefined { return this.peers[i]; }

  /** Take peer `i` off the virtual net: sends and pings to it fail from now on. */
  async disconnect(i: number): Promise<void> {
    this.net.setOnline(this.ids[i]!, false);
  }

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
