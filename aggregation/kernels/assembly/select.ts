// Scalar selection helpers for robust.ts, the ports of aggregation/select.ts and robust.ts's helpers: the same
// comparisons and swaps in the same order, so the kernels pick the same values and sum them in the same order.
import { f32Above, PACK } from './simd';

@inline function at(a: usize, i: i32): f32 { return load<f32>(a + (<usize>i << 2)); }
@inline function put(a: usize, i: i32, x: f32): void { store<f32>(a + (<usize>i << 2), x); }

/** Wirth's selection on a[l..r] (inclusive): a[k] becomes the value of rank k (aggregation/select.ts). */
export function selectRank(a: usize, l: i32, r: i32, k: i32): void {
  while (l < r) {
    const x = at(a, k);
    let i = l, j = r;
    do {
      while (at(a, i) < x) i++;
      while (x < at(a, j)) j--;
      if (i <= j) { const t = at(a, i); put(a, i, at(a, j)); put(a, j, t); i++; j--; }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
}

/** Sort a[from, to) ascending in place (insertion sort). */
export function insertionSort(a: usize, from: i32, to: i32): void {
  for (let i = from + 1; i < to; i++) {
    const x = at(a, i);
    let j = i - 1;
    while (j >= from && at(a, j) > x) { put(a, j + 1, at(a, j)); j--; }
    put(a, j + 1, x);
  }
}

/** Σ a[from, to) in Float64, in order. */
export function sumRange(a: usize, from: i32, to: i32): f64 {
  let s: f64 = 0;
  for (let i = from; i < to; i++) s += <f64>at(a, i);
  return s;
}

const PEEL_MAX = 6;


/** Sum of the k smallest of buf[0..m) (robust.ts smallestSum): a split around `pivot`, then peeling or selection. */
export function smallestSum(buf: usize, m: i32, k: i32, pivot: f64, spare: usize): f64 {
  let c = 0, r = 0, i = 0;
  const t = f32x4.splat(f32Above(pivot));
  for (; i + 4 <= m; i += 4) {
    // In place: the packed store lands at c ≤ i, over values already loaded.
    const x = v128.load(buf + (<usize>i << 2));
    const below = i32x4.bitmask(f32x4.lt(x, t)), rest = below ^ 15;
    v128.store(buf + (<usize>c << 2), i8x16.swizzle(x, v128.load(PACK + (<usize>below << 4))));
    v128.store(spare + (<usize>r << 2), i8x16.swizzle(x, v128.load(PACK + (<usize>rest << 4))));
    c += <i32>popcnt(below); r += <i32>popcnt(rest);
  }
  for (; i < m; i++) {
    const x = at(buf, i), below = <i32>(<f64>x < pivot);
    put(buf, c, x); c += below;
    put(spare, r, x); r += 1 - below;
  }
  if (c - k > PEEL_MAX || k - c > PEEL_MAX) {
    for (let i = 0; i < r; i++) put(buf, c + i, at(spare, i));
    selectRank(buf, 0, m - 1, k - 1);
    return sumRange(buf, 0, k);
  }
  let s = sumRange(buf, 0, c);
  for (let top = c; top > k; top--) {
    // Branch-free (select, not if): the first position of the largest value, as the JS scan finds it.
    let pos = 0, mx = at(buf, 0);
    for (let i = 1; i < top; i++) { const x = at(buf, i), gt = x > mx; mx = select<f32>(x, mx, gt); pos = select<i32>(i, pos, gt); }
    s -= <f64>mx;
    put(buf, pos, at(buf, top - 1));
  }
  for (let need = k - c, rest = r; need > 0; need--, rest--) {
    let pos = 0, mn = at(spare, 0);
    for (let i = 1; i < rest; i++) { const x = at(spare, i), lt = x < mn; mn = select<f32>(x, mn, lt); pos = select<i32>(i, pos, lt); }
    s += <f64>mn;
    put(spare, pos, at(spare, rest - 1));
  }
  return s;
}
