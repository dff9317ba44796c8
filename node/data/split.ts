/**
 * Seeded shuffles and train/test splits of row indices. Rows are never moved: callers keep one Dataset and
 * pass index lists around (to partitioners, learners, evaluation), so nothing is copied.
 */
import { DatasetError } from './errors.js';
import { rngFor } from './rng.js';

/** Test share when neither testSize nor testFraction is given: 10,000 digits → 8,000 train / 2,000 test. */
export const DEFAULT_TEST_FRACTION = 0.2;

/** 0..n-1 in a seeded random order (stream `rngFor('split', seed, 'shuffle')`). */
export function shuffledIndices(n: number, seed: number | string): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new DatasetError(`shuffledIndices: n must be an integer in 0..2^32-1, got ${n}`);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return rngFor('split', seed, 'shuffle').shuffleTyped(idx);
}

/** Options of `trainTestSplit`: give at most one of testSize and testFraction. */
export interface SplitOptions {
  seed: number | string;
  /** Rows in the test set, 0..n. */
  testSize?: number;
  /** Share of rows in the test set, 0..1, rounded to the nearest row; default DEFAULT_TEST_FRACTION. */
  testFraction?: number;
}

/**
 * Seeded shuffle then split: the first trainSize go to train, the rest to test. Digits default: 8,000 / 2,000.
 * Same (n, seed, size) → identical split.
 * @throws DatasetError when both sizes are given or one is out of range.
 */
export function trainTestSplit(n: number, opts: SplitOptions): { train: Uint32Array; test: Uint32Array } {
  const { testSize, testFraction } = opts;
  if (testSize !== undefined && testFraction !== undefined) {
    throw new DatasetError(`trainTestSplit: give testSize (${testSize}) or testFraction (${testFraction}), not both`);
  }
  if (testSize !== undefined && (!Number.isSafeInteger(testSize) || testSize < 0 || testSize > n)) {
    throw new DatasetError(`trainTestSplit: testSize must be an integer in 0..${n}, got ${testSize}`);
  }
  if (testFraction !== undefined && !(testFraction >= 0 && testFraction <= 1)) {
    throw new DatasetError(`trainTestSplit: testFraction must be in 0..1, got ${testFraction}`);
  }
  const idx = shuffledIndices(n, opts.seed);
  const tests = testSize ?? Math.round(n * (testFraction ?? DEFAULT_TEST_FRACTION));
  return { train: idx.slice(0, n - tests), test: idx.slice(n - tests) };
}
