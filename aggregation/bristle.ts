/**
 * Bristle (Verbraeken, de Vos, Pouwelse, arXiv 2110.11006, 2021; ALGORITHMS.md §4.2–4.3 and §8 "Bristle"):
 * a distance-based prioritiser that picks which received output layers to evaluate, and a
 * performance-based integrator that weighs each peer per class by how its model does on the local test
 * set. Only the dense output kernel W (features × classes, row-major [feature][class] as TF.js stores
 * it, so column c = class c) is exchanged; the feature extractor is frozen and shared.
 *
 * Reference: jverbraeken/trustchain-superapp `fedml/.../ai/gar/Bristle.kt` @acb2ecf and `ai/Node.kt`.
 * Where it differs from §4.3 we follow the code and say so: scores exist only for the selected classes
 * Sel_j (so ω_{j,c} = 0 for familiar classes outside Sel_j), the foreign weight sums the unbounded
 * scores, and Node.kt subtracts each column's mean afterwards. Where the code is evidently wrong (the
 * Sel_j = class ids 0..|F|−1 bug) we implement the intent: Sel_j = F.
 */
import { AggregationError, checkInput, checkOption, checkVectors } from './errors.js';

/** A model received this iteration, identified by its sender. */
export interface BristleCandidate {
  readonly id: string;
  readonly vector: Float32Array;
}

/** Prioritiser options (§4.2): α = exploration, β = budget of prioritised models. */
export interface PrioritiseOptions {
  /** Default 0.4 (Kotlin `ALPHA`). */
  readonly alpha?: number;
  /** Default 10 (Kotlin `MIN_NUMBER_MODELS_FOR_DISTANCE_SCREENING`; the PAR port uses 30, §4.2 [U]). */
  readonly beta?: number;
}

/** Minimum number of received models of `prioritise` and `integrate`: none (the own model stays). */
export const BRISTLE_MIN_INPUTS = 0;
/** Default α, the exploration share of the prioritiser (Kotlin `ALPHA`). */
export const BRISTLE_DEFAULT_ALPHA = 0.4;
/** Default β, the prioritiser's budget (Kotlin `MIN_NUMBER_MODELS_FOR_DISTANCE_SCREENING`). */
export const BRISTLE_DEFAULT_BETA = 10;
/** Default class overlap φ with a peer (countPerPeer; the simulator hard-codes 3, §4.2). */
export const BRISTLE_DEFAULT_OVERLAP = 3;
/** Lower cap on per-class scores (§4.3 "bounded version"). */
export const BRISTLE_DEFAULT_BOUNDED_SCORE = -100;

/** Round half to even, as Kotlin's `kotlin.math.round(Double)` does. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Picks per tercile [f_l, f_m, f_h] = round((1−α)²β), round(2α(1−α)β), round(α²β), rounded half to even
 * like the Kotlin code. The total may exceed β: the defaults give 4 + 5 + 2 = 11.
 * @throws AggregationError ERR_BAD_OPTION (α ∉ [0, 1], β not finite or < 0)
 */
export function tercilePicks(alpha = BRISTLE_DEFAULT_ALPHA, beta = BRISTLE_DEFAULT_BETA): [number, number, number] {
  checkOption(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1, 'prioritise', `alpha is ${alpha}; expected α in [0, 1]`);
  checkOption(Number.isFinite(beta) && beta >= 0, 'prioritise', `beta is ${beta}; expected a finite β ≥ 0`);
  return [roundHalfEven((1 - alpha) ** 2 * beta), roundHalfEven(2 * alpha * (1 - alpha) * beta), roundHalfEven(alpha ** 2 * beta)];
}

/**
 * Distance-based prioritiser (§4.2): sort the received models by L2 distance to `own` (ties by id),
 * split the ranks into terciles LOW / MID / HIGH and draw f_l, f_m, f_h models at random from each
 * (`tercilePicks`); a tercile smaller than its quota gives all it has. Rank r (0-based) of n falls in
 * tercile ⌊3r/n⌋, so for n not divisible by 3 the closer terciles get the extra model (n = 4 → 2/1/1,
 * n = 5 → 2/2/1), like numpy.array_split; the Kotlin split (commented out in the code) drops up to two
 * middle ranks instead. Returns the chosen ids, closest first.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION, ERR_BAD_INPUT (duplicate id)
 */
