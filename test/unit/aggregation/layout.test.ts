import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout, tensorView } from '../../../aggregation/layout.js';

describe('layout', () => {
  it('assigns contiguous offsets and a stable hash that changes with shape, role or order', () => {
    const a = makeLayout([{ name: 'w', shape: [3, 2], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]);
    assert.equal(a.size, 8);
    assert.deepEqual(a.tensors.map((t) => t.offset), [0, 6]);
    const same = makeLayout([{ name: 'w', shape: [3, 2], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]);
    assert.equal(a.hash, same.hash);
    assert.match(a.hash, /^[0-9a-f]{16}$/);
    assert.notEqual(a.hash, makeLayout([{ name: 'w', shape: [2, 3], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]).hash);
    assert.notEqual(a.hash, makeLayout([{ name: 'w', shape: [3, 2], role: 'score' }, { name: 'b', shape: [2], role: 'bias' }]).hash);
    assert.notEqual(a.hash, makeLayout([{ name: 'b', shape: [2], role: 'bias' }, { name: 'w', shape: [3, 2], role: 'kernel' }]).hash);
  });

  it('rejects a non-positive dimension and views tensors without copying', () => {
    assert.throws(() => makeLayout([{ name: 'w', shape: [0], role: 'kernel' }]), /positive integer/);
    const l = makeLayout([{ name: 'w', shape: [2], role: 'kernel' }, { name: 'b', shape: [1], role: 'bias' }]);
    const v = new Float32Array([1, 2, 3]);
    tensorView(v, l.tensors[1]!)[0] = 9;
    assert.equal(v[2], 9);
  });
});
