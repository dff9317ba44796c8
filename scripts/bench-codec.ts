/**
 * Question: how fast does protocols/codec.ts encode and decode a 2.5M-parameter model frame, per
 * encoding? Target: f16 and q8 encode+decode each ≥ 200 M params/s (params / (encode ms + decode ms)).
 * Also reports the bare f16 conversion loops (target ≥ 100 M values/s), the frame sizes, and f16/q8 decoding into
 * a receive buffer resident in kernel memory (decodeFrame's `into`; not checked).
 * Run: npm run bench -- bench-codec [--json]
 */
import { kernelVectors } from '../aggregation/kernels/wasm.js';
import { makeLayout } from '../aggregation/layout.js';
import { rngFor } from '../node/data/rng.js';
import { decodeFrame, encodeModelFrame, ENCODINGS, type Encoding, type FrameMeta } from '../protocols/codec.js';
import { floatsToHalves, halvesToFloats } from '../protocols/codec/f16.js';
import { fmtMs, jsonMode, printEnv, timeIt, verdict, type Check, type Timing } from './lib/bench.js';

const REPS = 5;
const TARGET_MPS = 200;
const TARGET_F16_LOOP_MPS = 100;

// A 2.5M-parameter MLP-ish layout: 784·2048 + 2048·512 + 512·10 kernels with biases ≈ 2.66M.
const layout = makeLayout([
  { name: 'dense1/kernel', shape: [784, 2048], role: 'kernel' },
  { name: 'dense1/bias', shape: [2048], role: 'bias' },
  { name: 'dense2/kernel', shape: [512, 2048], role: 'kernel' },
  { name: 'dense2/bias', shape: [512], role: 'bias' },
  { name: 'out/kernel', shape: [512, 10], role: 'kernel' },
  { name: 'out/bias', shape: [10], role: 'bias' },
]);
const n = layout.size;
const rng = rngFor('bench-codec', 42);
const values = new Float32Array(n);
for (let i = 0; i < n; i++) values[i] = 0.05 * rng.normal();
const meta: FrameMeta = { kind: 'model', swarm: 'bench', round: 1, step: 0, degree: 8, age: 1 };
const expect = { layout, swarm: 'bench' };
const mps = (t: Timing): number => n / 1e6 / (t.median / 1e3);

printEnv({ params: n, reps: REPS });
const figures: Record<string, unknown> = { params: n };
const checks: Check[] = [];
for (const encoding of ENCODINGS as readonly Encoding[]) {
  const frame = encodeModelFrame(meta, layout, values, { encoding });
  const enc = await timeIt(() => encodeModelFrame(meta, layout, values, { encoding }), REPS);
  const dec = await timeIt(() => {
    const r = decodeFrame(frame, expect);
    if (!r.ok) throw new Error(`bench frame rejected: ${r.reason} ${r.detail}`);
  }, REPS);
  const both = n / 1e6 / ((enc.median + dec.median) / 1e3);
  figures[encoding] = { bytes: frame.length, encodeMs: enc, decodeMs: dec, encodeMps: mps(enc), decodeMps: mps(dec), roundTripMps: both };
  if (!jsonMode) {
    console.log(`${encoding.padEnd(4)} ${(frame.length / 1e6).toFixed(2)} MB  encode ${fmtMs(enc)} = ${mps(enc).toFixed(0)} M/s; `
      + `decode ${fmtMs(dec)} = ${mps(dec).toFixed(0)} M/s; encode+decode ${both.toFixed(0)} M params/s`);
  }
  if (encoding === 'f16' || encoding === 'q8') {
    checks.push({ name: `${encoding} encode+decode`, pass: both >= TARGET_MPS, figure: `${both.toFixed(0)} M params/s`, target: `≥ ${TARGET_MPS} M params/s` });
  }
}

// Decoding into a receive buffer resident in kernel memory (decodeFrame's `into`): the kernels write the values
// in place, with no copy out and no new array per frame. Reported beside the checks above, not checked.
const [resident] = kernelVectors(1, n);
for (const encoding of ['f16', 'q8'] as const) {
  const frame = encodeModelFrame(meta, layout, values, { encoding });
  const dec = await timeIt(() => {
    const r = decodeFrame(frame, expect, { into: resident });
    if (!r.ok) throw new Error(`bench frame rejected: ${r.reason} ${r.detail}`);
  }, REPS);
  figures[`${encoding}DecodeIntoResident`] = { decodeMs: dec, decodeMps: mps(dec) };
  if (!jsonMode) console.log(`${encoding.padEnd(4)} decode into a resident receive buffer ${fmtMs(dec)} = ${mps(dec).toFixed(0)} M/s`);
}

// The bare conversion loops, without frame allocation and validation around them.
const halves = new Uint16Array(n);
const back = new Float32Array(n);
const toHalf = await timeIt(() => floatsToHalves(values, halves), REPS);
const toFloat = await timeIt(() => halvesToFloats(halves, back), REPS);
figures.f16Loops = { floatsToHalvesMps: mps(toHalf), halvesToFloatsMps: mps(toFloat) };
if (!jsonMode) console.log(`f16 loops: float→half ${mps(toHalf).toFixed(0)} M/s, half→float ${mps(toFloat).toFixed(0)} M/s`);
for (const [name, t] of [['float→half', toHalf], ['half→float', toFloat]] as const) {
  checks.push({ name: `f16 ${name} loop`, pass: mps(t) >= TARGET_F16_LOOP_MPS, figure: `${mps(t).toFixed(0)} M values/s`, target: `≥ ${TARGET_F16_LOOP_MPS} M values/s` });
}
verdict(checks, figures);
