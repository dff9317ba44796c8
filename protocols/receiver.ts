/**
 * The one receive path of both networks (DESIGN.md "The seams", 2): a frame that arrived from a peer, over a
 * libp2p stream (model-exchange.ts) or a virtual link (topology-sim/virtual/network.ts), is accepted here for
 * our swarm and layout: decoded and validated by the codec, turned into the peer's ReceivedFrame, filed in the
 * bounded Inbox (or handed to the asynchronous listeners) and counted per peer, by reason when refused. The
 * stream-level refusals that never reach a decoder ('busy', 'oversized' unread, 'stalled', 'aborted') are
 * counted here too, so one table answers "what did this peer send us".
 */
import type { Layout } from '../aggregation/layout.js';
import type { ReceivedFrame } from '../node/network.js';
import { decodeFrame, DEFAULT_FRAME_LIMITS, type FrameBytes, type FrameHeader, type FrameLimits } from './codec.js';
import { silentLogger, type Logger } from './constants.js';
import { toReceivedFrame } from './frames.js';
import { Inbox, type InboxCollectOptions } from './inbox.js';
import type { AckRejectReason, InboundRejectReason } from './reasons.js';

/** Options of a receiver. */
export interface ReceiverInit {
  /** Our swarm id: frames of other swarms are refused ('foreign-swarm'). */
  swarm: string;
  /** Our exchange layout: frames of another layout are refused ('foreign-layout'). */
  layout: Layout;
  /** Receiver limits; default DEFAULT_FRAME_LIMITS. */
  limits?: FrameLimits;
  /** Inbox byte bound; default DEFAULT_INBOX_MAX_BYTES. */
  inboxMaxBytes?: number;
  /** Copy each accepted frame before decoding (the virtual network shares the sender's buffer); default false. */
  copyFrames?: boolean;
  /**
   * Where the dense values of a frame from `from` go, asked once its header passed the codec's checks
   * (decodeFrame's `into`) and only if the inbox would take the frame (not stale, not a duplicate, room left):
   * an array of layout.size floats that the caller owns and hands over with the frame (its `values`), or
   * undefined for a new array. It must be a buffer nobody reads: an f16 or q8 frame refused for a non-finite
   * value leaves part of its values in it (and is handed back through the hook's `refused`, if it has one).
   * Default: a new array for every frame. Providers: node/receive-buffers.ts (per round), receive-lender.ts
   * (a bank's vectors, released by the frame's consumer).
   */
  receiveBuffer?: ReceiveBufferHook;
  logger?: Logger;
  /** Clock of `lastSeen` (epoch ms, or virtual ms); default Date.now. */
  now?: () => number;
}

/** Where an accepted frame's dense values go (`ReceiverInit.receiveBuffer`). */
export interface ReceiveBufferHook {
  (from: string, header: FrameHeader): Float32Array | undefined;
  /**
   * Optional: the frame that got `buffer` was refused after all (a non-finite f16/q8 payload, or the inbox);
   * nobody but the decoder saw it, so a lending provider may take it back. Not called after a decoder error
   * (whatever broke may still refer to the buffer).
   */
  refused?(buffer: Float32Array): void;
}

/** What we received from one peer. */
export interface InboundCounters {
  /** When its last frame arrived (accepted or refused after reading); 0 if never. */
  readonly lastSeen: number;
  readonly framesIn: number;
  readonly bytesIn: number;
  /** Refused frames by reason. */
  readonly rejectedIn: Readonly<Partial<Record<InboundRejectReason, number>>>;
}

/** The outcome of `accept`: accepted, or the reason replied to the sender with a detail for the log. */
export type AcceptOutcome = 'accepted' | { readonly reason: AckRejectReason; readonly detail: string };

/** What a collect resolves with. */
export interface CollectedFrames {
  /** Frames of the key, those of unlisted senders included, sorted by sender id. */
  readonly frames: ReceivedFrame[];
  readonly timedOut: boolean;
  /** Listed senders without a frame, sorted. */
  readonly missing: string[];
}

/** What model-exchange needs of a receive path. */
export type FrameReceiver = Pick<Receiver, 'accept' | 'refuse' | 'countersOf' | 'senders'>;

/**
 * A receive path that answers every frame with `outcome` and keeps nothing: for senders that must run the
 * protocol but receive no models (fuzzers, benchmark dialers) and for targets that time raw transfer.
 */
export function fixedReceiver(outcome: AcceptOutcome): FrameReceiver {
  return {
    accept: () => outcome,
    refuse: () => {},
    countersOf: () => ({ lastSeen: 0, framesIn: 0, bytesIn: 0, rejectedIn: {} }),
    senders: () => [],
  };
}

