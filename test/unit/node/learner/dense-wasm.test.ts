/**
 * The dense kernels on WebAssembly SIMD against the scalar JS kernel: training gives the same weights and loss
 * bit for bit (same Float64 operations in the same order, JS's own exp/log); evaluation sums in Float32 and
 * agrees with the Float64 JS evaluation within the bound stated below.
 */
import '../../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInfo } from '../../../../aggregation/kernels/wasm.js';
import type { ModelSpec } from '../../../../node/learner/models.js';
import type { TrainOptions } from '../../../../node/learner/train.js';
import { trainDenseScalarInPlace } from '../../../../node/learner/dense-js.js';
import { denseScoresWasm, trainDenseWasmInPlace } from '../../../../node/learner/dense-wasm.js';
import { evaluateDenseJs } from '../../../../node/learner/dense-eval.js';
import { denseParamCount, denseWidths } from '../../../../node/learner/dense-shape.js';
import { loadDigits } from '../../../../node/data/mnist.js';
import { shuffledIndices } from '../../../../node/data/split.js';
import { rngFor } from '../../../../node/data/rng.js';

const digits = loadDigits();
const order = shuffledIndices(digits.size, 1);
const specs: ModelSpec[] = [
  { arch: 'logreg', inputShape: [784], classes: 10, seed: 1 },
  { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: 1 },
  { arch: 'mlp', inputShape: [784], classes: 10, hidden: [13, 7], seed: 1 },
];

function initial(spec: ModelSpec): Float32Array {
  const rng = rngFor('dense-wasm-test', spec.arch, JSON.stringify(spec));
  return Float32Array.from({ length: denseParamCount(denseWidths(spec)!) }, () => 0.1 * rng.normal());
}

function sameBits(a: Float32Array, b: Float32Array, label: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) assert.fail(`${label}: weight ${i} is ${a[i]} on the kernels, ${b[i]} in JS`);
}

describe('dense kernels on WebAssembly SIMD', () => {
  it('run in this runtime', () => assert.equal(kernelInfo().variant, 'wasm-simd128', kernelInfo().reason));

  const cases: Array<[string, TrainOptions]> = [
    ['SGD with lazy weight decay', { lr: 0.1, weightDecay: 1e-3, batchSize: 8, epochs: 2, seed: 'a' }],
    ['strong decay (the scale is folded mid-call)', { lr: 0.5, weightDecay: 0.9, batchSize: 8, epochs: 3, seed: 'c' }],
    ['momentum, cosine lr, ragged last batch', { lr: 0.1, weightDecay: 1e-3, momentum: 0.9, lrSchedule: 'cosine', batchSize: 10, epochs: 2, seed: 'b' }],
    ['label map', { lr: 0.05, weightDecay: 0, batchSize: 5, epochs: 1, seed: 'd', labelMap: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] }],
  ];
  for (const spec of specs) {
    for (const [name, options] of cases) {
      it(`train ${spec.arch} ${spec.arch === 'mlp' ? spec.hidden.join('-') : ''} bit-identically to JS: ${name}`, () => {
        const indices = order.subarray(0, 97);
        const js = initial(spec), wasm = js.slice();
        const rj = trainDenseScalarInPlace(spec, js, digits, indices, options);
        const rw = trainDenseWasmInPlace(spec, wasm, digits, indices, options);
        assert.ok(rw);
        assert.deepEqual(rw, rj);
        sameBits(wasm, js, name);
      });
    }
  }

  it('train task after task of one shape, with an evaluation in between, bit-identically to JS (the reused net layout)', () => {
    // A simulator trains hundreds of tasks of one shape in a row; an evaluation between two of them reuses the
    // scratch region the training's net table lives in, so the table must be written again each time.
    const spec = specs[1]!, options: TrainOptions = { lr: 0.1, weightDecay: 1e-3, batchSize: 8, epochs: 1, seed: 'e' };
    const js = initial(spec), wasm = js.slice();
    for (let t = 0; t < 3; t++) {
      const indices = order.subarray(16 * t, 16 * t + 16);
      trainDenseScalarInPlace(spec, js, digits, indices, options);
      assert.ok(trainDenseWasmInPlace(spec, wasm, digits, indices, options));
      sameBits(wasm, js, `task ${t}`);
      assert.ok(denseScoresWasm(spec, wasm, digits, order.subarray(8000, 8100)));
    }
  });

  it('evaluate within Float32 summation error of the Float64 JS evaluation', () => {
    // Each logit sums ≤ 784 products in Float32: |error| ≤ 784·2⁻²⁴·Σ|wᵢxᵢ| (about 5e-5·Σ|wᵢxᵢ|). With these weights
    // logits are O(1), so the mean loss agrees to 1e-4 and at most a few of 400 argmaxes can flip (near-ties).
    const test = order.subarray(8000, 8400);
    for (const spec of specs) {
      const w = initial(spec);
      const ref = evaluateDenseJs(spec, w, digits, test);
      const scores = denseScoresWasm(spec, w, digits, test)!;
      assert.equal(scores.predicted.length, 400);
      const loss = scores.lossSum;
      let correct = 0;
      for (let i = 0; i < 400; i++) if (scores.predicted[i] === digits.y[test[i]!]) correct++;
      assert.ok(Math.abs(loss / 400 - ref.loss) < 1e-4, `${spec.arch} loss ${loss / 400} vs ${ref.loss}`);
      assert.ok(Math.abs(correct / 400 - ref.accuracy) <= 2 / 400, `${spec.arch} accuracy ${correct / 400} vs ${ref.accuracy}`);
    }
  });
});
