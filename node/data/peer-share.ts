/** A device's share of a dataset: the partition of the training rows over `peers`, and part of the test rows. */
import { partition, type PartitionSpec } from './partitioners.js';
import type { LoadedData } from './source.js';

export interface ShareSpec { peers: number; peerIndex: number; partition: PartitionSpec; seed: number | string; evalSize: number }

export function peerShare(data: LoadedData, s: ShareSpec): { train: Uint32Array; test: Uint32Array; histogram: number[] } {
  const p = partition(s.partition, data.dataset.y, data.train, s.peers, data.dataset.classCount, s.seed);
  const test = s.evalSize > 0 && s.evalSize < data.test.length ? data.test.subarray(0, s.evalSize) : data.test;
  return { train: p.parts[s.peerIndex]!, test, histogram: p.histograms[s.peerIndex]! };
}
