/**
 * The libp2p Swarm (swarm.ts): N real Peers in one process over libp2p (memory transport by default, TCP on
 * loopback optionally), one shared dataset and one shared worker pool. Nodes get deterministic keys from the
 * experiment seed (protocols/keys.ts); edges of the topology are dialled with bounded concurrency before any
 * round starts.
 */
import { deadline } from '../node/deadline.js';
import { multiaddr } from '@multiformats/multiaddr';
import type { Clock } from '../node/clock.js';
import { systemClock } from '../node/clock.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { Logger } from '../node/logger.js';
import { silentLogger } from '../node/logger.js';
import { RecyclingNetwork, type FrameReaders } from '../node/frame-buffers.js';
import { ReceiveBuffers } from '../node/receive-buffers.js';
import type { Network } from '../node/network.js';
import type { Peer, RoundSummary } from '../node/peer.js';
import { VectorBank } from '../node/vector-bank.js';
import { swarmPeerIds, swarmPeerSeed } from '../protocols/keys.js';
import { createMurmurNode, type AnySwarmNode } from '../protocols/libp2p.js';
import { libp2pNetwork } from '../protocols/libp2p-network.js';
import { frameMayBeQueued } from '../protocols/model-exchange.js';
import { connectionsHeld } from './connections-held.js';
import { SwarmError } from './errors.js';
import { buildPeers, type Swarm, type SwarmInit } from './swarm.js';

/** The libp2p swarm's own settings beside the common SwarmInit. */
export interface Libp2pSwarmInit extends SwarmInit {
  transport: 'memory' | 'tcp';
  /** Concurrent dials during bring-up (notes/libp2p-v3.md §4: 4–16). */
  dialConcurrency?: number;
  /** Give every node every address (O(N²) peer-store entries) so sends can dial peers outside the graph. */
  dialOnDemand?: boolean;
  /**
   * Run gossipsub (and identify) on every node: only engines that announce need it (MoDeST's beacons and
   * membership). Default false: a connection then costs about a third to set up and no heartbeat runs
   * (protocols/docs/exchange-tuning.md §7).
   */
  announcements?: boolean;
  /**
   * Multi-process swarms (`--processes K`, or one share per machine): this process hosts only these peer
   * indices; every peer listens on the fixed address `address(i)` and the others are reached there.
   */
  shares?: {
    hosted: number[]; address: (i: number) => string; connectTimeoutMs?: number;
    /** Connect the peers of this process over the memory transport (tcp only across processes); default false. */
    memoryWithin?: boolean;
  };
}

export interface SwarmComponents { pool: WorkerPool; logger?: Logger; clock?: Clock }

/**
 * One dial's deadline during bring-up, ms: as the swarm preset's dial timeout (protocols/libp2p.ts). In one
 * process a dial is slow only when the thread is starved; on a loaded machine 500-peer bring-ups lost dials
 * at 60 s.
 */
const DIAL_TIMEOUT_MS = 120_000;
/**
 * How long a send waits for a neighbour that is not connected to it yet, ms (connection-watch.ts). Every
 * peer here is dialled at bring-up, which ends once both ends hold every edge of this process
 * (listenersHold); an edge to another process's peer may still be half-open for seconds under load (that
 * process's dialler counts it before this side holds the connection): the daemon's short grace would lose
 * that frame, so the swarm waits up to the send deadline, as long as a dial may take.
 */
const BRING_UP_CONNECT_GRACE_MS = DIAL_TIMEOUT_MS;
/** Tries of a dial between two peers of this process before the bring-up fails. */
const LOCAL_DIAL_ATTEMPTS = 3;
/** Nodes created at once: their start-up awaits (key derivation, listeners) overlap. */
const CREATE_CONCURRENCY = 16;

/**
 * Who may read a sender's frame buffer after its send settled, over libp2p: no peer (noise encrypted the
 * bytes into its own buffers before the receiver could read them). A failed send may leave them queued in
 * the connection (protocols/model-exchange.ts `frameMayBeQueued`): that buffer is never lent again.
 */
const NO_READERS: FrameReaders = { mayRead: () => false };

