/**
 * Model-sized vectors reused across rounds (issue 16 item 4). A simulator allocating a fresh Float32Array per
 * peer and round for the training output makes V8 run old-generation collections whose cost grows with the
 * whole heap (N peers), once per some MB allocated (∝ N): round time grew as N². With a bank the simulator's
 * round allocates no model-sized vector once the bank is warm.
 *
 * Ownership. A vector is recycled only when everyone who keeps it past the current synchronous step has said so:
 * - `take(length)` hands out a vector nobody holds (recycled or new; stale contents), counted 0. A taken vector
 *   that is never held (an aborted training task's output, an `afterTrain` input) is simply garbage collected.
 * - A keeper calls `hold(v)` when it stores v and `release(v)` when it drops it; at 0 holds v goes back to the
 *   free list and the next `take` may overwrite it. Only vectors this bank handed out are counted: hold and
 *   release of any other vector (initial weights, an aggregator's own result) do nothing, so those are never
 *   recycled.
 * The keepers (the only ones that may keep a bank vector past a synchronous step) are node/peer.ts (its state
 * vector: held from assignment until replaced) and the simulator's round collector (topology-sim/run-rounds.ts:
 * a round's vectors from the report until the round's record is written and its evaluations answered). A
 * worker-pool task copies its weights when dispatched, while the state still holds them; an encoded frame
 * copies the values when sent. A round summary's lazy `modelHash` reads its vector: with a bank, read it
 * before the round is released (the simulator reads none; the daemon runs without a bank); a later first read throws
 * (model-hash.ts guardModelHash).
 */

/** Size-keyed free list of Float32Arrays with hold counts (see the module comment). */
export class VectorBank {
  private readonly free = new Map<number, Float32Array[]>();
  /** Hold counts of the vectors this bank handed out and that are not free. */
  private readonly holds = new WeakMap<Float32Array, number>();
  /** How often each vector was handed out: a keeper that did not hold it sees the count move when it is reused. */
  private readonly takes = new WeakMap<Float32Array, number>();
  private created = 0;
  private reused = 0;

  /** A vector of `length` that nobody holds: a recycled one (stale contents) or a new one (zeros). */
  take(length: number): Float32Array {
    const v = this.free.get(length)?.pop();
    if (v !== undefined) this.reused++;
    else this.created++;
    const out = v ?? new Float32Array(length);
    this.holds.set(out, 0);
    this.takes.set(out, (this.takes.get(out) ?? 0) + 1);
    return out;
  }

  /** One more keeper of `v` (no-op for a vector this bank did not hand out). */
  hold(v: Float32Array): void {
    const n = this.holds.get(v);
    if (n !== undefined) this.holds.set(v, n + 1);
  }

  /** One keeper less; at none `v` is free for the next take (no-op for a vector this bank did not hand out). */
  release(v: Float32Array): void {
    const n = this.holds.get(v);
    if (n === undefined) return;
    if (n <= 0) throw new Error(`VectorBank.release: a vector of ${v.length} elements released more often than held (a keeper released it twice)`);
    if (n > 1) { this.holds.set(v, n - 1); return; }
    this.holds.delete(v);
    let list = this.free.get(v.length);
    if (list === undefined) { list = []; this.free.set(v.length, list); }
    list.push(v);
  }

  /** How often `v` was handed out (0 for other vectors): unchanged since a reader looked means not reused since. */
  generation(v: Float32Array): number { return this.takes.get(v) ?? 0; }

  /** Whether `v` is a bank vector someone holds or was handed out (false once it is free again). */
  isOut(v: Float32Array): boolean { return this.holds.has(v); }

  /** Vectors created and reused so far, and free now (benchmarks print them). */
  stats(): { created: number; reused: number; free: number } {
    let free = 0;
    for (const l of this.free.values()) free += l.length;
    return { created: this.created, reused: this.reused, free };
  }
}
