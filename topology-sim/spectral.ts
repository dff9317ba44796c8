/**
 * Spectral gap of a topology's Metropolis–Hastings mixing matrix (1 − the second largest |eigenvalue|): dense
 * eigen-decomposition for small graphs, Lanczos on the sparse matrix (deflating the uniform eigenvector) above.
 */
import { metropolisHastingsMatrix, symmetricEigenvalues } from '../aggregation/mixing.js';
import { rngFor } from '../node/data/rng.js';
import { checkGraph, isConnected } from './graph-stats.js';
import type { Graph } from './topologies.js';

/** How `mixingSpectrum` finds eigenvalues: dense QL (exact, O(n³)), sparse Lanczos, or 'auto' (see DENSE_SPECTRUM_MAX_NODES). */
export type SpectrumMethod = 'auto' | 'dense' | 'lanczos';

/** Options of `mixingSpectrum`; defaults are the LANCZOS_* constants. */
export interface SpectrumOptions {
  method?: SpectrumMethod;
  /** Lanczos steps at most (capped at n − 1, where Lanczos is exact). */
  maxIterations?: number;
  /** Lanczos stops when both extreme Ritz pairs have residual ‖Wy − θy‖ ≤ this (bounds their eigenvalue error). */
  tolerance?: number;
}

/**
 * Extremes of the Metropolis–Hastings matrix W's spectrum on the space orthogonal to the uniform vector
 * (whose eigenvalue 1 is deflated): `lambda2` the largest, `lambdaMin` the smallest (both 0 when n = 1),
 * `gap` = 1 − max(|lambda2|, |lambdaMin|) (0 when disconnected, exactly). With Lanczos, `converged` false
 * means the iteration cap was hit: the Ritz values lie inside the spectrum, so the gap is then an upper bound.
 */
export interface MixingSpectrum {
  gap: number;
  lambda2: number;
  lambdaMin: number;
  method: 'dense' | 'lanczos';
  iterations: number;
  converged: boolean;
}

/** 'auto' uses the dense solver up to this many nodes (≈ 25 ms at 256). */
export const DENSE_SPECTRUM_MAX_NODES = 256;
/** 'auto' falls back to the dense solver when Lanczos did not converge, up to this many nodes (≈ 0.8 s at 1000, 7 s at 2048). */
export const DENSE_FALLBACK_MAX_NODES = 2048;
/**
 * Default Lanczos step cap. Measured here: random regular, ER, BA, WS (β = 0.1) and 50 × 50 tori converge in
 * 110–230 steps at n = 1000–5000 (0.1–0.7 s); rings need ~n steps.
 */
export const LANCZOS_MAX_ITERATIONS = 500;
/**
 * Default residual tolerance of the Lanczos Ritz pairs. The eigenvalue error is at most the residual and in
 * practice its square over the spectral spacing: at 1e-8 the gaps matched the dense solver to ~1e-15.
 */
export const LANCZOS_TOLERANCE = 1e-8;

/**
 * Spectrum summary of the graph's Metropolis–Hastings mixing matrix (aggregation/mixing.ts). 'auto': the
 * dense solver up to DENSE_SPECTRUM_MAX_NODES; above, Lanczos with full reorthogonalisation on the sparse
 * W (O(n·k²) for k steps, deterministic start vector), falling back to dense when it has not converged
 * and n ≤ DENSE_FALLBACK_MAX_NODES (slow mixers such as long rings need ~n Lanczos steps).
 * @throws TopologyError ERR_TOPOLOGY_GRAPH (not a valid graph)
 */
