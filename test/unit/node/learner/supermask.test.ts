import '../../../../node/polyfill.js';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../../../node/learner/backend.js';
import { buildModel, validateModelSpec, type ModelSpec, type SupermaskCnnSpec, type SupermaskMlpSpec } from '../../../../node/learner/models.js';
import { createModel, modelKey, validateAnyModelSpec } from '../../../../node/learner/create-model.js';
import { readVector, writeVector } from '../../../../node/learner/flat.js';
import { trainModel } from '../../../../node/learner/train.js';
import { evaluateModel } from '../../../../node/learner/evaluate.js';
import { saveLayersModelTo } from '../../../../node/learner/layers-io.js';
import { maskOf, supermaskInitialScores } from '../../../../node/learner/supermask.js';
import { maskTopKAbs, supermaskKeptCount as keptCount } from '../../../../aggregation/frl.js';
import { syntheticDataset } from '../../../../node/data/synthetic.js';
import { loadDigits } from '../../../../node/data/mnist.js';
import { trainTestSplit } from '../../../../node/data/split.js';
import { rngFor } from '../../../../node/data/rng.js';

const mlp: SupermaskMlpSpec = { arch: 'supermask-mlp', inputShape: [20], classes: 4, hidden: [16], seed: 7 };
const cnn: SupermaskCnnSpec = { arch: 'supermask-cnn', inputShape: [8, 8, 1], classes: 3, filters: [2, 3], dense: [5], seed: 4 };
const ds = syntheticDataset({ size: 400, featureCount: 20, classCount: 4, seed: 3 });
const all = Uint32Array.from({ length: 400 }, (_, i) => i);
const frl = { lr: 0.4, momentum: 0.9, weightDecay: 1e-4, batchSize: 8 };

/** The frozen weights W of every layer, concatenated in model order. */
function frozen(model: tf.LayersModel): Float32Array[] {
  return model.nonTrainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
}

/** Reference mask: GetSubnet with a stable ascending argsort of |s|, keep its tail (ties: highest index kept); NaN never. */
function referenceMask(s: Float32Array, k: number): Float32Array {
  const key = (i: number) => (Number.isNaN(s[i]!) ? -1 : Math.abs(s[i]!));
  const order = Array.from(s, (_, i) => i).sort((a, b) => key(b) - key(a) || b - a);
  const m = new Float32Array(s.length);
  for (let j = 0; j < k && j < s.length; j++) if (key(order[j]!) >= 0) m[order[j]!] = 1;
  return m;
}