export function prioritise(own: Float32Array, received: readonly BristleCandidate[], options: PrioritiseOptions, random: () => number): string[] {
  const picks = tercilePicks(options.alpha ?? BRISTLE_DEFAULT_ALPHA, options.beta ?? BRISTLE_DEFAULT_BETA);
  checkVectors('prioritise', received.map((r) => r.vector), 0, own.length);
  checkInput(new Set(received.map((r) => r.id)).size === received.length, 'prioritise', 'two received models share an id');
  const ranked = received
    .map((r) => ({ id: r.id, distance: squaredDistance(own, r.vector) }))
    .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = ranked.length;
  const chosen: number[] = [];
  for (let t = 0; t < 3; t++) {
    // Ranks r with ⌊3r/n⌋ = t form the interval [⌈tn/3⌉, ⌈(t+1)n/3⌉).
    const from = Math.ceil((t * n) / 3), to = Math.ceil(((t + 1) * n) / 3);
    const pool = Array.from({ length: to - from }, (_, k) => from + k);
    const k = Math.min(picks[t]!, pool.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.min(pool.length - i - 1, Math.floor(random() * (pool.length - i)));
      const tmp = pool[i]!; pool[i] = pool[j]!; pool[j] = tmp;
      chosen.push(pool[i]!);
    }
  }
  return chosen.sort((a, b) => a - b).map((r) => ranked[r]!.id);
}

/** ‖a − b‖² in Float64 (the ranking only needs the square). */
function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) { const e = a[i]! - b[i]!; s += e * e; }
  return s;
}

/** One evaluated peer model for the integrator. */
export interface BristlePeer {
  readonly id: string;
  /** The peer's output kernel, features × classes row-major. */
  readonly W: Float32Array;
  /** Per-class F1 of W on the local test set (length = classes; only familiar entries are read). */
  readonly f1: readonly number[];
  /** Class overlap with this peer (countPerPeer); default BRISTLE_DEFAULT_OVERLAP. */
  readonly overlap?: number;
}

/** Integrator options (§4.3, §8). */
export interface IntegrateOptions {
  /** Subtract each output column's mean after integration, as Node.kt does. Default true. */
  readonly subtractColumnMean?: boolean;
  /** Cap applied to per-class scores before the per-class weight. Default −100. */
  readonly boundedScore?: number;
}

/** Input of `integrate`. */
export interface IntegrateInput {
  readonly features: number;
  readonly classes: number;
  /** Own kernel W_s, features × classes row-major. */
  readonly own: Float32Array;
  /** Own per-class F1 (length = classes; only familiar entries are read). */
  readonly ownF1: readonly number[];
  /** Familiar class ids F (classes present in the own data), in the order ties are broken. */
  readonly familiar: readonly number[];
  readonly peers: readonly BristlePeer[];
  readonly options?: IntegrateOptions;
}

/** Output of `integrate`; per-peer arrays follow the order of `peers`. */
export interface IntegrateResult {
  /** The integrated kernel, features × classes row-major. */
  readonly W: Float32Array;
  /** Sel_j: the familiar classes each peer is judged on. */
  readonly selected: number[][];
  /** Unbounded score_{j,c} per class (0 for classes outside Sel_j). */
  readonly scores: Float64Array[];
  /** cert_j = max(0, mean − population std of F1_j over Sel_j). */
  readonly certainty: number[];
  /** ω_{j,c} per class (0 outside Sel_j and for foreign classes). */
  readonly classWeights: Float64Array[];
  /** ω_j, the weight of peer j on every foreign column. */
  readonly foreignWeight: number[];
}

const sigmoidWeight = (score: number): number => Math.max(0, 10 / (1 + Math.exp(-score / 100)) - 4);

/**
 * Performance-based integrator (§4.3 as in Bristle.kt @acb2ecf):
 * Δ = 10·|F1_j(c) − F1_s(c)|; score = Δ^(3+F1_s(c)) if F1_j(c) > F1_s(c) else −Δ^(4+F1_s(c)), for c ∈ Sel_j;
 * cert_j = max(0, mean − std of F1_j over Sel_j); ω_{j,c} = max(0, 10·σ(max(bound, score)/100) − 4)·cert_j;
 * ω_j = max(0, 10·σ(Σ_{c∈Sel_j} score/100) − 4)·cert_j;
 * familiar c: W'[:,c] = (W_s[:,c] + Σ_j ω_{j,c}·W_j[:,c]) / (1 + Σ_j ω_{j,c});
 * foreign c:  W'[:,c] = (W_s[:,c] + Σ_j ω_j·W_j[:,c]) / (1 + Σ_j ω_j);
 * then (default) subtract each column's mean over the features. Sel_j = F when overlap = |F|, else the
 * min(overlap, |F|) familiar classes with the highest F1_j (ties by position in `familiar`).
 * Computed in Float64 and rounded once.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION (sizes, overlap), ERR_BAD_INPUT (class ids, F1 ∉ [0, 1])
 */
