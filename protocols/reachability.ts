/**
 * What `murmur status` says about NAT traversal: whether we are publicly reachable, our relay slots, and
 * for each connected peer whether the connection is direct, relayed or hole-punched, and why a relayed one
 * was not upgraded. libp2p exposes the first three through its node; DCUtR reports its outcome only in
 * its debug log, so {@link NatLog} wraps libp2p's component logger and keeps the few lines DCUtR writes
 * per relayed connection (whatever DEBUG says; they are formatted only then, at most a handful per peer).
 */
import type { ComponentLogger, Connection, Logger } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import { isPrivate } from '@libp2p/utils';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { ConnectionKind, PeerConnectionInfo, ReachabilityInfo } from '../node/control/types.js';
import type { MurmurNode } from './libp2p.js';

/** libp2p's DCUtR protocol id; a peer without it in its identify protocols never upgrades. */
const DCUTR_PROTOCOL = '/libp2p/dcutr';
/** DCUtR log lines kept per peer. */
const MAX_LINES_PER_PEER = 6;
/** A DCUtR line quoted in a reason is cut at this many characters. */
const MAX_LINE_CHARS = 200;
/** Peers whose DCUtR lines are kept; beyond it the oldest is forgotten (bounded memory). */
const MAX_PEERS = 256;
/**
 * A direct connection opened at most this long before DCUtR's success line is the one it opened; and one
 * whose relayed twin closed within this long after it opened replaced it, ms.
 */
const UPGRADE_MATCH_MS = 30_000;
/** Peer ids in libp2p's text (Ed25519 "12D3Koo…", RSA "Qm…"). */
const PEER_ID = /\b(?:12D3Koo[1-9A-HJ-NP-Za-km-z]{40,48}|Qm[1-9A-HJ-NP-Za-km-z]{44})\b/g;
const SUCCESS = /succeeded/;
/** Why js-libp2p over TCP cannot hole-punch between two NATs (cited where the status says so). */
export const TCP_HOLE_PUNCH_LIMIT = "js-libp2p's TCP transport cannot dial from its listening port, so a peer behind a NAT never learns its public TCP address (libp2p/js-libp2p#2620)";

/** Render a libp2p debug-style log call: %p %a %s %d … take the next argument; %e an error's name and message. */
export function formatLogCall(template: unknown, args: readonly unknown[]): string {
  let i = 0;
  const text = String(template).replace(/%([a-zA-Z%])/g, (whole, f: string) => {
    if (f === '%') return '%';
    if (i >= args.length) return whole;
    const v = args[i++];
    if (f === 'e' && v instanceof Error) return `${v.name}: ${v.message}`;
    if (Array.isArray(v)) return `[${v.map(String).join(', ')}]`;
    return String(v);
  });
  return i < args.length ? `${text} ${args.slice(i).map(String).join(' ')}` : text;
}

/**
 * A libp2p ComponentLogger that passes everything to `base` and keeps DCUtR's lines per peer they name.
 * A line naming no peer (e.g. "error while attempting DCUtR on attempt 1 of 3") belongs to the peer of the
 * previous line: DCUtR names the peer when it starts an attempt.
 */
export class NatLog {
  readonly logger: ComponentLogger;
  private readonly lines = new Map<string, string[]>();
  private readonly upgradedAt = new Map<string, number>();
  private lastPeer: string | null = null;

  constructor(base: ComponentLogger = defaultLogger(), private readonly now: () => number = Date.now) {
    this.logger = {
      forComponent: (name: string): Logger => name === 'libp2p:dcutr' ? this.wrap(base.forComponent(name)) : base.forComponent(name),
    };
  }

  /** DCUtR's recent lines about `peer`, oldest first. */
  linesFor(peer: string): readonly string[] {
    return this.lines.get(peer) ?? [];
  }

  /** When DCUtR last replaced a relayed connection to `peer` by a direct one (epoch ms), if ever. */
  upgradedAtFor(peer: string): number | undefined {
    return this.upgradedAt.get(peer);
  }

  /** Record one DCUtR log line (also what the wrapped logger calls). */
  record(text: string): void {
    const peers = [...new Set(text.match(PEER_ID) ?? [])];
    const targets = peers.length > 0 ? peers : this.lastPeer !== null ? [this.lastPeer] : [];
    if (peers.length > 0) this.lastPeer = peers[0]!;
    for (const peer of targets) {
      let list = this.lines.get(peer);
      if (list === undefined) {
        if (this.lines.size >= MAX_PEERS) this.lines.delete(this.lines.keys().next().value!);
        list = [];
        this.lines.set(peer, list);
      }
      list.push(text);
      if (list.length > MAX_LINES_PER_PEER) list.shift();
      if (SUCCESS.test(text) && /closing relayed connection/.test(text)) this.upgradedAt.set(peer, this.now());
    }
  }

