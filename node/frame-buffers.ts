/**
 * Encoded frames reused across rounds in simulations (issue 16 item 4; the twin of vector-bank.ts for the
 * wire side). Each peer encodes its model once per gossip step into a new model-sized buffer, and receivers
 * read it as views (zero-copy decode) until they aggregate; with 10,000 peers those allocations made V8 run
 * whole-heap collections ∝ N times per round.
 *
 * Ownership. A frame buffer belongs to its sender, which lends it to its sends of one frame. It may be
 * encoded into again once
 * - every send of the frame settled (delivered and decoded, refused, or cancelled: the network reads the
 *   bytes no more), and
 * - no target may read it any more: `FrameReaders.mayRead(target, round)` is false for each, i.e. the target
 *   stopped or finished the frame's round (a synchronous engine reads a round's frames only while in it and
 *   drops them when it ends; a frame that reaches a peer past its round is never read).
 * Until then the sender encodes its next frames into other (reused or new) buffers. A send that failed in a way
 * that may leave the bytes queued below the network (`heldAfterFailure`) ends its loan but its buffer is
 * never lent again (the garbage collector frees it once nothing holds it): loans stay bounded either way. `RecyclingNetwork` wraps
 * a peer's Network to do this on its sends; the simulator gives it only to peers whose engine keeps the
 * synchronous contract above (topology-sim/virtual-swarm.ts).
 */
import type { Announcement, CollectOptions, Network, OutgoingFrame, PeerTraffic, ReceivedFrame, SendOptions } from './network.js';

/** Who may still read a received frame (the simulator knows every peer's progress). */
export interface FrameReaders {
  /** Whether peer `id` may still read a frame of `round` it received (it runs and has not finished that round). */
  mayRead(id: string, round: number): boolean;
}

/**
 * Whether a send that failed with `err` may have left the frame's bytes queued where they are still read
 * (e.g. below a stream it aborted); default: none may (the virtual network reads nothing after it settles).
 */
export type HeldAfterFailure = (err: unknown) => boolean;

/** One frame's buffer while lent to its sends; `held`: a failed send may still read it, never lend it again. */
interface Loan { buffer: Uint8Array | null; readonly round: number; pending: number; readonly targets: string[]; held: boolean }

/** A peer's Network whose model frames are encoded into recycled buffers (see the module comment). */
export class RecyclingNetwork implements Network {
  private readonly loans: Loan[] = [];
  /** The frame being sent (an engine sends one frame object to all its targets in a row) and its loan. */
  private last: { frame: OutgoingFrame; lent: OutgoingFrame; loan: Loan } | null = null;
  private created = 0;
  private reused = 0;

  constructor(private readonly inner: Network, private readonly readers: FrameReaders, private readonly heldAfterFailure: HeldAfterFailure = () => false) {}

  get selfId(): string { return this.inner.selfId; }
  start(): Promise<void> { return this.inner.start(); }
  stop(): Promise<void> { return this.inner.stop(); }

  send(to: string, frame: OutgoingFrame, options?: SendOptions): Promise<number> {
    if (frame.kind === 'ranking') return this.inner.send(to, frame, options);
    if (this.last?.frame !== frame) {
      const loan: Loan = { buffer: null, round: frame.round, pending: 0, targets: [], held: false };
      this.loans.push(loan);
      this.last = { frame, lent: { ...frame, buffer: (byteLength) => (loan.buffer = this.bufferOf(byteLength)) }, loan };
    }
    const { lent, loan } = this.last;
    loan.pending++;
    loan.targets.push(to);
    const sent = this.inner.send(to, lent, options);
    sent.then(() => { loan.pending--; }, (err: unknown) => {
      loan.pending--;
      if (this.heldAfterFailure(err)) loan.held = true;
    });
    return sent;
  }

  /** A free buffer of `byteLength` from an earlier loan, or a new one. */
  private bufferOf(byteLength: number): Uint8Array {
    for (let k = 0; k < this.loans.length; k++) {
      const loan = this.loans[k]!;
      if (loan.pending > 0 || loan === this.last?.loan) continue;
      if (loan.targets.some((t) => this.readers.mayRead(t, loan.round))) continue;
      // Settled and unreadable: its buffer (if the right size) is ours again, and the loan ends either way.
      this.loans.splice(k--, 1);
      const b = loan.buffer;
      if (b !== null && !loan.held && b.byteLength === byteLength) { this.reused++; return b; }
    }
    this.created++;
    return new Uint8Array(byteLength);
  }

  /** Buffers created and reused so far, and loans outstanding. */
  stats(): { created: number; reused: number; loans: number } {
    return { created: this.created, reused: this.reused, loans: this.loans.length };
  }

  collect(round: number, step: number, from: readonly string[], options?: CollectOptions): Promise<ReceivedFrame[]> { return this.inner.collect(round, step, from, options); }
  discardBefore(round: number): void { this.inner.discardBefore(round); }
  onFrame(listener: (frame: ReceivedFrame) => void): () => void { return this.inner.onFrame(listener); }
  connectedPeers(): string[] { return this.inner.connectedPeers(); }
  ping(peer: string, options?: SendOptions): Promise<number> { return this.inner.ping(peer, options); }
  announce(message: Announcement): Promise<void> { return this.inner.announce(message); }
  onAnnouncement(listener: (from: string, message: Announcement) => void): () => void { return this.inner.onAnnouncement(listener); }
  traffic(): PeerTraffic[] { return this.inner.traffic(); }
}
