/**
 * Finding the rest of a swarm beyond the bootstrap peers. libp2p's discovery modules (mDNS, the DHT) only
 * put what they find in the peer store; since libp2p 2 nothing dials it. This dials, up to `maxPeers`:
 * peers libp2p reports as discovered, peers named in announcements (their addresses, relay addresses
 * included), peers the swarm's DHT lists as providers of the swarm's rendezvous key (each member provides
 * it, so a member behind a NAT is found through its relay address), and members we knew before (tagged
 * in the persistent peer store, so a restart reconnects). Each peer is dialed at most once per
 * `retryMs`, so an unreachable one costs one dial per period.
 */
import { setMaxListeners } from 'node:events';
import type { PeerId, PeerInfo } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { deadline } from '../node/deadline.js';
import { silentLogger, type Logger } from './constants.js';
import type { MurmurNode } from './libp2p.js';
import { swarmRendezvousCid } from './nat.js';

/** Peer store tag of swarm members (their value only orders pruning; it keeps them over strangers). */
export const MEMBER_TAG = 'murmur-member';
/** How often discovery runs while below `maxPeers`, ms. */
export const DEFAULT_DISCOVERY_INTERVAL_MS = 10_000;
/** A peer is dialed again at most this often, ms. */
export const DEFAULT_REDIAL_MS = 30_000;
/** Deadline of one discovery dial, ms. */
const DIAL_TIMEOUT_MS = 10_000;
/** Deadline of one DHT provide or provider lookup, ms. */
const DHT_QUERY_TIMEOUT_MS = 15_000;
/** Peers whose last dial time is remembered; beyond it the oldest is forgotten. */
const MAX_REMEMBERED = 4096;
/** Providers taken from one lookup. */
const MAX_PROVIDERS = 64;

/** Options of {@link swarmDiscovery}. */
export interface SwarmDiscoveryInit {
  node: MurmurNode;
  swarm: string;
  /** Stop dialing at this many connected peers. */
  maxPeers: number;
  intervalMs?: number;
  retryMs?: number;
  logger?: Logger;
}

/** The dialer; start() listens and runs the periodic step, stop() ends both (one start/stop cycle). */
export class SwarmDiscovery {
  private readonly node: MurmurNode;
  private readonly log: Logger;
  private readonly lastDial = new Map<string, number>();
  private readonly stopController = new AbortController();
  private timer: ReturnType<typeof setInterval> | null = null;
  private provided = false;
  private running = false;

  constructor(private readonly init: SwarmDiscoveryInit) {
    this.node = init.node;
    this.log = init.logger ?? silentLogger;
    // Every dial's deadline follows this signal until it ends.
    setMaxListeners(Infinity, this.stopController.signal);
    this.onDiscovery = this.onDiscovery.bind(this);
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery);
    this.timer = setInterval(() => void this.step(), this.init.intervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS);
    void this.step();
  }

  stop(): void {
    this.stopController.abort();
    this.node.removeEventListener('peer:discovery', this.onDiscovery);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A swarm member (it announced our swarm and layout): tag it so a restart reconnects to it. */
  markMember(peer: string): void {
    if (this.stopController.signal.aborted) return;
    void this.node.peerStore.merge(peerIdFromString(peer), { tags: { [MEMBER_TAG]: { value: 50 } } })
      .catch((err: unknown) => this.log.debug({ err, peer }, 'could not tag a swarm member'));
  }

  /**
   * Dial `peer` at `addresses` (each gets /p2p/<peer> unless it ends so: a relay address names the relay
   * first), or at what the peer
   * store knows, unless connected, at the connection budget, or dialed within `retryMs`.
   */
  consider(peer: string, addresses: readonly string[] = []): void {
    if (!this.shouldDial(peer)) return;
    let target: PeerId | Multiaddr[];
    try {
      target = addresses.length > 0 ? addresses.map((a) => multiaddr(a.endsWith(`/p2p/${peer}`) ? a : `${a}/p2p/${peer}`)) : peerIdFromString(peer);
    } catch (err) {
      this.log.debug({ err, peer }, 'not dialing: bad peer id or address');
      return;
    }
    this.lastDial.set(peer, Date.now());
    if (this.lastDial.size > MAX_REMEMBERED) this.lastDial.delete(this.lastDial.keys().next().value!);
    this.node.dial(target, { signal: deadline(DIAL_TIMEOUT_MS, this.stopController.signal) }).then(
      () => this.log.debug({ peer }, 'connected to a discovered peer'),
      (err: unknown) => this.log.debug({ err, peer }, 'could not dial a discovered peer'),
    );
  }

  private shouldDial(peer: string): boolean {
    if (this.stopController.signal.aborted || peer === this.node.peerId.toString()) return false;
    const connected = new Set(this.node.getConnections().map((c) => c.remotePeer.toString()));
    if (connected.has(peer) || connected.size >= this.init.maxPeers) return false;
    return Date.now() - (this.lastDial.get(peer) ?? 0) >= (this.init.retryMs ?? DEFAULT_REDIAL_MS);
  }

  private onDiscovery(evt: CustomEvent<PeerInfo>): void {
    this.consider(evt.detail.id.toString(), evt.detail.multiaddrs.map(String));
  }

  /**
   * One periodic step, never two at once: provide the swarm's key (also at the connection budget, so others
   * can find us); below the budget, redial known members and dial the key's other providers.
   */
  private async step(): Promise<void> {
    if (this.running || this.stopController.signal.aborted) return;
    this.running = true;
    try {
      await this.provide();
      if (this.node.getConnections().length >= this.init.maxPeers) return;
      const members = await this.node.peerStore.all({ filters: [(p) => p.tags.has(MEMBER_TAG)] });
      for (const m of members) this.consider(m.id.toString());
      await this.findProviders();
    } catch (err) {
      if (!this.stopController.signal.aborted) this.log.debug({ err }, 'discovery step failed');
    } finally {
      this.running = false;
    }
  }

  /** Provide the swarm's key on the DHT until it worked once (the DHT republishes it from then on). */
  private async provide(): Promise<void> {
    if (this.node.services.dht === undefined || this.provided) return;
    const cid = swarmRendezvousCid(this.init.swarm);
    try {
      await this.node.contentRouting.provide(cid, { signal: deadline(DHT_QUERY_TIMEOUT_MS, this.stopController.signal) });
      this.provided = true;
      this.log.debug({}, 'provided the swarm rendezvous key on the DHT');
    } catch (err) {
      // Usually no DHT server known yet (the routing table fills once a public member is connected).
      this.log.debug({ err }, 'could not provide the swarm rendezvous key yet');
    }
  }

  /** Dial the other providers of the swarm's key. */
  private async findProviders(): Promise<void> {
    if (this.node.services.dht === undefined) return;
    const cid = swarmRendezvousCid(this.init.swarm);
    let found = 0;
    try {
      for await (const p of this.node.contentRouting.findProviders(cid, { signal: deadline(DHT_QUERY_TIMEOUT_MS, this.stopController.signal) })) {
        this.consider(p.id.toString(), p.multiaddrs.map(String));
        if (++found >= MAX_PROVIDERS) break;
      }
    } catch (err) {
      this.log.debug({ err, found }, 'provider lookup ended early');
    }
  }
}

/** Build the dialer; nothing listens until start(). */
export function swarmDiscovery(init: SwarmDiscoveryInit): SwarmDiscovery {
  return new SwarmDiscovery(init);
}
