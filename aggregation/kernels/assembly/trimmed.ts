// Trimmed mean by an insertion network, four coordinates per SIMD vector, no transpose (aggregation/extremes.ts
// is the JS reference): per lane, slots 0..f−1 end up holding the f smallest (and, in a second pass, the f
// largest) values, sorted, by pseudo-min/max steps whose comparisons the JS reference performs one by one.
// NETWORK_SLOTS slots are always run: slots ≥ f never feed the ones below, so results do not depend on them.
import { selectRank, sumRange } from './select';

/** Slots of the network: f ≤ this many. */
export const NETWORK_SLOTS = 10;
const CANCELLATION_RATIO: f64 = 65536;

@inline function high(v: v128): v128 { return i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); }

/**
 * Trimmed mean (f ≤ NETWORK_SLOTS trimmed per side) of coordinates [0, len) of `rows` rows (row r at table[r] +
 * offset, f32) into out (f32). `column` is scratch of n + 4 floats for the cancellation fallback.
 */
export function trimmedNetwork(table: usize, rows: i32, offset: usize, len: i32, f: i32, out: usize, column: usize): void {
  const kept = <f64>(rows - 2 * f), nd = <f64>rows;
  let c = 0;
  for (; c + 4 <= len; c += 4) {
    const o = offset + (<usize>c << 2);
    const inf = f32x4.splat(Infinity), ninf = f32x4.splat(-Infinity);
    let l0 = inf; let l1 = inf; let l2 = inf; let l3 = inf; let l4 = inf; let l5 = inf; let l6 = inf; let l7 = inf; let l8 = inf; let l9 = inf;
    let a0 = f64x2.splat(0), a1 = a0;
    for (let r = 0; r < rows; r++) {
      let x = v128.load(<usize>load<u32>(table + (<usize>r << 2)) + o), t: v128;
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(x)); a1 = f64x2.add(a1, f64x2.promote_low_f32x4(high(x)));
      t = f32x4.pmax(l0, x); l0 = f32x4.pmin(l0, x); x = t;
      t = f32x4.pmax(l1, x); l1 = f32x4.pmin(l1, x); x = t;
      t = f32x4.pmax(l2, x); l2 = f32x4.pmin(l2, x); x = t;
      t = f32x4.pmax(l3, x); l3 = f32x4.pmin(l3, x); x = t;
      t = f32x4.pmax(l4, x); l4 = f32x4.pmin(l4, x); x = t;
      t = f32x4.pmax(l5, x); l5 = f32x4.pmin(l5, x); x = t;
      t = f32x4.pmax(l6, x); l6 = f32x4.pmin(l6, x); x = t;
      t = f32x4.pmax(l7, x); l7 = f32x4.pmin(l7, x); x = t;
      t = f32x4.pmax(l8, x); l8 = f32x4.pmin(l8, x); x = t;
      t = f32x4.pmax(l9, x); l9 = f32x4.pmin(l9, x); x = t;
    }
    let s0 = f64x2.splat(0), s1 = s0;
    if (f > 0) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l0)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l0))); }
    if (f > 1) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l1)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l1))); }
    if (f > 2) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l2)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l2))); }
    if (f > 3) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l3)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l3))); }
    if (f > 4) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l4)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l4))); }
    if (f > 5) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l5)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l5))); }
    if (f > 6) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l6)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l6))); }
    if (f > 7) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l7)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l7))); }
    if (f > 8) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l8)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l8))); }
    if (f > 9) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(l9)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(l9))); }
    a0 = f64x2.sub(a0, s0); a1 = f64x2.sub(a1, s1);
    const lo0 = f32x4.extract_lane(l0, 0), lo1 = f32x4.extract_lane(l0, 1), lo2 = f32x4.extract_lane(l0, 2), lo3 = f32x4.extract_lane(l0, 3);
    let h0 = ninf; let h1 = ninf; let h2 = ninf; let h3 = ninf; let h4 = ninf; let h5 = ninf; let h6 = ninf; let h7 = ninf; let h8 = ninf; let h9 = ninf;
    for (let r = 0; r < rows; r++) {
      let x = v128.load(<usize>load<u32>(table + (<usize>r << 2)) + o), t: v128;
      t = f32x4.pmin(h0, x); h0 = f32x4.pmax(h0, x); x = t;
      t = f32x4.pmin(h1, x); h1 = f32x4.pmax(h1, x); x = t;
      t = f32x4.pmin(h2, x); h2 = f32x4.pmax(h2, x); x = t;
      t = f32x4.pmin(h3, x); h3 = f32x4.pmax(h3, x); x = t;
      t = f32x4.pmin(h4, x); h4 = f32x4.pmax(h4, x); x = t;
      t = f32x4.pmin(h5, x); h5 = f32x4.pmax(h5, x); x = t;
      t = f32x4.pmin(h6, x); h6 = f32x4.pmax(h6, x); x = t;
      t = f32x4.pmin(h7, x); h7 = f32x4.pmax(h7, x); x = t;
      t = f32x4.pmin(h8, x); h8 = f32x4.pmax(h8, x); x = t;
      t = f32x4.pmin(h9, x); h9 = f32x4.pmax(h9, x); x = t;
    }
    s0 = f64x2.splat(0); s1 = s0;
    if (f > 0) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h0)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h0))); }
    if (f > 1) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h1)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h1))); }
    if (f > 2) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h2)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h2))); }
    if (f > 3) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h3)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h3))); }
    if (f > 4) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h4)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h4))); }
    if (f > 5) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h5)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h5))); }
    if (f > 6) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h6)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h6))); }
    if (f > 7) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h7)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h7))); }
    if (f > 8) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h8)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h8))); }
    if (f > 9) { s0 = f64x2.add(s0, f64x2.promote_low_f32x4(h9)); s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(h9))); }
    a0 = f64x2.sub(a0, s0); a1 = f64x2.sub(a1, s1);
    const p = out + (<usize>c << 2);
    finish(p, f64x2.extract_lane(a0, 0), lo0, f32x4.extract_lane(h0, 0), table, rows, o, f, kept, nd, column);
    finish(p + 4, f64x2.extract_lane(a0, 1), lo1, f32x4.extract_lane(h0, 1), table, rows, o + 4, f, kept, nd, column);
    finish(p + 8, f64x2.extract_lane(a1, 0), lo2, f32x4.extract_lane(h0, 2), table, rows, o + 8, f, kept, nd, column);
    finish(p + 12, f64x2.extract_lane(a1, 1), lo3, f32x4.extract_lane(h0, 3), table, rows, o + 12, f, kept, nd, column);
  }
  for (; c < len; c++) {
    const o = offset + (<usize>c << 2);
    gather(table, rows, o, column);
    store<f32>(out + (<usize>c << 2), <f32>networkColumn(column, rows, f, kept, nd, column + (<usize>rows << 2)));
  }
}