export function integrate(input: IntegrateInput): IntegrateResult {
  const { features, classes, own, ownF1, familiar, peers } = input;
  const subtract = input.options?.subtractColumnMean ?? true;
  const bound = input.options?.boundedScore ?? BRISTLE_DEFAULT_BOUNDED_SCORE;
  validate(input, bound);
  const isFamiliar = new Uint8Array(classes);
  for (const c of familiar) isFamiliar[c] = 1;

  const selected: number[][] = [], scores: Float64Array[] = [], certainty: number[] = [];
  const classWeights: Float64Array[] = [], foreignWeight: number[] = [];
  for (const peer of peers) {
    const overlap = peer.overlap ?? BRISTLE_DEFAULT_OVERLAP;
    const sel = overlap === familiar.length
      ? [...familiar]
      : familiar.map((c, pos) => ({ c, pos })).sort((a, b) => peer.f1[b.c]! - peer.f1[a.c]! || a.pos - b.pos).slice(0, overlap).map((e) => e.c);
    const f1s = sel.map((c) => peer.f1[c]!);
    const m = f1s.reduce((a, b) => a + b, 0) / f1s.length;
    const std = Math.sqrt(f1s.reduce((a, b) => a + (b - m) ** 2, 0) / f1s.length);
    const cert = Math.max(0, m - std);
    const score = new Float64Array(classes), weight = new Float64Array(classes);
    let total = 0;
    for (const c of sel) {
      const mine = ownF1[c]!, theirs = peer.f1[c]!;
      const delta = 10 * Math.abs(theirs - mine);
      const s = theirs > mine ? delta ** (3 + mine) : -(delta ** (4 + mine));
      score[c] = s;
      total += s;
      weight[c] = sigmoidWeight(Math.max(bound, s)) * cert;
    }
    selected.push(sel); scores.push(score); certainty.push(cert); classWeights.push(weight);
    foreignWeight.push(sigmoidWeight(total) * cert);
  }

  const acc = new Float64Array(features * classes);
  const denominator = new Float64Array(classes).fill(1);
  for (let i = 0; i < acc.length; i++) acc[i] = own[i]!;
  peers.forEach((peer, j) => {
    const w = classWeights[j]!, wf = foreignWeight[j]!;
    for (let c = 0; c < classes; c++) {
      const omega = isFamiliar[c] ? w[c]! : wf;
      if (omega === 0) continue;
      denominator[c] = denominator[c]! + omega;
      for (let f = 0, p = c; f < features; f++, p += classes) acc[p] = acc[p]! + omega * peer.W[p]!;
    }
  });
  for (let c = 0; c < classes; c++) {
    let columnMean = 0;
    for (let f = 0, p = c; f < features; f++, p += classes) { acc[p] = acc[p]! / denominator[c]!; columnMean += acc[p]!; }
    if (!subtract) continue;
    columnMean /= features;
    for (let f = 0, p = c; f < features; f++, p += classes) acc[p] = acc[p]! - columnMean;
  }
  return { W: Float32Array.from(acc), selected, scores, certainty, classWeights, foreignWeight };
}

function validate(input: IntegrateInput, bound: number): void {
  const { features, classes, own, ownF1, familiar, peers } = input;
  const rule = 'integrate';
  checkOption(Number.isInteger(features) && features >= 1, rule, `features is ${features}; expected an integer ≥ 1`);
  checkOption(Number.isInteger(classes) && classes >= 1, rule, `classes is ${classes}; expected an integer ≥ 1`);
  checkOption(!Number.isNaN(bound), rule, 'boundedScore is NaN');
  const size = features * classes;
  checkVectors(rule, [own, ...peers.map((p) => p.W)], 1, size);
  const isF1 = (x: number | undefined): boolean => x !== undefined && x >= 0 && x <= 1;
  if (ownF1.length !== classes) throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: ownF1 has ${ownF1.length} entries, expected ${classes}`);
  checkInput(familiar.length >= 1, rule, 'familiar is empty; a peer has at least one class of its own');
  checkInput(new Set(familiar).size === familiar.length, rule, `familiar lists a class twice: ${familiar.join(', ')}`);
  for (const c of familiar) {
    checkInput(Number.isInteger(c) && c >= 0 && c < classes, rule, `familiar class ${c} is not an id in [0, ${classes})`);
    checkInput(isF1(ownF1[c]), rule, `ownF1[${c}] is ${ownF1[c]}; F1 is in [0, 1]`);
  }
  peers.forEach((p, j) => {
    if (p.f1.length !== classes) throw new AggregationError('ERR_LENGTH_MISMATCH', `${rule}: peer ${p.id} has ${p.f1.length} F1 values, expected ${classes}`);
    for (const c of familiar) checkInput(isF1(p.f1[c]), rule, `peer ${p.id} f1[${c}] is ${p.f1[c]}; F1 is in [0, 1]`);
    const overlap = p.overlap ?? BRISTLE_DEFAULT_OVERLAP;
    checkOption(Number.isInteger(overlap) && overlap >= 1, rule, `peer ${j} (${p.id}) overlap is ${overlap}; expected an integer ≥ 1`);
  });
}
