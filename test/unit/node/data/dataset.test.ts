import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import {
  classHistogram, createDataset, datasetFromShared, datasetParts, sharedFloat32, sharedUint8, subset, type DatasetParts,
} from '../../../../node/data/dataset.js';

/** 4 rows × 3 features: row r holds 3r, 3r+1, 3r+2; labels 0, 1, 2, 1. */
function tiny() {
  return createDataset({ name: 'tiny', x: Float32Array.from({ length: 12 }, (_, i) => i), y: Uint8Array.from([0, 1, 2, 1]), featureCount: 3, classCount: 3 });
}

describe('dataset', () => {
  it('allocates zeroed SharedArrayBuffer-backed arrays', () => {
    const f = sharedFloat32(5), u = sharedUint8(7);
    assert.ok(f.buffer instanceof SharedArrayBuffer && u.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([f.length, u.length], [5, 7]);
    assert.ok(f.every((v) => v === 0) && u.every((v) => v === 0));
    assert.throws(() => sharedFloat32(-1), { code: 'ERR_DATASET' });
  });

  it('copies plain arrays into shared memory and freezes the dataset', () => {
    const ds = tiny();
    assert.ok(ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer);
    assert.equal(ds.size, 4);
    assert.deepEqual(ds.inputShape, [3]);
    assert.ok(Object.isFrozen(ds) && Object.isFrozen(ds.inputShape));
  });

  it('rejects wrong lengths, shapes and labels, listing every problem', () => {
    assert.throws(
      () => createDataset({ name: 'bad', x: new Float32Array(5), y: new Uint8Array(2), featureCount: 3, classCount: 3, inputShape: [2, 2] }),
      (err: Error & { code: string; problems: string[] }) => {
        assert.equal(err.code, 'ERR_DATASET');
        // 5 ≠ 2 rows × 3 features = 6, and [2, 2] holds 4 ≠ 3 values.
        assert.equal(err.problems.length, 2);
        assert.match(err.message, /need 6/);
        assert.match(err.message, /holds 4 values/);
        return true;
      },
    );
    assert.throws(() => createDataset({ name: 'bad', x: new Float32Array(2), y: Uint8Array.from([0, 3]), featureCount: 1, classCount: 3 }),
      { code: 'ERR_DATASET', message: /label 3 at row 1/ });
  });

  it('subset copies the chosen rows, in order, into new buffers', () => {
    const ds = tiny();
    const s = subset(ds, [2, 0, 2], 'pick');
    // rows 2, 0, 2 → [6,7,8], [0,1,2], [6,7,8]; labels 2, 0, 2.
    assert.deepEqual(Array.from(s.x), [6, 7, 8, 0, 1, 2, 6, 7, 8]);
    assert.deepEqual(Array.from(s.y), [2, 0, 2]);
    assert.deepEqual([s.name, s.size, s.featureCount, s.classCount], ['pick', 3, 3, 3]);
    assert.ok(s.x.buffer instanceof SharedArrayBuffer && s.x.buffer !== ds.x.buffer);
    ds.x[6] = 99;
    assert.equal(s.x[0], 6, 'the subset does not alias the source');
    assert.throws(() => subset(ds, [0, 4]), { code: 'ERR_DATASET', message: /index 4 at position 1/ });
  });

  it('counts classes among the given indices', () => {
    // rows 1, 3, 3, 0 have labels 1, 1, 1, 0 → [1, 3, 0].
    assert.deepEqual(classHistogram([0, 1, 2, 1], [1, 3, 3, 0], 3), [1, 3, 0]);
    assert.throws(() => classHistogram([0, 5], [1], 3), { code: 'ERR_DATASET' });
  });

  it('rebuilds a dataset from its parts after postMessage, sharing memory with the sender', () => {
    const ds = tiny();
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(datasetParts(ds));
    const received = receiveMessageOnPort(port2)!.message as DatasetParts;
    port1.close();
    const copy = datasetFromShared(received);
    assert.deepEqual(Array.from(copy.x), Array.from(ds.x));
    assert.deepEqual([copy.name, copy.size, copy.featureCount, copy.classCount], ['tiny', 4, 3, 3]);
    copy.x[0] = 42;
    copy.y[0] = 2;
    assert.equal(ds.x[0], 42, 'features are shared, not copied');
    assert.equal(ds.y[0], 2, 'labels are shared, not copied');
  });

  it('refuses parts whose buffers are too short', () => {
    const parts = datasetParts(tiny());
    assert.throws(() => datasetFromShared({ ...parts, size: 5 }), { code: 'ERR_DATASET', message: /cannot hold 5 rows/ });
  });
});
