/**
 * Lists of received pieces that let go of them once consumed.
 *
 * uint8arraylist's `consume` of everything a list holds (what every reader of libp2p's frame path does once it
 * took a message: @libp2p/utils' read and write buffers and its length-prefixed decoder under noise, yamux's
 * frame decoder, our frame reader) replaces the list's array of pieces with a new one and leaves the old array
 * as it was, still pointing at the pieces. A connection's lists live long, so their arrays end up in V8's old
 * generation; an old array is only found dead by a mark-compact of the whole heap, and until then each
 * scavenge takes what it points at for alive (old-to-young pointers are roots of a scavenge). So every
 * ciphertext and plaintext that passed through such a list outlived two scavenges and was promoted, and its
 * memory counted towards V8's external-memory limit, which starts a mark-compact every 64 MB: one mid-run full
 * GC in a 100-peer logreg run, ~1.8 per round at 500 peers (protocols/docs/exchange-tuning.md §19).
 *
 * `releaseConsumedPieces` makes such a consume empty the array in place, so the old array holds nothing. Same
 * bytes, same results: sublist, slice and append copy a list's array; the one reader of the live array, the
 * list's own iterator (`yield* this.bufs`), is counted while it runs, and a consume during an iteration
 * replaces the array as upstream does, so that iteration still sees every piece. Installed on the
 * uint8arraylist of this package and, through `piecesReleased`, on the one yamux bundles (its own copy).
 */
import type { StreamMuxerFactory } from '@libp2p/interface';
import { preparedMuxers } from './muxer-hooks.js';
import { Uint8ArrayList } from 'uint8arraylist';

/** What `releaseConsumedPieces` relies on: uint8arraylist 2.x and 3.x keep their pieces in `bufs` and their size in `length`. */
interface PieceList {
  bufs: unknown[];
  length: number;
  consume(bytes: number): void;
  [Symbol.iterator](): Iterator<unknown>;
  /** Iterations of this list under way (set by the patched iterator). */
  [ITERATING]?: number;
}

const ITERATING = Symbol('murmur.iterating');

const patched = new WeakSet<object>();

/**
 * Make `consume` of every list of `list`'s class empty its array of pieces in place when it consumes them all
 * (module comment). Idempotent; a class of another shape (no `bufs` array, no `consume`) is left alone.
 * Returns whether `list`'s class releases its pieces now.
 */
export function releaseConsumedPieces(list: unknown): boolean {
  if (typeof list !== 'object' || list === null) return false;
  const proto = Object.getPrototypeOf(list) as Partial<PieceList> | null;
  if (proto === null) return false;
  if (patched.has(proto)) return true;
  const consume = proto.consume;
  if (typeof consume !== 'function' || !Array.isArray((list as Partial<PieceList>).bufs) || typeof (list as Partial<PieceList>).length !== 'number') return false;
  if (typeof proto[Symbol.iterator] === 'function') {
    // Upstream's `yield* this.bufs`, counted. An iterator abandoned without return() leaves its list counted:
    // that list just keeps upstream's consume.
    proto[Symbol.iterator] = function* (this: PieceList): Generator<unknown> {
      this[ITERATING] = (this[ITERATING] ?? 0) + 1;
      try {
        const bufs = this.bufs;
        for (let i = 0; i < bufs.length; i++) yield bufs[i];
      } finally {
        this[ITERATING]! -= 1;
      }
    };
  }
  proto.consume = function (this: PieceList, bytes: number): void {
    if (Math.trunc(bytes) === this.length && this.length > 0 && !(this[ITERATING]! > 0)) {
      this.bufs.length = 0;
      this.length = 0;
      return;
    }
    consume.call(this, bytes);
  };
  patched.add(proto);
  return true;
}

releaseConsumedPieces(new Uint8ArrayList());

/** A muxer factory whose muxers' frame decoders release consumed pieces (yamux 8 bundles its own uint8arraylist). */
export function piecesReleased<C>(inner: (components: C) => StreamMuxerFactory): (components: C) => StreamMuxerFactory {
  return preparedMuxers(inner, (muxer) => { releaseConsumedPieces((muxer as { decoder?: { buffer?: unknown } }).decoder?.buffer); });
}
