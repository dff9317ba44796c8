/**
 * Question: how many bytes does each peer send per round under MoDeST (s = 10, a = 1) and under D-PSGD on a
 * random 4-regular graph, over the same 30 peers and data, and how many bytes does each need to reach the
 * same test accuracy? Target (ALGORITHMS.md §3.6 [ABS] "3×–14× reduction in communication cost vs DL"):
 * MoDeST reaches the common accuracy with ≤ 1/3 of D-PSGD's bytes.
 *
 * Setup: 30 peers on the virtual network (deterministic, 1 ms links), 6,000 real MNIST digits split IID
 * (200 a peer), MLP 784-32-10, the same local training for both (1 epoch of batch 20, lr 0.05). MoDeST's
 * initial view holds every peer; D-PSGD mixes with Metropolis–Hastings weights. Bytes are encoded frames
 * that arrived (f32 payload + header + MoDeST's piggybacked view), from each peer's round summaries.
 * Accuracy: MoDeST's round model is its aggregator's average; D-PSGD's is the mean over the 30 peers.
 * The common accuracy is 95% of the lower of the two best accuracies, so both runs reach it.
 * Usage: npm run bench -- bench-modest-bytes [--rounds N] [--json]
 */
import '../node/polyfill.js';
import { defaultRegistry } from '../node/algorithms/defaults.js';
import { datasetParts } from '../node/data/dataset.js';
import { loadDigits } from '../node/data/mnist.js';
import { partition } from '../node/data/partitioners.js';
import { rngFor } from '../node/data/rng.js';
import { trainTestSplit } from '../node/data/split.js';
import { describeBackend } from '../node/learner/backend.js';
import type { ModelSpec } from '../node/learner/models.js';
import { WorkerPool } from '../node/learner/pool.js';
import { complete, randomRegular } from '../topology-sim/topologies.js';
import { VirtualSwarm } from '../topology-sim/virtual-swarm.js';
import { jsonMode, printEnv, verdict } from './lib/bench.js';

const N = 30;
const arg = (name: string, fallback: number): number => {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : fallback;
};
const ROUNDS = arg('rounds', 30);
const SEED = 1;

interface RunResult {
  /** bytes[round − 1][peer]: what the peer sent for that round. */
  bytes: number[][];
  accuracy: number[];
}

const pool = new WorkerPool({ size: 2, prefer: ['wasm', 'cpu'] });
await pool.start();
const ds = loadDigits();
const { train, test } = trainTestSplit(ds.size, { seed: 2, testSize: 1000 });
const parts = partition({ scheme: 'iid' }, ds.y, train.subarray(0, 200 * N), N, 10, SEED).parts;
const spec: ModelSpec = { arch: 'mlp', inputShape: [784], classes: 10, hidden: [32], seed: SEED };
const dataset = { id: 'digits', parts: datasetParts(ds) };
const { layout, initial } = await pool.describe(spec);
const evaluate = async (w: Float32Array): Promise<number> => (await pool.evaluate({ spec, weights: w, dataset, indices: test })).accuracy;

async function run(name: 'modest' | 'dpsgd'): Promise<RunResult> {
  const registry = defaultRegistry();
  const params = name === 'modest' ? { sampleSize: 10, aggregators: 1, aggregationTimeoutMs: 2000, pingTimeoutMs: 5000 } : {};
  const swarm = new VirtualSwarm({
    swarm: `bench-${name}`, seed: SEED, graph: name === 'modest' ? complete(N) : randomRegular(N, 4, rngFor('bench-modest-graph', SEED)),
    peers: parts.map((p) => ({ trainIndices: p, algorithm: registry.resolve(name, params, { layout, mode: 'sync' }) })),
    algorithmName: name, mode: 'sync', model: spec, layout, initial, train: { lr: 0.05, batchSize: 20, epochs: 1 },
    rounds: { maxRounds: ROUNDS, timeoutMs: 60_000, sendTimeoutMs: 60_000, minRoundMs: 0, periodMs: 1000, evalEvery: 0 },
    dataset, testIndices: new Uint32Array(0),
  }, { pool });
  const bytes = Array.from({ length: ROUNDS }, () => new Array<number>(N).fill(0));
  const models = Array.from({ length: ROUNDS }, () => [] as Float32Array[]);
  try {
    await swarm.start();
    await swarm.run((i, s) => {
      if (s.round < 1 || s.round > ROUNDS) return;
      bytes[s.round - 1]![i]! += s.bytesOut;
      const counts = name === 'dpsgd' || (s.roles?.includes('aggregator') ?? false);
      if (counts) models[s.round - 1]!.push(swarm.peers[i]!.vector());
    });
  } finally { await swarm.stop(); }
  const accuracy: number[] = [];
  for (const ms of models) {
    const accs = await Promise.all(ms.map(evaluate));
    accuracy.push(accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : accuracy.at(-1) ?? 0);
  }
  return { bytes, accuracy };
}

