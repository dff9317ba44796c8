/**
 * Typed errors of node/data/ (STYLE.md "Errors"): callers match on `code`, never on the message. Every
 * message names what failed, the offending value and, where one exists, the fix.
 */
import { MurmurError } from '../errors.js';

/** A dataset is malformed or an argument about one (size, index, label, shape, split) is out of range. */
export class DatasetError extends MurmurError {
  static override name = 'DatasetError';
  constructor(message: string, readonly problems: readonly string[] = []) {
    super('ERR_DATASET', message);
  }
}

/**
 * A user CSV file cannot be read as `features…, label` rows. `file` and `line` (1-based, physical lines;
 * undefined when the problem is the whole file) are also in the message as `file:line: problem`.
 */
export class CsvError extends MurmurError {
  static override name = 'CsvError';
  constructor(readonly file: string, readonly line: number | undefined, readonly problem: string) {
    super('ERR_CSV', `${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
  }
}

/** A partition spec is invalid, or the data cannot be split as asked (e.g. fewer samples than peers). */
export class PartitionError extends MurmurError {
  static override name = 'PartitionError';
  constructor(message: string, readonly problems: readonly string[] = []) {
    super('ERR_PARTITION', message);
  }
}
