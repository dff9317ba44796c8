/**
 * Non-IID partitioners (STYLE.md §3.6): one named, seeded function per scheme, each taking an Rng, composed
 * by `partition`, which validates a JSON-able PartitionSpec and derives the stream
 * `rngFor('partition', seed, scheme)`. A partition is per-peer lists of row indices (each list in a seeded
 * random order) plus each peer's class histogram. Schemes as in gossipy's AssignmentHandler (uniform,
 * quantity skew, label Dirichlet, pathological c-classes) plus explicit class lists and Bristle's sliding
 * window (ALGORITHMS.md §4: "each node holds 4 of the 10 classes in a sliding window").
 */
import { classHistogram, MAX_CLASS_COUNT } from './dataset.js';
import { PartitionError } from './errors.js';
import { rngFor, type Rng } from './rng.js';

/** A JSON-able description of how to split data over peers. */
export type PartitionSpec =
  | { scheme: 'iid' }
  | { scheme: 'dirichlet'; alpha: number; minSize?: number }
  | { scheme: 'shards'; classesPerPeer: number }
  | { scheme: 'classes'; classes: number[][] }          // explicit class list per peer (length = peers)
  | { scheme: 'window'; classesPerPeer: number }         // peer p holds classes (p+j) mod C
  | { scheme: 'quantity'; alpha: number; minSize?: number }; // sizes ~ Dirichlet(alpha), labels IID

/** Per-peer row indices, class histograms (histograms[p][c]) and sizes. */
export interface Partition { parts: Uint32Array[]; histograms: number[][]; sizes: number[] }

/** Scheme names of PartitionSpec. */
export type PartitionScheme = PartitionSpec['scheme'];

/** Keys each scheme accepts besides `scheme`; any other key is an error. */
const SCHEME_KEYS: Record<PartitionScheme, readonly string[]> = {
  iid: [], dirichlet: ['alpha', 'minSize'], shards: ['classesPerPeer'], classes: ['classes'], window: ['classesPerPeer'], quantity: ['alpha', 'minSize'],
};

/** Known schemes, in the order error messages list them. */
export const PARTITION_SCHEMES = Object.keys(SCHEME_KEYS) as PartitionScheme[];

const SCHEME_HELP = 'known schemes: iid | dirichlet {alpha > 0, minSize?} | shards {classesPerPeer} | classes {classes: one class list per peer} | '
  + 'window {classesPerPeer} | quantity {alpha > 0, minSize?}';

/** Default `minSize` of 'dirichlet' and 'quantity': no peer is left without data. */
export const DEFAULT_MIN_SIZE = 1;
/** Redraws of all Dirichlet proportions before falling back to moving samples from the largest peers. */
export const DIRICHLET_MAX_REDRAWS = 50;
/** Share of a peer's samples its dominant classes cover (see `dominantClasses`). */
export const DOMINANT_COVERAGE = 0.8;

const sum = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0);

/** Integer counts proportional to `weights`, summing exactly to `total` (largest remainder; ties go to the lower index). */
export function largestRemainder(weights: readonly number[], total: number): number[] {
  const n = weights.length, s = sum(weights);
  const quotas = weights.map((w) => (s > 0 ? (w / s) * total : total / n));
  const counts = quotas.map(Math.floor);
  const order = counts.map((_, i) => i).sort((a, b) => (quotas[b]! - counts[b]!) - (quotas[a]! - counts[a]!) || a - b);
  for (let rest = total - sum(counts), k = 0; rest > 0; rest--, k++) counts[order[k % n]!]!++;
  return counts;
}

/**
 * Proportions p ~ Dirichlet(α, …, α) over k bins. Gamma(α) for α < 1 is Gamma(α + 1)·U^(1/α) (the Marsaglia–Tsang
 * boost) kept as a logarithm, so a tiny α cannot underflow every draw to 0.
 */
export function drawDirichlet(rng: Rng, alpha: number, k: number): number[] {
  const logs = Array.from({ length: k }, () => (alpha >= 1
    ? Math.log(rng.gamma(alpha))
    : Math.log(rng.gamma(alpha + 1)) + Math.log(1 - rng.next()) / alpha));
  const max = Math.max(...logs);
  const w = logs.map((l) => Math.exp(l - max));
  const s = sum(w);
  return w.map((v) => v / s);
}

/** Row indices grouped by label, each group in input order. */
function byClass(y: ArrayLike<number>, indices: ArrayLike<number>, classCount: number): number[][] {
  const lists = Array.from({ length: classCount }, () => [] as number[]);
  for (let i = 0; i < indices.length; i++) lists[y[indices[i]!]!]!.push(indices[i]!);
  return lists;
}

