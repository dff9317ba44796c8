import '../../../node/polyfill.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Uint8ArrayList } from 'uint8arraylist';
import { deadline } from '../../../node/deadline.js';
import { createMurmurNode } from '../../../protocols/libp2p.js';
import { piecesReleased, releaseConsumedPieces } from '../../../protocols/list-release.js';

/** The array of pieces a uint8arraylist keeps (its `bufs`). */
const piecesOf = (list: unknown): unknown[] => (list as { bufs: unknown[] }).bufs;

/** A list class of uint8arraylist's shape that is not the one of this package (as yamux bundles its own). */
class OtherList {
  bufs: Uint8Array[] = [];
  length = 0;
  append(b: Uint8Array): void { this.bufs.push(b); this.length += b.byteLength; }
  consume(bytes: number): void {
    if (bytes === this.length) { this.bufs = []; this.length = 0; return; }
    this.length -= bytes;
  }
}

describe('lists that let go of consumed pieces (list-release.ts)', () => {
  it("empties the array a consumed list held, so no old array keeps received pieces alive", () => {
    const list = new Uint8ArrayList(Uint8Array.of(1, 2), Uint8Array.of(3));
    const held = piecesOf(list);
    list.consume(list.byteLength);
    assert.equal(held.length, 0, 'the array of the consumed pieces still points at them');
    assert.equal(list.byteLength, 0);
    list.append(Uint8Array.of(9, 8));
    assert.deepEqual([...list.subarray()], [9, 8]);
  });

  it('leaves partial consumes and taken sublists as uint8arraylist makes them', () => {
    const list = new Uint8ArrayList(Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5));
    const whole = list.sublist();
    const tail = list.sublist(2);
    list.consume(4);
    assert.deepEqual([...list.subarray()], [5]);
    list.consume(1);
    assert.deepEqual([...whole.subarray()], [1, 2, 3, 4, 5]);
    assert.deepEqual([...tail.subarray()], [3, 4, 5]);
    list.consume(0);
    assert.equal(list.byteLength, 0);
  });

  it("installs itself on a muxer's own list class, and leaves other shapes alone", () => {
    const inner = (): { protocol: string; createStreamMuxer(): unknown } => ({ protocol: '/x', createStreamMuxer: () => ({ decoder: { buffer: new OtherList() } }) });
    const muxer = piecesReleased(inner as never)(undefined).createStreamMuxer(undefined as never) as unknown as { decoder: { buffer: OtherList } };
    const list = muxer.decoder.buffer;
    list.append(Uint8Array.of(1));
    const held = list.bufs;
    list.consume(1);
    assert.equal(held.length, 0);
    assert.equal(releaseConsumedPieces({ consume() {} }), false);
    assert.equal(releaseConsumedPieces(null), false);
  });

  it("reaches the uint8arraylist yamux bundles in a node's connections", async () => {
    const a = await createMurmurNode({ transport: 'memory', seed: 'release-a', preset: 'swarm', announcements: false });
    const b = await createMurmurNode({ transport: 'memory', seed: 'release-b', preset: 'swarm', announcements: false });
    try {
      const conn = await a.dial(b.getMultiaddrs()[0]!, { signal: deadline(30_000) });
      const decoderList = (conn as unknown as { muxer?: { decoder?: { buffer?: { append(b: Uint8Array): void; consume(n: number): void } } } }).muxer?.decoder?.buffer;
      assert.ok(decoderList !== undefined, "yamux's frame decoder list is not where piecesReleased looks (muxer.decoder.buffer)");
      decoderList.append(Uint8Array.of(1, 2, 3));
      const held = piecesOf(decoderList);
      decoderList.consume(3);
      assert.equal(held.length, 0, "yamux's list class still keeps consumed pieces in its old array");
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('lets an iteration under way see every piece though the list is consumed meanwhile, and releases again after it', () => {
    const list = new Uint8ArrayList(Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3));
    const seen: number[] = [];
    for (const piece of list) {
      seen.push(piece[0]!);
      if (seen.length === 1) list.consume(list.byteLength); // a reader dropping the rest mid-iteration
    }
    assert.deepEqual(seen, [1, 2, 3]);
    list.append(Uint8Array.of(4));
    for (const piece of list) if (piece[0] === 4) break; // an iteration left early ends too
    const held = piecesOf(list);
    list.consume(list.byteLength);
    assert.equal(held.length, 0, 'a consume after the iterations ended no longer releases in place');
  });
});