  private wrap(inner: Logger): Logger {
    const keep = (template: unknown, args: unknown[]): void => {
      try {
        this.record(formatLogCall(template, args));
      } catch {
        // A line we cannot render is not worth failing libp2p's call for.
      }
    };
    const log = ((template: unknown, ...args: unknown[]) => { keep(template, args); inner(template, ...args); }) as Logger;
    log.error = (template: unknown, ...args: unknown[]) => { keep(template, args); inner.error(template, ...args); };
    log.trace = (template: unknown, ...args: unknown[]) => inner.trace(template, ...args);
    Object.defineProperty(log, 'enabled', { get: () => inner.enabled });
    log.newScope = (name: string) => this.wrap(inner.newScope(name));
    return log;
  }
}

const isRelayed = (ma: Multiaddr): boolean => ma.getComponents().some((c) => c.name === 'p2p-circuit');
const isLimited = (c: Connection): boolean => c.limits !== undefined || isRelayed(c.remoteAddr);
const isPublic = (ma: Multiaddr): boolean => !isRelayed(ma) && !isPrivate(ma);
/** What DCUtR would dial (its isPublicAndDialable): a public IP, or any DNS name, never a relay address. */
const dcutrDialable = (ma: Multiaddr): boolean => !isRelayed(ma) && (ma.getComponents()[0]?.name.startsWith('dns') === true || !isPrivate(ma));

/** Options of {@link ReachabilityMonitor}. */
export interface ReachabilityInit {
  node: MurmurNode;
  /** The log given to the node at creation; without it relayed connections give no DCUtR detail. */
  natLog?: NatLog;
  /** Whether model frames may use relayed connections (network.relay.allowModels). */
  allowRelayedModels: boolean;
  /** The relay service's slot limit, when we serve as a relay (for the status only). */
  maxRelayReservations?: number;
}

/** What identify told us about a peer: its protocols and listen addresses. */
interface PeerRecord { protocols: string[]; addresses: Multiaddr[] }

/**
 * Reads reachability from a running node. From start() to stop() it also keeps what identify said about
 * each connected peer (the peer store is async; the status is a synchronous snapshot) and which direct
 * connections replaced relayed ones.
 */
export class ReachabilityMonitor {
  private readonly records = new Map<string, PeerRecord>();
  /** Direct connections opened while a relayed one to the same peer was open: id → that relayed connection and when. */
  private readonly candidates = new Map<string, { relayed: string; at: number }>();
  /** Direct connections that replaced a relayed one (it closed within UPGRADE_MATCH_MS): DCUtR's upgrades. */
  private readonly upgraded = new Set<string>();

  constructor(private readonly init: ReachabilityInit) {
    this.onIdentify = this.onIdentify.bind(this);
    this.onDisconnect = this.onDisconnect.bind(this);
    this.onOpen = this.onOpen.bind(this);
    this.onClose = this.onClose.bind(this);
  }

  start(): void {
    this.init.node.addEventListener('peer:identify', this.onIdentify);
    this.init.node.addEventListener('peer:disconnect', this.onDisconnect);
    this.init.node.addEventListener('connection:open', this.onOpen);
    this.init.node.addEventListener('connection:close', this.onClose);
  }

  stop(): void {
    this.init.node.removeEventListener('peer:identify', this.onIdentify);
    this.init.node.removeEventListener('peer:disconnect', this.onDisconnect);
    this.init.node.removeEventListener('connection:open', this.onOpen);
    this.init.node.removeEventListener('connection:close', this.onClose);
    this.records.clear();
    this.candidates.clear();
    this.upgraded.clear();
  }

  /**
   * DCUtR on either side opens a direct connection while the relayed one is open, then closes the relayed
   * one: the side that ran the upgrade logs it (NatLog), the other side sees exactly this sequence.
   */
  private onOpen(evt: CustomEvent<Connection>): void {
    const conn = evt.detail;
    if (isLimited(conn)) return;
    const peer = conn.remotePeer.toString();
    const relayed = this.init.node.getConnections().find((c) => c.id !== conn.id && c.remotePeer.toString() === peer && isLimited(c) && c.status === 'open');
    if (relayed !== undefined) this.candidates.set(conn.id, { relayed: relayed.id, at: Date.now() });
  }

  private onClose(evt: CustomEvent<Connection>): void {
    const closed = evt.detail;
    this.upgraded.delete(closed.id);
    this.candidates.delete(closed.id);
    for (const [direct, c] of this.candidates) {
      if (Date.now() - c.at > UPGRADE_MATCH_MS) this.candidates.delete(direct);
      else if (c.relayed === closed.id) {
        this.candidates.delete(direct);
        this.upgraded.add(direct);
      }
    }
  }

  private onIdentify(evt: CustomEvent<{ peerId: { toString(): string }; protocols: string[]; listenAddrs: Multiaddr[] }>): void {
    this.records.set(evt.detail.peerId.toString(), { protocols: [...evt.detail.protocols], addresses: [...evt.detail.listenAddrs] });
  }

  private onDisconnect(evt: CustomEvent<{ toString(): string }>): void {
    this.records.delete(evt.detail.toString());
  }