interface MutableCounters { lastSeen: number; framesIn: number; bytesIn: number; rejectedIn: Partial<Record<InboundRejectReason, number>> }

/** The receive path of one peer. */
export class Receiver {
  private readonly inbox: Inbox<ReceivedFrame>;
  private readonly peers = new Map<string, MutableCounters>();
  private readonly limits: FrameLimits;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly init: ReceiverInit) {
    this.limits = init.limits ?? DEFAULT_FRAME_LIMITS;
    this.now = init.now ?? Date.now;
    this.log = (init.logger ?? silentLogger).child({ component: 'receiver' });
    this.inbox = new Inbox<ReceivedFrame>({ maxBytes: init.inboxMaxBytes, logger: this.log });
  }

  /**
   * Decode, validate, file and count one whole frame from `from` (one array, or the chunks it arrived in).
   * Never throws (a decoder bug counts as 'internal').
   */
  accept(from: string, frame: FrameBytes): AcceptOutcome {
    const stats = this.countersFor(from);
    stats.lastSeen = this.now();
    const bytes = this.init.copyFrames === true ? frame.slice() : frame;
    let outcome: AcceptOutcome;
    const hook = this.init.receiveBuffer;
    let taken: Float32Array | undefined;
    try {
      // A buffer only for a frame the inbox would take: a duplicate or stale frame must not land in one.
      const into = hook === undefined ? undefined
        : (h: FrameHeader) => (this.inbox.wouldAccept(from, h.round, h.step, bytes.byteLength) ? (taken = hook(from, h)) : undefined);
      const decoded = decodeFrame(bytes, { layout: this.init.layout, swarm: this.init.swarm, limits: this.limits }, into === undefined ? {} : { into });
      if (!decoded.ok) outcome = { reason: decoded.reason, detail: decoded.detail };
      else {
        const { round, step } = decoded.frame.header;
        const put = this.inbox.put(from, round, step, bytes.byteLength, toReceivedFrame(from, decoded.frame, bytes.byteLength));
        outcome = put === 'accepted' ? put : { reason: put, detail: `round ${round} step ${step}` };
      }
      if (outcome !== 'accepted' && taken !== undefined) hook!.refused?.(taken);
    } catch (err) {
      // A taken buffer is not handed back: whatever broke may still refer to it.
      this.log.error({ peer: from, err }, 'decode threw; counted as internal');
      outcome = { reason: 'internal', detail: String(err) };
    }
    if (outcome === 'accepted') {
      stats.framesIn++;
      stats.bytesIn += bytes.byteLength;
    } else this.count(stats, from, outcome.reason, outcome.detail);
    return outcome;
  }

  /** Count a frame refused before it could be decoded ('busy', 'oversized', 'stalled', 'aborted'). */
  refuse(from: string, reason: InboundRejectReason, detail: string): void {
    this.count(this.countersFor(from), from, reason, detail);
  }

  /**
   * Synchronous rounds: wait for (round, step) frames of every id in `from` or the deadline (`options.signal`),
   * then take them all; rejects with AbortError when `options.stop` aborts. See Inbox.collect.
   */
  async collect(round: number, step: number, from: readonly string[], options: InboxCollectOptions = {}): Promise<CollectedFrames> {
    const r = await this.inbox.collect(round, step, from, options);
    return { frames: r.items.map((i) => i.item), timedOut: r.timedOut, missing: r.missing };
  }

  /** Drop buffered frames of rounds before `round`. */
  discardBefore(round: number): void {
    this.inbox.discardBefore(round);
  }

  /** Asynchronous mode: every accepted frame goes to `listener` instead of the inbox. Returns an unsubscribe. */
  onFrame(listener: (frame: ReceivedFrame) => void): () => void {
    return this.inbox.onItem((i) => listener(i.item));
  }

  /** Counters of one peer (zeros if never heard from). */
  countersOf(peer: string): InboundCounters {
    const c = this.peers.get(peer);
    return c === undefined ? { lastSeen: 0, framesIn: 0, bytesIn: 0, rejectedIn: {} } : { ...c, rejectedIn: { ...c.rejectedIn } };
  }

  /** Every peer we received from (or refused), sorted. */
  senders(): string[] {
    return [...this.peers.keys()].sort();
  }

  private count(stats: MutableCounters, from: string, reason: InboundRejectReason, detail: string): void {
    stats.rejectedIn[reason] = (stats.rejectedIn[reason] ?? 0) + 1;
    this.log.trace({ peer: from, reason, detail }, 'frame rejected');
  }

  private countersFor(peer: string): MutableCounters {
    let c = this.peers.get(peer);
    if (c === undefined) {
      c = { lastSeen: 0, framesIn: 0, bytesIn: 0, rejectedIn: {} };
      this.peers.set(peer, c);
    }
    return c;
  }
}
