import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveRng, rngFor } from '../../../../node/data/rng.js';

describe('rng', () => {
  it('gives the same stream for the same key and different streams for different keys', () => {
    const a = deriveRng(1, 0, 3, 'train'), b = deriveRng(1, 0, 3, 'train'), c = deriveRng(1, 0, 4, 'train');
    const xa = Array.from({ length: 5 }, () => a.uint32());
    assert.deepEqual(xa, Array.from({ length: 5 }, () => b.uint32()));
    assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.uint32()));
    assert.notDeepEqual(rngFor(1).uint32(), rngFor('1').uint32());
  });

  it('draws floats in [0,1) with a mean near 1/2 and normals near N(0,1)', () => {
    const r = rngFor('moments');
    let s = 0, n = 0, m = 0, v = 0;
    for (let i = 0; i < 20000; i++) { const x = r.next(); assert.ok(x >= 0 && x < 1); s += x; }
    for (let i = 0; i < 20000; i++) { const z = r.normal(); m += z; v += z * z; n++; }
    assert.ok(Math.abs(s / 20000 - 0.5) < 0.01);
    assert.ok(Math.abs(m / n) < 0.03 && Math.abs(v / n - 1) < 0.05);
  });

  it('samples gamma with the right mean for shapes below and above 1', () => {
    const r = rngFor('gamma');
    for (const k of [0.1, 0.5, 2, 7]) {
      let s = 0;
      for (let i = 0; i < 20000; i++) s += r.gamma(k);
      assert.ok(Math.abs(s / 20000 - k) < 0.06 * Math.max(1, k), `shape ${k}: mean ${s / 20000}`);
    }
  });

  it('shuffles into a permutation and samples without replacement', () => {
    const r = rngFor('perm');
    const p = r.shuffle(Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
    const s = r.sample(['a', 'b', 'c', 'd', 'e'], 3);
    assert.equal(new Set(s).size, 3);
  });
});