describe('supermask', () => {
  before(async () => { await selectBackend(['wasm', 'cpu']); });

  it('keeps the entries of largest |score|, exactly n − ⌊(1−k)·n⌋ of them (GetSubnet), ties to the highest index', () => {
    // |s| = .3 .5 .1 .2 .4, k = 0.5 → 5 − ⌊2.5⌋ = 3 kept: .5, .4, .3 (indices 1, 4, 0)
    assert.deepEqual([...maskOf(Float32Array.of(0.3, -0.5, 0.1, -0.2, 0.4), 0.5)], [1, 1, 0, 0, 1]);
    // |s| = .2 .2 .2 .1, keep 4 − 2 = 2: three tie at .2 → the stable ascending sort's tail, indices 1 and 2;
    // −0 ties with 0 the same way (keep 1 at index 3, then the highest-indexed zero, index 2)
    assert.deepEqual([...maskOf(Float32Array.of(0.2, -0.2, 0.2, 0.1), 0.5)], [0, 1, 1, 0]);
    assert.deepEqual([...maskOf(Float32Array.of(-0, 0, 0, -1), 0.5)], [0, 0, 1, 1]);
    // NaN is never kept; with fewer non-NaN entries than k, all of those are kept
    assert.deepEqual([...maskOf(Float32Array.of(NaN, 1, 2, 3), 0.5)], [0, 0, 1, 1]);
    assert.deepEqual([...maskOf(Float32Array.of(NaN, NaN, 1), 1)], [0, 0, 1]);
    assert.deepEqual([...maskOf(Float32Array.of(0.1, 0.2, 0.3, Infinity), 0.25)], [0, 0, 0, 1]);
    assert.equal(keptCount(5, 0.5), 3);
    assert.equal(keptCount(3, 0.1), 1); // 3 − ⌊0.9·3 = 2.7⌋ = 1
    // k = 0.9, n = 10: (1 − 0.9)·10 = 0.9999999999999998 in binary floating point → ⌊·⌋ = 0 → all 10 kept, as
    // GetSubnet's int((1 − k)·n) does (round(k·n) would keep 9)
    assert.equal(keptCount(10, 0.9), 10);
    assert.equal(maskOf(Float32Array.from({ length: 10 }, (_, i) => i + 1), 0.9).reduce((a, b) => a + b, 0), 10);
    assert.equal(keptCount(10, 0.3), 3); // 10 − ⌊0.7·10 = 7⌋
  });

  it('derives the same mask as the vote’s maskTopKAbs: one count and one tie rule', () => {
    const rng = rngFor('test', 'supermask', 'agree');
    for (const n of [1, 3, 10, 101, 4000]) {
      for (const k of [0.1, 0.5, 0.9, 1]) {
        for (const s of [
          Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * 0.05),
          Float32Array.from({ length: n }, () => Math.round((2 * rng.next() - 1) * 3) / 4), // many ties
        ]) {
          const vote = new Float32Array(n);
          maskTopKAbs(s, k, vote);
          assert.deepEqual(maskOf(s, k), vote, `n ${n} k ${k}`);
        }
      }
    }
  });

  it('matches a sort-based reference on random, quantised and constant layers without touching the scores', () => {
    const rng = rngFor('test', 'supermask', 'mask');
    for (const n of [1, 2, 7, 100, 1000, 50_000]) {
      for (const k of [0.1, 0.5, 0.77, 1]) {
        const layers = [
          Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * 0.05),
          Float32Array.from({ length: n }, () => Math.round((2 * rng.next() - 1) * 4) / 8), // many ties
          new Float32Array(n).fill(0.25),
        ];
        for (const s of layers) {
          const copy = s.slice();
          const m = maskOf(s, k);
          assert.deepEqual(s, copy);
          assert.equal(m.reduce((a, b) => a + b, 0), keptCount(n, k), `n ${n} k ${k}`);
          assert.deepEqual(m, referenceMask(s, keptCount(n, k)), `n ${n} k ${k}`);
        }
      }
    }
  });

  it('has only score tensors in the layout, and training changes the scores but never the frozen W', () => {
    const m = buildModel(mlp);
    assert.deepEqual(m.layout.tensors.map((t) => `${t.name}:${t.role}:${t.shape.join('x')}`), ['dense0/scores:score:20x16', 'out/scores:score:16x4']);
    assert.equal(m.layout.size, 20 * 16 + 16 * 4);
    const w0 = frozen(m.model);
    // signed constant: |W| = √2/√fan_in, i.e. √(2/20) for dense0 and √(2/16) for out
    assert.ok(w0[0]!.every((v) => Math.abs(Math.abs(v) - Math.fround(Math.sqrt(2 / 20))) < 1e-7));
    assert.ok(w0[1]!.every((v) => Math.abs(Math.abs(v) - Math.fround(Math.sqrt(2 / 16))) < 1e-7));
    assert.ok(w0[0]!.some((v) => v > 0) && w0[0]!.some((v) => v < 0));
    // initial scores within ±1/√fan_in
    const s0 = m.initial.subarray(0, 320);
    assert.ok(s0.every((v) => Math.abs(v) <= 1 / Math.sqrt(20)));
    trainModel(m.model, m.layout, ds, all, { ...frl, epochs: 1, seed: 1 });
    assert.deepEqual(frozen(m.model), w0);
    assert.notDeepEqual(readVector(m.model, m.layout), m.initial);
    m.model.dispose();
  });

  it('builds identical W and S from the same seed, different ones from another seed', () => {
    const a = buildModel(mlp), b = buildModel(mlp), c = buildModel({ ...mlp, seed: 8 });
    assert.equal(a.layout.hash, b.layout.hash);
    assert.equal(a.layout.hash, c.layout.hash);
    assert.deepEqual(frozen(a.model), frozen(b.model));
    assert.deepEqual(a.initial, b.initial);
    assert.deepEqual(readVector(a.model, a.layout), a.initial); // the layer draws what supermaskInitialScores says
    assert.deepEqual(supermaskInitialScores(mlp, a.layout), a.initial);
    assert.notDeepEqual(frozen(a.model), frozen(c.model));
    assert.notDeepEqual(a.initial, c.initial);
    // a worker must not reuse one supermask model across seeds (W is not in the vector); plain models may
    assert.notEqual(modelKey(mlp), modelKey({ ...mlp, seed: 8 }));
    assert.equal(modelKey({ arch: 'mlp', inputShape: [2], classes: 2, hidden: [2], seed: 1 }), modelKey({ arch: 'mlp', inputShape: [2], classes: 2, hidden: [2], seed: 2 }));
    for (const m of [a, b, c]) m.model.dispose();
  });

  it('straight-through gradient on a hand-sized layer: ∂L/∂S = (∂L/∂W_eff ⊙ W)·sign(S)', () => {
    const spec: ModelSpec = { arch: 'supermask-mlp', inputShape: [2], classes: 2, hidden: [], seed: 1 };
    const m = buildModel(spec);
    // One layer, W of shape [in 2, out 2], each ±√2/√2 = ±1. S = [[0.3, −0.1], [0.05, −0.4]]: keep 2 of 4 → |S| .3 and .4
    writeVector(m.model, m.layout, Float32Array.of(0.3, -0.1, 0.05, -0.4));
    const W = frozen(m.model)[0]!;
    const x = tf.tensor2d([[1, 2]]);
    const r = tf.tensor2d([[1, -3]]);
    const scores = m.model.trainableWeights[0]!.read() as tf.Variable;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.model.apply(x) as tf.Tensor, r)) as tf.Scalar, [scores]);
    // y_j = Σ_i x_i·W_ij·mask_ij: mask = [[1,0],[0,1]] → L = 1·W00·1 + (−3)·2·W11 = W00 − 6·W11
    assert.ok(Math.abs(value.dataSync()[0]! - (W[0]! - 6 * W[3]!)) < 1e-6);
    // ∂L/∂W_eff[i][j] = x_i·r_j = [[1, −3], [2, −6]]; times W, times sign(S) = [+, −, +, −]
    const expected = [1 * W[0]!, -(-3 * W[1]!), 2 * W[2]!, -(-6 * W[3]!)];
    assert.deepEqual([...grads[scores.name]!.dataSync()], expected);
    tf.dispose([x, r, value, grads[scores.name]!]);
    m.model.dispose();
  });

  it('straight-through gradient of a masked conv equals the conv filter gradient ⊙ W ⊙ sign(S)', () => {
    const m = buildModel(cnn);
    const rng = rngFor('test', 'supermask', 'conv');
    const xv = Float32Array.from({ length: 2 * 64 }, () => rng.next());
    tf.tidy(() => {
      const x = tf.tensor4d(xv, [2, 8, 8, 1]);
      const conv0 = m.model.getLayer('conv0');
      const scores = conv0.trainableWeights[0]!.read() as tf.Variable;
      const W = conv0.nonTrainableWeights[0]!.read();
      const r = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 2 }, () => rng.next() - 0.5), [2, 8, 8, 2]);
      // conv0 alone (conv + ReLU): compare with TF's own filter gradient at W_eff = W ⊙ mask(|S|)
      const loss = () => tf.sum(tf.mul(conv0.apply(x) as tf.Tensor, r)) as tf.Scalar;
      const got = tf.variableGrads(loss, [scores]).grads[scores.name]!;
      const weff = tf.mul(W, tf.tensor(maskOf(scores.dataSync() as Float32Array, 0.5), W.shape));
      const dWeff = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')), r)))(weff);
      const expected = tf.mul(tf.mul(dWeff, W), tf.sign(scores));
      const err = tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]!;
      assert.ok(err < 1e-5, `max error ${err}`);
      assert.ok(tf.max(tf.abs(got)).dataSync()[0]! > 0);
    });
    m.model.dispose();
  });

  it('trains mlp and cnn supermasks for 20 steps and evaluates them without leaking a tensor', () => {
    for (const spec of [mlp, cnn]) {
      const m = buildModel(spec);
      const data = spec === cnn ? syntheticDataset({ size: 200, featureCount: 64, classCount: 3, seed: 2, inputShape: [8, 8, 1] }) : ds;
      const idx = Uint32Array.from({ length: data.size }, (_, i) => i);
      const before = tf.memory().numTensors;
      const r = trainModel(m.model, m.layout, data, idx, { ...frl, steps: 20, seed: 3 });
      evaluateModel(m.model, data, idx);
      assert.equal(tf.memory().numTensors, before, spec.arch);
      assert.equal(r.steps, 20);
      assert.ok(Number.isFinite(r.loss));
      m.model.dispose();
    }
  });

  it('reaches > 80% on 1,000 MNIST test digits after one epoch on 2,000 (784-256-10, FRL settings)', () => {
    const digits = loadDigits();
    const { train, test } = trainTestSplit(digits.size, { seed: 1, testSize: 1000 });
    const m = buildModel({ arch: 'supermask-mlp', inputShape: [784], classes: 10, hidden: [256], seed: 1 });
    trainModel(m.model, m.layout, digits, train.subarray(0, 2000), { ...frl, epochs: 1, seed: 1 });
    const ev = evaluateModel(m.model, digits, test);
    assert.ok(ev.accuracy > 0.8, `accuracy ${ev.accuracy} (seed 1)`);
    m.model.dispose();
  });

  it('saves as TF.js Layers files and loads back with the same layout, W and predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-supermask-'));
    try {
      const m = buildModel(mlp);
      trainModel(m.model, m.layout, ds, all, { ...frl, steps: 5, seed: 1 });
      await saveLayersModelTo(m.model, dir);
      const loaded = await createModel({ arch: 'layers', path: dir });
      assert.equal(loaded.layout.hash, m.layout.hash);
      assert.deepEqual(loaded.initial, readVector(m.model, m.layout));
      assert.deepEqual(frozen(loaded.model), frozen(m.model));
      const x = tf.tensor2d(ds.x.subarray(0, 5 * 20), [5, 20]);
      const [a, b] = [m.model.predict(x) as tf.Tensor, loaded.model.predict(x) as tf.Tensor];
      assert.deepEqual(a.dataSync(), b.dataSync());
      tf.dispose([x, a, b]);
      m.model.dispose(); loaded.model.dispose();
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('validates supermask specs and lists the new architectures', () => {
    assert.throws(() => validateModelSpec({ ...mlp, sparsity: 0 }), /sparsity .* must be in \(0, 1\], got 0/);
    assert.throws(() => validateModelSpec({ ...mlp, sparsity: 1.5 }), /got 1.5/);
    assert.throws(() => validateModelSpec({ ...cnn, inputShape: [64] }), /supermask-cnn needs inputShape/);
    assert.throws(() => validateAnyModelSpec({ arch: 'nope', inputShape: [4], classes: 2, seed: 1 }),
      /known models: logreg, mlp, cnn, layers, supermask-mlp, supermask-cnn/);
    assert.doesNotThrow(() => validateModelSpec({ ...mlp, sparsity: 1 }));
  });
});
