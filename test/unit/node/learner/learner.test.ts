import '../../../../node/polyfill.js';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../../node/learner/backend.js';
import { buildModel, layoutOfSpec, type ModelSpec } from '../../../../node/learner/models.js';
import { readVector, writeVector } from '../../../../node/learner/flat.js';
import { trainModel } from '../../../../node/learner/train.js';
import { evaluateModel, metricsFromConfusion } from '../../../../node/learner/evaluate.js';
import { validateAnyModelSpec, createModel } from '../../../../node/learner/create-model.js';
import { saveLayersModelTo } from '../../../../node/learner/layers-io.js';
import { syntheticDataset } from '../../../../node/data/synthetic.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mlp: ModelSpec = { arch: 'mlp', inputShape: [20], classes: 4, hidden: [16], seed: 7 };
const ds = syntheticDataset({ size: 400, featureCount: 20, classCount: 4, seed: 3 });
const all = Uint32Array.from({ length: 400 }, (_, i) => i);

describe('learner', () => {
  before(async () => { await selectBackend(['wasm', 'cpu']); });

  it('builds identical layouts and initial weights from the same spec, different ones from another seed', () => {
    const a = buildModel(mlp), b = buildModel(mlp), c = buildModel({ ...mlp, seed: 8 });
    assert.equal(a.layout.hash, b.layout.hash);
    assert.deepEqual(a.layout.tensors.map((t) => `${t.name}:${t.role}`), ['dense0/kernel:kernel', 'dense0/bias:bias', 'out/kernel:kernel', 'out/bias:bias']);
    assert.deepEqual(a.initial, b.initial);
    assert.notDeepEqual(a.initial, c.initial);
    assert.equal(a.layout.hash, c.layout.hash);
    for (const m of [a, b, c]) m.model.dispose();
  });

  it('round-trips weights exactly through the flat vector without aliasing the caller buffer', () => {
    const { model, layout } = buildModel(mlp);
    const v = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i) * 0.1);
    writeVector(model, layout, v);
    v[0] = 123; // must not leak into the model
    const back = readVector(model, layout);
    assert.equal(back[0], Math.fround(Math.sin(0) * 0.1));
    v[0] = Math.sin(0) * 0.1;
    assert.deepEqual(back, v);
    model.dispose();
  });

  it('rejects weights whose layout differs, naming expected and got', () => {
    const { model, layout } = buildModel(mlp);
    assert.throws(() => writeVector(model, layout, new Float32Array(layout.size + 1)), (e: Error & { code?: string }) =>
      e.code === 'ERR_LAYOUT_MISMATCH' && /expected \d+ parameters .* got \d+ parameters/.test(e.message));
    const other = layoutOfSpec({ ...mlp, hidden: [8] });
    assert.throws(() => writeVector(model, other, new Float32Array(other.size)), /expected dense0\/kernel \[20,8\], got dense0\/kernel \[20,16\]/);
    model.dispose();
  });

  it('names the known models when a spec is unknown', () => {
    assert.throws(() => validateAnyModelSpec({ arch: 'resnet', inputShape: [4], classes: 2, seed: 1 }), /unknown model "resnet"; known models: logreg, mlp, cnn, layers/);
    assert.throws(() => validateAnyModelSpec({ arch: 'mlp', inputShape: [4], classes: 2, seed: 1, hidden: [0] }), /model.hidden/);
  });

  it('SAM with rho = 0 equals SGD exactly (with momentum and weight decay)', () => {
    const opts = { lr: 0.1, momentum: 0.9, weightDecay: 1e-3, batchSize: 16, epochs: 2, seed: 5 };
    const a = buildModel(mlp), b = buildModel(mlp);
    trainModel(a.model, a.layout, ds, all, opts);
    trainModel(b.model, b.layout, ds, all, { ...opts, samRho: 0 });
    assert.deepEqual(readVector(a.model, a.layout), readVector(b.model, b.layout));
    const c = buildModel(mlp);
    trainModel(c.model, c.layout, ds, all, { ...opts, samRho: 0.05 });
    assert.notDeepEqual(readVector(a.model, a.layout), readVector(c.model, c.layout));
    for (const m of [a, b, c]) m.model.dispose();
  });

  it('trains only the listed tensors in frozen-subset mode', () => {
    const m = buildModel(mlp);
    trainModel(m.model, m.layout, ds, all, { lr: 0.1, batchSize: 32, epochs: 1, seed: 1, trainable: ['out/kernel', 'out/bias'] });
    const after = readVector(m.model, m.layout);
    const hidden = m.layout.tensors.find((t) => t.name === 'dense0/kernel')!;
    const out = m.layout.tensors.find((t) => t.name === 'out/kernel')!;
    assert.deepEqual(after.subarray(hidden.offset, hidden.offset + hidden.size), m.initial.subarray(hidden.offset, hidden.offset + hidden.size));
    assert.notDeepEqual(after.subarray(out.offset, out.offset + out.size), m.initial.subarray(out.offset, out.offset + out.size));
    assert.throws(() => trainModel(m.model, m.layout, ds, all, { seed: 1, trainable: ['nope'] }), /unknown tensors nope/);
    m.model.dispose();
  });

  it('learns the synthetic task and leaks no tensor across 100 train steps and evaluation', () => {
    const m = buildModel(mlp);
    const before = tf.memory().numTensors;
    const r = trainModel(m.model, m.layout, ds, all, { lr: 0.1, momentum: 0.5, batchSize: 16, steps: 100, seed: 2, samRho: 0.01 });
    const ev = evaluateModel(m.model, ds, all);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(r.steps, 100);
    assert.ok(ev.accuracy > 0.9, `accuracy ${ev.accuracy}`);
    assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 400);
    m.model.dispose();
  });

  it('computes per-class precision, recall and F1 from a confusion matrix', () => {
    // true 0: 3 right, 1 predicted as 1; true 1: 2 right. P0 = 3/3, R0 = 3/4, F1_0 = 2·1·0.75/1.75 = 6/7
    const e = metricsFromConfusion([[3, 1], [0, 2]], 0.5);
    assert.equal(e.accuracy, 5 / 6);
    assert.ok(Math.abs(e.perClass[0]!.f1 - 6 / 7) < 1e-12);
    assert.ok(Math.abs(e.perClass[1]!.precision - 2 / 3) < 1e-12);
    assert.equal(e.perClass[1]!.recall, 1);
  });

  it('saves a model as TF.js Layers files and loads it back with the same layout and weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-layers-'));
    try {
      const m = buildModel(mlp);
      await saveLayersModelTo(m.model, dir);
      const loaded = await createModel({ arch: 'layers', path: dir });
      assert.equal(loaded.layout.hash, m.layout.hash);
      assert.deepEqual(loaded.initial, m.initial);
      m.model.dispose(); loaded.model.dispose();
      await assert.rejects(createModel({ arch: 'layers', path: join(dir, 'missing') }), /cannot read the TF.js model/);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
