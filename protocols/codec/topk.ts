/**
 * The codec's 'topk' sparsification: keep the k = ceil(fraction · n) coordinates of largest magnitude
 * of the whole vector. The k-th largest |v| is found by quickselect (expected O(n), no sort); the kept
 * coordinates are then collected in ascending index order. Among equal magnitudes at the threshold the
 * lowest indices are kept, so the choice is deterministic. The receiver fills the other coordinates with its
 * own values; the frame has one model age, so gossip learning merges every sent coordinate with that age (no
 * per-partition ages as in ALGORITHMS.md §0.3; README "Two choices worth knowing").
 */

/**
 * Tolerance on fraction · n before rounding up: the product's floating-point error (under 1e-7 for any
 * n within the element limit) must not add a coordinate, e.g. 0.07 × 100 = 7.000000000000001 keeps 7.
 */
const COUNT_SLACK = 1e-6;

/** Number of coordinates kept for a vector of n elements: ceil(fraction · n), at least 1; fraction in (0, 1]. */
export function topkCount(n: number, fraction: number): number {
  return n === 0 ? 0 : Math.min(n, Math.max(1, Math.ceil(fraction * n - COUNT_SLACK)));
}

/**
 * Value of rank `k` (0-based, ascending) of `a`, which is reordered in place. Iterative quickselect
 * with a median-of-three pivot and Hoare partitioning, which stays linear on runs of equal values.
 */
function selectInPlace(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Order a[lo] ≤ a[mid] ≤ a[hi]; the median then serves as pivot.
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and everything strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return pivot;
  }
  return a[k]!;
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/**
 * Write the indices (ascending) and values of the k largest-magnitude coordinates of finite `values`
 * into `indices` and `kept` (both of length k, 1 ≤ k ≤ values.length).
 */
export function selectTopk(values: Float32Array, indices: Uint32Array, kept: Float32Array): void {
  const n = values.length;
  const k = indices.length;
  const mags = new Float32Array(n);
  for (let i = 0; i < n; i++) mags[i] = Math.abs(values[i]!);
  const threshold = selectInPlace(mags, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(values[i]!) > threshold) above++;
  let tiesLeft = k - above;
  let w = 0;
  for (let i = 0; i < n && w < k; i++) {
    const m = Math.abs(values[i]!);
    if (m > threshold || (m === threshold && tiesLeft-- > 0)) {
      indices[w] = i;
      kept[w] = values[i]!;
      w++;
    }
  }
}
