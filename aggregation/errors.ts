/**
 * Typed errors of aggregation/ and the input checks that raise them (STYLE.md "Errors"). aggregation/ is
 * pure and imports nothing outside itself, so `AggregationError` extends `Error` directly but has the same
 * shape as node/errors.ts `MurmurError` (`name` = class name, readonly `code`): callers match on `code`.
 * Messages name the rule, the offending value and the limit.
 */

/** The closed set of aggregation error codes. */
export type AggregationErrorCode =
  /** Fewer inputs than the rule's declared minimum (e.g. trimmed mean with n ≤ 2f). */
  | 'ERR_TOO_FEW_INPUTS'
  /** Vectors, weights or an `out` buffer disagree in length. */
  | 'ERR_LENGTH_MISMATCH'
  /** An option or scalar argument is out of range (negative weight, β ∉ [0, 1], unknown estimator…). */
  | 'ERR_BAD_OPTION'
  /** An input is structurally invalid (asymmetric adjacency, a ranking that is not a permutation, NaN scores…). */
  | 'ERR_BAD_INPUT';

/** Raised by every aggregation rule on invalid input; match on `code`. */
export class AggregationError extends Error {
  static override name = 'AggregationError';
  readonly code: AggregationErrorCode;
  constructor(code: AggregationErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Throw ERR_TOO_FEW_INPUTS unless `count ≥ min`. */
export function requireInputs(rule: string, count: number, min: number, why = ''): void {
  if (count < min) {
    throw new AggregationError('ERR_TOO_FEW_INPUTS', `${rule}: needs at least ${min} inputs${why ? ` (${why})` : ''}, got ${count}`);
  }
}

/**
 * Check that `vectors` holds at least `min` Float32Arrays of one common length and return that length.
 * An empty list with `min` 0 returns `expected` (or 0).
 */
export function checkVectors(rule: string, vectors: readonly Float32Array[], min: number, expected?: number): number {
  requireInputs(rule, vectors.length, min);
  const d = expected ?? vectors[0]?.length ?? 0;
  for (let i = 0; i < vectors.length; i++) {
    const len = vectors[i]!.length;
    if (len !== d) {
      throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: vector ${i} has ${len} elements, expected ${d}`);
    }
  }
  return d;
}

/** Return `out` after checking its length, or a fresh Float32Array of length `d`. */
export function outBuffer(rule: string, d: number, out?: Float32Array): Float32Array {
  if (out === undefined) return new Float32Array(d);
  if (out.length !== d) {
    throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: out buffer has ${out.length} elements, expected ${d}`);
  }
  return out;
}

/** Throw ERR_BAD_OPTION unless `ok`; `detail` names the option, its value and the allowed range. */
export function checkOption(ok: boolean, rule: string, detail: string): void {
  if (!ok) throw new AggregationError('ERR_BAD_OPTION', `${rule}: ${detail}`);
}

/** Throw ERR_BAD_INPUT unless `ok`. */
export function checkInput(ok: boolean, rule: string, detail: string): void {
  if (!ok) throw new AggregationError('ERR_BAD_INPUT', `${rule}: ${detail}`);
}
