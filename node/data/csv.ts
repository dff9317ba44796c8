/**
 * User data from CSV: each row is `feature₁, …, featureₖ, label` with a comma separator, an integer label
 * in the last column and an optional header row. Fields may be wrapped in double quotes; quoted commas are
 * not supported (values are numbers). Blank lines are skipped. Every problem is a CsvError naming file:line.
 * The header is recognised only by having a non-numeric field, so a first data row with a typo would be read as a
 * header; the column count of that row still binds every later row.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createDataset, MAX_CLASS_COUNT, sharedFloat32, sharedUint8, type Dataset } from './dataset.js';
import { AbortError } from '../errors.js';
import { CsvError } from './errors.js';

/** Options of `loadCsv`. */
export interface CsvOptions {
  /** Number of classes; default max label + 1. Labels must be below it. */
  classCount?: number;
  /** Model input shape; default [featureCount]; its product must equal the number of feature columns. */
  inputShape?: number[];
  /** Dataset name; default the file's base name. */
  name?: string;
  /** Aborts the read. */
  signal?: AbortSignal;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(inf|infinity|nan)$/i;
/** Features are stored as float32; larger magnitudes would become ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

function unquote(field: string): string {
  const t = field.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

function isNumericRow(fields: string[]): boolean {
  return fields.every((f) => NUMBER.test(f) || NON_FINITE.test(f));
}

/** Parse one field, or explain why it is not a finite number (column is 1-based). */
function parseField(field: string, column: number): number | string {
  if (NON_FINITE.test(field)) return `column ${column}: value '${field}' is not finite`;
  if (!NUMBER.test(field)) return `column ${column}: value '${field}' is not a number`;
  const v = Number(field);
  return Math.abs(v) <= FLOAT32_MAX ? v : `column ${column}: value '${field}' is not finite as a float32 (|v| > 3.4e38)`;
}

/**
 * CSV: each row = features…, label (last column, integer 0..C-1). Optional header row (detected when the first
 * row is not numeric). Features are stored as float32; the dataset's buffers are SharedArrayBuffer-backed.
 * @throws CsvError (code 'ERR_CSV') naming file:line and the problem: wrong column count, non-numeric value,
 *   non-finite value, label not an integer ≥ 0 (or not below `classCount`), fewer than 2 columns, empty file;
 *   an unreadable file or a bad `inputShape` name the file without a line. AbortError (code 'ERR_ABORTED') when
 *   `signal` aborts the read.
 */
export async function loadCsv(path: string, opts: CsvOptions = {}): Promise<Dataset> {
  const cc = opts.classCount;
  if (cc !== undefined && (!Number.isSafeInteger(cc) || cc < 1 || cc > MAX_CLASS_COUNT)) {
    throw new CsvError(path, undefined, `classCount must be an integer in 1..${MAX_CLASS_COUNT}, got ${cc}`);
  }
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw new AbortError(`loadCsv(${path}) was aborted`);
    throw new CsvError(path, undefined, `cannot read the file: ${(err as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  let columns = 0, header = false;
  const features: number[] = [], labels: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = raw.split(',').map(unquote);
    if (columns === 0) {
      columns = fields.length;
      if (columns < 2) throw new CsvError(path, line, `found ${columns} column; need at least one feature column and a label column`);
      if (!isNumericRow(fields)) { header = true; continue; }
    }
    if (fields.length !== columns) {
      throw new CsvError(path, line, `found ${fields.length} columns, expected ${columns} (${columns - 1} features + label)${header ? ' as in the header' : ' as in the first row'}`);
    }
    for (let c = 0; c < columns - 1; c++) {
      const v = parseField(fields[c]!, c + 1);
      if (typeof v === 'string') throw new CsvError(path, line, v);
      features.push(v);
    }
    const labelText = fields[columns - 1]!;
    const label = NUMBER.test(labelText) ? Number(labelText) : NaN;
    if (!Number.isInteger(label) || label < 0) {
      throw new CsvError(path, line, `label (column ${columns}) '${labelText}' is not an integer ≥ 0`);
    }
    if (label >= (opts.classCount ?? MAX_CLASS_COUNT)) {
      throw new CsvError(path, line, `label ${label} is not below classCount ${opts.classCount ?? `${MAX_CLASS_COUNT} (labels are stored as Uint8)`}`);
    }
    labels.push(label);
  }
  if (labels.length === 0) throw new CsvError(path, undefined, header ? 'empty file: a header but no data rows' : 'empty file: no data rows');

  const featureCount = columns - 1;
  const inputShape = opts.inputShape ?? [featureCount];
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isSafeInteger(d) || d < 1)
    || inputShape.reduce((a, b) => a * b, 1) !== featureCount) {
    throw new CsvError(path, undefined, `inputShape [${inputShape.join(', ')}] does not hold the file's ${featureCount} feature columns`);
  }
  const classCount = opts.classCount ?? labels.reduce((m, l) => Math.max(m, l), 0) + 1;
  const x = sharedFloat32(features.length), y = sharedUint8(labels.length);
  x.set(features);
  y.set(labels);
  return createDataset({ name: opts.name ?? basename(path), x, y, featureCount, classCount, inputShape });
}
