/**
 * Shared fast-check generators and helpers for the aggregation tests (not a test file itself).
 * Every property runs with FC_OPTIONS, whose fixed seed fast-check prints with any counterexample.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

export const FC_OPTIONS = { seed: 20261122, numRuns: 60 } as const;

/** A finite float32 in [-limit, limit]. */
export const f32 = (limit = 1000): fc.Arbitrary<number> =>
  fc.float({ min: Math.fround(-limit), max: Math.fround(limit), noNaN: true, noDefaultInfinity: true });

/** n vectors of length d with n ∈ [minN, maxN], d ∈ [1, maxD]. */
export function vectorsArb(minN: number, maxN: number, maxD = 12, value = f32()): fc.Arbitrary<Float32Array[]> {
  return fc.tuple(fc.integer({ min: minN, max: maxN }), fc.integer({ min: 1, max: maxD })).chain(([n, d]) =>
    fc.array(fc.array(value, { minLength: d, maxLength: d }).map((a) => Float32Array.from(a)), { minLength: n, maxLength: n }));
}

/** A permutation of 0..n−1 as an index list. */
export const permutationArb = (n: number): fc.Arbitrary<number[]> =>
  fc.array(fc.nat(), { minLength: n, maxLength: n }).map((keys) => keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i));

/** Assert |actual[i] − expected[i]| ≤ tol·max(1, |expected[i]|) for every i. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6, label = ''): void {
  assert.equal(actual.length, expected.length, `${label} length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${label}[${i}]: got ${a}, expected ${e}`);
  }
}

/** Assert that `fn` throws an AggregationError with `code`. */
export function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.equal(e.name, 'AggregationError');
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    return true;
  });
}
