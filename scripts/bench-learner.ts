/**
 * bench-learner: training throughput of the MLP 784-128-10 and the LeNet-style CNN on wasm and on cpu,
 * and the speed-up of two workers over one (issue "Foundation", done-when). Median of 3 timed runs after a
 * warm-up, all in this one process so the ratios compare like with like.
 * Targets: wasm MLP ≥ 3× cpu; the wasm CNN trains (finite loss, > 0 samples/s); 2 workers ≥ 1.5× one.
 */
import '../node/polyfill.js';
import { datasetParts } from '../node/data/dataset.js';
import { loadDigits } from '../node/data/mnist.js';
import { shuffledIndices } from '../node/data/split.js';
import type { BackendName } from '../node/learner/backend.js';
import type { ModelSpec } from '../node/learner/models.js';
import { WorkerPool } from '../node/learner/pool.js';
import { printEnv, summarize, verdict, jsonMode, type Check } from './lib/bench.js';

const ds = loadDigits();
const dataset = { id: 'digits', parts: datasetParts(ds) };
const order = shuffledIndices(ds.size, 1);
const mlp: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [128], seed: 1 };
const cnn: ModelSpec = { arch: 'cnn', inputShape: [28, 28, 1], classes: 10, seed: 1 };
const options = { lr: 0.05, batchSize: 32, epochs: 1 };

async function throughput(pool: WorkerPool, spec: ModelSpec, samples: number, reps = 3): Promise<{ sps: number; min: number; max: number; loss: number }> {
  const { initial } = await pool.describe(spec);
  const indices = order.subarray(0, samples);
  const run = () => pool.train({ spec, weights: initial, dataset, indices, options: { ...options, seed: 1 } });
  await run();
  const sps: number[] = [];
  let loss = NaN;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = await run();
    sps.push(out.result.samples / ((performance.now() - t0) / 1000));
    loss = out.result.loss;
  }
  const s = summarize(sps);
  return { sps: s.median, min: s.min, max: s.max, loss };
}

async function withPool<T>(prefer: BackendName[], size: number, fn: (p: WorkerPool) => Promise<T>): Promise<T> {
  const pool = new WorkerPool({ size, prefer });
  await pool.start();
  try { return await fn(pool); } finally { await pool.stop(); }
}

/** Aggregate samples/s of `tasks` independent peers' epochs spread over the pool's workers. */
async function parallelThroughput(pool: WorkerPool, spec: ModelSpec, tasks: number, samples: number): Promise<number> {
  const { initial } = await pool.describe(spec);
  const run = () => Promise.all(Array.from({ length: tasks }, (_, t) => pool.train({
    spec, weights: initial, dataset, indices: order.subarray(t * samples, (t + 1) * samples), options: { ...options, seed: t },
  })));
  await run();
  const sps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await run();
    sps.push((tasks * samples) / ((performance.now() - t0) / 1000));
  }
  return summarize(sps).median;
}

const backendWasm = await withPool(['wasm'], 1, async (p) => p.backend().name);
printEnv({ backend: backendWasm, fallback: 'cpu (pure JS)', workload: 'custom SGD step, batch 32' });

const wasmMlp = await withPool(['wasm'], 1, (p) => throughput(p, mlp, 4000));
const cpuMlp = await withPool(['cpu'], 1, (p) => throughput(p, mlp, 1000));
const wasmCnn = await withPool(['wasm'], 1, (p) => throughput(p, cnn, 1000));
const cpuCnn = await withPool(['cpu'], 1, (p) => throughput(p, cnn, 128));
const one = await withPool(['wasm'], 1, (p) => parallelThroughput(p, mlp, 4, 2000));
const two = await withPool(['wasm'], 2, (p) => parallelThroughput(p, mlp, 4, 2000));

const rows = { wasmMlp, cpuMlp, wasmCnn, cpuCnn, oneWorkerSps: one, twoWorkerSps: two };
if (!jsonMode) {
  const f = (r: { sps: number; min: number; max: number }) => `${r.sps.toFixed(0)} samples/s (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)})`;
  console.log(`MLP 784-128-10  wasm: ${f(wasmMlp)}`);
  console.log(`MLP 784-128-10  cpu:  ${f(cpuMlp)}`);
  console.log(`CNN (LeNet-5)   wasm: ${f(wasmCnn)}, loss ${wasmCnn.loss.toFixed(3)}`);
  console.log(`CNN (LeNet-5)   cpu:  ${f(cpuCnn)}`);
  console.log(`MLP, 4 peers × 2000 samples on wasm: 1 worker ${one.toFixed(0)} samples/s, 2 workers ${two.toFixed(0)} samples/s`);
}
const checks: Check[] = [
  { name: 'wasm/cpu MLP', pass: wasmMlp.sps >= 3 * cpuMlp.sps, figure: `${(wasmMlp.sps / cpuMlp.sps).toFixed(2)}×`, target: '≥ 3×' },
  { name: 'wasm CNN trains', pass: wasmCnn.sps > 0 && Number.isFinite(wasmCnn.loss), figure: `${wasmCnn.sps.toFixed(0)} samples/s`, target: '> 0 samples/s, finite loss' },
  { name: '2 vs 1 workers', pass: two >= 1.5 * one, figure: `${(two / one).toFixed(2)}×`, target: '≥ 1.5×' },
];
verdict(checks, rows);
