import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveBuffers } from '../../../node/receive-buffers.js';

describe('receive buffers', () => {
  it('lends a buffer again only once the peer is past the round of the frame that held it', () => {
    let finished = 0; // the peer's last finished round
    const buffers = new ReceiveBuffers(4, (round) => finished < round);
    const a = buffers.take(1), b = buffers.take(1);
    assert.notEqual(a, b);
    assert.equal(a.length, 4);
    // Round 1 is still being read: a frame of round 2 gets a new buffer.
    const c = buffers.take(2);
    assert.ok(c !== a && c !== b);
    finished = 1;
    // Round 1's two buffers are free; round 2's is not.
    const d = buffers.take(3), e = buffers.take(3), f = buffers.take(3);
    assert.deepEqual(new Set([d, e]), new Set([a, b]));
    assert.ok(f !== c && f !== a && f !== b);
    assert.deepEqual(buffers.stats(), { created: 4, reused: 2, lent: 4 });
  });

  it('frees every buffer of a stopped peer', () => {
    let running = true;
    const buffers = new ReceiveBuffers(2, () => running);
    const lent = [buffers.take(5), buffers.take(6)];
    running = false;
    assert.ok(lent.includes(buffers.take(7)));
    assert.deepEqual(buffers.stats(), { created: 2, reused: 1, lent: 1 });
  });

  it('lends a buffer one peer freed to another peer of the swarm when they share a free list', () => {
    const free: Float32Array[] = [];
    let aFinished = 0;
    const a = new ReceiveBuffers(3, (round) => aFinished < round, free);
    const b = new ReceiveBuffers(3, () => true, free);
    // A burst: three frames of round 1 at a.
    const burst = new Set([a.take(1), a.take(1), a.take(1)]);
    aFinished = 1;
    // a's next loan frees its three round-1 buffers into the shared list and takes one of them back.
    assert.ok(burst.has(a.take(2)));
    assert.equal(free.length, 2);
    // b's frames get the other two instead of new arrays.
    assert.ok(burst.has(b.take(1)) && burst.has(b.take(1)));
    assert.deepEqual(b.stats(), { created: 0, reused: 2, lent: 2 });
    assert.deepEqual(a.stats(), { created: 3, reused: 1, lent: 1 });
  });
});
