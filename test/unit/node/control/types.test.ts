import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../../../aggregation/layout.js';
import { modelHash } from '../../../../node/model-hash.js';
import { describeModel } from '../../../../node/control/types.js';

describe('describeModel', () => {
  const layout = makeLayout([{ name: 'w', shape: [2, 2], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]);

  it('computes per-tensor L2, mean and population std', () => {
    const vector = new Float32Array([1, 2, 3, 4, -1, 1]);
    const info = describeModel(layout, vector, { round: 3, age: 9 });
    assert.equal(info.layoutHash, layout.hash);
    assert.equal(info.hash, modelHash(vector));
    assert.equal(info.parameters, 6);
    assert.deepEqual([info.round, info.age], [3, 9]);
    // w = [1, 2, 3, 4]: L2 = √30, mean = 2.5, var = 30/4 − 2.5² = 1.25.
    const [w, b] = info.tensors;
    assert.deepEqual([w!.name, w!.role, w!.shape], ['w', 'kernel', [2, 2]]);
    assert.equal(w!.l2, Math.sqrt(30));
    assert.equal(w!.mean, 2.5);
    assert.equal(w!.std, Math.sqrt(1.25));
    // b = [−1, 1]: L2 = √2, mean = 0, var = 2/2 − 0 = 1.
    assert.deepEqual([b!.l2, b!.mean, b!.std], [Math.SQRT2, 0, 1]);
  });

  it('rejects a vector whose length differs from the layout', () => {
    assert.throws(() => describeModel(layout, new Float32Array(5), { round: 0, age: 0 }), RangeError);
  });
});
