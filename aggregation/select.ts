/** In-place selection shared by the coordinate-wise rules and FRL's mask threshold. */

/**
 * Wirth's selection on a[l..r] (inclusive): afterwards a[k] holds the value of rank k, everything left of
 * k is ≤ it and everything right is ≥ it. Expected O(r − l).
 */
export function select(a: Float32Array | Float64Array, l: number, r: number, k: number): void {
  while (l < r) {
    const x = a[k]!;
    let i = l, j = r;
    do {
      while (a[i]! < x) i++;
      while (x < a[j]!) j--;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j--; }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
}
