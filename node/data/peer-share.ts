/** A device's share of a dataset: the partition of the training rows over `peers`, and part of the test rows. */
import { subset, type Dataset } from './dataset.js';
import { forgetDigits } from './mnist.js';
import { partition, type PartitionSpec } from './partitioners.js';
import { loadDataSource, type DataSourceSpec, type LoadedData, type SplitSpec } from './source.js';

export interface ShareSpec { peers: number; peerIndex: number; partition: PartitionSpec; seed: number | string; evalSize: number }

export function peerShare(data: LoadedData, s: ShareSpec): { train: Uint32Array; test: Uint32Array; histogram: number[] } {
  const p = partition(s.partition, data.dataset.y, data.train, s.peers, data.dataset.classCount, s.seed);
  const test = s.evalSize > 0 && s.evalSize < data.test.length ? data.test.subarray(0, s.evalSize) : data.test;
  return { train: p.parts[s.peerIndex]!, test, histogram: p.histograms[s.peerIndex]! };
}

/** A device's own examples: its training rows, then its test rows, in a dataset of just those rows. */
export interface PeerData {
  /** Rows [0, train.length) are the training share, the rest the test share. */
  readonly dataset: Dataset;
  readonly train: Uint32Array;
  readonly test: Uint32Array;
  /** Training rows per class. */
  readonly histogram: number[];
}

/**
 * Keep only the rows of `share` (issue 13, "a small footprint"): a new dataset holding the training rows
 * then the test rows, with indices renumbered to match. Training is unchanged bit for bit: batches are
 * permutations of index positions, and each position still names the same example.
 */
export function compactShare(dataset: Dataset, share: { train: Uint32Array; test: Uint32Array; histogram: number[] }): PeerData {
  const rows = new Uint32Array(share.train.length + share.test.length);
  rows.set(share.train, 0);
  rows.set(share.test, share.train.length);
  const own = subset(dataset, rows, `${dataset.name}/share`);
  const train = Uint32Array.from({ length: share.train.length }, (_, i) => i);
  const test = Uint32Array.from({ length: share.test.length }, (_, i) => share.train.length + i);
  return { dataset: own, train, test, histogram: share.histogram };
}

/**
 * What a daemon trains and tests on: load the source, split it, take this device's share and keep only
 * those rows. A device on a third of the digits holds ~11 MB of examples instead of all 31 MB: the whole
 * set is dropped once the share is copied out (the digits cache included).
 */
export async function loadPeerData(source: DataSourceSpec, split: SplitSpec, share: ShareSpec): Promise<PeerData> {
  const data = await loadDataSource(source, split);
  const own = compactShare(data.dataset, peerShare(data, share));
  if (source.source === 'digits') forgetDigits();
  return own;
}
