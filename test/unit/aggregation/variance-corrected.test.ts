import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeLayout, tensorView } from '../../../aggregation/layout.js';
import {
  VV_DFL_TORCH, VarianceCorrectionBuffer, tensorVariance, varianceCorrectedMean,
} from '../../../aggregation/variance-corrected.js';
import { FC_OPTIONS, assertClose, assertCode, f32 } from './arbitraries.js';

// Two tensors: kernel k (2×2) then bias b (2).
const layout = makeLayout([{ name: 'k', shape: [2, 2], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]);
const M1 = Float32Array.from([1, 2, 3, 4, /* b */ 0, 1]);
const M2 = Float32Array.from([3, 2, 1, 0, /* b */ 1, 0]);
const M3 = Float32Array.from([2, 5, 2, 5, /* b */ 2, 5]);
const received = [M1, M2, M3];
const own = new Float32Array(6);

// Kernel: mean = [(1+3+2)/3, (2+2+5)/3, (3+1+2)/3, (4+0+5)/3] = [2, 3, 2, 3]; μ = 2.5, Var_pop = 0.25.
// Var_pop(M1.k) = ((−1.5)² + (−.5)² + .5² + 1.5²)/4 = 5/4; Var_pop(M2.k) = 5/4;
// Var_pop(M3.k) = (4 · 1.5²)/4 = 9/4 (mean 3.5). Target σ²_t = (5/4 + 5/4 + 9/4)/3 = 19/12.
const kTarget = 19 / 12;
// Bias: mean = [1, 2]; μ = 1.5, Var_pop = 0.25. Var_pop(M1.b) = Var_pop(M2.b) = 1/4, Var_pop(M3.b) = 9/4
// (mean 3.5, deviations ±1.5). Target = (1/4 + 1/4 + 9/4)/3 = 11/12.
const bTarget = 11 / 12;

describe('varianceCorrectedMean', () => {
  it('rescales the kernel to the mean received variance and only averages the bias (paper-era defaults)', () => {
    const r = varianceCorrectedMean(layout, own, received);
    // scale = sqrt((19/12)/(1/4)) = sqrt(19/3); W' = 2.5 ∓ 0.5·scale
    const s = Math.sqrt(kTarget / 0.25);
    assertClose(r, [2.5 - 0.5 * s, 2.5 + 0.5 * s, 2.5 - 0.5 * s, 2.5 + 0.5 * s, 1, 2], 1e-6);
  });

  it('also corrects biases when asked', () => {
    const r = varianceCorrectedMean(layout, own, received, { roles: ['kernel', 'bias'] });
    // bias scale = sqrt((11/12)/(1/4)) = sqrt(11/3); b' = 1.5 ∓ 0.5·scale
    const s = Math.sqrt(bTarget / 0.25);
    assertClose(r.subarray(4), [1.5 - 0.5 * s, 1.5 + 0.5 * s], 1e-6);
  });

  it('uses the unbiased estimator and epsilon like DFL_torch', () => {
    const r = varianceCorrectedMean(layout, own, received, { ...VV_DFL_TORCH, roles: ['kernel'] });
    // Unbiased: every variance × 4/3: σ² = 1/3, target = 19/9; scale = sqrt((19/9 + 1e-4)/(1/3 + 1e-4))
    const s = Math.sqrt((19 / 9 + 1e-4) / (1 / 3 + 1e-4));
    assertClose(r.subarray(0, 4), [2.5 - 0.5 * s, 2.5 + 0.5 * s, 2.5 - 0.5 * s, 2.5 + 0.5 * s], 1e-6);
  });

  it('mixes the own model with β and targets the received variance, or follows β', () => {
    // β = 0.5, own = 0: W̄.k = 0.5·[2, 3, 2, 3] = [1, 1.5, 1, 1.5]; μ = 1.25, σ² = 1/16.
    const received1 = varianceCorrectedMean(layout, own, received, { ownWeight: 0.5 });
    const s1 = Math.sqrt(kTarget / (1 / 16)); // target = received variance 19/12
    assertClose(received1.subarray(0, 4), [1.25 - 0.25 * s1, 1.25 + 0.25 * s1, 1.25 - 0.25 * s1, 1.25 + 0.25 * s1], 1e-6);
    assertClose(received1.subarray(4), [0.5, 1], 1e-7); // bias: 0.5·0 + 0.5·[1, 2]
    const follow = varianceCorrectedMean(layout, own, received, { ownWeight: 0.5, target: 'follow-beta' });
    // follow-β: target = 0.5·Var(W̄) + 0.5·19/12 = 0.5/16 + 19/24
    const s2 = Math.sqrt((0.5 / 16 + 0.5 * kTarget) / (1 / 16));
    assertClose(follow.subarray(0, 4), [1.25 - 0.25 * s2, 1.25 + 0.25 * s2, 1.25 - 0.25 * s2, 1.25 + 0.25 * s2], 1e-6);
  });

  it('leaves a constant tensor unchanged when ε = 0, and skips one-element tensors', () => {
    const l = makeLayout([{ name: 'k', shape: [3], role: 'kernel' }, { name: 's', shape: [1], role: 'kernel' }]);
    const a = Float32Array.from([1, 2, 3, 7]), b = Float32Array.from([3, 2, 1, 9]);
    // mean k = [2, 2, 2]: σ² = 0 → unchanged; s has one element → plain mean 8
    assert.deepEqual(varianceCorrectedMean(l, new Float32Array(4), [a, b]), Float32Array.from([2, 2, 2, 8]));
  });

  it('never mutates its inputs and may write into own', () => {
    const copies = received.map((m) => m.slice());
    const mine = Float32Array.from([9, 9, 9, 9, 9, 9]);
    const r = varianceCorrectedMean(layout, mine, received, { ownWeight: 0.5 }, mine);
    assert.equal(r, mine);
    received.forEach((m, i) => assert.deepEqual(m, copies[i]));
  });

  it('rejects bad options, ragged inputs and an empty buffer with typed errors', () => {
    assertCode(() => varianceCorrectedMean(layout, own, []), 'ERR_TOO_FEW_INPUTS');
    assertCode(() => varianceCorrectedMean(layout, own, [new Float32Array(5)]), 'ERR_LENGTH_MISMATCH');
    assertCode(() => varianceCorrectedMean(layout, new Float32Array(5), received), 'ERR_LENGTH_MISMATCH');
    assertCode(() => varianceCorrectedMean(layout, own, received, { ownWeight: 1.5 }), 'ERR_BAD_OPTION');
    assertCode(() => varianceCorrectedMean(layout, own, received, { epsilon: -1 }), 'ERR_BAD_OPTION');
    assertCode(() => varianceCorrectedMean(layout, own, received, { estimator: 'sample' as never }), 'ERR_BAD_OPTION');
    assertCode(() => varianceCorrectedMean(layout, own, received, { roles: ['weights' as never] }), 'ERR_BAD_OPTION');
  });

  const modelsArb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 4 })).chain(([n, k, b]) =>
    fc.tuple(
      fc.constant(makeLayout([{ name: 'k', shape: [k], role: 'kernel' }, { name: 'b', shape: [b], role: 'bias' }])),
      fc.array(fc.array(f32(100), { minLength: k + b, maxLength: k + b }).map((a) => Float32Array.from(a)), { minLength: n + 1, maxLength: n + 1 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ));

  it('keeps each corrected tensor\'s mean and hits the target variance (property)', () => {
    fc.assert(fc.property(modelsArb, ([l, [mine, ...others]]) => {
      const r = varianceCorrectedMean(l, mine!, others, { roles: ['kernel', 'bias'] });
      const plain = varianceCorrectedMean(l, mine!, others, { roles: [] });
      for (const t of l.tensors) {
        if (t.size < 2) continue;
        const target = others.reduce((s, o) => s + tensorVariance(o, t.offset, t.size), 0) / others.length;
        const before = tensorVariance(plain, t.offset, t.size);
        const mu = (x: Float32Array): number => tensorView(x, t).reduce((a, c) => a + c, 0) / t.size;
        assert.ok(Math.abs(mu(r) - mu(plain)) <= 1e-4 * Math.max(1, Math.abs(mu(plain))), `${t.name} mean`);
        if (before > 1e-6 * Math.max(1, target)) {
          const after = tensorVariance(r, t.offset, t.size);
          assert.ok(Math.abs(after - target) <= 1e-4 * Math.max(1, target), `${t.name}: variance ${after} vs target ${target}`);
        }
      }
    }), FC_OPTIONS);
  });

  it('is the identity on identical models, whatever β (property)', () => {
    fc.assert(fc.property(modelsArb, ([l, [x], beta]) => {
      const options = { ownWeight: beta, roles: ['kernel', 'bias'] as const };
      assert.deepEqual(varianceCorrectedMean(l, x!, [x!, x!, x!], options), x);
      assert.deepEqual(varianceCorrectedMean(l, x!, [x!], { ...options, target: 'follow-beta', estimator: 'unbiased', epsilon: 1e-4 }), x);
    }), FC_OPTIONS);
  });
});

describe('VarianceCorrectionBuffer', () => {
  it('matches varianceCorrectedMean bit for bit, reports readiness and resets', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(f32(50), { minLength: 36, maxLength: 36 }), (n, values) => {
      const models = Array.from({ length: n }, (_, i) => Float32Array.from(values.slice(0, 6).map((x, j) => x + values[(i * 7 + j) % 36]!)));
      const buf = new VarianceCorrectionBuffer(layout, { roles: ['kernel', 'bias'], estimator: 'unbiased' });
      for (const m of models) buf.add(m);
      assert.equal(buf.count, n);
      assert.ok(buf.ready(n) && !buf.ready(n + 1));
      const options = { ownWeight: 0.25, epsilon: 1e-4, target: 'follow-beta' } as const;
      const expected = varianceCorrectedMean(layout, M1, models, { ...options, roles: ['kernel', 'bias'], estimator: 'unbiased' });
      assert.deepEqual(buf.result(M1, options), expected);
      buf.reset();
      assert.equal(buf.count, 0);
      assertCode(() => buf.result(M1), 'ERR_TOO_FEW_INPUTS');
    }), FC_OPTIONS);
  });
});