export class Libp2pSwarm implements Swarm {
  readonly nodes: AnySwarmNode[] = [];
  readonly networks: Network[] = [];
  peers: Peer[] = [];
  /**
   * Model-sized vectors and frame buffers reused across rounds, as in the virtual swarm (node/vector-bank.ts,
   * node/frame-buffers.ts): every new model-sized ArrayBuffer counts towards V8's external-memory limit, and
   * each 64 MB of them starts a mark-compact of the whole heap (500 libp2p nodes: ~250 MB), which was most of
   * a 500-peer round's GC (protocols/docs/exchange-tuning.md §13).
   */
  readonly vectors = new VectorBank();
  private readonly recycling: RecyclingNetwork[] = [];
  private readonly receiveBuffers: ReceiveBuffers[] = [];
  /** Free receive buffers by size, shared by the peers (node/receive-buffers.ts). */
  private readonly receiveFree = new Map<number, Float32Array[]>();
  /** Global indices of the peers this process hosts (all of them unless `shares` is set). */
  readonly hosted: number[];
  private readonly local = new Map<number, number>();
  private ids: string[] = [];
  /** Dial addresses of hosted peers (localAddress). */
  private readonly addresses = new Map<number, string>();
  /** Local indices of the peers that were started (mayRead). */
  private readonly ran: boolean[] = [];

  constructor(private readonly init: Libp2pSwarmInit, private readonly components: SwarmComponents) {
    this.hosted = init.shares?.hosted ?? init.peers.map((_, i) => i);
    this.hosted.forEach((g, l) => this.local.set(g, l));
  }

