/**
 * The libp2p side of the network seam (DESIGN.md "The seams", 2): node/network.ts's `Network` over a
 * Murmuration libp2p node, composed of model-exchange (frames, accepted through the one receive path,
 * receiver.ts) and announcements (gossipsub). Frames are encoded here (frames.ts); peer ids cross the seam
 * as strings.
 */
import { setMaxListeners } from 'node:events';
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Layout } from '../aggregation/layout.js';
import { deadline } from '../node/deadline.js';
import { AbortError, PeerBusyError } from '../node/errors.js';
import type { Announcement, CollectOptions, Network, OutgoingFrame, PeerTraffic, ReceivedFrame, SendOptions } from '../node/network.js';
import { announcements } from './announcements.js';
import { ConnectionWatch } from './connection-watch.js';
import type { AnnouncementPeerCounters, Announcements } from './announcements.js';
import { DEFAULT_FRAME_LIMITS, MAX_SWARM_BYTES } from './codec.js';
import type { FrameLimits } from './codec.js';
import { payloadOffset } from './codec/header.js';
import { DEFAULT_PING_TIMEOUT_MS, silentLogger } from './constants.js';
import type { Logger } from './constants.js';
import { encodeOutgoing } from './frames.js';
import type { AnySwarmNode } from './libp2p.js';
import { modelExchange } from './model-exchange.js';
import type { ModelExchange } from './model-exchange.js';
import { Receiver, type ReceiverInit } from './receiver.js';
import { AnnouncementsOffError, InvalidPeerIdError, NotStartedError, PeerUnreachableError } from './errors.js';
import { openStreamOnConnection } from './stream-opener.js';

/**
 * Ping failures that say a stream could not run, not that the peer is gone: a local or remote stream limit,
 * or the peer closing or resetting the stream (seen from live daemons busy starting up: soak-swarm, MoDeST).
 */
const STREAM_REFUSALS = new Set(['TooManyOutboundProtocolStreamsError', 'StreamStateError', 'StreamResetError']);

/** Options of `libp2pNetwork`. */
export interface Libp2pNetworkInit {
  /**
   * The node (protocols/libp2p.ts). The network owns it from now on: start() starts it, stop() stops it. A node
   * built with `announcements: false` has no gossipsub: announce() then throws and no announcement arrives.
   */
  node: AnySwarmNode;
  /** Our swarm id: frames and announcements of other swarms are refused. */
  swarm: string;
  /** Our model layout: frames of another layout are refused ('foreign-layout'). */
  layout: Layout;
  /** Receiver limits; default DEFAULT_FRAME_LIMITS. The stream read stops at `largestFrameBytes(layout, limits)`. */
  limits?: FrameLimits;
  /** Default deadline of `send`, ms; default DEFAULT_SEND_TIMEOUT_MS. */
  sendTimeoutMs?: number;
  /** Deadline of one inbound stream, ms; default DEFAULT_INBOUND_TIMEOUT_MS. */
  inboundTimeoutMs?: number;
  /** Inbox byte bound; default DEFAULT_INBOX_MAX_BYTES. */
  inboxMaxBytes?: number;
  /**
   * Open the kept model stream to each peer when it connects rather than at the first frame
   * (model-exchange-types.ts `openStreamOnConnect`); default true.
   */
  openStreamOnConnect?: boolean;
  /** Send and accept frames over relayed (limited) connections; default false (model-exchange.ts). */
  allowRelayed?: boolean;
  /**
   * How long a send waits for a neighbour that has neither a connection nor an address, ms; default
   * CONNECTING_PEER_GRACE_MS (connection-watch.ts). Infinity: up to the send deadline.
   */
  connectGraceMs?: number;
  /**
   * Where an accepted frame's dense values go (receiver.ts `receiveBuffer`): a buffer the caller owns, e.g. a
   * simulated peer's recycled one (node/receive-buffers.ts) or a bank's vector (receive-lender.ts); default a
   * new array per frame.
   */
  receiveBuffer?: ReceiverInit['receiveBuffer'];
  logger?: Logger;
  /** Epoch ms for `lastSeen`; default Date.now. */
  now?: () => number;
}

/**
 * The largest frame a conforming sender can build for `layout` within `limits`: the longest swarm id, the
 * largest extension, padding, and the widest payload (topk at fraction 1 takes 8 bytes per element; q8 adds
 * 8 bytes per tensor). The stream read stops there, so one inbound stream buffers at most this much, not
 * the 256 MiB DEFAULT_FRAME_LIMITS allows whatever the model; bigger frames are answered 'oversized' unread.
 */
