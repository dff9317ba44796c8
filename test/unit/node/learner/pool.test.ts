import '../../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../../../node/learner/pool.js';
import { datasetParts } from '../../../../node/data/dataset.js';
import { syntheticDataset } from '../../../../node/data/synthetic.js';
import type { ModelSpec } from '../../../../node/learner/models.js';

const spec: ModelSpec = { arch: 'mlp', inputShape: [20], classes: 4, hidden: [16], seed: 7 };
const ds = syntheticDataset({ size: 400, featureCount: 20, classCount: 4, seed: 3 });
const dataset = { id: 'synthetic', parts: datasetParts(ds) };
const shards = [0, 1, 2, 3].map((p) => Uint32Array.from({ length: 100 }, (_, i) => p * 100 + i));

async function trainAll(workers: number): Promise<Float32Array[]> {
  const pool = new WorkerPool({ size: workers, prefer: ['wasm', 'cpu'] });
  await pool.start();
  try {
    const { initial } = await pool.describe(spec);
    const outs = await Promise.all(shards.map((indices, p) =>
      pool.train({ spec, weights: initial, dataset, indices, options: { lr: 0.1, batchSize: 8, epochs: 2, seed: `peer-${p}` } })));
    return outs.map((o) => o.weights);
  } finally { await pool.stop(); }
}

describe('worker pool', () => {
  it('gives bit-identical results with one and with two workers', async () => {
    const one = await trainAll(1), two = await trainAll(2);
    assert.equal(one.length, 4);
    for (let p = 0; p < 4; p++) assert.deepEqual(one[p], two[p]);
    assert.notDeepEqual(one[0], one[1]);
  });

  it('keeps the calling event loop free, reports the backend, evaluates, and aborts a running task', async () => {
    const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
    await pool.start();
    try {
      assert.ok(['wasm', 'cpu', 'tensorflow'].includes(pool.backend().name));
      const { initial } = await pool.describe(spec);
      let ticked = false;
      const timer = new Promise<void>((r) => setTimeout(() => { ticked = true; r(); }, 0));
      const training = pool.train({ spec, weights: initial, dataset, indices: shards[0]!, options: { batchSize: 4, epochs: 30, seed: 1 } });
      await timer;
      assert.equal(ticked, true);
      const trained = await training;
      const ev = await pool.evaluate({ spec, weights: trained.weights, dataset, indices: shards[1]! });
      assert.equal(ev.samples, 100);
      const ac = new AbortController();
      const long = pool.train({ spec, weights: initial, dataset, indices: shards[0]!, options: { batchSize: 1, epochs: 10_000, seed: 1 } }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await assert.rejects(long, (e: Error & { code?: string }) => e.code === 'ERR_ABORTED');
      // The worker is free again after an abort.
      const again = await pool.train({ spec, weights: initial, dataset, indices: shards[2]!, options: { epochs: 1, seed: 1 } });
      assert.equal(again.result.samples, 100);
    } finally { await pool.stop(); }
  });

  it('runs queued tasks of a lower priority (an earlier round) before those queued earlier with a higher one', async () => {
    const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
    await pool.start();
    try {
      const { initial } = await pool.describe(spec);
      const done: string[] = [];
      const task = (name: string, priority: number) => pool.train(
        { spec, weights: initial, dataset, indices: shards[0]!.subarray(0, 8), options: { epochs: 1, seed: name } }, { priority },
      ).then(() => { done.push(name); });
      // Submitted in one go: the first 16 (one worker's batch) go out at once, the rest wait in the queue.
      const late = Array.from({ length: 20 }, (_, i) => task(`round-5-${i}`, 5));
      const early = Array.from({ length: 4 }, (_, i) => task(`round-1-${i}`, 1));
      await Promise.all([...late, ...early]);
      const lastEarly = Math.max(...done.map((n, i) => (n.startsWith('round-1') ? i : -1)));
      const firstQueuedLate = Math.min(...['round-5-16', 'round-5-17', 'round-5-18', 'round-5-19'].map((n) => done.indexOf(n)));
      assert.ok(lastEarly < firstQueuedLate, `round 1 tasks ran before the queued round 5 tasks: ${done.join(' ')}`);
    } finally { await pool.stop(); }
  });

  it('answers a short training task before a long task queued behind it runs (answers batch only across short tasks)', async () => {
    const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
    await pool.start();
    try {
      const { initial } = await pool.describe(spec);
      // Five TF.js tasks fill the worker (pool.ts refills at 4 in flight), so the next two wait and go out in one
      // message: the plain-JS training, then a TF.js training of many epochs.
      const fillers = Array.from({ length: 5 }, (_, i) => pool.train({ spec, weights: initial, dataset, indices: shards[2]!, options: { epochs: 1, seed: i } }));
      const ac = new AbortController();
      const short = pool.train({ spec, weights: initial, dataset, indices: shards[0]!.subarray(0, 8), options: { epochs: 1, seed: 's', kernel: 'js' } });
      const long = pool.train({ spec, weights: initial, dataset, indices: shards[1]!, options: { batchSize: 1, epochs: 50, seed: 'l' } }, { signal: ac.signal });
      await short;
      // Had the short answer waited for the long task, the long one would have settled with it: too late to abort.
      ac.abort();
      await assert.rejects(long, (e: Error & { code?: string }) => e.code === 'ERR_ABORTED');
      await Promise.all(fillers);
    } finally { await pool.stop(); }
  });

  it('writes a train result into the given output vector, and refuses one of the wrong length', async () => {
    const pool = new WorkerPool({ size: 1, prefer: ['wasm', 'cpu'] });
    await pool.start();
    try {
      const { initial } = await pool.describe(spec);
      const task = { spec, weights: initial, dataset, indices: shards[0]!, options: { lr: 0.1, batchSize: 8, epochs: 1, seed: 'out' } };
      const plain = await pool.train(task);
      const output = new Float32Array(initial.length).fill(NaN);
      const into = await pool.train(task, { output });
      assert.equal(into.weights, output, 'resolves with the output vector itself');
      assert.deepEqual(into.weights, plain.weights);
      await assert.rejects(pool.train(task, { output: new Float32Array(3) }), /output vector has 3 elements/);
    } finally { await pool.stop(); }
  });

  it('rejects tasks before start with a clear error', async () => {
    const pool = new WorkerPool({ size: 1 });
    await assert.rejects(pool.describe(spec), /has not started/);
  });
});
