import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregatedRound, candidates, compareBytes, derivedSample, highestRound, mergeEntry, mergeView, modelsNeeded, sampleKey, sampleOrder,
  touch, trainedModelIndex, type View, type ViewEntry,
} from '../../../../../node/engine/modest/view.js';

const md5 = (b: Uint8Array): Uint8Array => createHash('md5').update(b).digest();
const utf8 = (id: string): Uint8Array => new TextEncoder().encode(id);
const join = (lastActive: number, index = 0): ViewEntry => ({ lastActive, index, status: 'join' });
const leave = (lastActive: number, index: number): ViewEntry => ({ lastActive, index, status: 'leave' });

describe('modest view merge (ALGORITHMS.md §3.3)', () => {
  it('takes an unknown peer as it comes', () => {
    assert.deepEqual(mergeEntry(undefined, leave(4, 2)), leave(4, 2));
  });

  it('keeps the larger lastActive whatever the indices', () => {
    // local (7, idx 3) vs remote (9, idx 1): lastActive max(7, 9) = 9; remote index 1 < 3 keeps local status.
    assert.deepEqual(mergeEntry(join(7, 3), leave(9, 1)), join(9, 3));
    assert.deepEqual(mergeEntry(join(9, 1), join(7, 1)), join(9, 1));
  });

  it('replaces status and index only when the remote index is larger', () => {
    assert.deepEqual(mergeEntry(join(5, 1), leave(2, 2)), leave(5, 2), 'a newer LEAVE wins');
    assert.deepEqual(mergeEntry(leave(5, 2), join(6, 2)), leave(6, 2), 'equal index: the local status stays');
    assert.deepEqual(mergeEntry(leave(5, 2), join(6, 3)), join(6, 3), 'a later re-join wins');
  });

  it('merges a whole view in place, skips kept ids and lists what changed', () => {
    const view: View = new Map([['a', join(1)], ['b', join(3)], ['me', join(2, 1)]]);
    const changed = mergeView(view, [['a', join(4)], ['b', join(2)], ['c', join(0)], ['me', leave(9, 5)]], (id) => id === 'me');
    assert.deepEqual(changed, ['a', 'c']);
    assert.deepEqual(view.get('a'), join(4));
    assert.deepEqual(view.get('b'), join(3), 'older lastActive ignored');
    assert.deepEqual(view.get('me'), join(2, 1), 'own entry untouched');
  });

  it('is order-independent: merging the same views in any order gives the same result', () => {
    const views: Array<Array<[string, ViewEntry]>> = [
      [['a', join(3, 1)], ['b', leave(2, 2)]], [['a', leave(1, 2)], ['c', join(5)]], [['b', join(7, 1)], ['c', join(4, 1)]],
    ];
    const merged = (order: number[]) => { const v: View = new Map(); for (const k of order) mergeView(v, views[k]!); return [...v].sort(); };
    assert.deepEqual(merged([0, 1, 2]), merged([2, 1, 0]));
    assert.deepEqual(merged([1, 0, 2]), merged([0, 2, 1]));
    // a: lastActive max(3, 1) = 3, index 2 (LEAVE) wins; b: max(2, 7) = 7, index 2 (LEAVE) wins; c: max(5, 4) = 5, index 1.
    assert.deepEqual(merged([0, 1, 2]), [['a', leave(3, 2)], ['b', leave(7, 2)], ['c', join(5, 1)]]);
  });

  it('touch raises lastActive of known peers only; highestRound is the maximum', () => {
    const view: View = new Map([['a', join(2)], ['b', join(6)]]);
    touch(view, 'a', 5);
    touch(view, 'b', 4);
    touch(view, 'zz', 9);
    assert.deepEqual([...view], [['a', join(5)], ['b', join(6)]]);
    assert.equal(highestRound(view), 6);
    assert.equal(highestRound(new Map()), 0);
  });
});

