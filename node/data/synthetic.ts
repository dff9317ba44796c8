/**
 * A synthetic dataset for fast tests: one isotropic gaussian blob per class. With equal isotropic
 * covariances the Bayes classifier is linear, so a softmax regression can learn it; the default noise
 * keeps blobs far enough apart for > 90% accuracy (checked in test/unit/node/data/synthetic.test.ts).
 */
import { createDataset, MAX_CLASS_COUNT, sharedFloat32, sharedUint8, type Dataset } from './dataset.js';
import { DatasetError } from './errors.js';
import { rngFor, type Rng } from './rng.js';

/**
 * Default per-feature noise, relative to the smallest distance between two class centres. Two blobs at
 * distance Δ with σ = 0.15·Δ meet at Δ/2 = 3.3σ, so each pair is confused with probability Φ(-3.3) ≈ 5e-4
 * and, by the union bound over 9 rivals, a sample is misclassified with probability below 0.5%.
 */
export const DEFAULT_SYNTHETIC_NOISE = 0.15;

/** Centre layouts drawn per dataset; the one with the largest smallest pairwise distance is kept. */
const CENTRE_CANDIDATES = 16;

/** Options of `syntheticDataset`. */
export interface SyntheticOptions {
  /** Rows. */
  size: number;
  /** Features per row. */
  featureCount: number;
  /** Classes (1..256); labels are balanced (counts differ by at most one). */
  classCount: number;
  seed: number | string;
  /** Per-feature standard deviation relative to the smallest centre distance; default DEFAULT_SYNTHETIC_NOISE. */
  noise?: number;
  /** Model input shape; default [featureCount]; its product must equal featureCount. */
  inputShape?: number[];
}

function drawCentres(rng: Rng, featureCount: number, classCount: number): { centres: Float64Array; minDist: number } {
  // Coordinates ~ N(0, 1/d) give centres of norm ≈ 1 whatever the dimension.
  const scale = 1 / Math.sqrt(featureCount);
  let best = { centres: new Float64Array(0), minDist: -1 };
  for (let t = 0; t < CENTRE_CANDIDATES; t++) {
    const centres = new Float64Array(classCount * featureCount);
    for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * scale;
    let minDist = Infinity;
    for (let a = 0; a < classCount; a++) {
      for (let b = a + 1; b < classCount; b++) {
        let s = 0;
        for (let j = 0; j < featureCount; j++) { const d = centres[a * featureCount + j]! - centres[b * featureCount + j]!; s += d * d; }
        minDist = Math.min(minDist, Math.sqrt(s));
      }
    }
    if (minDist > best.minDist) best = { centres, minDist };
  }
  // A single class has no rival: measure noise against the unit centre norm instead.
  if (!Number.isFinite(best.minDist)) best.minDist = 1;
  return best;
}

/**
 * Separable gaussian blobs, learnable to > 90% by a linear model at default noise. Class centres depend only
 * on (seed, featureCount, classCount) and samples on (seed, size, …), so two sizes with one seed draw from the
 * same distribution. Row order is shuffled; labels are balanced.
 * @throws DatasetError listing every invalid option.
 */
export function syntheticDataset(opts: SyntheticOptions): Dataset {
  const { size, featureCount, classCount, seed } = opts;
  const noise = opts.noise ?? DEFAULT_SYNTHETIC_NOISE;
  const problems: string[] = [];
  if (!Number.isSafeInteger(size) || size < 1) problems.push(`size must be an integer ≥ 1, got ${size}`);
  if (!Number.isSafeInteger(featureCount) || featureCount < 1) problems.push(`featureCount must be an integer ≥ 1, got ${featureCount}`);
  if (!Number.isSafeInteger(classCount) || classCount < 1 || classCount > MAX_CLASS_COUNT) {
    problems.push(`classCount must be an integer in 1..${MAX_CLASS_COUNT}, got ${classCount}`);
  }
  if (!Number.isFinite(noise) || noise < 0) problems.push(`noise must be a finite number ≥ 0, got ${noise}`);
  if (problems.length > 0) throw new DatasetError(`invalid synthetic dataset options: ${problems.join('; ')}`, problems);

  const { centres, minDist } = drawCentres(rngFor('synthetic', seed, 'centres', featureCount, classCount), featureCount, classCount);
  const sigma = noise * minDist;
  const rng = rngFor('synthetic', seed, 'samples', size, featureCount, classCount, noise);
  const y = sharedUint8(size);
  for (let i = 0; i < size; i++) y[i] = i % classCount;
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = y[i]!; y[i] = y[j]!; y[j] = t;
  }
  const x = sharedFloat32(size * featureCount);
  for (let i = 0; i < size; i++) {
    const c = y[i]! * featureCount, row = i * featureCount;
    for (let j = 0; j < featureCount; j++) x[row + j] = centres[c + j]! + sigma * rng.normal();
  }
  const name = `synthetic(seed=${String(seed)}, ${classCount} classes, ${featureCount} features)`;
  return createDataset({ name, x, y, featureCount, classCount, inputShape: opts.inputShape ?? [featureCount] });
}
