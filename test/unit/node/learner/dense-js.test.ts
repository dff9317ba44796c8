import '../../../../node/polyfill.js';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../../node/learner/backend.js';
import { buildModel, type ModelSpec } from '../../../../node/learner/models.js';
import { readVector, writeVector } from '../../../../node/learner/flat.js';
import { trainModel, type TrainOptions } from '../../../../node/learner/train.js';
import { evaluateModel } from '../../../../node/learner/evaluate.js';
import { denseParamCount, denseWidths, trainDenseJs, usesDenseJs } from '../../../../node/learner/dense-js.js';
import { evaluateDense, evaluateDenseJs } from '../../../../node/learner/dense-eval.js';
import { WorkerPool } from '../../../../node/learner/pool.js';
import { createDataset, datasetParts } from '../../../../node/data/dataset.js';
import { loadDigits } from '../../../../node/data/mnist.js';
import { shuffledIndices } from '../../../../node/data/split.js';
import { syntheticDataset } from '../../../../node/data/synthetic.js';

const digits = loadDigits();
const order = shuffledIndices(digits.size, 1);
const train = order.subarray(0, 96);
const test = order.subarray(8000, 8400);
const logreg: ModelSpec = { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 };
const mlp: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: 1 };

const train8 = (k: number) => order.subarray(8 * k, 8 * k + 8);
const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

/** Both kernels from the same weights and seed (so the same batch order); returns the JS and TF.js weights. */
function bothKernels(spec: ModelSpec, ds: typeof digits, indices: Uint32Array, options: TrainOptions) {
  const m = buildModel(spec);
  try {
    const tfjs = trainModel(m.model, m.layout, ds, indices, options);
    const js = trainDenseJs(spec, m.initial, ds, indices, options);
    return { js, tfjs: { weights: readVector(m.model, m.layout), result: tfjs }, initial: m.initial };
  } finally { m.model.dispose(); }
}