export function mixingSpectrum(graph: Graph, options: SpectrumOptions = {}): MixingSpectrum {
  checkGraph(graph);
  const n = graph.length;
  const method = options.method ?? 'auto';
  let res: MixingSpectrum;
  if (n <= 1) res = { gap: 1, lambda2: 0, lambdaMin: 0, method: 'dense', iterations: 0, converged: true };
  else if (method === 'dense' || (method === 'auto' && n <= DENSE_SPECTRUM_MAX_NODES)) res = denseSpectrum(graph);
  else {
    res = lanczosSpectrum(graph, Math.min(n - 1, options.maxIterations ?? LANCZOS_MAX_ITERATIONS), options.tolerance ?? LANCZOS_TOLERANCE);
    if (method === 'auto' && !res.converged && n <= DENSE_FALLBACK_MAX_NODES) res = denseSpectrum(graph);
  }
  if (!isConnected(graph)) return { ...res, gap: 0, lambda2: 1 };
  return res;
}

/** Spectral gap 1 − max(|λ2|, |λmin|) of the graph's Metropolis–Hastings matrix; see `mixingSpectrum`. */
export function mixingSpectralGap(graph: Graph, options: SpectrumOptions = {}): number {
  return mixingSpectrum(graph, options).gap;
}

function summary(lambda2: number, lambdaMin: number, method: 'dense' | 'lanczos', iterations: number, converged: boolean): MixingSpectrum {
  const gap = Math.min(1, Math.max(0, 1 - Math.max(Math.abs(lambda2), Math.abs(lambdaMin))));
  return { gap, lambda2, lambdaMin, method, iterations, converged };
}

function denseSpectrum(graph: Graph): MixingSpectrum {
  const n = graph.length;
  const ev = Array.from(symmetricEigenvalues(metropolisHastingsMatrix(graph, 'neighbours'), n)).sort((a, b) => b - a);
  return summary(ev[1]!, ev[n - 1]!, 'dense', 0, true);
}

function lanczosSpectrum(graph: Graph, maxSteps: number, tolerance: number): MixingSpectrum {
  const n = graph.length;
  // Sparse W in CSR form with the Metropolis–Hastings weights.
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + graph[i]!.length;
  const cols = new Int32Array(offsets[n]!), weights = new Float64Array(offsets[n]!), self = new Float64Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    graph[i]!.forEach((j, k) => {
      const w = 1 / (1 + Math.max(graph[i]!.length, graph[j]!.length));
      cols[offsets[i]! + k] = j; weights[offsets[i]! + k] = w; self[i]! -= w;
    });
  }
  const deflate = (x: Float64Array): void => { let m = 0; for (let i = 0; i < n; i++) m += x[i]!; m /= n; for (let i = 0; i < n; i++) x[i]! -= m; };
  const dot = (x: Float64Array, y: Float64Array): number => { let s = 0; for (let i = 0; i < n; i++) s += x[i]! * y[i]!; return s; };
  const rng = rngFor('mixing-spectrum', n);
  let q = Float64Array.from({ length: n }, () => rng.normal());
  deflate(q);
  const q0norm = Math.sqrt(dot(q, q));
  for (let i = 0; i < n; i++) q[i]! /= q0norm;
  const Q: Float64Array[] = [q];
  const alpha: number[] = [], beta: number[] = [];
  let extremes: [number, number] = [0, 0];
  let converged = false;
  for (let j = 0; j < maxSteps; j++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = self[i]! * q[i]!;
      for (let e = offsets[i]!; e < offsets[i + 1]!; e++) s += weights[e]! * q[cols[e]!]!;
      w[i] = s;
    }
    alpha.push(dot(w, q));
    // Full reorthogonalisation, twice ("twice is enough"), plus re-deflation of the uniform direction.
    for (let pass = 0; pass < 2; pass++) {
      deflate(w);
      for (const v of Q) { const c = dot(w, v); for (let i = 0; i < n; i++) w[i]! -= c * v[i]!; }
    }
    const b = Math.sqrt(dot(w, w));
    extremes = [tridiagonalEigenvalue(alpha, beta, alpha.length - 1), tridiagonalEigenvalue(alpha, beta, 0)];
    if (b <= 1e-12) { converged = true; break; } // invariant subspace: the Ritz values are exact
    if ((j + 1) % 5 === 0 || j + 1 === maxSteps) {
      if (extremes.every((theta) => ritzResidual(alpha, beta, theta, b) <= tolerance)) { converged = true; break; }
    }
    beta.push(b);
    q = w.map((x) => x / b);
    Q.push(q);
  }
  return summary(extremes[0], extremes[1], 'lanczos', alpha.length, converged);
}