  /** The status block: reachability, relay slots, DHT mode and one entry per connected peer. */
  snapshot(): ReachabilityInfo {
    const { node } = this.init;
    const own = node.getMultiaddrs();
    const publicAddresses = own.filter(isPublic).map(String);
    const byRelay = new Map<string, string[]>();
    for (const ma of own.filter(isRelayed)) byRelay.set(relayOf(ma), [...(byRelay.get(relayOf(ma)) ?? []), ma.toString()]);
    const relayReservations = [...byRelay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([relay, addresses]) => ({ relay, addresses }));
    const reason = publicAddresses.length > 0 ? undefined : notReachableReason(relayReservations.length);
    const relay = node.services.relay;
    return {
      publiclyReachable: publicAddresses.length > 0,
      publicAddresses,
      ...(reason !== undefined ? { reason } : {}),
      relayReservations,
      relayService: relay === undefined ? null : { reservations: relay.reservations.size, maxReservations: this.init.maxRelayReservations ?? 0 },
      dht: node.services.dht?.getMode() ?? null,
      connections: this.connections(),
    };
  }

  /** Our best open connection to each connected peer, sorted by peer id. */
  connections(): PeerConnectionInfo[] {
    const byPeer = new Map<string, Connection[]>();
    for (const c of this.init.node.getConnections()) {
      if (c.status !== 'open') continue;
      const id = c.remotePeer.toString();
      byPeer.set(id, [...(byPeer.get(id) ?? []), c]);
    }
    return [...byPeer.keys()].sort().map((peer) => this.describe(peer, byPeer.get(peer)!));
  }

  /** Whether a model frame may go to `peer` now: an open unlimited connection, or relayed ones are allowed. */
  modelCapable(peer: string): boolean {
    if (this.init.allowRelayedModels) return true;
    return this.init.node.getConnections().some((c) => c.status === 'open' && c.remotePeer.toString() === peer && !isLimited(c));
  }

  private describe(peer: string, conns: Connection[]): PeerConnectionInfo {
    // Prefer an unlimited connection (DCUtR closes the relayed one after upgrading; until then both exist).
    const best = conns.find((c) => !isLimited(c)) ?? conns[0]!;
    const relayed = isLimited(best);
    const kind: ConnectionKind = relayed ? 'relayed' : this.wasUpgraded(peer, best) ? 'hole-punched' : 'direct';
    return {
      peer,
      kind,
      address: best.remoteAddr.toString(),
      direction: best.direction,
      openedAt: best.timeline.open,
      models: !relayed || this.init.allowRelayedModels,
      ...(relayed ? { holePunch: this.holePunchReason(peer) } : {}),
    };
  }

  private wasUpgraded(peer: string, conn: Connection): boolean {
    if (this.upgraded.has(conn.id)) return true;
    const at = this.init.natLog?.upgradedAtFor(peer);
    return at !== undefined && conn.timeline.open <= at && conn.timeline.open >= at - UPGRADE_MATCH_MS;
  }

  /**
   * DCUtR's preconditions (js-libp2p @libp2p/dcutr): the peer speaks /libp2p/dcutr; a unilateral upgrade
   * needs a public, non-relayed address of the peer; a hole punch needs such addresses on both sides.
   * The reason names the first one that fails, then DCUtR's own last lines about the peer.
   */
  holePunchReason(peer: string): string {
    const lines = this.init.natLog?.linesFor(peer) ?? [];
    const log = lines.length > 0 ? ` DCUtR said: ${lines.slice(-3).map((l) => (l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)}…` : l)).join(' | ')}` : '';
    const known = this.peerRecord(peer);
    if (known !== null && !known.protocols.includes(DCUTR_PROTOCOL)) return `the peer does not run DCUtR (${DCUTR_PROTOCOL}), so the connection stays relayed.${log}`;
    const ours = this.init.node.getMultiaddrs().filter(dcutrDialable);
    const theirs = (known?.addresses ?? []).filter(dcutrDialable);
    if (ours.length === 0 && theirs.length === 0) {
      return `hole punching impossible: neither peer has a public address to dial (both are behind NAT; ${TCP_HOLE_PUNCH_LIMIT}).${log}`;
    }
    if (lines.length === 0) return 'DCUtR has not reported yet (it runs once identify has finished on the relayed connection).';
    return `DCUtR failed to open a direct connection (public addresses: ours ${ours.map(String).join(', ') || 'none'}; the peer's ${theirs.map(String).join(', ') || 'none'}).${log}`;
  }

  private peerRecord(peer: string): PeerRecord | null {
    return this.records.get(peer) ?? null;
  }
}

function relayOf(ma: Multiaddr): string {
  const parts = ma.getComponents();
  const circuit = parts.findIndex((c) => c.name === 'p2p-circuit');
  const p2p = parts.slice(0, circuit).reverse().find((c) => c.name === 'p2p');
  return p2p?.value ?? 'unknown';
}

function notReachableReason(reservations: number): string {
  const how = reservations > 0
    ? `peers reach us through our relay slot${reservations > 1 ? 's' : ''}`
    : 'peers reach us only over connections we open (no relay slot: pass --bootstrap to a peer started with --relay)';
  return `no public address: our addresses are private (behind NAT) and none was announced, mapped by UPnP or confirmed by AutoNAT; ${how}`;
}
