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
 * Merge the own model with a received one by age. Ages must be finite and ≥ 0. `out` may be `own.vector`.
 * Bit-exact with the reference's float32 tensors: w0 = t/(t + t_r) and w1 = t_r/(t + t_r) are rounded to float32,
 * and each element is fl32(fl32(w0)·w) + fl32(fl32(w1)·w_r), every product and the sum rounded to float32 (a
 * Float64 product of two float32 values is exact, so Math.fround of it is the float32 product).
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
  const total = own.age + remote.age;
  const w0 = Math.fround(total === 0 ? 0.5 : own.age / total), w1 = Math.fround(a), w = own.vector, r = remote.vector;
  const k = kernels();
  // The same float32 products and sum in WebAssembly SIMD lanes (bit-identical).
  if (k && d >= SUM_KERNEL_MIN_FLOATS) { blendToF32(k, w, r, w0, w1, res); return { vector: res, age }; }
  // The store into the Float32Array rounds the sum.
  for (let i = 0; i < d; i++) res[i] = Math.fround(w0 * w[i]!) + Math.fround(w1 * r[i]!);
  return { vector: res, age };
}
