/**
 * Gossip mixing for DFedSAM / DFedSAM-MGS (Shi et al., ICML 2023; ALGORITHMS.md §2.1–2.3): Metropolis–
 * Hastings weights, the full mixing matrix and its spectral gap, the timeout renormalisation, and one
 * gossip step z ← w_ii·z_i + Σ_j w_ij·z_j.
 *
 * Metropolis–Hastings is our choice (§2.1 [U]): w_ij = 1/(1 + max(d_i, d_j)) on edges, w_ii = 1 − Σ_j w_ij.
 * On an undirected graph W is symmetric and doubly stochastic, and a peer needs only its neighbours'
 * degrees, which travel in the MODEL header.
 */
import { AggregationError, checkInput, checkOption, checkVectors, outBuffer } from './errors.js';
import { ACCUMULATION_BLOCK } from './mean.js';
import { SUM_KERNEL_MIN_FLOATS, weightedSumToF32 } from './kernels/sums.js';
import { kernels } from './kernels/wasm.js';

/** One peer's row of the mixing matrix: its own weight and one weight per neighbour (same order as given). */
export interface MixingWeights {
  readonly self: number;
  readonly neighbours: readonly number[];
}

/** A model received in a gossip step with the weight it gets in the mix. */
export interface WeightedModel {
  readonly vector: Float32Array;
  readonly weight: number;
}

/** Minimum number of received models of `mixModels`: none (a peer with no neighbour keeps its model). */
export const MIX_MIN_INPUTS = 0;

/** Weights of a mix must sum to 1 within this tolerance (they come from Float64 arithmetic). */
export const MIX_WEIGHT_TOLERANCE = 1e-9;

const isDegree = (d: number): boolean => Number.isInteger(d) && d >= 0;

/**
 * Metropolis–Hastings weights of peer i: w_ij = 1/(1 + max(d_i, d_j)) and w_ii = 1 − Σ_j w_ij.
 * `neighbourDegrees` lists d_j for each of i's d_i neighbours, so its length must equal `selfDegree`
 * and every d_j is ≥ 1 (j is connected to i). w_ii ≥ 1/(1 + d_i) > 0 always.
 * @throws AggregationError ERR_BAD_OPTION (a degree that is not a non-negative integer, d_j = 0),
 *   ERR_LENGTH_MISMATCH (neighbourDegrees.length ≠ selfDegree)
 */
export function metropolisHastingsWeights(selfDegree: number, neighbourDegrees: readonly number[]): MixingWeights {
  checkOption(isDegree(selfDegree), 'metropolisHastingsWeights', `selfDegree is ${selfDegree}; expected a non-negative integer`);
  if (neighbourDegrees.length !== selfDegree) {
    throw new AggregationError('ERR_LENGTH_MISMATCH', `metropolisHastingsWeights: ${neighbourDegrees.length} neighbour degrees for selfDegree ${selfDegree}`);
  }
  const neighbours: number[] = [];
  let sum = 0;
  for (let k = 0; k < neighbourDegrees.length; k++) {
    const dj = neighbourDegrees[k]!;
    checkOption(isDegree(dj) && dj >= 1, 'metropolisHastingsWeights', `neighbour ${k} has degree ${dj}; a neighbour's degree is an integer ≥ 1`);
    const w = 1 / (1 + Math.max(selfDegree, dj));
    neighbours.push(w);
    sum += w;
  }
  return { self: 1 - sum, neighbours };
}

/** How `metropolisHastingsMatrix` reads its graph argument. */
export type GraphFormat = 'auto' | 'adjacency' | 'neighbours';

/**
 * The n×n Metropolis–Hastings matrix (row-major Float64Array) of an undirected graph given either as an
 * adjacency matrix (n rows of n entries, 0 = no edge, diagonal 0) or as neighbour lists (row i = ids of
 * i's neighbours). With format 'auto' (default) the graph is an adjacency matrix iff every row has n
 * entries: a neighbour list can only have n entries if it repeats an id or names the node itself,
 * both of which are invalid, so the rule is unambiguous for valid input.
 * @throws AggregationError ERR_BAD_INPUT (asymmetric graph, self-loop, repeated or out-of-range id,
 *   adjacency row of the wrong length)
 */