describe('modest candidates and sample order (ALGORITHMS.md §3.1, §8)', () => {
  it('drops left peers and those inactive for more than the threshold, adds self, sorts by id', () => {
    // round 10, threshold 3: lastActive ≥ 7 stays (7 is the boundary), 6 drops.
    const view: View = new Map([['d', join(7)], ['b', join(6)], ['c', leave(9, 1)], ['a', join(10)]]);
    assert.deepEqual(candidates(view, 10, 3), ['a', 'd']);
    assert.deepEqual(candidates(view, 10, 3, 'b'), ['a', 'b', 'd'], 'self is a candidate even when stale');
    assert.deepEqual(candidates(view, 10, 4), ['a', 'b', 'd']);
    assert.throws(() => candidates(view, -1, 3), { code: 'ERR_BAD_OPTION' });
  });

  it('hashes id bytes, "-" and the round in decimal, as b"%s-%d"', () => {
    assert.deepEqual([...sampleKey(utf8('ab'), 12)], [0x61, 0x62, 0x2d, 0x31, 0x32]);
    assert.deepEqual([...sampleKey(new Uint8Array([0, 255]), 0)], [0, 255, 0x2d, 0x30]);
  });

  it('orders by ascending MD5 as the authors do (digests from Python hashlib)', () => {
    const ids = ['v0000', 'v0001', 'v0002', 'v0003', 'v0004'];
    // hashlib.md5(b'v0001-1') = 108c1b6d…, v0003 28e4b3a4…, v0002 3a151660…, v0004 88d79ac3…, v0000 b0dd329b…
    assert.deepEqual(sampleOrder(ids, 1, md5, utf8), ['v0001', 'v0003', 'v0002', 'v0004', 'v0000']);
    // round 2: v0002 022d134a…, v0000 11cf0d4c…, v0001 1fda2de6…, v0004 87b86406…, v0003 968307b4…
    assert.deepEqual(sampleOrder(ids, 2, md5, utf8), ['v0002', 'v0000', 'v0001', 'v0004', 'v0003']);
    assert.deepEqual(derivedSample(sampleOrder(ids, 1, md5, utf8), 3), ['v0001', 'v0003', 'v0002']);
  });

  it('breaks digest ties by id and never modifies its input', () => {
    const ids = ['c', 'a', 'b'];
    assert.deepEqual(sampleOrder(ids, 3, () => new Uint8Array([7]), utf8), ['a', 'b', 'c']);
    assert.deepEqual(ids, ['c', 'a', 'b']);
  });

  it('gives every peer holding the same view the same sample, however the view was built', () => {
    const entries: Array<[string, ViewEntry]> = Array.from({ length: 40 }, (_, i) => [`peer-${i}`, i % 7 === 0 ? leave(3, 1) : join(i % 5)]);
    const peerA: View = new Map(entries);
    const peerB: View = new Map();
    mergeView(peerB, [...entries].reverse());
    for (let round = 1; round <= 20; round++) {
      const a = derivedSample(sampleOrder(candidates(peerA, round, 50), round, md5, utf8), 10);
      const b = derivedSample(sampleOrder(candidates(peerB, round, 50), round, md5, utf8), 10);
      assert.deepEqual(a, b, `round ${round}`);
      assert.equal(new Set(a).size, 10);
      assert.ok(a.every((id) => peerA.get(id)!.status === 'join'), 'left peers are never sampled');
    }
    const r1 = derivedSample(sampleOrder(candidates(peerA, 1, 50), 1, md5, utf8), 10);
    const r2 = derivedSample(sampleOrder(candidates(peerA, 2, 50), 2, md5, utf8), 10);
    assert.notDeepEqual(r1, r2, 'the sample changes from round to round');
  });

  it('compares bytes with a proper prefix first', () => {
    assert.ok(compareBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])) < 0);
    assert.ok(compareBytes(new Uint8Array([2]), new Uint8Array([1, 9])) > 0);
    assert.equal(compareBytes(new Uint8Array([4, 5]), new Uint8Array([4, 5])), 0);
  });
});

describe('modest rounds (ALGORITHMS.md §3.2 off-by-one)', () => {
  it('sends a model trained in round r with sample index r + 1; index k aggregates round k − 1', () => {
    assert.equal(trainedModelIndex(1), 2);
    assert.equal(trainedModelIndex(9), 10);
    assert.equal(aggregatedRound(trainedModelIndex(7)), 7);
  });

  it('waits for ⌊s·sf⌋ models, at least one', () => {
    assert.equal(modelsNeeded(10, 1), 10);
    assert.equal(modelsNeeded(10, 0.45), 4, '⌊4.5⌋ = 4');
    assert.equal(modelsNeeded(3, 0.1), 1, '⌊0.3⌋ = 0, raised to 1');
    assert.throws(() => modelsNeeded(10, 0), { code: 'ERR_BAD_OPTION' });
    assert.throws(() => modelsNeeded(10, 1.5), { code: 'ERR_BAD_OPTION' });
    assert.throws(() => modelsNeeded(0, 1), { code: 'ERR_BAD_OPTION' });
  });
});
