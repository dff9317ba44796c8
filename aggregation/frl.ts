/**
 * Federated Rank Learning (Mozaffari, Shejwalkar, Houmansadr, USENIX Security 2023, arXiv 2110.04350;
 * ALGORITHMS.md §5.1–5.4 and §8 "FRL vote"): clients send, per layer, the ranking of their edge scores;
 * the vote is a Borda count whose global ranking re-assigns the fixed sorted initial score values.
 * Reference: SPIN-UMass/FRL `utils.py` (`FRL_Vote`) @4cf2550.
 *
 * Conventions: rankings are ascending by *signed* score; every sort here is stable with ties broken by
 * edge index (the reference's unstable sort leaves tied vote sums in arbitrary order); the mask keeps
 * the top k of |S| (`supermaskKeptCount`, the one rule training and the vote share). Edge ids are positions
 * in our own layout (TF.js dense kernels are [in, out]).
 * Sorting uses LSD radix sorts on integer keys, O(n), so a 25 × 100k vote takes milliseconds.
 */
import { select } from './select.js';
import { AggregationError, checkOption } from './errors.js';

/** Minimum number of rankings of `voteRankings`. */
export const FRL_VOTE_MIN_INPUTS = 1;

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const RADIX_MASK = RADIX - 1;

/**
 * Stable LSD radix argsort of unsigned 32-bit keys: returns the indices 0..n−1 ordered by key, ties by
 * index. Three 11-bit passes; passes whose digit is constant are skipped.
 */
function argsortUint32(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let idx = new Uint32Array(n), tmp = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const count = new Uint32Array(RADIX);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i]! >>> shift) & RADIX_MASK]++;
    if (count[(keys[0]! >>> shift) & RADIX_MASK] === n) continue;
    let sum = 0;
    for (let b = 0; b < RADIX; b++) { const c = count[b]!; count[b] = sum; sum += c; }
    for (let i = 0; i < n; i++) {
      const e = idx[i]!;
      tmp[count[(keys[e]! >>> shift) & RADIX_MASK]++] = e;
    }
    const t = idx; idx = tmp; tmp = t;
  }
  return idx;
}

/** Order-preserving map from float32 bits to uint32 (−0 is folded onto +0 so they tie). */
function floatKeys(values: Float32Array, rule: string): Uint32Array {
  // A zero-copy view of the same bytes (a Float32Array's offset is always 4-aligned).
  const raw = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const keys = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x !== x) throw new AggregationError('ERR_BAD_INPUT', `${rule}: value ${i} is NaN`);
    const b = x === 0 ? 0 : raw[i]!;
    // Negative floats: flip every bit (larger magnitude → smaller key); positive: set the sign bit.
    keys[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  }
  return keys;
}

/**
 * Edge ids from the lowest to the highest signed score (a client's RANKING, §5.2); ties by edge index.
 * @throws AggregationError ERR_BAD_INPUT (NaN score)
 */
export function rankAscending(scores: Float32Array): Uint32Array {
  return argsortUint32(floatKeys(scores, 'rankAscending'));
}

/** Whether `r` is a permutation of 0..n−1 (n = r.length). Use it to reject a malformed ranking on receipt. */
export function isPermutation(r: Uint32Array): boolean {
  const seen = new Uint8Array(r.length);
  for (let i = 0; i < r.length; i++) {
    const e = r[i]!;
    if (e >= r.length || seen[e]) return false;
    seen[e] = 1;
  }
  return true;
}

/**
 * The FRL vote (§5.3): votes[e] = Σ_i pos_i[e] (pos_i = the inverse of ranking i: the Borda reputation of
 * edge e), R_g = edge ids by ascending votes (ties by edge index), S[R_g[j]] = V[j]. Votes are exact integers:
 * summed in Uint32 and radix-sorted when they fit 32 bits (k·(n−1) < 2³²), else summed in Float64 and
 * comparison-sorted. Each ranking is checked against a bitset of the edges it has named (n/8 bytes, in L1), so
 * the only scattered writes are the votes'.
 * @throws AggregationError ERR_TOO_FEW_INPUTS (no ranking), ERR_LENGTH_MISMATCH (a ranking or `out` of
 *   another length than sortedInitial), ERR_BAD_INPUT (a ranking that is not a permutation)
 */
export function voteRankings(rankings: readonly Uint32Array[], sortedInitial: Float32Array, out?: Float32Array): Float32Array {
  const rule = 'voteRankings';
  const n = sortedInitial.length;
  if (rankings.length < FRL_VOTE_MIN_INPUTS) throw new AggregationError('ERR_TOO_FEW_INPUTS', `${rule}: needs at least ${FRL_VOTE_MIN_INPUTS} ranking, got 0`);
  if (out !== undefined && out.length !== n) throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: out has ${out.length} elements, expected ${n}`);
  const fits = rankings.length * Math.max(0, n - 1) < 2 ** 32;
  const votes = fits ? new Uint32Array(n) : new Float64Array(n);
  const seen = new Int32Array((n + 31) >>> 5);
  rankings.forEach((r, i) => {
    if (r.length !== n) throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: ranking ${i} has ${r.length} edges, expected ${n}`);
    if (i > 0) seen.fill(0);
    addVotes(rule, r, i, votes, seen);
  });
  const order = fits
    ? argsortUint32(votes as Uint32Array)
    : Uint32Array.from(Array.from(votes.keys()).sort((a, b) => votes[a]! - votes[b]! || a - b));
  const scores = out ?? new Float32Array(n);
  for (let j = 0; j < n; j++) scores[order[j]!] = sortedInitial[j]!;
  return scores;
}