export function metropolisHastingsMatrix(graph: readonly (readonly number[])[], format: GraphFormat = 'auto'): Float64Array {
  const n = graph.length;
  const adjacency = format === 'adjacency' || (format === 'auto' && graph.every((row) => row.length === n));
  const lists = adjacency ? adjacencyToLists(graph) : validateLists(graph);
  const degree = lists.map((l) => l.length);
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (const j of lists[i]!) {
      const w = 1 / (1 + Math.max(degree[i]!, degree[j]!));
      W[i * n + j] = w;
      sum += w;
    }
    W[i * n + i] = 1 - sum;
  }
  return W;
}

function adjacencyToLists(graph: readonly (readonly number[])[]): number[][] {
  const n = graph.length;
  const lists: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = graph[i]!;
    checkInput(row.length === n, 'metropolisHastingsMatrix', `adjacency row ${i} has ${row.length} entries, expected ${n}`);
    checkInput(row[i] === 0, 'metropolisHastingsMatrix', `adjacency[${i}][${i}] is ${row[i]}; self-loops are not allowed`);
    const l: number[] = [];
    for (let j = 0; j < n; j++) {
      if ((row[j] !== 0) !== (graph[j]![i] !== 0)) {
        throw new AggregationError('ERR_BAD_INPUT', `metropolisHastingsMatrix: adjacency is not symmetric at (${i}, ${j})`);
      }
      if (row[j] !== 0) l.push(j);
    }
    lists.push(l);
  }
  return lists;
}

function validateLists(graph: readonly (readonly number[])[]): number[][] {
  const n = graph.length;
  const sets = graph.map((row, i) => {
    const s = new Set<number>();
    for (const j of row) {
      checkInput(Number.isInteger(j) && j >= 0 && j < n, 'metropolisHastingsMatrix', `node ${i} lists neighbour ${j}; ids are integers in [0, ${n})`);
      checkInput(j !== i, 'metropolisHastingsMatrix', `node ${i} lists itself; self-loops are not allowed`);
      checkInput(!s.has(j), 'metropolisHastingsMatrix', `node ${i} lists neighbour ${j} twice`);
      s.add(j);
    }
    return s;
  });
  for (let i = 0; i < n; i++) {
    for (const j of sets[i]!) checkInput(sets[j]!.has(i), 'metropolisHastingsMatrix', `edge ${i}→${j} has no reverse ${j}→${i}; the graph must be undirected`);
  }
  return graph.map((row) => [...row]);
}

/** Where `renormalise` puts the weight of the neighbours whose model did not arrive. */
export type RenormaliseMode = 'self' | 'proportional';

/**
 * Weights for a gossip step that timed out before every neighbour's model arrived (ALGORITHMS.md §2.3:
 * "renormalise over the models received" [U]). `received[k]` says whether neighbour k's model arrived.
 *
 * - 'self' (default): keep each received w_ij and add the missing mass to w_ii. If a link fails in both
 *   directions (a crashed peer, a dropped connection) the round's matrix is W with that edge removed
 *   and its weight moved to both diagonals: still symmetric and doubly stochastic, so the network
 *   average is preserved. A missing neighbour never raises another neighbour's influence.
 * - 'proportional': scale w_ii and the received w_ij by 1/(w_ii + Σ_received w_ij). Rows still sum to
 *   1, but W is no longer symmetric or column-stochastic, so the average drifts.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION (unknown mode)
 */