export function largestFrameBytes(layout: Layout, limits: FrameLimits = DEFAULT_FRAME_LIMITS): number {
  return Math.min(limits.maxFrameBytes, payloadOffset(MAX_SWARM_BYTES, limits.maxExtensionBytes) + 8 * (layout.size + layout.tensors.length));
}

function parsePeer(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch (err) {
    throw new InvalidPeerIdError(peer, { cause: err });
  }
}

/** `Network` over libp2p, plus the per-protocol counters behind `traffic()`. */
export class Libp2pNetwork implements Network {
  readonly selfId: string;
  private readonly node: AnySwarmNode;
  private readonly receiver: Receiver;
  private readonly swarm: string;
  private readonly layout: Layout;
  private readonly exchange: ModelExchange;
  /** Lets a send wait for a neighbour whose connection to us is still being set up (connection-watch.ts). */
  private readonly connections: ConnectionWatch;
  /** Null when the node runs no gossipsub (`announcements: false`). */
  private readonly announcer: Announcements | null;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly seen = new Map<string, number>();
  private readonly peerIds = new Map<string, PeerId>();
  private stopController = new AbortController();
  private started = false;
  private stopAnnouncementWatch: (() => void) | null = null;

  constructor(init: Libp2pNetworkInit) {
    const { node, swarm, layout } = init;
    const limits = init.limits ?? DEFAULT_FRAME_LIMITS;
    this.node = node;
    this.selfId = node.peerId.toString();
    this.now = init.now ?? Date.now;
    this.log = (init.logger ?? silentLogger).child({ component: 'libp2p-network' });
    this.swarm = swarm;
    this.layout = layout;
    this.connections = new ConnectionWatch(node, { connectingGraceMs: init.connectGraceMs });
    this.receiver = new Receiver({
      swarm, layout, limits, inboxMaxBytes: init.inboxMaxBytes, receiveBuffer: init.receiveBuffer,
      logger: this.log, now: this.now,
    });
    this.exchange = modelExchange({
      receiver: this.receiver, maxFrameBytes: largestFrameBytes(layout, limits), sendTimeoutMs: init.sendTimeoutMs,
      inboundTimeoutMs: init.inboundTimeoutMs, logger: init.logger, now: this.now, runOnLimitedConnection: init.allowRelayed,
      openStreamOnConnect: init.openStreamOnConnect ?? true,
    })({
      registrar: node,
      // Not node.dialProtocol: it dials a peer we reach only through a relay again for every frame (stream-opener.ts).
      connectionManager: { openStream: (peer, protocol, options) => openStreamOnConnection(node, peer, protocol, options) },
      graylist: node.services.graylist,
      connections: this.connections,
    });
    const pubsub = node.services.pubsub;
    this.announcer = pubsub === undefined ? null : announcements({ swarm, logger: init.logger })({ pubsub });
    this.onConnectionEvent = this.onConnectionEvent.bind(this);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopController = new AbortController();
    setMaxListeners(Infinity, this.stopController.signal);
    if (this.node.status !== 'started') await this.node.start();
    this.node.addEventListener('peer:connect', this.onConnectionEvent);
    this.node.addEventListener('peer:disconnect', this.onConnectionEvent);
    this.connections.start();
    await this.exchange.start();
    this.announcer?.start();
    this.stopAnnouncementWatch = this.announcer?.onAnnouncement((from) => { this.seen.set(from, this.now()); }) ?? null;
    this.started = true;
    this.log.debug({ peer: this.selfId }, 'network started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopController.abort(new AbortError('network stopped'));
    this.stopAnnouncementWatch?.();
    this.announcer?.stop();
    await this.exchange.stop();
    this.connections.stop();
    this.node.removeEventListener('peer:connect', this.onConnectionEvent);
    this.node.removeEventListener('peer:disconnect', this.onConnectionEvent);
    await this.node.stop();
    this.log.debug({ peer: this.selfId }, 'network stopped');
  }

  /** As `Network.send`: encodes with our swarm and layout (once per frame object), then pushes. */
  async send(to: string, frame: OutgoingFrame, options: SendOptions = {}): Promise<number> {
    return this.sendBytes(to, encodeOutgoing(this.swarm, this.layout, frame), options);
  }

  /** Push bytes already encoded (benchmarks, fuzzers, hostile-peer tests); resolves with their size. */
  async sendBytes(to: string, bytes: Uint8Array, options: SendOptions = {}): Promise<number> {
    await this.exchange.send(this.peerIdOf(to), bytes, options);
    return bytes.byteLength;
  }

  /** As `Network.collect`; also rejects with AbortError if the network stops while waiting. */
  async collect(round: number, step: number, from: readonly string[], options: CollectOptions = {}): Promise<ReceivedFrame[]> {
    if (!this.started) throw new NotStartedError('network');
    const result = await this.receiver.collect(round, step, from, { signal: options.signal, stop: this.stopController.signal });
    if (result.timedOut) this.log.debug({ round, step, missing: result.missing }, 'collect timed out');
    return result.frames;
  }

  discardBefore(round: number): void {
    this.receiver.discardBefore(round);
  }

  onFrame(listener: (frame: ReceivedFrame) => void): () => void {
    return this.receiver.onFrame(listener);
  }

  connectedPeers(): string[] {
    const peers = new Set<string>();
    for (const c of this.node.getConnections()) if (c.status === 'open') peers.add(c.remotePeer.toString());
    return [...peers].sort();
  }

  /** Round-trip time in ms. Rejects with PeerUnreachableError, or AbortError if the caller's signal aborted. */
  async ping(peer: string, options: SendOptions = {}): Promise<number> {
    const peerId = parsePeer(peer);
    const signal = options.signal ?? deadline(DEFAULT_PING_TIMEOUT_MS);
    try {
      return await this.node.services.ping.ping(peerId, { signal });
    } catch (err) {
      if (options.signal?.aborted === true && options.signal.reason?.name !== 'TimeoutError') throw new AbortError(`ping of ${peer} was aborted`);
      const detail = `${(err as Error).name}: ${(err as Error).message}`;
      if (STREAM_REFUSALS.has((err as Error).name) && this.node.getConnections(peerId).some((c) => c.status === 'open')) {
        throw new PeerBusyError(peer, detail, { cause: err });
      }
      throw new PeerUnreachableError(peer, `ping failed (${detail})`, { cause: err });
    }
  }

  /** As `Network.announce`; throws AnnouncementsOffError on a node built with `announcements: false`. */
  async announce(message: Announcement): Promise<void> {
    if (this.announcer === null) throw new AnnouncementsOffError();
    await this.announcer.publish(message, { signal: this.stopController.signal });
  }

  /** As `Network.onAnnouncement`; on a node without gossipsub nothing ever arrives. */
  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void {
    return this.announcer?.onAnnouncement(listener) ?? (() => {});
  }

  traffic(): PeerTraffic[] {
    const connected = new Set(this.connectedPeers());
    const peers = new Set<string>([...this.seen.keys(), ...connected]);
    for (const c of this.exchange.counters()) peers.add(c.peer);
    return [...peers].sort().map((peer): PeerTraffic => {
      const c = this.exchange.countersOf(peer);
      return {
        peer,
        connected: connected.has(peer),
        lastSeen: Math.max(c.lastSeen, this.seen.get(peer) ?? 0),
        framesIn: c.framesIn,
        framesOut: c.framesOut,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        rejections: { ...c.rejectedIn },
        sendFailures: c.sendFailures,
      };
    });
  }

  /** Announcement counters by propagating peer (valid ones received, refusals by reason). */
  announcementCounters(): AnnouncementPeerCounters[] {
    return this.announcer?.counters() ?? [];
  }

  /** Frame counters with the reasons peers refused our frames (`rejectedByRemote`), beyond `traffic()`. */
  exchangeCounters(): ReturnType<ModelExchange['counters']> {
    return this.exchange.counters();
  }

  /** The PeerId of `peer`, parsed once per peer (sends to a neighbour repeat every round). */
  private peerIdOf(peer: string): PeerId {
    let id = this.peerIds.get(peer);
    if (id === undefined) {
      id = parsePeer(peer);
      this.peerIds.set(peer, id);
    }
    return id;
  }

  private onConnectionEvent(evt: CustomEvent<PeerId>): void {
    const id = evt.detail.toString();
    this.seen.set(id, this.now());
    // A neighbour's first send needs its PeerId: libp2p's own saves parsing the string (base58 and multihash
    // decode, ~0.1 ms each; 4,000 first sends in a 500-peer 8-regular swarm).
    if (evt.type === 'peer:connect' && !this.peerIds.has(id)) this.peerIds.set(id, evt.detail);
  }
}

/** Build the network over `init.node`; nothing is registered until start(). */
export function libp2pNetwork(init: Libp2pNetworkInit): Libp2pNetwork {
  return new Libp2pNetwork(init);
}
