/**
 * Where a peer's or an experiment's examples come from: the built-in digits, a CSV file or a synthetic task,
 * plus the seeded train/test split. Shared by `murmur train`, the daemon and the simulator.
 */
import { loadCsv } from './csv.js';
import type { Dataset } from './dataset.js';
import { loadDigits } from './mnist.js';
import { trainTestSplit } from './split.js';
import { syntheticDataset } from './synthetic.js';

export type DataSourceSpec =
  | { source: 'digits' }
  | { source: 'csv'; path: string; classCount?: number }
  | { source: 'synthetic'; size: number; featureCount: number; classCount: number; noise?: number };

export interface SplitSpec {
  /** Rows held out for testing (digits default 2,000 of 10,000). */
  testSize?: number;
  testFraction?: number;
  seed: number | string;
}

export interface LoadedData { dataset: Dataset; train: Uint32Array; test: Uint32Array }

/** Load the examples and split them with a seeded shuffle. */
export async function loadDataSource(spec: DataSourceSpec, split: SplitSpec): Promise<LoadedData> {
  let dataset: Dataset;
  switch (spec.source) {
    case 'digits': dataset = loadDigits(); break;
    case 'csv': dataset = await loadCsv(spec.path, { classCount: spec.classCount }); break;
    case 'synthetic': dataset = syntheticDataset({ ...spec, seed: split.seed }); break;
  }
  const testSize = split.testSize ?? (split.testFraction === undefined && spec.source === 'digits' ? 2000 : undefined);
  const { train, test } = trainTestSplit(dataset.size, { seed: split.seed, testSize, testFraction: testSize === undefined ? split.testFraction : undefined });
  return { dataset, train, test };
}
