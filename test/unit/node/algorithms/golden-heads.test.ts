/**
 * Golden composition tests of the algorithms with their own exchange (bristle: the output kernel, scored on local
 * data; frl: rankings and a vote), driven through the registry entry as the engine drives it (golden-drive.ts),
 * the expected outputs computed by hand in the comments. Also checks that every registry entry has a golden test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeLayout } from '../../../../aggregation/layout.js';
import { defaultRegistry } from '../../../../node/algorithms/defaults.js';
import { createDataset } from '../../../../node/data/dataset.js';
import { evaluateDenseJs } from '../../../../node/learner/dense-eval.js';
import { aggregateInto, assertClose, frameOf, instanceOf, peer, smallLayout, trained, trainOptions } from './golden-drive.js';

describe('golden: bristle', () => {
  // A logistic-regression head: 2 features × 3 classes (kernel row-major [feature][class]) + 3 biases; the frozen
  // extractor is empty, so the head is the whole model. Peer a holds classes 0 and 1; class 2 is foreign to it.
  const layout = smallLayout([2, 3]);
  const spec = { arch: 'logreg' as const, inputShape: [2], classes: 3, seed: 1 };
  // a's rows (all of them are its κ = 10 per class validation rows): x = [1, 0] → 0, [0, 1] → 1, [0.5, 0.6] → 1.
  const ds = createDataset({ name: 'golden-bristle', x: Float32Array.of(1, 0, 0, 1, 0.5, 0.6), y: Uint8Array.of(0, 1, 1), featureCount: 2, classCount: 3 });
  const rows = Uint32Array.of(0, 1, 2);
  const evaluate = async (full: Float32Array, indices: Uint32Array) => evaluateDenseJs(spec, full, ds, indices);
  /** Kernel from columns c0, c1, c2 (each [feature 0, feature 1]), biases 0. */
  const head = (c0: number[], c1: number[], c2: number[]) => [c0[0]!, c1[0]!, c2[0]!, c0[1]!, c1[1]!, c2[1]!, 0, 0, 0];

  it('integrates with the locally trained kernel (all columns) as W_s and for its own F1', async () => {
    const inst = () => instanceOf('bristle', {}, layout);
    assert.deepEqual(trainOptions(inst(), {}, 1).trainable, ['out/kernel', 'out/bias']);
    // initialize zeroes the output layer (Node.kt).
    const a = peer('a', inst(), [1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
    assertClose(a.vector, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // The round starts from the previous integration: c0 = [1, 0], c1 = [0, 1], foreign c2 = [0.8, 0.8].
    a.vector = Float32Array.from(head([1, 0], [0, 1], [0.8, 0.8]));
    // Local training moved all columns: c0 = [1.2, 0], c1 = [0, 1.2], and pushed the foreign one down: c2 = [0.4, 0.2].
    const Ws = head([1.2, 0], [0, 1.2], [0.4, 0.2]);
    trained(a, Ws, 3, rows, ds.y);
    // What a shares (Kotlin `cw`): its own classes' trained columns, the foreign column as before the step.
    assertClose(frameOf(a).values!, head([1.2, 0], [0, 1.2], [0.8, 0.8]).slice(0, 6));
    // b is good on a's classes: c0 = [1, 0], c1 = [0, 1], c2 = [0, 0.6]; c is an attacker with swapped columns.
    const b = peer('b', inst(), new Array(9).fill(0), 2), c = peer('c', inst(), new Array(9).fill(0), 2);
    b.vector = Float32Array.from(head([1, 0], [0, 1], [0, 0.6]));
    c.vector = Float32Array.from(head([0, 1], [1, 0], [5, 5]));
    // F1 on a's rows. W_s: logits [1.2, 0, 0.4], [0, 1.2, 0.2], [0.6, 0.72, 0.32] → 0, 1, 1: F1 = [1, 1].
    //   (The shared copy would predict class 2 for row 3, [0.6, 0.72, 0.88], giving F1 = [1, 2/3].)
    // b: [1, 0, 0], [0, 1, 0.6], [0.5, 0.6, 0.36] → 0, 1, 1: F1 = [1, 1]. c: class 2 everywhere: F1 = [0, 0].
    // Sel = a's classes {0, 1} (overlap min(3, 2) = 2 = |F|). b: Δ = 0 → score −0⁵ = 0 on both, cert = 1 − 0 = 1,
    //   ω_b,c = max(0, 10·σ(0) − 4)·1 = 1, foreign ω_b = 1. c: cert = max(0, 0 − 0) = 0 → every weight 0.
    // Familiar: c0 = (W_s[:,0] + 1·b[:,0])/2 = [1.1, 0] → minus its mean 0.55 → [0.55, −0.55];
    //           c1 = ([0, 1.2] + [0, 1])/2 = [0, 1.1] → [−0.55, 0.55].
    // Foreign:  c2 = (W_s[:,2] + 1·b[:,2])/2 = ([0.4, 0.2] + [0, 0.6])/2 = [0.2, 0.4] → [−0.1, 0.1].
    //   (With the shared copy as W_s: ω = 10·σ(82.65/100) − 4 = 2.956 on class 1 and foreign, c2 → [−0.224, 0.224].)
    await aggregateInto(a, [frameOf(c), frameOf(b)], { evaluate, trainIndices: rows, labels: ds.y });
    assertClose(a.vector, head([0.55, -0.55], [-0.55, 0.55], [-0.1, 0.1]));
    const trust = a.inst.trust!();
    assert.deepEqual(trust.map((t) => [t.peer, t.score]), [['b', 1], ['c', 0]]);
  });

  it('with integrator mean averages the shared copies of the output kernels', async () => {
    const inst = () => instanceOf('bristle', { integrator: 'mean' }, layout);
    const a = peer('a', inst(), new Array(9).fill(0), 1), b = peer('b', inst(), new Array(9).fill(0), 1);
    a.vector = Float32Array.from(head([1, 0], [0, 1], [0.8, 0.8]));
    trained(a, head([1.2, 0], [0, 1.2], [0.4, 0.2]), 3, rows, ds.y);
    b.vector = Float32Array.from(head([1, 0], [0, 1], [0, 0.6]));
    // (a's shared [1.2, 0 | 0, 1.2 | 0.8, 0.8] + b's)/2, no column-mean subtraction
    await aggregateInto(a, [frameOf(b)], { evaluate, trainIndices: rows, labels: ds.y });
    assertClose(a.vector, head([1.1, 0], [0, 1.1], [0.4, 0.7]));
  });
});

describe('golden: frl', () => {
  it('trains scores with the FRL schedule, sends rankings and takes the Borda vote over its own and the neighbours’', async () => {
    const layout = makeLayout([{ name: 'out/scores', shape: [2, 2], role: 'score' }]);
    // S⁰ = [0.1, −0.2, 0.3, −0.4] → V = sorted = [−0.4, −0.2, 0.1, 0.3]
    const initial = Float32Array.of(0.1, -0.2, 0.3, -0.4);
    const inst = () => instanceOf('frl', {}, layout, initial);
    assert.equal(inst().payload, 'ranking');
    // lr 0.4·0.999^(round − 1), momentum 0.9, weight decay 1e-4, cosine over the local epochs
    assert.deepEqual(trainOptions(inst(), { lr: 0.05, batchSize: 8 }, 1), { lr: 0.4, batchSize: 8, momentum: 0.9, weightDecay: 1e-4, lrSchedule: 'cosine' });
    assert.ok(Math.abs(trainOptions(inst(), {}, 3).lr! - 0.4 * 0.999 ** 2) < 1e-15);
    const a = peer('a', inst(), initial, 2), b = peer('b', inst(), initial, 2), c = peer('c', inst(), initial, 2);
    // Trained scores and their ascending rankings; pos[e] = position of edge e:
    //   a [0.5, 0.1, −0.3, 0.2] → ranking [2, 1, 3, 0], pos [3, 1, 0, 2]
    //   b [0, 0.4, 0.1, −0.1]   → ranking [3, 0, 2, 1], pos [1, 3, 2, 0]
    //   c [−0.5, 0.2, 0.3, 0.6] → ranking [0, 1, 2, 3], pos [0, 1, 2, 3]
    trained(a, [0.5, 0.1, -0.3, 0.2], 8); trained(b, [0, 0.4, 0.1, -0.1], 8); trained(c, [-0.5, 0.2, 0.3, 0.6], 8);
    assert.deepEqual([...frameOf(b).rankings![0]!], [3, 0, 2, 1]);
    // Votes: e0 3 + 1 + 0 = 4, e1 1 + 3 + 1 = 5, e2 0 + 2 + 2 = 4, e3 2 + 0 + 3 = 5. Ascending, ties by edge index:
    //   R_g = [e0, e2, e1, e3] → S[e0] = V[0] = −0.4, S[e2] = −0.2, S[e1] = 0.1, S[e3] = 0.3.
    await aggregateInto(a, [frameOf(b), frameOf(c)]);
    assertClose(a.vector, [-0.4, 0.1, -0.2, 0.3]);
  });
});

describe('golden tests cover the registry', () => {
  it('every registered algorithm has a "golden: <name>" suite in these files', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const covered = new Set<string>();
    for (const f of readdirSync(here).filter((n) => /^golden-.*\.test\.ts$/.test(n))) {
      for (const m of readFileSync(`${here}/${f}`, 'utf8').matchAll(/describe\('golden: ([\w-]+)'/g)) covered.add(m[1]!);
    }
    assert.deepEqual(defaultRegistry().list().filter((n) => !covered.has(n)), []);
  });
});