/** Hand out `list` in consecutive runs of `counts[k]` to `parts[order[k]]`. */
function deal(list: readonly number[], counts: readonly number[], parts: number[][], order?: readonly number[]): void {
  let at = 0;
  counts.forEach((n, k) => { for (let i = 0; i < n; i++) parts[order ? order[k]! : k]!.push(list[at++]!); });
}

/** Shuffle each part, so a learner reading a prefix gets a fair sample, and pack it. */
function finish(parts: number[][], rng: Rng): Uint32Array[] {
  return parts.map((p) => Uint32Array.from(rng.shuffle(p)));
}

/** Move random samples from the currently largest part into each part below `minSize` (needs Σ ≥ parts·minSize). */
function topUp(parts: number[][], minSize: number, rng: Rng): void {
  for (const part of parts) {
    while (part.length < minSize) {
      let donor = parts[0]!;
      for (const q of parts) if (q.length > donor.length) donor = q;
      const k = rng.int(donor.length);
      part.push(donor[k]!);
      donor[k] = donor[donor.length - 1]!;
      donor.pop();
    }
  }
}

/** IID: a seeded shuffle dealt into `peers` parts whose sizes differ by at most one. */
export function iidPartition(indices: ArrayLike<number>, peers: number, rng: Rng): Uint32Array[] {
  const parts = Array.from({ length: peers }, () => [] as number[]);
  deal(rng.shuffle(Array.from(indices)), largestRemainder(new Array<number>(peers).fill(1), indices.length), parts);
  return finish(parts, rng);
}

/**
 * Label skew: for each class, proportions p ~ Dir(α) over peers split that class's shuffled samples (largest
 * remainder, so counts sum exactly). Small α gives each peer few classes, large α near-IID labels. If a peer
 * ends up with fewer than `minSize` samples, all proportions are redrawn from the same stream (up to
 * DIRICHLET_MAX_REDRAWS times); if that keeps failing, random samples move from the largest peers to the short
 * ones, which slightly weakens the skew. Needs indices.length ≥ peers × minSize.
 */
export function dirichletPartition(
  y: ArrayLike<number>, indices: ArrayLike<number>, peers: number, classCount: number, alpha: number, minSize: number, rng: Rng,
): Uint32Array[] {
  const lists = byClass(y, indices, classCount).map((l) => rng.shuffle(l));
  let parts: number[][] = [];
  for (let attempt = 0; attempt <= DIRICHLET_MAX_REDRAWS; attempt++) {
    parts = Array.from({ length: peers }, () => []);
    for (const list of lists) deal(list, largestRemainder(drawDirichlet(rng, alpha, peers), list.length), parts);
    if (parts.every((p) => p.length >= minSize)) break;
  }
  topUp(parts, minSize, rng);
  return finish(parts, rng);
}

/**
 * Quantity skew: peer sizes are minSize + a Dir(α) share of the rest (largest remainder), labels IID (a seeded
 * shuffle dealt in runs of those sizes). Needs indices.length ≥ peers × minSize.
 */
export function quantityPartition(indices: ArrayLike<number>, peers: number, alpha: number, minSize: number, rng: Rng): Uint32Array[] {
  const shuffled = rng.shuffle(Array.from(indices));
  const sizes = largestRemainder(drawDirichlet(rng, alpha, peers), shuffled.length - peers * minSize).map((s) => s + minSize);
  const parts = Array.from({ length: peers }, () => [] as number[]);
  deal(shuffled, sizes, parts);
  return finish(parts, rng);
}

/**
 * Explicit classes per peer: each class's shuffled samples are split evenly (sizes differ by at most one; the
 * larger shares go to its holders in a seeded order) among the peers that list it. Classes nobody lists are
 * dropped and counted.
 */
export function classListPartition(
  y: ArrayLike<number>, indices: ArrayLike<number>, classes: readonly (readonly number[])[], classCount: number, rng: Rng,
): { parts: Uint32Array[]; dropped: number } {
  const holders = Array.from({ length: classCount }, () => [] as number[]);
  classes.forEach((list, p) => { for (const c of list) holders[c]!.push(p); });
  const parts = Array.from({ length: classes.length }, () => [] as number[]);
  let dropped = 0;
  byClass(y, indices, classCount).forEach((list, c) => {
    const h = holders[c]!;
    if (h.length === 0) { dropped += list.length; return; }
    deal(rng.shuffle(list), largestRemainder(new Array<number>(h.length).fill(1), list.length), parts, rng.shuffle([...h]));
  });
  return { parts: finish(parts, rng), dropped };
}

