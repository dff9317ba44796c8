/**
 * The network seam (DESIGN.md "The seams", 2). The Peer talks only to this interface; protocols/
 * implements it with libp2p and topology-sim/virtual-net.ts in memory with a virtual clock. Frames cross
 * it encoded (protocols/codec.ts) so both implementations count the same bytes and reject the same input.
 */
import type { DecodedFrame } from '../protocols/codec.js';

/** A frame the network accepted (decoded and validated against our layout and swarm). */
export interface ReceivedFrame {
  /** Sender peer id (string form). */
  readonly from: string;
  readonly frame: DecodedFrame;
  /** Encoded size on the wire, bytes. */
  readonly bytes: number;
}

/** A small gossiped announcement (DESIGN.md "Wire protocol"); validated before delivery. */
export interface Announcement {
  readonly swarm: string;
  readonly round: number;
  readonly degree: number;
  readonly age: number;
  readonly algorithm: string;
  readonly layoutHash: string;
  readonly addresses: readonly string[];
  /** Optional MoDeST membership advertisement of the author (ALGORITHMS.md §3.3 AdvertiseMembership). */
  readonly membership?: MembershipAdvertisement;
}

/** A join or graceful leave; `index` counts the author's membership changes (the higher one wins). */
export interface MembershipAdvertisement {
  readonly change: 'join' | 'leave';
  /** Integer in 0..2³² − 1. */
  readonly index: number;
}

/** Traffic and rejection counters for one remote peer. */
export interface PeerTraffic {
  readonly peer: string;
  readonly connected: boolean;
  /** Epoch ms of the last frame, announcement or connection event; 0 if never. */
  readonly lastSeen: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Rejected inbound frames by reason (codec RejectReason, or inbox reasons such as 'duplicate', 'inbox-full'). */
  readonly rejections: Readonly<Record<string, number>>;
  readonly sendFailures: number;
}

export interface SendOptions { signal?: AbortSignal }
export interface CollectOptions { signal?: AbortSignal }

export interface Network {
  /** This peer's id (string form of the libp2p PeerId, or the virtual id). */
  readonly selfId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Push one encoded frame to `to`. Resolves when the receiver has read the whole frame; rejects with a
   * typed error (unreachable, timeout, aborted). Honours backpressure.
   */
  send(to: string, frame: Uint8Array, options?: SendOptions): Promise<void>;
  /**
   * Synchronous rounds: wait until frames keyed (round, step) from every id in `from` are in the inbox, or
   * until the signal aborts (the round timeout), then remove and return those that arrived, sorted by sender
   * id. Frames of this key from peers outside `from` are returned too (a neighbour list may lag).
   */
  collect(round: number, step: number, from: readonly string[], options?: CollectOptions): Promise<ReceivedFrame[]>;
  /** Drop buffered frames of rounds before `round` (they can never be collected). */
  discardBefore(round: number): void;
  /** Asynchronous mode: `listener` gets every accepted frame instead of the inbox. Returns an unsubscribe. */
  onFrame(listener: (frame: ReceivedFrame) => void): () => void;
  /** Peers we currently hold a connection to. */
  connectedPeers(): string[];
  /** Round-trip time in ms; rejects if unreachable within the signal's deadline. */
  ping(peer: string, options?: SendOptions): Promise<number>;
  /** Publish our announcement on the swarm topic. */
  announce(message: Announcement): Promise<void>;
  /** Receive validated announcements of other peers. Returns an unsubscribe. */
  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void;
  /** Per-peer counters, including peers no longer connected. */
  traffic(): PeerTraffic[];
}