/** column[r] = the float at table[r] + o, for r < rows. */
@inline function gather(table: usize, rows: i32, o: usize, column: usize): void {
  for (let r = 0; r < rows; r++) store<f32>(column + (<usize>r << 2), load<f32>(<usize>load<u32>(table + (<usize>r << 2)) + o));
}

/** Store the coordinate's result: the kept sum k unless it cancelled (then an exact selection, as in JS). */
@inline function finish(p: usize, k: f64, lo: f32, hi: f32, table: usize, rows: i32, o: usize, f: i32, kept: f64, nd: f64, column: usize): void {
  if (nd * max<f64>(Math.abs(<f64>lo), Math.abs(<f64>hi)) <= CANCELLATION_RATIO * Math.abs(k)) { store<f32>(p, <f32>(k / kept)); return; }
  gather(table, rows, o, column);
  store<f32>(p, <f32>exactTrimmed(column, rows, f, kept));
}

/** The exact fallback: select ranks f and n − f − 1, sum between them in array order (robust.ts). */
function exactTrimmed(a: usize, n: i32, f: i32, kept: f64): f64 {
  selectRank(a, 0, n - 1, f);
  selectRank(a, f, n - 1, n - f - 1);
  return sumRange(a, f, n - f) / kept;
}

/** One coordinate's values a[0, n) through the same network, one value at a time (extremes.ts networkTrimmed). */
function networkColumn(a: usize, n: i32, f: i32, kept: f64, nd: f64, slots: usize): f64 {
  let s: f64 = 0;
  for (let r = 0; r < n; r++) s += <f64>load<f32>(a + (<usize>r << 2));
  for (let i = 0; i < f; i++) store<f32>(slots + (<usize>i << 2), Infinity);
  for (let r = 0; r < n; r++) {
    let x = load<f32>(a + (<usize>r << 2));
    for (let i = 0; i < f; i++) { const q = slots + (<usize>i << 2), l = load<f32>(q); store<f32>(q, x < l ? x : l); x = l < x ? x : l; }
  }
  const lo = load<f32>(slots);
  let t: f64 = 0;
  for (let i = 0; i < f; i++) t += <f64>load<f32>(slots + (<usize>i << 2));
  s -= t;
  for (let i = 0; i < f; i++) store<f32>(slots + (<usize>i << 2), -Infinity);
  for (let r = 0; r < n; r++) {
    let x = load<f32>(a + (<usize>r << 2));
    for (let i = 0; i < f; i++) { const q = slots + (<usize>i << 2), h = load<f32>(q); store<f32>(q, h < x ? x : h); x = x < h ? x : h; }
  }
  const hi = load<f32>(slots);
  t = 0;
  for (let i = 0; i < f; i++) t += <f64>load<f32>(slots + (<usize>i << 2));
  s -= t;
  if (nd * max<f64>(Math.abs(<f64>lo), Math.abs(<f64>hi)) <= CANCELLATION_RATIO * Math.abs(s)) return s / kept;
  return exactTrimmed(a, n, f, kept);
}
