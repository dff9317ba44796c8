import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { classHistogram, type Dataset } from '../../../../node/data/dataset.js';
import { loadDigits } from '../../../../node/data/mnist.js';
import { trainTestSplit } from '../../../../node/data/split.js';

describe('loadDigits', () => {
  let ds: Dataset;
  before(() => { ds = loadDigits(); });

  it('loads the 10,000 real digits as 784 pixels in [0, 1] with input shape [28, 28, 1]', () => {
    assert.deepEqual([ds.size, ds.featureCount, ds.classCount, ds.x.length], [10_000, 784, 10, 7_840_000]);
    assert.deepEqual(ds.inputShape, [28, 28, 1]);
    let min = Infinity, max = -Infinity, total = 0;
    for (const v of ds.x) { min = Math.min(min, v); max = Math.max(max, v); total += v; }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // Real MNIST ink covers about 13% of the pixel mass (mean intensity ≈ 0.13).
    assert.ok(total / ds.x.length > 0.1 && total / ds.x.length < 0.16, `mean pixel ${total / ds.x.length}`);
  });

  it('has about 1,000 digits per class, in the package file order', (t) => {
    const counts = classHistogram(ds.y, Uint32Array.from({ length: ds.size }, (_, i) => i), 10);
    t.diagnostic(`digits per class: ${counts.join(', ')}`);
    // The package ships 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 (sum 10,000).
    assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    assert.equal(ds.y[0], 0);
    assert.equal(ds.y[1001], 1);
    assert.equal(ds.y[9999], 9);
  });

  it('is cached: a second call returns the same object', () => {
    assert.equal(loadDigits(), ds);
  });

  it('keeps features and labels in SharedArrayBuffers', () => {
    assert.ok(ds.x.buffer instanceof SharedArrayBuffer);
    assert.ok(ds.y.buffer instanceof SharedArrayBuffer);
  });

  it('splits 8,000 / 2,000 with every class in the test set', () => {
    const { train, test } = trainTestSplit(ds.size, { seed: 1 });
    assert.deepEqual([train.length, test.length], [8000, 2000]);
    const h = classHistogram(ds.y, test, 10);
    // A random 20% of ~1,000 per class: 200 ± 13 (sd = √(1000·0.2·0.8)); 120..280 is > 6 sd away.
    assert.ok(h.every((n) => n > 120 && n < 280), h.join(','));
  });
});