  /** Whether the peer of local index `l` may still read a frame of `round` it received (node/receive-buffers.ts). */
  private mayRead(l: number, round: number): boolean {
    const peer = this.peers[l];
    if (peer === undefined) return true;
    if (peer.isStarted()) return peer.round < round;
    // Not running: before its start its frames wait in the inbox for its first rounds (keep the buffer); once
    // it has run and stopped it reads nothing again (the simulator never restarts a peer).
    return this.ran[l] !== true;
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
    const create = (i: number): Promise<AnySwarmNode> => createMurmurNode({
      transport: init.transport, seed: swarmPeerSeed(init.seed, i), preset: 'swarm', swarm: init.swarm, announcements: init.announcements === true,
      listen: init.shares ? [init.shares.address(i)] : init.transport === 'tcp' ? ['/ip4/127.0.0.1/tcp/0'] : undefined,
      ...(init.shares?.memoryWithin === true ? { alsoMemory: true } : {}),
    });
    for (let at = 0; at < this.hosted.length; at += CREATE_CONCURRENCY) {
      this.nodes.push(...await Promise.all(this.hosted.slice(at, at + CREATE_CONCURRENCY).map(create)));
    }
    this.ids = init.shares ? await swarmPeerIds(init.seed, n) : this.nodes.map((nd) => nd.peerId.toString());
    for (const [l, i] of this.hosted.entries()) {
      const layout = init.peers[i]!.algorithm.instance.exchangeLayout;
      // Received values go into recycled buffers for engines that read a round's frames only in that round (node/receive-buffers.ts).
      const buffers = init.peers[i]!.algorithm.engine.name === 'sync-rounds' ? new ReceiveBuffers(layout.size, (round) => this.mayRead(l, round), this.freeReceiveBuffers(layout.size)) : null;
      if (buffers !== null) this.receiveBuffers.push(buffers);
      const net = libp2pNetwork({
        node: this.nodes[l]!, swarm: init.swarm, layout, logger, connectGraceMs: BRING_UP_CONNECT_GRACE_MS,
        ...(buffers !== null ? { receiveBuffer: (_from: string, h: { round: number }) => buffers.take(h.round) } : {}),
      });
      await net.start();
      this.networks.push(net);
    }
    await this.dialEdges();
    // Re-sampled topologies reach peers they were not dialled to: then every node learns every address.
    if (init.dialOnDemand) await Promise.all(this.nodes.map((node) => Promise.all(this.nodes.map(async (other) => {
      if (other !== node) await node.peerStore.merge(other.peerId, { multiaddrs: other.getMultiaddrs() });
    }))));
    const clock = this.components.clock ?? systemClock;
    this.peers = buildPeers(init, this.ids, this.hosted, (i, l) => {
      // Frame buffers are recycled for engines that read a round's frames only in that round (node/frame-buffers.ts).
      const recycle = init.peers[i]!.algorithm.engine.name === 'sync-rounds';
      const network = recycle ? new RecyclingNetwork(this.networks[l]!, NO_READERS, frameMayBeQueued) : this.networks[l]!;
      if (network instanceof RecyclingNetwork) this.recycling.push(network);
      return { network, pool: this.components.pool, clock, logger, vectors: this.vectors };
    });
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
      const local = this.local.has(j);
      const target = local ? this.localAddress(j) : `${shares!.address(j)}/p2p/${this.ids[j]!}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await node.dial(multiaddr(target), { signal: deadline(DIAL_TIMEOUT_MS) });
          return;
        } catch (err) {
          // A local dial fails only when this thread was starved past its deadline: try again (bounded).
          if (local ? attempt >= LOCAL_DIAL_ATTEMPTS : Date.now() > giveUpAt) throw err;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    };
    const worker = async () => { while (next < edges.length) { const [i, j] = edges[next++]!; await dialOne(i, j); } };
    await Promise.all(Array.from({ length: Math.min(this.init.dialConcurrency ?? 8, edges.length) }, worker));
    await this.listenersHold(edges.filter(([, j]) => this.local.has(j)), giveUpAt);
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

  /** Wait until the listener of each local edge holds its connection too (connections-held.ts). */
  private async listenersHold(edges: ReadonlyArray<readonly [number, number]>, giveUpAt: number): Promise<void> {
    const nodeOf = (i: number): AnySwarmNode => this.nodes[this.local.get(i)!]!;
    const waiting = new Map<number, { node: AnySwarmNode; from: Set<string> }>();
    for (const [i, j] of edges) {
      if (nodeOf(j).getConnections(nodeOf(i).peerId).length > 0) continue;
      const w = waiting.get(j) ?? { node: nodeOf(j), from: new Set<string>() };
      waiting.set(j, w);
      w.from.add(this.ids[i]!);
    }
    // No await since the check above: a connection opened meanwhile is seen by its listener.
    await connectionsHeld(waiting, giveUpAt);
  }

  private freeReceiveBuffers(size: number): Float32Array[] {
    let free = this.receiveFree.get(size);
    if (free === undefined) { free = []; this.receiveFree.set(size, free); }
    return free;
  }

  /** Frame buffers the peers created and reused so far (node/frame-buffers.ts). */
  frameStats(): { created: number; reused: number } {
    return this.recycling.reduce((t, n) => { const s = n.stats(); return { created: t.created + s.created, reused: t.reused + s.reused }; }, { created: 0, reused: 0 });
  }

  /** Receive buffers the peers created and reused so far (node/receive-buffers.ts). */
  receiveStats(): { created: number; reused: number } {
    return this.receiveBuffers.reduce((t, b) => { const s = b.stats(); return { created: t.created + s.created, reused: t.reused + s.reused }; }, { created: 0, reused: 0 });
  }

  /**
   * Where a peer of this process dials hosted peer `j`: its memory address when shares connect over memory within.
   * Remembered: libp2p builds a node's address list anew at each call, and a bring-up asks once per edge.
   */
  private localAddress(j: number): string {
    const known = this.addresses.get(j);
    if (known !== undefined) return known;
    const addrs = this.nodes[this.local.get(j)!]!.getMultiaddrs();
    const memory = this.init.shares?.memoryWithin === true ? addrs.find((a) => a.getComponents()[0]?.name === 'memory') : undefined;
    const address = (memory ?? addrs[0]!).toString();
    this.addresses.set(j, address);
    return address;
  }

  peerId(index: number): string { return this.ids[index]!; }

  /** Start every peer and wait until all finished their rounds; `options.signal` stops the swarm (the run then resolves). */
  async run(onRound?: (peer: number, s: RoundSummary) => void, options: { signal?: AbortSignal } = {}): Promise<void> {
    const offs = this.peers.map((p, l) => p.onRound((s) => onRound?.(this.hosted[l]!, s)));
    const onAbort = (): void => { void this.stop(); };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(this.peers.map(async (p, l) => { await p.start(); this.ran[l] = true; }));
      await Promise.all(this.peers.map((p) => p.finished()));
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      for (const off of offs) off();
    }
  }

  /** Stop hosted peer `i`'s network (its node goes away, so dials and pings to it fail). */
  async disconnect(i: number): Promise<void> {
    const l = this.local.get(i);
    if (l !== undefined) await this.networks[l]!.stop();
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    await Promise.all(this.networks.map((n) => n.stop()));
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
