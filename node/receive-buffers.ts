/**
 * Model-sized receive buffers reused across rounds (issue 16; the receiving twin of frame-buffers.ts). Over
 * libp2p every accepted model frame was decoded into a new Float32Array that the receiving peer holds until it
 * aggregates the frame's round: long enough to outlive two scavenges, so the array's memory is promoted and
 * counts towards V8's external-memory limit until a mark-compact of the whole heap (500 libp2p nodes hold
 * ~250 MB) frees it. At N = 500 MLP that was 50 MB of such arrays per round (protocols/docs/exchange-tuning.md
 * §13, §16). The short-lived buffers of the frame path (noise's ciphertext and plaintext, the joined frame)
 * die young and are freed by scavenges; these did not.
 *
 * Ownership. A buffer is lent to one accepted frame of round r (the receiver's `receiveBuffer` hook,
 * protocols/receiver.ts, asks only for a frame the inbox takes). It may be decoded into again once the
 * receiving peer may no longer read frames of round r (`mayRead(r)` false: it finished round r or stopped): a
 * synchronous engine reads a round's frames only while in it and keeps nothing of them after its aggregation
 * (the contract frame-buffers.ts relies on for the sender's side). So only for peers of such an engine.
 *
 * Freed buffers may go to a free list shared by the peers of one swarm (as its VectorBank is): a peer's own
 * pool would grow to the most frames it ever held at once, a maximum that keeps creeping up over the rounds,
 * and every buffer added late is a long-lived model-sized array more (promoted, counted towards V8's
 * external-memory limit; protocols/docs/exchange-tuning.md §19). Shared, the swarm's buffers follow the frames
 * in flight across all peers, which settle within the first rounds.
 */

/** A receiving peer's buffers: lent per frame, free again once the peer is past the frame's round. */
export class ReceiveBuffers {
  private readonly loans: Array<{ readonly buffer: Float32Array; readonly round: number }> = [];
  private created = 0;
  private reused = 0;

  /**
   * `size`: floats per buffer (the layout's size). `mayRead(round)`: whether the peer may still read a frame
   * of `round` it received. `free`: where freed buffers go and new loans come from; pass one array to the
   * ReceiveBuffers of every peer of a swarm with this `size` to share them (module comment). Default: its own.
   */
  constructor(private readonly size: number, private readonly mayRead: (round: number) => boolean, private readonly free: Float32Array[] = []) {}

  /** A buffer for an accepted frame of `round`: one whose frame's round the peer is past, or a new one. */
  take(round: number): Float32Array {
    for (let k = 0; k < this.loans.length; k++) {
      const loan = this.loans[k]!;
      if (this.mayRead(loan.round)) continue;
      this.loans.splice(k--, 1);
      this.free.push(loan.buffer);
    }
    let buffer = this.free.pop();
    if (buffer === undefined) { buffer = new Float32Array(this.size); this.created++; } else this.reused++;
    this.loans.push({ buffer, round });
    return buffer;
  }

  /** Buffers created and reused so far, and those lent now. */
  stats(): { created: number; reused: number; lent: number } {
    return { created: this.created, reused: this.reused, lent: this.loans.length };
  }
}
