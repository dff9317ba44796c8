/**
 * The in-memory side of the network seam (DESIGN.md "The seams", 2): one `VirtualNet` per simulation, one
 * `VirtualNetwork` (node/network.ts's `Network`) per peer. A send becomes an event of the sender at
 * now + latency + bytes / bandwidth (links.ts); when it fires, the receiver takes it through the same
 * receive path as the libp2p network (protocols/receiver.ts: decode for our layout and swarm, inbox or
 * onFrame listeners, per-peer counters by reason), and the sender's promise settles with the verdict. No timers, sockets or streams: a peer costs a few small maps.
 *
 * Semantics worth knowing:
 * - A lost message (DropModel) and one whose transfer would outlast the send deadline never arrive; the
 *   sender rejects with SendTimeoutError at the deadline. The caller's signal (or stop()) rejects at once
 *   with AbortError and cancels the transfer.
 * - Offline peers (`setOnline`, for churn): a send to one rejects with PeerUnreachableError after the
 *   link's latency (SendTimeoutError at the send deadline if that comes first); a frame whose receiver went offline in flight is lost (SendFailedError at delivery); an
 *   offline sender's sends fail at once. All count as send failures.
 * - Connections: `connect()` links two peers (the swarm connects its topology's edges); a delivered frame
 *   connects its two ends too, as a libp2p dial would. `connectedPeers()` lists connected online peers.
 * - Announcements go to every online started peer of the net (gossipsub floods the swarm topic), or only to
 *   connected ones with `announceTo: 'connected'`; each arrives after its link's latency, validated.
 * - Times (`lastSeen`) are virtual ms. Decoded frames are views over the sender's buffer (zero-copy, like
 *   codec views) unless `copyFrames` is set; aggregators never mutate their inputs (STYLE.md §4.3).
 */
import { setMaxListeners } from 'node:events';
import type { Layout } from '../../aggregation/layout.js';
import { AbortError } from '../../node/errors.js';
import type { Announcement, CollectOptions, Network, OutgoingFrame, PeerTraffic, ReceivedFrame, SendOptions } from '../../node/network.js';
import { decodeAnnouncement, encodeAnnouncement } from '../../protocols/announcements.js';
import type { FrameLimits } from '../../protocols/codec.js';
import { DEFAULT_COLLECT_TIMEOUT_MS, DEFAULT_PING_TIMEOUT_MS } from '../../protocols/constants.js';
import type { AckRejectReason, Logger } from '../../protocols/constants.js';
import { encodeOutgoing } from '../../protocols/frames.js';
import { Receiver } from '../../protocols/receiver.js';
import {
  InvalidAnnouncementError, NotStartedError, PeerUnreachableError, RemoteRejectedError, SendFailedError, SendTimeoutError,
} from '../../protocols/errors.js';
import { sampleLatency, transferMs } from './links.js';
import type { BandwidthModel, DropModel, LatencyModel, Link } from './links.js';
import type { VirtualEvent, VirtualScheduler } from './scheduler.js';

/**
 * What one peer's network needs of the shared medium (net.ts's VirtualNet implements it); declared here so
 * the medium imports its members, not the other way round.
 */
export interface VirtualMedium {
  readonly scheduler: VirtualScheduler;
  readonly latency: LatencyModel;
  readonly bandwidth: BandwidthModel;
  readonly drop: DropModel;
  readonly sendTimeoutMs: number;
  readonly limits: FrameLimits;
  readonly announceTo: 'all' | 'connected';
  readonly copyFrames: boolean;
  readonly inboxMaxBytes: number | undefined;
  readonly log: Logger;
  readonly size: number;
  member(index: number): VirtualNetwork | undefined;
  indexOf(id: string): number | undefined;
  isOnline(index: number): boolean;
}

/** What a peer's network checks frames and announcements against. */
export interface VirtualPeerInit {
  swarm: string;
  /** The exchange layout: frames of another layout are refused ('foreign-layout'). */
  layout: Layout;
}

