/**
 * SAM in the local trainer (ALGORITHMS.md §2.1, §6): the perturbation is ε = ρ·g/‖g‖ with the global norm over all
 * trained tensors, in the direction of the gradient, and both passes of a step use the same mini-batch. Checked
 * against a closed-form softmax-regression step, not only "ρ = 0 equals SGD".
 */
import '../../../../node/polyfill.js';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDataset } from '../../../../node/data/dataset.js';
import { selectBackend } from '../../../../node/learner/backend.js';
import { readVector, writeVector } from '../../../../node/learner/flat.js';
import { buildModel } from '../../../../node/learner/models.js';
import { batchPlan, trainModel } from '../../../../node/learner/train.js';

// Two rows, two features, two classes: x = [2, 0] → 0, x = [0, 1] → 1. Weights: kernel W[f][c] row-major, then bias.
const X = [[2, 0], [0, 1]], Y = [0, 1];
const ds = createDataset({ name: 'sam', x: Float32Array.of(2, 0, 0, 1), y: Uint8Array.of(0, 1), featureCount: 2, classCount: 2 });

/** ∇ of the softmax cross-entropy of row r at w = [W00, W01, W10, W11, b0, b1]: (p − y) ⊗ [x, 1]. */
function grad(w: number[], r: number): number[] {
  const x = X[r]!;
  const z = [0, 1].map((c) => x[0]! * w[c]! + x[1]! * w[2 + c]! + w[4 + c]!);
  const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e[0]! + e[1]!;
  const d = e.map((v, c) => v / s - (c === Y[r] ? 1 : 0));
  return [x[0]! * d[0]!, x[0]! * d[1]!, x[1]! * d[0]!, x[1]! * d[1]!, d[0]!, d[1]!];
}

/** One SAM step: g on batch `first`, ε = sign·ρ·g/‖g‖ (or unnormalised), g̃ on batch `second` at w + ε, w − lr·g̃. */
function samStep(w: number[], first: number, second: number, rho: number, lr: number, o: { sign?: number; normalise?: boolean } = {}): number[] {
  const g = grad(w, first);
  const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  const scale = (o.sign ?? 1) * rho / (o.normalise === false ? 1 : norm + 1e-12);
  const gt = grad(w.map((v, i) => v + scale * g[i]!), second);
  return w.map((v, i) => v - lr * gt[i]!);
}

const spec = { arch: 'logreg' as const, inputShape: [2], classes: 2, seed: 1 };
const rho = 0.5, lr = 0.1;

describe('SAM step', () => {
  before(async () => { await selectBackend(['wasm', 'cpu']); });

  it('perturbs by ρ·g/‖g‖ along the gradient and takes both gradients on the same mini-batch', () => {
    const opts = { lr, samRho: rho, batchSize: 1, epochs: 1, steps: 2, seed: 'sam-golden' };
    const order = [...batchPlan(Uint32Array.of(0, 1), opts)].map((b) => b.order[b.start]!);
    // Worked example for row 0 from w = 0: p = [½, ½], g = (p − y) ⊗ [2, 0, 1] → W [[−1, 1], [0, 0]], b [−½, ½];
    // ‖g‖ = √(1 + 1 + ¼ + ¼) = √2.5; ε = 0.5·g/√2.5 = 0.3162·g; logits at w + ε: [−0.7906, 0.7906];
    // p = [0.17063, 0.82937] → g̃ = W [[−1.65873, 1.65873], [0, 0]], b [−0.82937, 0.82937]; w' = −0.1·g̃.
    assert.ok(Math.abs(samStep([0, 0, 0, 0, 0, 0], 0, 0, rho, lr)[0]! - 0.165873) < 1e-6);
    const { model, layout } = buildModel(spec);
    writeVector(model, layout, new Float32Array(6));
    trainModel(model, layout, ds, Uint32Array.of(0, 1), opts);
    const got = readVector(model, layout);
    let w = [0, 0, 0, 0, 0, 0];
    for (const r of order) w = samStep(w, r, r, rho, lr);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(got[i]! - w[i]!) < 1e-6, `w[${i}] = ${got[i]}, expected ${w[i]}; got [${[...got]}] vs [${w}]`);
    // The wrong variants land elsewhere, so the comparison above can tell them apart.
    const wrong = {
      'second pass on the other batch': order.reduce((v, r) => samStep(v, r, 1 - r, rho, lr), [0, 0, 0, 0, 0, 0]),
      'perturbation against the gradient': order.reduce((v, r) => samStep(v, r, r, rho, lr, { sign: -1 }), [0, 0, 0, 0, 0, 0]),
      'unnormalised perturbation': order.reduce((v, r) => samStep(v, r, r, rho, lr, { normalise: false }), [0, 0, 0, 0, 0, 0]),
    };
    for (const [name, v] of Object.entries(wrong)) assert.ok(v.some((x, i) => Math.abs(x - got[i]!) > 1e-3), `${name} would also match`);
    model.dispose();
  });
});
