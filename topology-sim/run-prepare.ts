/**
 * The first step of a run (runner.ts): everything that exists before any peer does. The data and its
 * partition over the peers, the model's layout and shared initial weights, and the optional pre-training of
 * the shared model on rows no peer holds (Bristle).
 */
import type { Layout } from '../aggregation/layout.js';
import { resolveModelSpec } from '../node/config.js';
import { datasetParts } from '../node/data/dataset.js';
import { partition } from '../node/data/partitioners.js';
import { loadDataSource, type DataSourceSpec, type LoadedData } from '../node/data/source.js';
import type { AnyModelSpec } from '../node/learner/create-model.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { DatasetRef } from '../node/learner/tasks.js';
import type { Experiment, ResolvedRun } from './experiment.js';

/** What the swarm is built from. */
export interface PreparedRun {
  readonly run: ResolvedRun;
  readonly e: Experiment;
  /** Number of peers. */
  readonly n: number;
  readonly data: LoadedData;
  readonly dataset: DatasetRef;
  /** Training rows by peer, and each peer's label histogram. */
  readonly split: { parts: Uint32Array[]; histograms: number[][] };
  /** The rows every evaluation uses. */
  readonly testIndices: Uint32Array;
  readonly spec: AnyModelSpec;
  readonly layout: Layout;
  /** The swarm's shared initial weights (pre-trained if the experiment says so). */
  readonly initial: Float32Array;
  /** Per-peer initial weights when `model.independentInit` is set; null otherwise. */
  readonly initials: Float32Array[] | null;
}

const dataCache = new Map<string, Promise<LoadedData>>();
function loadData(spec: DataSourceSpec, seed: number | string, testSize?: number): Promise<LoadedData> {
  const key = JSON.stringify([spec, seed, testSize]);
  if (!dataCache.has(key)) dataCache.set(key, loadDataSource(spec, { seed, testSize }));
  return dataCache.get(key)!;
}

function dataSource(e: Experiment): DataSourceSpec {
  if (e.data.source === 'csv') return { source: 'csv', path: e.data.path!, classCount: e.data.classCount };
  if (e.data.source === 'synthetic') return { source: 'synthetic', size: e.data.size, featureCount: e.data.featureCount, classCount: e.data.classCount ?? 10 };
  return { source: 'digits' };
}

/** Load and split the data, describe the model and pre-train the shared weights if asked. */
export async function prepareRun(run: ResolvedRun, pool: WorkerPool, info: (line: string) => void): Promise<PreparedRun> {
  const e = run.experiment;
  const n = e.peers;
  const data = await loadData(dataSource(e), e.data.seed, e.data.testSize);
  const ds = data.dataset;
  // Bristle pre-trains on the first `pretrain.rows` training rows; peers share the rest (or trainSize of it).
  const pretrainRows = e.pretrain ? data.train.subarray(0, e.pretrain.rows) : new Uint32Array(0);
  const peerRows = data.train.subarray(pretrainRows.length, e.data.trainSize ? pretrainRows.length + e.data.trainSize : undefined);
  const split = partition(e.data.partition, ds.y, peerRows, n, ds.classCount, e.data.seed);
  const testIndices = e.eval.testSize ? data.test.subarray(0, e.eval.testSize) : data.test;
  const dataset = { id: `${ds.name}`, parts: datasetParts(ds) };

  const spec = resolveModelSpec(e.model, ds);
  const { layout, initial: shared } = await pool.describe(spec);
  let initial = shared;
  if (e.pretrain) {
    initial = (await pool.train({ spec, weights: shared, dataset, indices: pretrainRows, options: { lr: e.pretrain.lr, epochs: e.pretrain.epochs, batchSize: 32, seed: `${String(e.seed)}/pretrain` } })).weights;
    const acc = (await pool.evaluate({ spec, weights: initial, dataset, indices: testIndices })).accuracy;
    info(`pre-trained the shared model on ${pretrainRows.length} rows no peer holds: test accuracy ${(100 * acc).toFixed(1)}%`);
  }
  const initials: Float32Array[] | null = e.model.independentInit
    ? await Promise.all(Array.from({ length: n }, async (_, i) => (await pool.describe({ ...spec, seed: `${String(e.model.seed)}/peer-${i}` } as typeof spec)).initial))
    : null;
  return { run, e, n, data, dataset, split, testIndices, spec, layout, initial, initials };
}
