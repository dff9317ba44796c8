/**
 * The age-weighted merge of classic gossip learning (Hegedűs, Danner, Jelasity, DAIS 2019, "Algorithm 2";
 * ALGORITHMS.md §0.1 and §8 "Gossip-learning merge"): a = t_r / (t + t_r), w ← (1 − a)·w + a·w_r,
 * t ← max(t, t_r). Confirmed in devos50/decentralized-learning `accdfl/gl/community.py`.
 *
 * Edge cases (§8): both ages 0 → plain ½/½ average; own age 0 (remote > 0) → the remote model exactly;
 * remote age 0 (own > 0) → the own model exactly. The merged age is recorded before the local training
 * that follows; the caller adds the number of examples trained on afterwards.
 */
import { checkOption, checkVectors, outBuffer } from './errors.js';
import { blendToF32, SUM_KERNEL_MIN_FLOATS } from './kernels/sums.js';
import { kernels } from './kernels/wasm.js';

/** A model with its age t = number of examples it has been trained on. */
export interface AgedModel {
  readonly vector: Float32Array;
  readonly age: number;
}

/** Minimum number of inputs of `ageMerge`: the own model and one remote model. */
export const AGE_MERGE_INPUTS = 2;

/** The remote model's share a = t_r / (t + t_r), or ½ when both ages are 0. */
export function remoteShare(ownAge: number, remoteAge: number): number {
  const total = ownAge + remoteAge;
  return total === 0 ? 0.5 : remoteAge / total;
}

/**
 * Merge the own model with a received one by age. Ages must be finite and ≥ 0. Computed in Float64 per
 * element; `out` may be `own.vector`.
 * @throws AggregationError ERR_LENGTH_MISMATCH, ERR_BAD_OPTION (negative or non-finite age)
 */
export function ageMerge(own: AgedModel, remote: AgedModel, out?: Float32Array): { vector: Float32Array; age: number } {
  const d = checkVectors('ageMerge', [own.vector, remote.vector], AGE_MERGE_INPUTS);
  for (const [label, t] of [['own', own.age], ['remote', remote.age]] as const) {
    checkOption(Number.isFinite(t) && t >= 0, 'ageMerge', `${label} age is ${t}; ages are finite and ≥ 0`);
  }
  const res = outBuffer('ageMerge', d, out);
  const age = Math.max(own.age, remote.age);
  const a = remoteShare(own.age, remote.age);
  // Exact copies at a ∈ {0, 1}, so a fresh peer adopts the remote model bit for bit.
  if (a === 1) { res.set(remote.vector); return { vector: res, age }; }
  if (a === 0) { res.set(own.vector); return { vector: res, age }; }
  const b = 1 - a, w = own.vector, r = remote.vector;
  const k = kernels();
  // Same Float64 expression per element in WebAssembly SIMD (bit-identical).
  if (k && d >= SUM_KERNEL_MIN_FLOATS) { blendToF32(k, w, r, b, a, res); return { vector: res, age }; }
  for (let i = 0; i < d; i++) res[i] = b * w[i]! + a * r[i]!;
  return { vector: res, age };
}
