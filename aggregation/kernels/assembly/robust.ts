// Coordinate-wise median and trimmed mean (aggregation/robust.ts) on a block of coordinates staged as n rows.
// The transpose runs with SIMD (4×4 shuffles, sums across coordinates); the per-coordinate kernels are scalar
// ports of the JS ones, same operations in the same order, so results are bit-identical.
import { f32Above, f32Below, load2, PACK } from './simd';
import { insertionSort, selectRank, smallestSum, sumRange } from './select';

@inline function at(a: usize, i: i32): f32 { return load<f32>(a + (<usize>i << 2)); }
@inline function put(a: usize, i: i32, x: f32): void { store<f32>(a + (<usize>i << 2), x); }

/** Store the 4×4 transpose of rows r0..r3 (4 coordinates each) at dst, dst + pitch, dst + 2·pitch, dst + 3·pitch. */
@inline function transpose4(dst: usize, pitch: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i8x16.shuffle(r0, r1, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const t1 = i8x16.shuffle(r0, r1, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const t2 = i8x16.shuffle(r2, r3, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const t3 = i8x16.shuffle(r2, r3, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  v128.store(dst, i8x16.shuffle(t0, t2, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  v128.store(dst + pitch, i8x16.shuffle(t0, t2, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
  v128.store(dst + 2 * pitch, i8x16.shuffle(t1, t3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  v128.store(dst + 3 * pitch, i8x16.shuffle(t1, t3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}

@inline function pairSum(a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, g: v128, h: v128): v128 {
  return f64x2.add(f64x2.add(f64x2.add(a, b), f64x2.add(c, d)), f64x2.add(f64x2.add(e, f), f64x2.add(g, h)));
}
@inline function sq(x: v128): v128 { return f64x2.mul(x, x); }
@inline function pairSumSq(a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, g: v128, h: v128): v128 {
  return f64x2.add(f64x2.add(f64x2.add(sq(a), sq(b)), f64x2.add(sq(c), sq(d))), f64x2.add(f64x2.add(sq(e), sq(f)), f64x2.add(sq(g), sq(h))));
}

/**
 * Rows i of `stage` (len floats each, at stage + 4·i·stride) into `scratch` with value i of coordinate c at c·n + i,
 * and sum[c] / sumSq[c] (f64) = Σx, Σx² in robust.ts's order: eight rows at a time as a pairwise tree, then
 * the remaining rows one by one.
 */
export function transposeBlock(stage: usize, n: i32, len: i32, stride: i32, scratch: usize, sum: usize, sumSq: usize): void {
  const row = <usize>stride << 2, pitch = <usize>n << 2;
  memory.fill(sum, 0, <usize>len << 3);
  memory.fill(sumSq, 0, <usize>len << 3);
  let i = 0;
  for (; i + 7 < n; i += 8) {
    const p = stage + <usize>i * row;
    let c = 0;
    for (; c + 4 <= len; c += 4) {
      const o = <usize>c << 2;
      const r0 = v128.load(p + o), r1 = v128.load(p + row + o), r2 = v128.load(p + 2 * row + o), r3 = v128.load(p + 3 * row + o);
      const r4 = v128.load(p + 4 * row + o), r5 = v128.load(p + 5 * row + o), r6 = v128.load(p + 6 * row + o), r7 = v128.load(p + 7 * row + o);
      const dst = scratch + (<usize>c * <usize>n + <usize>i) * 4;
      transpose4(dst, pitch, r0, r1, r2, r3);
      transpose4(dst + 16, pitch, r4, r5, r6, r7);
      for (let h = 0; h < 2; h++) {
        const q = o + (<usize>h << 3);
        const x0 = load2(p + q), x1 = load2(p + row + q), x2 = load2(p + 2 * row + q), x3 = load2(p + 3 * row + q);
        const x4 = load2(p + 4 * row + q), x5 = load2(p + 5 * row + q), x6 = load2(p + 6 * row + q), x7 = load2(p + 7 * row + q);
        const s = sum + ((<usize>c + (<usize>h << 1)) << 3), t = sumSq + ((<usize>c + (<usize>h << 1)) << 3);
        v128.store(s, f64x2.add(v128.load(s), pairSum(x0, x1, x2, x3, x4, x5, x6, x7)));
        v128.store(t, f64x2.add(v128.load(t), pairSumSq(x0, x1, x2, x3, x4, x5, x6, x7)));
      }
    }
    for (; c < len; c++) {
      const o = <usize>c << 2;
      const x0 = <f64>load<f32>(p + o), x1 = <f64>load<f32>(p + row + o), x2 = <f64>load<f32>(p + 2 * row + o), x3 = <f64>load<f32>(p + 3 * row + o);
      const x4 = <f64>load<f32>(p + 4 * row + o), x5 = <f64>load<f32>(p + 5 * row + o), x6 = <f64>load<f32>(p + 6 * row + o), x7 = <f64>load<f32>(p + 7 * row + o);
      const dst = scratch + (<usize>c * <usize>n + <usize>i) * 4;
      store<f32>(dst, <f32>x0); store<f32>(dst, <f32>x1, 4); store<f32>(dst, <f32>x2, 8); store<f32>(dst, <f32>x3, 12);
      store<f32>(dst, <f32>x4, 16); store<f32>(dst, <f32>x5, 20); store<f32>(dst, <f32>x6, 24); store<f32>(dst, <f32>x7, 28);
      const s = sum + (<usize>c << 3), t = sumSq + (<usize>c << 3);
      store<f64>(s, load<f64>(s) + (((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7))));
      store<f64>(t, load<f64>(t) + (((x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3)) + ((x4 * x4 + x5 * x5) + (x6 * x6 + x7 * x7))));
    }
  }
  for (; i < n; i++) {
    const p = stage + <usize>i * row;
    for (let c = 0; c < len; c++) {
      const x = load<f32>(p + (<usize>c << 2));
      put(scratch, c * n + i, x);
      const xd = <f64>x, s = sum + (<usize>c << 3), t = sumSq + (<usize>c << 3);
      store<f64>(s, load<f64>(s) + xd);
      store<f64>(t, load<f64>(t) + xd * xd);
    }
  }
}

const INSERTION_SORT_MAX = 24;


const CANCELLATION_RATIO: f64 = 65536;

/**
 * Trimmed mean of each transposed coordinate into out (f32): robust.ts trimmedMean's column kernel. `low`,
 * `high`, `spare` are scratch of n floats each.
 */
export function trimmedColumns(scratch: usize, n: i32, len: i32, sum: usize, sumSq: usize, out: usize, f: i32, usePivots: bool, zOuter: f64, zInner: f64, low: usize, high: usize, spare: usize): void {
  const kept = <f64>(n - 2 * f), nd = <f64>n;
  for (let c = 0; c < len; c++) {
    const a = scratch + ((<usize>c * <usize>n) << 2);
    const s = load<f64>(sum + (<usize>c << 3)), s2 = load<f64>(sumSq + (<usize>c << 3));
    put(out, c, <f32>trimmedColumn(a, n, f, kept, nd, s, s2, usePivots, zOuter, zInner, low, high, spare));
  }
}

@inline function trimmedColumn(a: usize, n: i32, f: i32, kept: f64, nd: f64, sum: f64, sumSq: f64, usePivots: bool, zOuter: f64, zInner: f64, low: usize, high: usize, spare: usize): f64 {
  if (n <= INSERTION_SORT_MAX) {
    insertionSort(a, 0, n);
    return sumRange(a, f, n - f) / kept;
  }
  if (usePivots) {
    const mu = sum / nd, sd = Math.sqrt(max<f64>(0, sumSq / nd - mu * mu));
    const pL = mu - zOuter * sd, pH = mu + zOuter * sd;
    // x < pL ⇔ x < below(pL) for float32 x (below: the smallest float32 ≥ pL), so the split compares in float32,
    // four at a time, and packs the hits left in input order (as the JS loop stores them).
    const tL = f32x4.splat(f32Above(pL)), tH = f32x4.splat(f32Below(pH));
    let lo = 0, hi = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(a + (<usize>i << 2));
      const mL = i32x4.bitmask(f32x4.lt(x, tL)), mH = i32x4.bitmask(f32x4.gt(x, tH));
      v128.store(low + (<usize>lo << 2), i8x16.swizzle(x, v128.load(PACK + (<usize>mL << 4))));
      v128.store(high + (<usize>hi << 2), i8x16.swizzle(f32x4.neg(x), v128.load(PACK + (<usize>mH << 4))));
      lo += <i32>popcnt(mL); hi += <i32>popcnt(mH);
    }
    for (; i < n; i++) {
      const x = at(a, i), xd = <f64>x;
      put(low, lo, x); lo += <i32>(xd < pL);
      put(high, hi, -x); hi += <i32>(xd > pH);
    }
    if (lo >= f && hi >= f) {
      const keptSum = sum - smallestSum(low, lo, f, mu - zInner * sd, spare) + smallestSum(high, hi, f, -(mu + zInner * sd), spare);
      if (Math.sqrt(nd * sumSq) <= CANCELLATION_RATIO * Math.abs(keptSum)) return keptSum / kept;
    }
  }
  selectRank(a, 0, n - 1, f);
  selectRank(a, f, n - 1, n - f - 1);
  return sumRange(a, f, n - f) / kept;
}

/** For even n the mean of a[at] and the smallest of a[at+1, end) (robust.ts median's `middle`). */
@inline function middle(a: usize, pos: i32, end: i32, even: bool): f64 {
  if (!even) return <f64>at(a, pos);
  let hi = at(a, pos + 1);
  for (let i = pos + 2; i < end; i++) if (at(a, i) < hi) hi = at(a, i);
  return (<f64>at(a, pos) + <f64>hi) / 2;
}

/** Coordinate-wise median of each transposed coordinate into out (f32): robust.ts coordinateMedian's column kernel. */
export function medianColumns(scratch: usize, n: i32, len: i32, sum: usize, sumSq: usize, out: usize, z: f64, band: usize): void {
  const k = (n - 1) >> 1, even = (n & 1) == 0, nd = <f64>n;
  for (let c = 0; c < len; c++) {
    const a = scratch + ((<usize>c * <usize>n) << 2);
    let res: f64;
    if (n <= INSERTION_SORT_MAX) {
      insertionSort(a, 0, n);
      res = even ? (<f64>at(a, k) + <f64>at(a, k + 1)) / 2 : <f64>at(a, k);
    } else {
      const s = load<f64>(sum + (<usize>c << 3)), s2 = load<f64>(sumSq + (<usize>c << 3));
      const mu = s / nd, sd = Math.sqrt(max<f64>(0, s2 / nd - mu * mu));
      const p0 = mu - z * sd, p1 = mu + z * sd;
      let inBand = 0, below = 0, i = 0;
      const t0 = f32x4.splat(f32Above(p0)), t1 = f32x4.splat(f32Below(p1));
      for (; i + 4 <= n; i += 4) {
        const x = v128.load(a + (<usize>i << 2));
        const l = f32x4.lt(x, t0), g = f32x4.gt(x, t1);
        const m = i32x4.bitmask(v128.not(v128.or(l, g)));
        v128.store(band + (<usize>inBand << 2), i8x16.swizzle(x, v128.load(PACK + (<usize>m << 4))));
        inBand += <i32>popcnt(m);
        below += <i32>popcnt(i32x4.bitmask(l));
      }
      for (; i < n; i++) {
        const x = at(a, i), xd = <f64>x;
        const l = <i32>(xd < p0), g = <i32>(xd > p1);
        put(band, inBand, x);
        inBand += 1 - l - g;
        below += l;
      }
      const r = k - below;
      if (r >= 0 && r + (even ? 1 : 0) < inBand) {
        let m = 0;
        for (let i = 0; i < inBand; i++) {
          const x = at(band, i);
          put(band, i, at(band, m));
          put(band, m, x);
          m += <i32>(<f64>x < mu);
        }
        if (r < m) selectRank(band, 0, m - 1, r);
        else selectRank(band, m, inBand - 1, r);
        res = middle(band, r, inBand, even);
      } else {
        selectRank(a, 0, n - 1, k);
        res = middle(a, k, n, even);
      }
    }
    put(out, c, <f32>res);
  }
}