/** Sending-side counters of one remote peer, as model-exchange keeps them, plus the link's message number (the receiver counts the other side). */
interface Counters {
  lastSeen: number;
  framesOut: number;
  bytesOut: number;
  rejectedByRemote: Partial<Record<AckRejectReason, number>>;
  sendFailures: number;
  /** Frames offered on the link to this peer so far: the message number of the next one. */
  sent: number;
  pings: number;
}

const newCounters = (): Counters => ({
  lastSeen: 0, framesOut: 0, bytesOut: 0, rejectedByRemote: {}, sendFailures: 0, sent: 0, pings: 0,
});

/** One peer's `Network` on the virtual net. */
export class VirtualNetwork implements Network {
  private readonly receiver: Receiver;
  private readonly counters = new Map<number, Counters>();
  private readonly connected = new Set<number>();
  private readonly announcementListeners = new Set<(from: string, message: Announcement) => void>();
  private stopController = new AbortController();
  /** Abort callbacks of the sends in flight: stop() calls them (cheaper than a listener per send on the stop signal). */
  private readonly sending = new Set<() => void>();
  private started = false;
  private announcements = 0;

  constructor(private readonly net: VirtualMedium, readonly selfId: string, readonly index: number, private readonly peer: VirtualPeerInit) {
    this.receiver = new Receiver({
      swarm: peer.swarm, layout: peer.layout, limits: net.limits, inboxMaxBytes: net.inboxMaxBytes, copyFrames: net.copyFrames,
      logger: net.log, now: () => net.scheduler.now(),
    });
  }

  /** Every send settles by then (see the module comment): lost, too slow or unanswered, it rejects at this bound. */
  get sendTimeoutMs(): number {
    return this.net.sendTimeoutMs;
  }

  isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopController = new AbortController();
    setMaxListeners(Infinity, this.stopController.signal);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const abort of [...this.sending]) abort();
    this.stopController.abort(new AbortError('network stopped'));
  }

  /** As `Network.send`: encodes with our swarm and layout (once per frame object); see the module comment for the failure semantics. */
  send(to: string, frame: OutgoingFrame, options: SendOptions = {}): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = encodeOutgoing(this.peer.swarm, this.peer.layout, frame);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.sendBytes(to, bytes, options);
  }

  /** Push bytes already encoded (tests of hostile senders); resolves with their size. */
  sendBytes(to: string, frame: Uint8Array, options: SendOptions = {}): Promise<number> {
    if (!this.started) return Promise.reject(new NotStartedError('virtual network'));
    const target = this.net.indexOf(to);
    if (target === undefined) return Promise.reject(new PeerUnreachableError(to, 'no virtual peer has this id'));
    const stats = this.countersOf(target);
    const message = stats.sent++;
    const { signal } = options;
    if (signal?.aborted === true) {
      stats.sendFailures++;
      return Promise.reject(new AbortError(`send to ${to} was aborted`));
    }
    const link: Link = { from: this.index, to: target };
    const s = this.net.scheduler;
    return new Promise<number>((resolve, reject) => {
      const done = (err: Error | null): void => {
        signal?.removeEventListener('abort', onAbort);
        this.sending.delete(onAbort);
        if (err === null) { resolve(frame.byteLength); return; }
        stats.sendFailures++;
        this.net.log.trace({ from: this.selfId, to, err: err.message }, 'virtual send failed');
        reject(err);
      };
      const onAbort = (): void => { event.cancel(); done(new AbortError(`send to ${to} was aborted`)); };
      const receiver = this.net.member(target)!;
      const latency = sampleLatency(this.net.latency, link, message);
      const timeout = this.net.sendTimeoutMs;
      const timedOut = (): void => done(new SendTimeoutError(to, timeout));
      let event: VirtualEvent;
      if (!this.net.isOnline(this.index)) {
        event = s.schedule(this.index, 0, () => done(new SendFailedError(to, 'this peer is offline')));
      } else if (!this.net.isOnline(target) || !receiver.started) {
        event = latency > timeout
          ? s.schedule(this.index, timeout, timedOut)
          : s.schedule(this.index, latency, () => done(new PeerUnreachableError(to, 'the peer is offline')));
      } else {
        const arrival = latency + transferMs(this.net.bandwidth, link, frame.byteLength);
        event = this.net.drop.dropped(link, message) || arrival > timeout
          ? s.schedule(this.index, timeout, timedOut)
          : s.schedule(this.index, arrival, () => done(this.deliver(receiver, stats, frame)));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sending.add(onAbort);
    });
  }

  /** As `Network.collect`; also rejects with AbortError if the network stops while waiting. No signal: a virtual DEFAULT_COLLECT_TIMEOUT_MS. */
  async collect(round: number, step: number, from: readonly string[], options: CollectOptions = {}): Promise<ReceivedFrame[]> {
    if (!this.started) throw new NotStartedError('virtual network');
    const signal = options.signal ?? this.net.scheduler.clock(this.index).timeout(DEFAULT_COLLECT_TIMEOUT_MS);
    const result = await this.receiver.collect(round, step, from, { signal, stop: this.stopController.signal });
    if (result.timedOut) this.net.log.debug({ peer: this.selfId, round, step, missing: result.missing }, 'collect timed out');
    return result.frames;
  }

  discardBefore(round: number): void {
    this.receiver.discardBefore(round);
  }

  onFrame(listener: (frame: ReceivedFrame) => void): () => void {
    return this.receiver.onFrame(listener);
  }

  connectedPeers(): string[] {
    const ids: string[] = [];
    for (const j of this.connected) if (this.net.isOnline(j)) ids.push(this.net.member(j)!.selfId);
    return ids.sort();
  }

  /** Round-trip time: the latency of both directions, in virtual ms. Rejects like Libp2pNetwork.ping. */
  ping(peer: string, options: SendOptions = {}): Promise<number> {
    if (!this.started) return Promise.reject(new NotStartedError('virtual network'));
    const target = this.net.indexOf(peer);
    if (target === undefined) return Promise.reject(new PeerUnreachableError(peer, 'no virtual peer has this id'));
    const clock = this.net.scheduler.clock(this.index);
    const signal = options.signal ?? clock.timeout(DEFAULT_PING_TIMEOUT_MS);
    const key = `ping-${this.countersOf(target).pings++}`;
    return new Promise<number>((resolve, reject) => {
      let event: VirtualEvent | null = null;
      const onAbort = (): void => {
        event?.cancel();
        const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';
        reject(options.signal !== undefined && !timedOut
          ? new AbortError(`ping of ${peer} was aborted`)
          : new PeerUnreachableError(peer, 'ping timed out'));
      };
      if (signal.aborted) { onAbort(); return; }
      signal.addEventListener('abort', onAbort, { once: true });
      if (!this.net.isOnline(this.index) || !this.net.isOnline(target)) return;
      const rtt = sampleLatency(this.net.latency, { from: this.index, to: target }, key) + sampleLatency(this.net.latency, { from: target, to: this.index }, key);
      event = this.net.scheduler.schedule(this.index, rtt, () => {
        signal.removeEventListener('abort', onAbort);
        resolve(rtt);
      });
    });
  }

  /** Validate and deliver our announcement (see the module comment); throws InvalidAnnouncementError. */
  async announce(message: Announcement): Promise<void> {
    if (!this.started) throw new NotStartedError('virtual network');
    const bytes = encodeAnnouncement(message);
    const own = decodeAnnouncement(bytes, this.peer.swarm);
    if (!own.ok) throw new InvalidAnnouncementError(own.reason, own.detail);
    if (!this.net.isOnline(this.index)) return;
    const key = `announce-${this.announcements++}`;
    for (let j = 0; j < this.net.size; j++) {
      if (j === this.index || (this.net.announceTo === 'connected' && !this.connected.has(j))) continue;
      const receiver = this.net.member(j)!;
      if (!this.net.isOnline(j) || !receiver.started) continue;
      const latency = sampleLatency(this.net.latency, { from: this.index, to: j }, key);
      this.net.scheduler.schedule(this.index, latency, () => receiver.receiveAnnouncement(this.index, this.selfId, bytes));
    }
  }

  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void {
    this.announcementListeners.add(listener);
    return () => { this.announcementListeners.delete(listener); };
  }

  /** Per-peer counters; the simulator reads them for every peer every round, so no copy is made twice. */
  traffic(): PeerTraffic[] {
    const peers = new Set<number>(this.counters.keys());
    for (const j of this.connected) peers.add(j);
    for (const id of this.receiver.senders()) peers.add(this.net.indexOf(id)!);
    const rows: PeerTraffic[] = [];
    for (const j of peers) {
      const c = this.counters.get(j);
      const peer = this.net.member(j)!.selfId;
      const r = this.receiver.countersOf(peer); // a copy already: its rejections are ours to hand out
      rows.push({
        peer,
        connected: this.connected.has(j) && this.net.isOnline(j),
        lastSeen: Math.max(c?.lastSeen ?? 0, r.lastSeen),
        framesIn: r.framesIn,
        framesOut: c?.framesOut ?? 0,
        bytesIn: r.bytesIn,
        bytesOut: c?.bytesOut ?? 0,
        rejections: r.rejectedIn,
        sendFailures: c?.sendFailures ?? 0,
      });
    }
    return rows.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }

  /** Reasons peers refused our frames, by peer id (what Libp2pNetwork.exchangeCounters reports as rejectedByRemote). */
  rejectedByRemote(): Record<string, Partial<Record<AckRejectReason, number>>> {
    const out: Record<string, Partial<Record<AckRejectReason, number>>> = {};
    for (const [j, c] of this.counters) if (Object.keys(c.rejectedByRemote).length > 0) out[this.net.member(j)!.selfId] = { ...c.rejectedByRemote };
    return out;
  }

  /** @internal Record a connection to peer index `j` (VirtualNet.connect). */
  link(j: number): void {
    if (j !== this.index) this.connected.add(j);
  }

  /** The arrival of one frame at `receiver`: null when accepted, else the sender's error (already counted there). */
  private deliver(receiver: VirtualNetwork, stats: Counters, frame: Uint8Array): Error | null {
    const to = receiver.selfId;
    if (!this.net.isOnline(receiver.index) || !receiver.started) return new SendFailedError(to, 'the peer went offline while the frame was in flight');
    const verdict = receiver.receive(this.index, this.selfId, frame);
    stats.lastSeen = this.net.scheduler.now();
    this.link(receiver.index);
    if (verdict !== 'accepted') {
      stats.rejectedByRemote[verdict] = (stats.rejectedByRemote[verdict] ?? 0) + 1;
      return new RemoteRejectedError(to, verdict);
    }
    stats.framesOut++;
    stats.bytesOut += frame.byteLength;
    return null;
  }

  /** One arriving frame, through the shared receive path: 'accepted' or the reason the sender is told. */
  private receive(from: number, fromId: string, frame: Uint8Array): 'accepted' | AckRejectReason {
    this.link(from);
    const outcome = this.receiver.accept(fromId, frame);
    return outcome === 'accepted' ? outcome : outcome.reason;
  }

  private receiveAnnouncement(from: number, fromId: string, bytes: Uint8Array): void {
    if (!this.started || !this.net.isOnline(this.index)) return;
    const decoded = decodeAnnouncement(bytes, this.peer.swarm);
    if (!decoded.ok) return;
    this.countersOf(from).lastSeen = this.net.scheduler.now();
    for (const listener of [...this.announcementListeners]) {
      try {
        listener(fromId, decoded.announcement);
      } catch (err) {
        this.net.log.error({ err, from: fromId }, 'announcement listener threw');
      }
    }
  }

  private countersOf(j: number): Counters {
    let c = this.counters.get(j);
    if (c === undefined) {
      c = newCounters();
      this.counters.set(j, c);
    }
    return c;
  }
}