export function renormalise(weights: MixingWeights, received: readonly boolean[], mode: RenormaliseMode = 'self'): MixingWeights {
  if (received.length !== weights.neighbours.length) {
    throw new AggregationError('ERR_LENGTH_MISMATCH', `renormalise: ${received.length} received flags for ${weights.neighbours.length} neighbours`);
  }
  checkOption(mode === 'self' || mode === 'proportional', 'renormalise', `mode is ${String(mode)}; expected 'self' or 'proportional'`);
  const neighbours = weights.neighbours.map((w, k) => (received[k] ? w : 0));
  if (mode === 'self') {
    let missing = 0;
    for (let k = 0; k < neighbours.length; k++) if (!received[k]) missing += weights.neighbours[k]!;
    return { self: weights.self + missing, neighbours };
  }
  let kept = weights.self;
  for (const w of neighbours) kept += w;
  if (kept <= 0) return { self: 1, neighbours: neighbours.map(() => 0) };
  return { self: weights.self / kept, neighbours: neighbours.map((w) => w / kept) };
}

/**
 * One gossip step: out = selfWeight·self + Σ_k w_k·received[k].vector, accumulated in Float64.
 * Weights must be finite, ≥ 0 and sum to 1 (± MIX_WEIGHT_TOLERANCE); `out` may be `self`.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION
 */
export function mixModels(self: Float32Array, received: readonly WeightedModel[], selfWeight: number, out?: Float32Array): Float32Array {
  const d = self.length;
  checkVectors('mixModels', received.map((r) => r.vector), 0, d);
  let total = selfWeight;
  checkOption(Number.isFinite(selfWeight) && selfWeight >= 0, 'mixModels', `selfWeight is ${selfWeight}; must be finite and ≥ 0`);
  for (let k = 0; k < received.length; k++) {
    const w = received[k]!.weight;
    checkOption(Number.isFinite(w) && w >= 0, 'mixModels', `weight ${k} is ${w}; must be finite and ≥ 0`);
    total += w;
  }
  checkOption(Math.abs(total - 1) <= MIX_WEIGHT_TOLERANCE, 'mixModels', `weights sum to ${total}; they must sum to 1 (use renormalise after a timeout)`);
  const res = outBuffer('mixModels', d, out);
  const k = kernels();
  if (k && d * (received.length + 1) >= SUM_KERNEL_MIN_FLOATS) {
    // The self term always starts the sum (even at weight 0, as below); zero-weight received models are skipped.
    const kept = received.filter((r) => r.weight !== 0);
    weightedSumToF32(k, [self, ...kept.map((r) => r.vector)], [selfWeight, ...kept.map((r) => r.weight)], 1, res);
    return res;
  }
  const acc = new Float64Array(Math.min(ACCUMULATION_BLOCK, d));
  for (let k0 = 0; k0 < d; k0 += ACCUMULATION_BLOCK) {
    const len = Math.min(ACCUMULATION_BLOCK, d - k0);
    for (let i = 0; i < len; i++) acc[i] = selfWeight * self[k0 + i]!;
    for (const r of received) {
      const w = r.weight, v = r.vector;
      if (w === 0) continue;
      for (let i = 0; i < len; i++) acc[i] += w * v[k0 + i]!;
    }
    for (let i = 0; i < len; i++) res[k0 + i] = acc[i]!;
  }
  return res;
}

/** A matrix counts as symmetric for `spectralGap` if |W_ij − W_ji| ≤ this. */
export const SYMMETRY_TOLERANCE = 1e-12;

/**
 * Spectral gap 1 − λ of a symmetric n×n matrix (row-major), where λ is the second-largest eigenvalue in
 * absolute value (ALGORITHMS.md §2.1; for a symmetric doubly stochastic W the largest is 1). 0 means no
 * mixing (disconnected or periodic); n = 1 gives 1 (one peer is its own consensus). All eigenvalues
 * come from Householder tridiagonalisation followed by implicit QL, O(n³): about 0.2 s at n = 500 and
 * 1.1 s at n = 1000 on the project machine. They are accurate to a few ×1e-15·n·‖W‖, so the gap is
 * good to ~1e-12 for n ≤ 1000 (the tests check rings against the closed form to 1e-12).
 * @throws AggregationError ERR_LENGTH_MISMATCH (matrix.length ≠ n²), ERR_BAD_INPUT (not symmetric),
 *   ERR_TOO_FEW_INPUTS (n < 1)
 */
