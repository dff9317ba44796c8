import '../../../../node/polyfill.js';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastConvGrads } from '../../../../node/learner/fast-conv-grads.js';
import { rngFor } from '../../../../node/data/rng.js';

type Pad = 'valid' | 'same';
interface Case { x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pad: Pad }
const cases: Case[] = [
  { x: [2, 9, 9, 1], f: [3, 3, 1, 4], stride: 1, pad: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [1, 10, 10, 2], f: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { x: [3, 11, 11, 4], f: [5, 5, 4, 2], stride: 2, pad: 'same' },
  { x: [2, 13, 13, 16], f: [3, 3, 16, 8], stride: 1, pad: 'same' },
  { x: [1, 28, 28, 1], f: [5, 5, 1, 6], stride: 1, pad: 'same' },
];

function grads(backend: string, c: Case, xv: Float32Array, fv: Float32Array, rv: Float32Array, outShape: number[]) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x), f = tf.tensor4d(fv, c.f), r = tf.tensor(rv, outShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r)));
    const [dx, df] = g([x, f]);
    return [dx!.dataSync().slice(), df!.dataSync().slice()] as const;
  });
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return num / Math.max(den, 1e-12);
}

describe('fast conv gradients on wasm', () => {
  before(async () => {
    await tf.setBackend('wasm'); await tf.ready();
    registerFastConvGrads('wasm');
    await tf.setBackend('cpu'); await tf.ready();
  });

  for (const c of cases) {
    it(`match cpu within 1e-5 relative: x ${c.x.join('×')}, filter ${c.f.join('×')}, stride ${c.stride}, ${c.pad}`, () => {
      const rng = rngFor('conv', JSON.stringify(c));
      const xv = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, () => rng.normal());
      const fv = Float32Array.from({ length: c.f.reduce((a, b) => a * b) }, () => rng.normal() * 0.2);
      tf.setBackend('cpu');
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.stride, c.pad).shape);
      const rv = Float32Array.from({ length: outShape.reduce((a, b) => a * b) }, () => rng.normal());
      const [dxCpu, dfCpu] = grads('cpu', c, xv, fv, rv, outShape);
      const [dxWasm, dfWasm] = grads('wasm', c, xv, fv, rv, outShape);
      assert.ok(maxRelErr(dfWasm, dfCpu) < 1e-5, `filter gradient rel err ${maxRelErr(dfWasm, dfCpu)}`);
      assert.ok(maxRelErr(dxWasm, dxCpu) < 1e-5, `input gradient rel err ${maxRelErr(dxWasm, dxCpu)}`);
    });
  }
});
