import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ageMerge, remoteShare } from '../../../aggregation/gossip-age.js';
import { assertCode } from './arbitraries.js';

const v = (...x: number[]): Float32Array => Float32Array.from(x);

describe('ageMerge', () => {
  it('weights by age: a = t_r/(t + t_r), age = max', () => {
    // t = 3, t_r = 1: a = 1/4 → 0.75·[4, 8] + 0.25·[0, 4] = [3, 7]; age max(3, 1) = 3
    assert.deepEqual(ageMerge({ vector: v(4, 8), age: 3 }, { vector: v(0, 4), age: 1 }), { vector: v(3, 7), age: 3 });
    assert.equal(remoteShare(3, 1), 0.25);
  });

  it('is bit-exact with the reference’s float32 arithmetic: fl32(fl32(w0)·w) + fl32(fl32(w1)·w_r)', () => {
    // t = 1, t_r = 2: fl32(1/3) = 0.3333333432674408, fl32(2/3) = 0.6666666865348816.
    // Element 0, w = w_r = fl32(0.1) = 0.10000000149011612:
    //   fl32(0.3333333432674408 · 0.10000000149011612) = 0.03333333507180214
    //   fl32(0.6666666865348816 · 0.10000000149011612) = 0.06666667014360428
    //   fl32(sum) = 0.10000000894069672, one ulp above fl32(0.1), which a Float64 intermediate would give.
    // Element 1, w = fl32(0.1), w_r = fl32(0.6): 0.03333333507180214 + fl32(0.6666666865348816 · 0.6000000238418579
    //   = 0.40000003576278687) → 0.4333333671092987 (Float64 intermediate: 0.4333333373069763).
    const r = ageMerge({ vector: v(0.1, 0.1), age: 1 }, { vector: v(0.1, 0.6), age: 2 });
    assert.deepEqual([...r.vector], [0.10000000894069672, 0.4333333671092987]);
    assert.equal(r.age, 2);
  });

  it('averages ½/½ when both ages are 0', () => {
    // (2 + 4)/2 = 3, (−1 + 1)/2 = 0
    assert.deepEqual(ageMerge({ vector: v(2, -1), age: 0 }, { vector: v(4, 1), age: 0 }), { vector: v(3, 0), age: 0 });
  });

  it('adopts the remote model exactly when the own age is 0, and keeps the own model when the remote age is 0', () => {
    const remote = v(0.1, 0.7, -3.3);
    const r = ageMerge({ vector: v(9, 9, 9), age: 0 }, { vector: remote, age: 5 });
    assert.deepEqual(r, { vector: remote, age: 5 });
    assert.notEqual(r.vector, remote);
    assert.deepEqual(ageMerge({ vector: v(1, 2, 3), age: 4 }, { vector: remote, age: 0 }), { vector: v(1, 2, 3), age: 4 });
  });

  it('writes into out (which may be the own vector) and never touches the remote vector', () => {
    const own = v(4, 8), remote = v(0, 4);
    const r = ageMerge({ vector: own, age: 1 }, { vector: remote, age: 1 }, own);
    assert.equal(r.vector, own);
    assert.deepEqual(own, v(2, 6));
    assert.deepEqual(remote, v(0, 4));
  });

  it('rejects negative or non-finite ages and vectors of different lengths', () => {
    assertCode(() => ageMerge({ vector: v(1), age: -1 }, { vector: v(1), age: 0 }), 'ERR_BAD_OPTION');
    assertCode(() => ageMerge({ vector: v(1), age: 0 }, { vector: v(1), age: Number.POSITIVE_INFINITY }), 'ERR_BAD_OPTION');
    assertCode(() => ageMerge({ vector: v(1), age: 0 }, { vector: v(1, 2), age: 0 }), 'ERR_LENGTH_MISMATCH');
  });
});
