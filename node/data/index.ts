/** node/data/: datasets (real digits, synthetic, CSV), seeded splits and partitioners, seeded RNG. Re-exports only. */
export type { Dataset, DatasetInit, DatasetParts } from './dataset.js';
export { classHistogram, createDataset, datasetFromShared, datasetParts, MAX_CLASS_COUNT, sharedFloat32, sharedUint8, subset } from './dataset.js';
export { DIGIT_CLASSES, DIGIT_FEATURES, DIGIT_SIDE, DIGITS_SIZE, loadDigits } from './mnist.js';
export type { SyntheticOptions } from './synthetic.js';
export { DEFAULT_SYNTHETIC_NOISE, syntheticDataset } from './synthetic.js';
export type { CsvOptions } from './csv.js';
export { loadCsv } from './csv.js';
export type { SplitOptions } from './split.js';
export { DEFAULT_TEST_FRACTION, shuffledIndices, trainTestSplit } from './split.js';
export type { Partition, PartitionScheme, PartitionSpec } from './partitioners.js';
export {
  classListPartition, DEFAULT_MIN_SIZE, describePartitionSpec, dirichletPartition, DOMINANT_COVERAGE, dominantClasses, iidPartition,
  PARTITION_SCHEMES, partition, quantityPartition, shardClasses, validatePartitionSpec, windowClasses,
} from './partitioners.js';
export type { Rng, StreamKey } from './rng.js';
export { deriveRng, rngFor } from './rng.js';
export { CsvError, DatasetError, PartitionError } from './errors.js';