/**
 * Pathological shards: each peer gets k distinct classes, chosen greedily among the classes held by the fewest
 * peers so far (ties broken at random), so every class has ⌊P·k/C⌋ or ⌈P·k/C⌉ holders; if P·k < C, some classes
 * have none. Returns the sorted class list of each peer.
 */
export function shardClasses(peers: number, classCount: number, k: number, rng: Rng): number[][] {
  const held = new Array<number>(classCount).fill(0);
  return Array.from({ length: peers }, () => {
    const tie = Array.from({ length: classCount }, () => rng.next());
    const mine = held.map((_, c) => c).sort((a, b) => held[a]! - held[b]! || tie[a]! - tie[b]!).slice(0, k).sort((a, b) => a - b);
    for (const c of mine) held[c]!++;
    return mine;
  });
}

/** Sliding window (Bristle): peer p holds classes (p + j) mod C for j < w. */
export function windowClasses(peers: number, classCount: number, w: number): number[][] {
  return Array.from({ length: peers }, (_, p) => Array.from({ length: w }, (_, j) => (p + j) % classCount));
}

/** Check `indices` against `y`: integers inside it, labels in 0..C-1, no repeats (each row goes to one peer). */
function checkedIndices(y: ArrayLike<number>, indices: ArrayLike<number>, classCount: number): Uint32Array {
  const seen = new Uint8Array(y.length), out = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    if (!Number.isInteger(j) || j < 0 || j >= y.length) throw new PartitionError(`index ${j} at position ${i} is not a row of the labels (0..${y.length - 1})`);
    const label = y[j]!;
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new PartitionError(`row ${j} has label ${label}, expected an integer in 0..${classCount - 1}`);
    }
    if (seen[j]) throw new PartitionError(`row ${j} appears twice in the indices (at position ${i}); each row can go to one peer only`);
    seen[j] = 1;
    out[i] = j;
  }
  return out;
}

/**
 * Split `indices` (into labels `y`) over `peers`; deterministic for (spec, seed). Every index goes to exactly one
 * peer (for 'classes'/'window'/'shards', samples of a class are split evenly among the peers that hold it; classes
 * held by nobody are dropped and reported in a `dropped` count).
 * @throws PartitionError for an invalid spec, bad indices or labels, or too few samples for peers × minSize.
 */
export function partition(
  spec: PartitionSpec, y: ArrayLike<number>, indices: ArrayLike<number>, peers: number, classCount: number, seed: number | string,
): Partition & { dropped: number } {
  const s = validatePartitionSpec(spec, peers, classCount);
  const idx = checkedIndices(y, indices, classCount);
  const rng = rngFor('partition', seed, s.scheme);
  const minSize = s.scheme === 'dirichlet' || s.scheme === 'quantity' ? s.minSize ?? DEFAULT_MIN_SIZE : s.scheme === 'iid' ? 1 : 0;
  if (idx.length < peers * minSize) {
    throw new PartitionError(`${idx.length} samples cannot give each of ${peers} peers at least ${minSize} (scheme '${s.scheme}'): `
      + 'use fewer peers, more samples or a smaller minSize');
  }
  let parts: Uint32Array[];
  switch (s.scheme) {
    case 'iid': parts = iidPartition(idx, peers, rng); break;
    case 'dirichlet': parts = dirichletPartition(y, idx, peers, classCount, s.alpha, minSize, rng); break;
    case 'quantity': parts = quantityPartition(idx, peers, s.alpha, minSize, rng); break;
    case 'classes': parts = classListPartition(y, idx, s.classes, classCount, rng).parts; break;
    case 'shards': parts = classListPartition(y, idx, shardClasses(peers, classCount, s.classesPerPeer, rng), classCount, rng).parts; break;
    case 'window': parts = classListPartition(y, idx, windowClasses(peers, classCount, s.classesPerPeer), classCount, rng).parts; break;
  }
  const sizes = parts.map((p) => p.length);
  return { parts, histograms: parts.map((p) => classHistogram(y, p, classCount)), sizes, dropped: idx.length - sum(sizes) };
}

const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * Check a spec read from JSON/YAML/flags and return a clean copy (unknown keys dropped as errors, `minSize`
 * filled with its default).
 * @throws PartitionError (code 'ERR_PARTITION') listing every problem and the known schemes.
 */