/** votes[r[p]] += p for every position p of ranking `i`, checking on the way that it names each edge once. */
function addVotes(rule: string, r: Uint32Array, i: number, votes: Uint32Array | Float64Array, seen: Int32Array): void {
  const n = votes.length;
  for (let p = 0; p < n; p++) {
    const e = r[p]!;
    // A plain `if` so the message is only built on failure (this loop runs k·n times).
    if (e >= n || (seen[e >>> 5]! & (1 << (e & 31))) !== 0) {
      throw new AggregationError('ERR_BAD_INPUT', `${rule}: ranking ${i} is not a permutation of 0..${n - 1} (edge ${e} at position ${p})`);
    }
    seen[e >>> 5] |= 1 << (e & 31);
    votes[e] += p;
  }
}

/**
 * V: the initial scores sorted ascending (fixed for the whole run, §5.3).
 * @throws AggregationError ERR_BAD_INPUT (NaN)
 */
export function sortedInitialValues(initialScores: Float32Array): Float32Array {
  for (let i = 0; i < initialScores.length; i++) {
    if (Number.isNaN(initialScores[i]!)) throw new AggregationError('ERR_BAD_INPUT', `sortedInitialValues: value ${i} is NaN`);
  }
  return Float32Array.from(initialScores).sort();
}

/**
 * The k-th largest value (1 ≤ k ≤ n) by quickselect on a Float64 scratch copy: O(n) expected.
 * @throws AggregationError ERR_BAD_OPTION (k out of range), ERR_BAD_INPUT (NaN)
 */
export function topKThreshold(values: ArrayLike<number>, k: number): number {
  const n = values.length;
  checkOption(Number.isInteger(k) && k >= 1 && k <= n, 'topKThreshold', `k is ${k}; expected an integer in [1, ${n}]`);
  const a = Float64Array.from(values);
  for (let i = 0; i < n; i++) if (a[i] !== a[i]) throw new AggregationError('ERR_BAD_INPUT', `topKThreshold: value ${i} is NaN`);
  const target = n - k;
  select(a, 0, n - 1, target);
  return a[target]!;
}

/**
 * THE supermask rule, shared by training (node/learner/supermask.ts `maskOf`) and the vote's mask
 * (`maskTopKAbs`), ALGORITHMS.md §8 "FRL's kept count": a layer of n edges keeps the
 * n − ⌊(1 − fraction)·n⌋ edges of largest |score| (GetSubnet's `j = int((1 − k)·n)`, `idx[j:]`; k = 0.5
 * keeps ⌈n/2⌉, k = 0.9 of 10 keeps 10: (1 − 0.9)·10 < 1 in binary floating point, as in the reference).
 * Among edges tied at the threshold the **highest edge indices** are kept: the tail of a stable ascending
 * argsort, which is what `idx[j:]` keeps when the sort is stable.
 */
export function supermaskKeptCount(n: number, fraction: number): number {
  return n - Math.floor((1 - fraction) * n);
}

/**
 * The supermask of edge-popup (`GetSubnet`, §5.1): keep the top `fraction` of |S| by `supermaskKeptCount`'s
 * count and tie rule; out[e] = 1 for a kept edge, else 0. Returns the number of kept edges.
 * @throws AggregationError ERR_BAD_OPTION (fraction ∉ [0, 1]), ERR_LENGTH_MISMATCH, ERR_BAD_INPUT (NaN)
 */
export function maskTopKAbs(scores: Float32Array, fraction: number, out: Uint8Array | Float32Array): number {
  const n = scores.length;
  checkOption(Number.isFinite(fraction) && fraction >= 0 && fraction <= 1, 'maskTopKAbs', `fraction is ${fraction}; expected a value in [0, 1]`);
  if (out.length !== n) throw new AggregationError('ERR_LENGTH_MISMATCH', `maskTopKAbs: out has ${out.length} elements, expected ${n}`);
  const kept = supermaskKeptCount(n, fraction);
  out.fill(0);
  if (kept === 0) return 0;
  const abs = new Float32Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(scores[i]!);
  const t = topKThreshold(abs, kept);
  let above = 0;
  for (let i = 0; i < n; i++) if (abs[i]! > t) { out[i] = 1; above++; }
  for (let i = n - 1, ties = kept - above; i >= 0 && ties > 0; i--) if (abs[i] === t) { out[i] = 1; ties--; }
  return kept;
}

/** A ranking reversed: the attack of §5.4 submits the reverse of the malicious clients' aggregate. */
export function reverseRanking(r: Uint32Array): Uint32Array {
  return r.slice().reverse();
}