printEnv({ backend: describeBackend(pool.backend()), peers: N, rounds: ROUNDS, parameters: layout.size });
const t0 = performance.now();
const modest = await run('modest');
const dpsgd = await run('dpsgd');
await pool.stop();

const kb = (b: number): string => (b / 1024).toFixed(1);
const total = (r: RunResult, round: number): number => r.bytes.slice(0, round).flat().reduce((a, b) => a + b, 0);
if (!jsonMode) {
  console.log(`\nbytes sent per peer and round, KiB (mean over the 30 peers / busiest peer), and test accuracy`);
  console.log('round | MoDeST mean   max  acc   | D-PSGD mean   max  acc');
  for (let r = 0; r < ROUNDS; r++) {
    const row = (x: RunResult) => `${kb(x.bytes[r]!.reduce((a, b) => a + b, 0) / N).padStart(8)} ${kb(Math.max(...x.bytes[r]!)).padStart(6)} ${(100 * x.accuracy[r]!).toFixed(1).padStart(5)}%`;
    console.log(`${String(r + 1).padStart(5)} | ${row(modest)} | ${row(dpsgd)}`);
  }
  console.log('\nbytes each peer sent over the run, KiB (peer 0..29):');
  for (const [name, x] of [['MoDeST', modest], ['D-PSGD', dpsgd]] as const) {
    console.log(`  ${name}: ${x.bytes[0]!.map((_, p) => kb(x.bytes.reduce((s, row) => s + row[p]!, 0))).join(' ')}`);
  }
}
const target = 0.95 * Math.min(Math.max(...modest.accuracy), Math.max(...dpsgd.accuracy));
const reach = (x: RunResult): number | null => { const k = x.accuracy.findIndex((a) => a >= target); return k < 0 ? null : k + 1; };
const [rm, rd] = [reach(modest), reach(dpsgd)];
const [bm, bd] = [rm === null ? NaN : total(modest, rm), rd === null ? NaN : total(dpsgd, rd)];
const figures = {
  targetAccuracy: target, modest: { round: rm, bytes: bm, bytesPerPeer: bm / N, final: modest.accuracy.at(-1) },
  dpsgd: { round: rd, bytes: bd, bytesPerPeer: bd / N, final: dpsgd.accuracy.at(-1) }, ratio: bd / bm, wallS: (performance.now() - t0) / 1000,
};
if (!jsonMode) {
  console.log(`\nto reach ${(100 * target).toFixed(1)}% test accuracy (95% of the lower best):`);
  console.log(`  MoDeST: round ${rm ?? '-'}, ${(bm / 2 ** 20).toFixed(2)} MiB in all, ${kb(bm / N)} KiB per peer`);
  console.log(`  D-PSGD: round ${rd ?? '-'}, ${(bd / 2 ** 20).toFixed(2)} MiB in all, ${kb(bd / N)} KiB per peer`);
  console.log(`  D-PSGD / MoDeST bytes: ${(bd / bm).toFixed(2)}×; wall ${figures.wallS.toFixed(0)} s`);
}
verdict([{ name: 'MoDeST bytes to the common accuracy', pass: bd / bm >= 3, figure: `${(bd / bm).toFixed(2)}× fewer than D-PSGD`, target: '≥ 3× fewer (≤ 1/3)' }], figures);