export function validatePartitionSpec(spec: unknown, peers: number, classCount: number): PartitionSpec {
  const problems: string[] = [];
  if (!isInt(peers, 1)) problems.push(`peers must be an integer ≥ 1, got ${peers}`);
  if (!isInt(classCount, 1, MAX_CLASS_COUNT)) problems.push(`classCount must be an integer in 1..${MAX_CLASS_COUNT}, got ${classCount}`);
  const fail = (): never => { throw new PartitionError(`invalid partition spec: ${problems.join('; ')} (${SCHEME_HELP})`, problems); };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.push(`spec must be an object like {"scheme":"iid"}, got ${JSON.stringify(spec)}`);
    return fail();
  }
  const o = spec as Record<string, unknown>;
  const scheme = o.scheme;
  if (typeof scheme !== 'string' || !Object.hasOwn(SCHEME_KEYS, scheme)) {
    problems.push(`unknown scheme ${JSON.stringify(scheme)}`);
    return fail();
  }
  const keys = SCHEME_KEYS[scheme as PartitionScheme];
  for (const key of Object.keys(o)) {
    if (key !== 'scheme' && !keys.includes(key)) problems.push(`'${scheme}' has no key '${key}' (allowed: ${keys.join(', ') || 'none'})`);
  }
  const alpha = o.alpha, minSize = o.minSize ?? DEFAULT_MIN_SIZE, k = o.classesPerPeer;
  if (keys.includes('alpha') && !(typeof alpha === 'number' && Number.isFinite(alpha) && alpha > 0)) {
    problems.push(`'${scheme}' needs alpha, a finite number > 0, got ${JSON.stringify(alpha)}`);
  }
  if (keys.includes('minSize') && !isInt(minSize, 0)) problems.push(`minSize must be an integer ≥ 0, got ${JSON.stringify(minSize)}`);
  if (keys.includes('classesPerPeer') && !isInt(k, 1, classCount)) {
    problems.push(`'${scheme}' needs classesPerPeer, an integer in 1..${classCount} (the class count), got ${JSON.stringify(k)}`);
  }
  let classes: number[][] = [];
  if (scheme === 'classes') {
    const c = o.classes;
    if (!Array.isArray(c) || c.length !== peers) {
      problems.push(`'classes' needs one class list per peer (${peers} lists), got ${Array.isArray(c) ? `${c.length} lists` : JSON.stringify(c)}`);
    } else {
      c.forEach((list: unknown, p) => {
        if (!Array.isArray(list) || list.length === 0 || list.some((v) => !isInt(v, 0, classCount - 1)) || new Set(list).size !== list.length) {
          problems.push(`classes[${p}] must be a non-empty list of distinct integers in 0..${classCount - 1}, got ${JSON.stringify(list)}`);
        }
      });
      classes = (c as number[][]).map((list) => [...list]);
    }
  }
  if (problems.length > 0) fail();
  switch (scheme as PartitionScheme) {
    case 'iid': return { scheme: 'iid' };
    case 'dirichlet': return { scheme: 'dirichlet', alpha: alpha as number, minSize: minSize as number };
    case 'quantity': return { scheme: 'quantity', alpha: alpha as number, minSize: minSize as number };
    case 'shards': return { scheme: 'shards', classesPerPeer: k as number };
    case 'window': return { scheme: 'window', classesPerPeer: k as number };
    case 'classes': return { scheme: 'classes', classes };
  }
}

/** A short label for reports and logs, e.g. `dirichlet(α=0.1)`, `window(4 classes)`. */
export function describePartitionSpec(spec: PartitionSpec): string {
  switch (spec.scheme) {
    case 'iid': return 'iid';
    case 'dirichlet': case 'quantity': return `${spec.scheme}(α=${spec.alpha})`;
    case 'shards': case 'window': return `${spec.scheme}(${spec.classesPerPeer} classes)`;
    case 'classes': return `classes(${spec.classes.length} peers)`;
  }
}

/**
 * A peer's dominant classes: the smallest set of classes covering ≥ `coverage` (default 80%) of its samples,
 * largest first (ties: lower class first). Empty for an empty histogram.
 */
export function dominantClasses(histogram: readonly number[], coverage = DOMINANT_COVERAGE): number[] {
  const total = sum(histogram), out: number[] = [];
  const order = histogram.map((_, c) => c).sort((a, b) => histogram[b]! - histogram[a]! || a - b);
  for (let covered = 0, i = 0; total > 0 && covered < coverage * total; i++) { out.push(order[i]!); covered += histogram[order[i]!]!; }
  return out;
}