/** k-th smallest eigenvalue (0-based) of the symmetric tridiagonal T (diagonal alpha, off-diagonal beta) by Sturm bisection. */
function tridiagonalEigenvalue(alpha: readonly number[], beta: readonly number[], k: number): number {
  const m = alpha.length;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < m; i++) {
    const r = Math.abs(beta[i - 1] ?? 0) + Math.abs(i < m - 1 ? beta[i]! : 0);
    lo = Math.min(lo, alpha[i]! - r); hi = Math.max(hi, alpha[i]! + r);
  }
  const below = (x: number): number => {
    let count = 0, d = 1;
    for (let i = 0; i < m; i++) {
      d = alpha[i]! - x - (i > 0 ? beta[i - 1]! ** 2 / d : 0);
      if (Math.abs(d) < 1e-300) d = -1e-300;
      if (d < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 2 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi), 1e-300); it++) {
    const mid = (lo + hi) / 2;
    if (below(mid) <= k) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Residual ‖W y − θ y‖ = bNext·|s_m| of the Ritz pair of θ, where s is T's eigenvector for θ, found by
 * inverse iteration with a partial-pivoting tridiagonal LU (as LAPACK dgttrf/dgtts2).
 */
function ritzResidual(alpha: readonly number[], beta: readonly number[], theta: number, bNext: number): number {
  const m = alpha.length;
  if (m === 1) return bNext;
  const d = Float64Array.from(alpha, (a) => a - theta), dl = Float64Array.from(beta), du = Float64Array.from(beta);
  const du2 = new Float64Array(m), swapped = new Uint8Array(m);
  const tiny = 1e-14 * (Math.abs(theta) + 1);
  for (let i = 0; i < m - 1; i++) {
    if (Math.abs(d[i]!) >= Math.abs(dl[i]!)) {
      if (d[i] === 0) d[i] = tiny;
      const f = dl[i]! / d[i]!;
      dl[i] = f; d[i + 1]! -= f * du[i]!;
    } else {
      const f = d[i]! / dl[i]!;
      d[i] = dl[i]!; dl[i] = f;
      const t = du[i]!; du[i] = d[i + 1]!; d[i + 1] = t - f * d[i + 1]!;
      if (i < m - 2) { du2[i] = du[i + 1]!; du[i + 1] = -f * du[i + 1]!; }
      swapped[i] = 1;
    }
  }
  if (d[m - 1] === 0) d[m - 1] = tiny;
  const x = new Float64Array(m).fill(1);
  for (let it = 0; it < 3; it++) {
    for (let i = 0; i < m - 1; i++) {
      if (swapped[i]) { const t = x[i]!; x[i] = x[i + 1]!; x[i + 1] = t - dl[i]! * x[i]!; } else x[i + 1]! -= dl[i]! * x[i]!;
    }
    x[m - 1]! /= d[m - 1]!;
    x[m - 2] = (x[m - 2]! - du[m - 2]! * x[m - 1]!) / d[m - 2]!;
    for (let i = m - 3; i >= 0; i--) x[i] = (x[i]! - du[i]! * x[i + 1]! - du2[i]! * x[i + 2]!) / d[i]!;
    let norm = 0;
    for (let i = 0; i < m; i++) norm += x[i]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) x[i]! /= norm;
  }
  const r = bNext * Math.abs(x[m - 1]!);
  return Number.isFinite(r) ? r : Infinity;
}