describe('dense JS kernel', () => {
  before(async () => { await selectBackend(['wasm', 'cpu']); });

  it('applies one hand-computed SGD step with lazy weight decay to rows whose input is zero', () => {
    // logreg 2 → 2, x = [1, 0], label 0, W = [[0, 0], [1, 2]], b = [0, 0]: logits = [0, 0], softmax = [½, ½],
    // dL/dz = [−½, ½], loss = ln 2. lr 0.1, wd 0.5, decay c = 1 − 0.1·0.5 = 0.95:
    // W[0,:] = 0.95·[0, 0] − 0.1·1·[−½, ½] = [0.05, −0.05]; W[1,:] = 0.95·[1, 2] = [0.95, 1.9] (its input is 0);
    // b = 0.95·[0, 0] − 0.1·[−½, ½] = [0.05, −0.05].
    const ds = createDataset({ name: 'tiny', x: Float32Array.of(1, 0), y: Uint8Array.of(0), featureCount: 2, classCount: 2 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [2], classes: 2, seed: 1 };
    const w = Float32Array.of(0, 0, 1, 2, 0, 0);
    const out = trainDenseJs(spec, w, ds, [0], { lr: 0.1, weightDecay: 0.5, batchSize: 1, epochs: 1, seed: 1 });
    const expected = [0.05, -0.05, 0.95, 1.9, 0.05, -0.05];
    expected.forEach((e, i) => assert.ok(Math.abs(out.weights[i]! - e) < 1e-7, `weight ${i}: ${out.weights[i]} vs ${e}`));
    assert.ok(Math.abs(out.result.loss - Math.LN2) < 1e-12);
    assert.deepEqual(out.result, { loss: out.result.loss, steps: 1, samples: 1 });
    assert.deepEqual(w, Float32Array.of(0, 0, 1, 2, 0, 0), 'the input vector is not modified');
  });

  for (const spec of [logreg, mlp]) {
    const cases: Array<[string, TrainOptions]> = [
      ['SGD with weight decay', { lr: 0.1, weightDecay: 1e-3, batchSize: 8, epochs: 2, seed: 'a' }],
      ['momentum, cosine lr, ragged last batch', { lr: 0.1, weightDecay: 1e-3, momentum: 0.9, lrSchedule: 'cosine', batchSize: 10, epochs: 2, seed: 'b' }],
      ['fixed steps with relabelled examples', { lr: 0.05, batchSize: 8, steps: 15, seed: 'c', labelMap: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] }],
    ];
    for (const [name, options] of cases) {
      it(`matches the TF.js path within 1e-4 for the ${spec.arch}: ${name}`, () => {
        const { js, tfjs, initial } = bothKernels(spec, digits, train, options);
        assert.ok(maxAbsDiff(js.weights, initial) > 1e-3, 'training moved the weights');
        assert.ok(maxAbsDiff(js.weights, tfjs.weights) <= 1e-4, `max abs difference ${maxAbsDiff(js.weights, tfjs.weights)}`);
        assert.equal(js.result.steps, tfjs.result.steps);
        assert.equal(js.result.samples, tfjs.result.samples);
        assert.ok(Math.abs(js.result.loss - tfjs.result.loss) < 1e-4);
      });
    }
  }

  it('matches the TF.js path on dense inputs (no zeros to skip)', () => {
    const ds = syntheticDataset({ size: 64, featureCount: 12, classCount: 3, seed: 2 });
    const spec: ModelSpec = { arch: 'mlp', inputShape: [12], classes: 3, hidden: [5, 4], seed: 3 };
    const { js, tfjs } = bothKernels(spec, ds, Uint32Array.from({ length: 64 }, (_, i) => i), { lr: 0.1, weightDecay: 1e-2, batchSize: 8, epochs: 3, seed: 4 });
    assert.ok(maxAbsDiff(js.weights, tfjs.weights) <= 1e-4);
  });

  it('evaluates like the Layers model: same accuracy and confusion, loss within 1e-5', () => {
    for (const spec of [logreg, mlp]) {
      const { model, layout, initial } = buildModel(spec);
      try {
        const w = trainDenseJs(spec, initial, digits, train, { lr: 0.1, batchSize: 8, seed: 1 }).weights;
        writeVector(model, layout, w);
        const ref = evaluateModel(model, digits, test);
        const tensorsBefore = tf.memory().numTensors;
        for (const ev of [evaluateDense(spec, w, digits, test), evaluateDenseJs(spec, w, digits, test), evaluateDense(spec, w, digits, test)]) {
          assert.equal(ev.samples, 400);
          assert.equal(ev.accuracy, ref.accuracy);
          assert.deepEqual(ev.confusion, ref.confusion);
          assert.ok(Math.abs(ev.loss - ref.loss) < 1e-5, `${ev.loss} vs ${ref.loss}`);
        }
        // Only the resident test tensor stays (one per test set and thread, kept across calls and specs).
        assert.ok(tf.memory().numTensors - tensorsBefore <= 1);
      } finally { model.dispose(); }
    }
  });

  it('stops between batches with ERR_ABORTED and rejects weights of another layout', () => {
    const w = buildModel(logreg);
    w.model.dispose();
    let calls = 0;
    assert.throws(() => trainDenseJs(logreg, w.initial, digits, train, { batchSize: 8, seed: 1, shouldStop: () => ++calls > 3 }),
      (e: Error & { code?: string }) => e.code === 'ERR_ABORTED');
    assert.equal(calls, 4);
    assert.throws(() => trainDenseJs(logreg, new Float32Array(10), digits, train, { seed: 1 }), (e: Error & { code?: string }) => e.code === 'ERR_LAYOUT_MISMATCH');
    assert.throws(() => trainDenseJs(logreg, w.initial, digits, train, { seed: 1, kernel: 'fast' as 'js' }), (e: Error & { code?: string }) => e.code === 'ERR_TRAIN_OPTIONS');
  });

  it('applies to logreg and MLP specs only, without SAM or frozen subsets', () => {
    assert.deepEqual(denseWidths(mlp), [784, 32, 10]);
    assert.equal(denseParamCount([784, 32, 10]), 784 * 32 + 32 + 32 * 10 + 10);
    assert.equal(usesDenseJs(mlp, { kernel: 'js' }), true);
    assert.equal(usesDenseJs(mlp, { kernel: 'tfjs' }), false);
    assert.equal(usesDenseJs(mlp, {}), false);
    assert.equal(usesDenseJs(mlp, { kernel: 'js', samRho: 0.05 }), false);
    assert.equal(usesDenseJs(mlp, { kernel: 'js', trainable: ['out/kernel'] }), false);
    assert.equal(usesDenseJs({ arch: 'cnn', inputShape: [28, 28, 1], classes: 10, seed: 1 }, { kernel: 'js' }), false);
  });

  it('gives bit-identical results in-process and through the pool with one and with two workers', async () => {
    const dataset = { id: 'digits', parts: datasetParts(digits) };
    const shards = [0, 1, 2, 3].map((p) => order.subarray(p * 24, p * 24 + 24));
    const options = { lr: 0.1, weightDecay: 1e-3, batchSize: 8, epochs: 2, kernel: 'js' as const };
    const initial = buildModel(mlp);
    initial.model.dispose();
    const local = shards.map((indices, p) => trainDenseJs(mlp, initial.initial, digits, indices, { ...options, seed: `peer-${p}` }).weights);
    for (const size of [1, 2]) {
      const pool = new WorkerPool({ size, prefer: ['wasm', 'cpu'] });
      await pool.start();
      try {
        const outs = await Promise.all(shards.map((indices, p) =>
          pool.train({ spec: mlp, weights: initial.initial, dataset, indices, options: { ...options, seed: `peer-${p}` } })));
        outs.forEach((o, p) => assert.deepEqual(o.weights, local[p]));
        const ev = await pool.evaluate({ spec: mlp, weights: local[0]!, dataset, indices: test, kernel: 'js' });
        assert.equal(ev.accuracy, evaluateDenseJs(mlp, local[0]!, digits, test).accuracy);
      } finally { await pool.stop(); }
    }
  });

  it('runs a background evaluation after the training tasks queued before and after it', async () => {
    const dataset = { id: 'digits', parts: datasetParts(digits) };
    const initial = buildModel(logreg);
    initial.model.dispose();
    const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
    await pool.start();
    try {
      const done: string[] = [];
      const train = (k: number) => pool.train({ spec: logreg, weights: initial.initial, dataset, indices: train8(k), options: { batchSize: 8, seed: k, kernel: 'js' } })
        .then(() => { done.push(`train ${k}`); });
      // One worker: of 20 training tasks most wait in the queue; the background task queued after them also waits
      // for the 3 training tasks queued after it (in FIFO order it would finish before those 3).
      const before = Array.from({ length: 20 }, (_, k) => train(k));
      const background = pool.evaluate({ spec: logreg, weights: initial.initial, dataset, indices: test, kernel: 'js' }, { background: true })
        .then(() => { done.push('evaluate'); });
      const after = [20, 21, 22].map(train);
      await Promise.all([...before, background, ...after]);
      assert.equal(done.length, 24);
      assert.equal(done.at(-1), 'evaluate');
    } finally { await pool.stop(); }
  });
});