export function spectralGap(matrix: ArrayLike<number>, n: number): number {
  checkOption(Number.isInteger(n) && n >= 0, 'spectralGap', `n is ${n}; expected a non-negative integer`);
  if (n < 1) throw new AggregationError('ERR_TOO_FEW_INPUTS', 'spectralGap: needs n ≥ 1, got 0');
  if (matrix.length !== n * n) throw new AggregationError('ERR_LENGTH_MISMATCH', `spectralGap: matrix has ${matrix.length} entries, expected n² = ${n * n}`);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = matrix[i * n + j]!, b = matrix[j * n + i]!;
      // A plain `if`: the message is only built on failure (n² checks).
      if (!(Math.abs(a - b) <= SYMMETRY_TOLERANCE)) {
        throw new AggregationError('ERR_BAD_INPUT', `spectralGap: matrix is not symmetric at (${i}, ${j}): ${a} vs ${b}`);
      }
    }
  }
  if (n === 1) return 1;
  const abs = Array.from(symmetricEigenvalues(matrix, n), Math.abs).sort((x, y) => y - x);
  return 1 - abs[1]!;
}

/**
 * All eigenvalues of a symmetric n×n matrix (row-major; only symmetric input gives meaningful output), in
 * no particular order. Householder reduction to tridiagonal form on a Float64 copy, keeping both
 * triangles so every inner loop walks a contiguous row, then implicit QL with Wilkinson shifts.
 * @throws AggregationError ERR_BAD_INPUT if QL fails to converge (60 sweeps for one eigenvalue; only
 *   seen with NaN/Infinity input)
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(matrix);
  const d = new Float64Array(n), e = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1, ri = i * n;
    let scale = 0;
    for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]!);
    if (l === 0 || scale === 0) {
      e[i] = a[ri + l]!;
      continue;
    }
    // u = row i left of the diagonal, scaled to avoid under/overflow; H = I − u·uᵀ/h.
    let h = 0;
    for (let k = 0; k <= l; k++) { const x = a[ri + k]! / scale; a[ri + k] = x; h += x * x; }
    const f0 = a[ri + l]!;
    const g0 = f0 >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
    e[i] = scale * g0;
    h -= f0 * g0;
    a[ri + l] = f0 - g0;
    // p = A·u/h, K = uᵀp/2h, q = p − K·u; then A ← A − u·qᵀ − q·uᵀ on the leading (l+1)×(l+1) block.
    let f = 0;
    for (let j = 0; j <= l; j++) {
      const rj = j * n;
      let g = 0;
      for (let k = 0; k <= l; k++) g += a[rj + k]! * a[ri + k]!;
      e[j] = g / h;
      f += e[j]! * a[ri + j]!;
    }
    const hh = f / (h + h);
    for (let j = 0; j <= l; j++) e[j] = e[j]! - hh * a[ri + j]!;
    for (let j = 0; j <= l; j++) {
      const rj = j * n, uj = a[ri + j]!, qj = e[j]!;
      for (let k = 0; k <= l; k++) a[rj + k] = a[rj + k]! - (uj * e[k]! + qj * a[ri + k]!);
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
  // e[i] couples i−1 and i; QL wants e[i] to couple i and i+1.
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  tridiagonalQl(d, e);
  return d;
}

/** Implicit QL on a symmetric tridiagonal matrix (diagonal d, off-diagonal e); eigenvalues left in d. */
function tridiagonalQl(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        if (Math.abs(e[m]!) <= Number.EPSILON * (Math.abs(d[m]!) + Math.abs(d[m + 1]!))) break;
      }
      if (m === l) break;
      if (iter++ === 60) throw new AggregationError('ERR_BAD_INPUT', `symmetricEigenvalues: QL did not converge for eigenvalue ${l}; is the matrix finite?`);
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i]!, b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] = d[i + 1]! - p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = d[l]! - p;
      e[l] = g;
      e[m] = 0;
    } while (m !== l);
  }
}
