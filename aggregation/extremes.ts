/**
 * The trimmed mean's sum of kept values by an insertion network (robust.ts trimmedMean for 1 ≤ f ≤
 * NETWORK_MAX_F): the reference of the WebAssembly kernel (kernels/assembly/trimmed.ts), which runs the same
 * network on four coordinates per SIMD vector, with no transpose and no data-dependent branches.
 *
 * Per coordinate, with x₀ … x_{n−1} its values in input order:
 *   S = Σ xᵢ in Float64, in order from 0;
 *   L₀ ≤ … ≤ L_{f−1}: f slots, +∞ at first; each x in order passes down them, every slot keeping the
 *     smaller of itself and x (x < L ? x : L) and passing on the larger (L < x ? x : L);
 *   H₀ ≥ … ≥ H_{f−1} likewise for the largest (H < x ? x : H kept, x < H ? x : H passed on);
 *   K = (S − Σ Lᵢ) − Σ Hᵢ, each slot sum in Float64 in slot order from 0.
 * These are exactly the comparisons of wasm's f32x4.pmin/pmax, so both agree bit for bit. K cancels when the
 * kept values sum to almost nothing against the extremes; its error is below (n + 2f)·ε₆₄·n·max|x|, so K
 * stands when n·max(|L₀|, |H₀|) ≤ 2¹⁶·|K| (relative error < ~2·10⁻⁹ at n ≤ 100, far below a float32 ulp);
 * otherwise an exact selection sums the kept values directly (as robust.ts does).
 */
import { select } from './select.js';

/** Largest f the network serves (the kernel keeps this many slots in SIMD registers). */
export const NETWORK_MAX_F = 10;

const CANCELLATION_RATIO = 2 ** 16;

/**
 * The trimmed mean of a[base, base + n) (one coordinate's values, in input order) with f trimmed per side;
 * `slots` is scratch of ≥ f floats. May reorder a[base, base + n) (the exact fallback selects in place).
 */
export function networkTrimmed(a: Float32Array, base: number, n: number, f: number, slots: Float32Array): number {
  const end = base + n;
  let s = 0;
  for (let i = base; i < end; i++) s += a[i]!;
  slots.fill(Infinity, 0, f);
  for (let i = base; i < end; i++) {
    let x = a[i]!;
    // A value not below the last slot leaves every slot as it is (they are sorted): skip the walk.
    if (!(x < slots[f - 1]!)) continue;
    for (let j = 0; j < f; j++) { const l = slots[j]!; slots[j] = x < l ? x : l; x = l < x ? x : l; }
  }
  const lo = slots[0]!;
  let t = 0;
  for (let j = 0; j < f; j++) t += slots[j]!;
  s -= t;
  slots.fill(-Infinity, 0, f);
  for (let i = base; i < end; i++) {
    let x = a[i]!;
    if (!(slots[f - 1]! < x)) continue;
    for (let j = 0; j < f; j++) { const h = slots[j]!; slots[j] = h < x ? x : h; x = x < h ? x : h; }
  }
  const hi = slots[0]!;
  t = 0;
  for (let j = 0; j < f; j++) t += slots[j]!;
  s -= t;
  const kept = n - 2 * f;
  if (n * Math.max(Math.abs(lo), Math.abs(hi)) <= CANCELLATION_RATIO * Math.abs(s)) return s / kept;
  select(a, base, end - 1, base + f);
  select(a, base + f, end - 1, end - f - 1);
  let k = 0;
  for (let i = base + f; i < end - f; i++) k += a[i]!;
  return k / kept;
}
