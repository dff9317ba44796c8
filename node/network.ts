/**
 * The network seam (DESIGN.md "The seams", 2), in the peer's own types: what it sends (OutgoingFrame) and
 * what it receives (ReceivedFrame). protocols/libp2p-network.ts implements it over libp2p and
 * topology-sim/virtual/network.ts in memory with a virtual clock; each encodes and decodes inside itself with
 * protocols/codec.ts and files frames through the one receive path (protocols/receiver.ts), so both count the
 * same bytes and reject the same input. Both pass test/integration/network-compliance.test.ts.
 */

/** Wire encodings of a dense payload: f32 (exact), f16, q8 (per-tensor affine), top-k (sparse, 10 % kept). */
export type WireEncoding = 'f32' | 'f16' | 'q8' | 'topk';
/** Every WireEncoding, for validating algorithm parameters. */
export const WIRE_ENCODINGS: readonly WireEncoding[] = Object.freeze(['f32', 'f16', 'q8', 'topk']);

/** A peer's membership status in a MoDeST view: joined, or left gracefully (ALGORITHMS.md §3.3). */
export type MembershipStatus = 'join' | 'leave';

/**
 * One membership view entry (§3.3 `pk → (lastActiveRound, (membershipIndex, JOIN|LEAVE))`). `lastActive` is a
 * sample index; `index` counts the peer's own membership changes, so a newer advertisement wins.
 */
export interface ViewEntry {
  readonly lastActive: number;
  readonly index: number;
  readonly status: MembershipStatus;
}

/** What a frame says about its sender's model, beside the payload (the swarm and layout are the network's own). */
export interface FrameMeta {
  /** Round (sample index for MoDeST). */
  readonly round: number;
  /** Gossip step within the round. */
  readonly step: number;
  /** The sender's degree (Metropolis–Hastings weights). */
  readonly degree: number;
  /** The sender's model age or sample count. */
  readonly age: number;
}

/**
 * What the peer sends: a dense model (or an aggregate, MoDeST) in the exchange layout, or per-tensor rankings
 * (FRL); optionally its membership view (MoDeST piggybacks it on every frame). The network encodes it; a
 * frame object sent to several peers is encoded once, so build one per push and do not mutate it afterwards.
 */
export type OutgoingFrame = FrameMeta & (
  | {
    readonly kind: 'model' | 'aggregate'; readonly values: Float32Array; readonly encoding: WireEncoding; readonly view?: Iterable<readonly [string, ViewEntry]>;
    /** Where to encode it (simulations recycle frame buffers: node/frame-buffers.ts); default a new buffer. */
    readonly buffer?: (byteLength: number) => Uint8Array;
  }
  | { readonly kind: 'ranking'; readonly rankings: readonly Uint32Array[]; readonly view?: Iterable<readonly [string, ViewEntry]> }
);

/** A frame the network accepted: decoded and validated against our layout and swarm. */
export interface ReceivedFrame extends FrameMeta {
  /** Sender peer id (string form). */
  readonly from: string;
  readonly kind: 'model' | 'ranking' | 'aggregate';
  /** Encoded size on the wire, bytes. */
  readonly bytes: number;
  /** Dense parameters of the exchange layout (f32, f16, q8 model and aggregate frames); null otherwise. */
  readonly values: Float32Array | null;
  /** For top-k frames: the kept coordinates (ascending) and their values; null otherwise. */
  readonly sparse: { readonly indices: Uint32Array; readonly values: Float32Array } | null;
  /** For ranking frames: one permutation per score tensor, in layout order; null otherwise. */
  readonly rankings: Uint32Array[] | null;
  /** The sender's membership view (ascending ids) when it sent one; null when the frame carries none. */
  readonly view: ReadonlyArray<readonly [string, ViewEntry]> | null;
  /** Why a carried view was unreadable ("reason: detail"); the frame itself was valid. Null otherwise. */
  readonly viewProblem: string | null;
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
  /**
   * The bound this network itself puts on every send, ms: by then a send has settled (a timeout rejects
   * with SendTimeoutError). Unset when it has none or does not say; an engine whose own per-send deadline
   * is no shorter then needs none (node/engine/steps.ts).
   */
  readonly sendTimeoutMs?: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Encode `frame` (once per frame object) and push it to `to`. Resolves with the encoded size in bytes when
   * the receiver has accepted the whole frame; rejects with a typed error (unreachable, timeout, aborted,
   * refused by the receiver). Honours backpressure.
   */
  send(to: string, frame: OutgoingFrame, options?: SendOptions): Promise<number>;
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
  /**
   * Round-trip time in ms; rejects if unreachable within the signal's deadline, or with PeerBusyError
   * (node/errors.ts) if the peer is connected but the ping stream could not run (present, not gone).
   */
  ping(peer: string, options?: SendOptions): Promise<number>;
  /** Publish our announcement on the swarm topic. */
  announce(message: Announcement): Promise<void>;
  /** Receive validated announcements of other peers. Returns an unsubscribe. */
  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void;
  /** Per-peer counters, including peers no longer connected. */
  traffic(): PeerTraffic[];
}
