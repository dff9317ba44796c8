import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classHistogram, type Dataset } from '../../../../node/data/dataset.js';
import { syntheticDataset } from '../../../../node/data/synthetic.js';

/** Plain softmax regression by full-batch gradient descent: a linear model, enough to test separability. */
function linearAccuracy(ds: Dataset, trainRows: number, epochs: number, lr: number): number {
  const d = ds.featureCount, c = ds.classCount;
  const w = new Float64Array(d * c), b = new Float64Array(c);
  const logits = new Float64Array(c);
  const forward = (row: number): void => {
    let max = -Infinity;
    for (let k = 0; k < c; k++) {
      let s = b[k]!;
      for (let j = 0; j < d; j++) s += ds.x[row * d + j]! * w[j * c + k]!;
      logits[k] = s; max = Math.max(max, s);
    }
    let z = 0;
    for (let k = 0; k < c; k++) { logits[k] = Math.exp(logits[k]! - max); z += logits[k]!; }
    for (let k = 0; k < c; k++) logits[k] = logits[k]! / z;
  };
  for (let e = 0; e < epochs; e++) {
    const gw = new Float64Array(d * c), gb = new Float64Array(c);
    for (let r = 0; r < trainRows; r++) {
      forward(r);
      logits[ds.y[r]!] = logits[ds.y[r]!]! - 1;
      for (let k = 0; k < c; k++) {
        gb[k] = gb[k]! + logits[k]!;
        for (let j = 0; j < d; j++) gw[j * c + k] = gw[j * c + k]! + logits[k]! * ds.x[r * d + j]!;
      }
    }
    for (let i = 0; i < w.length; i++) w[i] = w[i]! - (lr * gw[i]!) / trainRows;
    for (let k = 0; k < c; k++) b[k] = b[k]! - (lr * gb[k]!) / trainRows;
  }
  let correct = 0;
  for (let r = trainRows; r < ds.size; r++) {
    forward(r);
    let best = 0;
    for (let k = 1; k < c; k++) if (logits[k]! > logits[best]!) best = k;
    if (best === ds.y[r]) correct++;
  }
  return correct / (ds.size - trainRows);
}

describe('syntheticDataset', () => {
  it('has the asked shape, balanced labels and shared buffers', () => {
    const ds = syntheticDataset({ size: 1003, featureCount: 6, classCount: 10, seed: 1, inputShape: [2, 3] });
    assert.deepEqual([ds.size, ds.featureCount, ds.classCount, ds.x.length], [1003, 6, 10, 6018]);
    assert.deepEqual(ds.inputShape, [2, 3]);
    // 1003 = 10 × 100 + 3: classes 0, 1, 2 get 101, the others 100.
    assert.deepEqual(classHistogram(ds.y, Uint32Array.from({ length: 1003 }, (_, i) => i), 10), [101, 101, 101, 100, 100, 100, 100, 100, 100, 100]);
    assert.ok(ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer);
    assert.ok(ds.x.every(Number.isFinite));
  });

  it('is identical for the same seed and differs for another', () => {
    const o = { size: 200, featureCount: 5, classCount: 4 };
    const a = syntheticDataset({ ...o, seed: 'a' }), b = syntheticDataset({ ...o, seed: 'a' }), c = syntheticDataset({ ...o, seed: 'b' });
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.y, b.y);
    assert.notDeepEqual(a.x, c.x);
  });

  for (const [d, c] of [[20, 10], [4, 4], [784, 10]] as const) {
    it(`is learnable to > 90% by a linear model at default noise (${d} features, ${c} classes)`, (t) => {
      const ds = syntheticDataset({ size: 1000, featureCount: d, classCount: c, seed: 5 });
      const acc = linearAccuracy(ds, 800, d > 100 ? 15 : 60, 1);
      t.diagnostic(`held-out accuracy ${acc.toFixed(3)}`);
      assert.ok(acc > 0.9, `accuracy ${acc}`);
    });
  }

  it('gets harder with more noise', () => {
    const ds = syntheticDataset({ size: 1000, featureCount: 4, classCount: 4, seed: 5, noise: 2 });
    assert.ok(linearAccuracy(ds, 800, 60, 1) < 0.9);
  });

  it('rejects invalid options, listing each', () => {
    assert.throws(() => syntheticDataset({ size: 0, featureCount: 2, classCount: 300, seed: 1, noise: -1 }), (err: Error & { code: string; problems: string[] }) => {
      assert.equal(err.code, 'ERR_DATASET');
      assert.equal(err.problems.length, 3);
      return true;
    });
    assert.throws(() => syntheticDataset({ size: 4, featureCount: 6, classCount: 2, seed: 1, inputShape: [4] }), { code: 'ERR_DATASET', message: /inputShape/ });
  });
});
