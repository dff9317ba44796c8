// Element-wise sums for aggregation/mean.ts, mixing.ts and robust.ts (centered clipping). Every kernel keeps
// the JS rule's operation order per element (Float64, rows in input order, no fused multiply-add), so the
// results equal the JS versions bit for bit; SIMD runs across elements, never across rows.
import { load2, store4 } from './simd';

/** Address of row r's element `offset` (bytes): rows are found through a table of u32 byte addresses. */
@inline function rowAt(table: usize, r: i32, offset: usize): usize { return <usize>load<u32>(table + (<usize>r << 2)) + offset; }

/**
 * acc[i] = (first ? x₀[i] : acc[i] + x₀[i]) + x₁[i] + … in Float64 for i < len, where row r's floats start at
 * table[r] + offset (bytes). Rows may lie anywhere in memory (resident inputs or staged copies alike); eight
 * coordinates per step keep four independent addition chains in flight.
 */
export function sumRowsAt(acc: usize, table: usize, rows: i32, offset: usize, len: i32, first: bool): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let p = rowAt(table, 0, o);
    let a = load2(p), b = load2(p + 8), c = load2(p + 16), d = load2(p + 24);
    if (!first) {
      a = f64x2.add(v128.load(q), a); b = f64x2.add(v128.load(q, 16), b);
      c = f64x2.add(v128.load(q, 32), c); d = f64x2.add(v128.load(q, 48), d);
    }
    for (let r = 1; r < rows; r++) {
      p = rowAt(table, r, o);
      a = f64x2.add(a, load2(p)); b = f64x2.add(b, load2(p + 8));
      c = f64x2.add(c, load2(p + 16)); d = f64x2.add(d, load2(p + 24));
    }
    v128.store(q, a); v128.store(q, b, 16); v128.store(q, c, 32); v128.store(q, d, 48);
  }
  for (; i < len; i++) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let a = <f64>load<f32>(rowAt(table, 0, o));
    if (!first) a = load<f64>(q) + a;
    for (let r = 1; r < rows; r++) a += <f64>load<f32>(rowAt(table, r, o));
    store<f64>(q, a);
  }
}

/**
 * acc[i] = (first ? w₀·x₀[i] : acc[i] + w₀·x₀[i]) + w₁·x₁[i] + … in Float64, rows found as in `sumRowsAt`;
 * weights at `w` (f64, one per row).
 */
export function weightedRowsAt(acc: usize, table: usize, w: usize, rows: i32, offset: usize, len: i32, first: bool): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let p = rowAt(table, 0, o);
    let wr = f64x2.splat(load<f64>(w));
    let a = f64x2.mul(wr, load2(p)), b = f64x2.mul(wr, load2(p + 8)), c = f64x2.mul(wr, load2(p + 16)), d = f64x2.mul(wr, load2(p + 24));
    if (!first) {
      a = f64x2.add(v128.load(q), a); b = f64x2.add(v128.load(q, 16), b);
      c = f64x2.add(v128.load(q, 32), c); d = f64x2.add(v128.load(q, 48), d);
    }
    for (let r = 1; r < rows; r++) {
      p = rowAt(table, r, o);
      wr = f64x2.splat(load<f64>(w + (<usize>r << 3)));
      a = f64x2.add(a, f64x2.mul(wr, load2(p))); b = f64x2.add(b, f64x2.mul(wr, load2(p + 8)));
      c = f64x2.add(c, f64x2.mul(wr, load2(p + 16))); d = f64x2.add(d, f64x2.mul(wr, load2(p + 24)));
    }
    v128.store(q, a); v128.store(q, b, 16); v128.store(q, c, 32); v128.store(q, d, 48);
  }
  for (; i < len; i++) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let a = load<f64>(w) * <f64>load<f32>(rowAt(table, 0, o));
    if (!first) a = load<f64>(q) + a;
    for (let r = 1; r < rows; r++) a += load<f64>(w + (<usize>r << 3)) * <f64>load<f32>(rowAt(table, r, o));
    store<f64>(q, a);
  }
}

/** out[i] = f32(acc[i] / divisor); divisor 1 rounds acc to f32 unchanged (x / 1 = x). */
export function divideToF32(out: usize, acc: usize, len: i32, divisor: f64): void {
  const d = f64x2.splat(divisor);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const q = acc + (<usize>i << 3);
    store4(out + (<usize>i << 2), f64x2.div(v128.load(q), d), f64x2.div(v128.load(q, 16), d));
  }
  for (; i < len; i++) store<f32>(out + (<usize>i << 2), <f32>(load<f64>(acc + (<usize>i << 3)) / divisor));
}

/**
 * out[i] = fl32(fl32(a·x[i]) + fl32(b·y[i])) with a, b float32: gossip learning's merge, bit-exact with the
 * reference's float32 tensors (aggregation/gossip-age.ts). In f32x4 lanes every product and sum rounds to
 * float32 exactly as the scalar code does. `out` may be x or y.
 */
export function blend(out: usize, x: usize, y: usize, len: i32, a: f32, b: f32): void {
  const va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(va, v128.load(x + o)), f32x4.mul(vb, v128.load(y + o))));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, a * load<f32>(x + o) + b * load<f32>(y + o));
  }
}

/**
 * Σ (x[i] − v[i])² over `len` elements (x f32, v f64), in eight interleaved Float64 partial sums added
 * pairwise at the end. The JS rule sums sequentially; the order differs (see robust.ts for the bound).
 */
export function squaredDistance(x: usize, v: usize, len: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const p = x + (<usize>i << 2), q = v + (<usize>i << 3);
    const e0 = f64x2.sub(load2(p), v128.load(q)), e1 = f64x2.sub(load2(p + 8), v128.load(q, 16));
    const e2 = f64x2.sub(load2(p + 16), v128.load(q, 32)), e3 = f64x2.sub(load2(p + 24), v128.load(q, 48));
    s0 = f64x2.add(s0, f64x2.mul(e0, e0)); s1 = f64x2.add(s1, f64x2.mul(e1, e1));
    s2 = f64x2.add(s2, f64x2.mul(e2, e2)); s3 = f64x2.add(s3, f64x2.mul(e3, e3));
  }
  const t = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < len; i++) { const e = <f64>load<f32>(x + (<usize>i << 2)) - load<f64>(v + (<usize>i << 3)); s += e * e; }
  return s;
}

/** v[i] = v[i] + acc[i] / n (Float64): the centered-clipping update. */
export function clipStep(v: usize, acc: usize, len: i32, n: f64): void {
  const vn = f64x2.splat(n);
  let i = 0;
  for (; i + 2 <= len; i += 2) {
    const q = v + (<usize>i << 3);
    v128.store(q, f64x2.add(v128.load(q), f64x2.div(v128.load(acc + (<usize>i << 3)), vn)));
  }
  for (; i < len; i++) { const q = v + (<usize>i << 3); store<f64>(q, load<f64>(q) + load<f64>(acc + (<usize>i << 3)) / n); }
}

/** dst[i] = f64(src[i]) for `len` floats. */
export function promote(dst: usize, src: usize, len: i32): void {
  let i = 0;
  for (; i + 2 <= len; i += 2) v128.store(dst + (<usize>i << 3), load2(src + (<usize>i << 2)));
  for (; i < len; i++) store<f64>(dst + (<usize>i << 3), <f64>load<f32>(src + (<usize>i << 2)));
}

/**
 * Σa and Σa² of a = x[i] − shift over `len` floats into out[0], out[1] (f64): one Float64 pair of partial sums
 * (even and odd elements), added at the end, then the odd last element. The fallback of the variance for tensors
 * whose mean is large against their spread (variance-corrected.ts); `plainSums` is the common case.
 */
export function shiftedSums(x: usize, len: i32, shift: f64, out: usize): void {
  const k = f64x2.splat(shift);
  let a = f64x2.splat(0), q = a;
  let i = 0;
  for (; i + 2 <= len; i += 2) {
    const e = f64x2.sub(load2(x + (<usize>i << 2)), k);
    a = f64x2.add(a, e); q = f64x2.add(q, f64x2.mul(e, e));
  }
  finishPair(a, q, i < len ? <f64>load<f32>(x + (<usize>i << 2)) - shift : NaN, i < len, out);
}

/**
 * Σx and Σx² over `len` floats into out[0], out[1] (f64), in this order: two lanes A and Q (even and odd
 * elements) start at 0; each chunk of 8 elements x₀..x₃ (f64x2 pairs) adds A += (x₀ + x₁) + (x₂ + x₃) and
 * Q += (x₀² + x₁²) + (x₂² + x₃²); each remaining pair adds A += x, Q += x²; then Σx = A₀ + A₁ (+ the odd last
 * element), Σx² = Q₀ + Q₁ (+ its square). `sumSquaredRows` takes the same sums while it adds the rows, so the
 * two paths agree bit for bit.
 */
export function plainSums(x: usize, len: i32, out: usize): void {
  let a = f64x2.splat(0), q = a;
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const p = x + (<usize>i << 2);
    const x0 = load2(p), x1 = load2(p + 8), x2 = load2(p + 16), x3 = load2(p + 24);
    a = f64x2.add(a, chunkSum(x0, x1, x2, x3));
    q = f64x2.add(q, chunkSquares(x0, x1, x2, x3));
  }
  for (; i + 2 <= len; i += 2) {
    const e = load2(x + (<usize>i << 2));
    a = f64x2.add(a, e); q = f64x2.add(q, f64x2.mul(e, e));
  }
  finishPair(a, q, i < len ? <f64>load<f32>(x + (<usize>i << 2)) : NaN, i < len, out);
}

@inline function chunkSum(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return f64x2.add(f64x2.add(x0, x1), f64x2.add(x2, x3));
}

@inline function chunkSquares(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return f64x2.add(f64x2.add(f64x2.mul(x0, x0), f64x2.mul(x1, x1)), f64x2.add(f64x2.mul(x2, x2), f64x2.mul(x3, x3)));
}

/** out[0..1] = the lane sums of a and q, plus the odd element e (and e²) when `odd` (f64). */
@inline function finishPair(a: v128, q: v128, e: f64, odd: bool, out: usize): void {
  let s1 = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1), s2 = f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1);
  if (odd) { s1 += e; s2 += e * e; }
  store<f64>(out, s1);
  store<f64>(out, s2, 8);
}

/**
 * The column sums of `sumRowsAt` and every row's `plainSums` in one read of each row: for rows r in order (row r
 * at table[r] + offset), acc[i] = (first ? x₀[i] : acc[i] + x₀[i]) + x₁[i] + … in Float64 (the order of
 * `sumRowsAt`), and `plainSums` of row r added to sums[2r], sums[2r + 1] (f64). Like `sumRowsAt`, the rows are
 * the inner loop (eight coordinates of every row per step, the column sums in registers), so every row streams
 * at once; each row's two lanes live in `lanes` (32 bytes per row) between steps. Call with at most ~10 rows
 * (measured: more streams than that fall off a cliff). Three additions and one multiplication per pair of
 * elements and row; an earlier version subtracted a shift from every element (a fourth) and read four rows at a
 * time, and was bound by those additions and by its few memory streams.
 */
export function sumSquaredRows(acc: usize, table: usize, rows: i32, offset: usize, len: i32, first: bool, sums: usize, lanes: usize): void {
  const zero = f64x2.splat(0);
  for (let r = 0; r < rows; r++) { v128.store(lanes + (<usize>r << 5), zero); v128.store(lanes + (<usize>r << 5), zero, 16); }
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let p = rowAt(table, 0, o);
    let x0 = load2(p), x1 = load2(p + 8), x2 = load2(p + 16), x3 = load2(p + 24);
    let a = x0, b = x1, c = x2, d = x3;
    if (!first) {
      a = f64x2.add(v128.load(q), x0); b = f64x2.add(v128.load(q, 16), x1);
      c = f64x2.add(v128.load(q, 32), x2); d = f64x2.add(v128.load(q, 48), x3);
    }
    addChunk(lanes, x0, x1, x2, x3);
    for (let r = 1; r < rows; r++) {
      p = rowAt(table, r, o);
      x0 = load2(p); x1 = load2(p + 8); x2 = load2(p + 16); x3 = load2(p + 24);
      a = f64x2.add(a, x0); b = f64x2.add(b, x1); c = f64x2.add(c, x2); d = f64x2.add(d, x3);
      addChunk(lanes + (<usize>r << 5), x0, x1, x2, x3);
    }
    v128.store(q, a); v128.store(q, b, 16); v128.store(q, c, 32); v128.store(q, d, 48);
  }
  for (; i + 2 <= len; i += 2) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
    let x = load2(rowAt(table, 0, o));
    let a = first ? x : f64x2.add(v128.load(q), x);
    addPairToLanes(lanes, x);
    for (let r = 1; r < rows; r++) {
      x = load2(rowAt(table, r, o));
      a = f64x2.add(a, x);
      addPairToLanes(lanes + (<usize>r << 5), x);
    }
    v128.store(q, a);
  }
  const odd = i < len, o = offset + (<usize>i << 2), q = acc + (<usize>i << 3);
  let column = 0.0;
  for (let r = 0; r < rows; r++) {
    const e = odd ? <f64>load<f32>(rowAt(table, r, o)) : 0;
    column = r == 0 ? (first ? e : load<f64>(q) + e) : column + e;
    const L = lanes + (<usize>r << 5);
    finishPair(v128.load(L), v128.load(L, 16), e, odd, L);
    addPair(sums + (<usize>r << 4), L);
  }
  if (odd) store<f64>(q, column);
}

/** The lanes at L (A, then Q) += one 8-element chunk, as `plainSums` adds it. */
@inline function addChunk(L: usize, x0: v128, x1: v128, x2: v128, x3: v128): void {
  v128.store(L, f64x2.add(v128.load(L), chunkSum(x0, x1, x2, x3)));
  v128.store(L, f64x2.add(v128.load(L, 16), chunkSquares(x0, x1, x2, x3)), 16);
}

/** The lanes at L (A, then Q) += one pair x, as `plainSums` adds it. */
@inline function addPairToLanes(L: usize, x: v128): void {
  v128.store(L, f64x2.add(v128.load(L), x));
  v128.store(L, f64x2.add(v128.load(L, 16), f64x2.mul(x, x)), 16);
}

/** dst[0..1] += src[0..1] (f64). */
@inline function addPair(dst: usize, src: usize): void {
  store<f64>(dst, load<f64>(dst) + load<f64>(src));
  store<f64>(dst, load<f64>(dst, 8) + load<f64>(src, 8), 8);
}

/**
 * acc[i] = (first ? 0 : acc[i]) + s₀·(x₀[i] − v[i]) + s₁·(x₁[i] − v[i]) + … in Float64 (x f32 at table[r] + offset,
 * v f64, scales f64): one clipped term per row of centered clipping, the sums kept in registers across the rows.
 */
export function clipRowsAt(acc: usize, table: usize, scales: usize, rows: i32, offset: usize, v: usize, len: i32, first: bool): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3), c = v + (<usize>i << 3);
    const v0 = v128.load(c), v1 = v128.load(c, 16), v2 = v128.load(c, 32), v3 = v128.load(c, 48);
    const zero = f64x2.splat(0);
    let a = first ? zero : v128.load(q), b = first ? zero : v128.load(q, 16), e = first ? zero : v128.load(q, 32), f = first ? zero : v128.load(q, 48);
    for (let r = 0; r < rows; r++) {
      const p = rowAt(table, r, o), s = f64x2.splat(load<f64>(scales + (<usize>r << 3)));
      a = f64x2.add(a, f64x2.mul(s, f64x2.sub(load2(p), v0))); b = f64x2.add(b, f64x2.mul(s, f64x2.sub(load2(p + 8), v1)));
      e = f64x2.add(e, f64x2.mul(s, f64x2.sub(load2(p + 16), v2))); f = f64x2.add(f, f64x2.mul(s, f64x2.sub(load2(p + 24), v3)));
    }
    v128.store(q, a); v128.store(q, b, 16); v128.store(q, e, 32); v128.store(q, f, 48);
  }
  for (; i < len; i++) {
    const o = offset + (<usize>i << 2), q = acc + (<usize>i << 3), c = load<f64>(v + (<usize>i << 3));
    let a = first ? 0 : load<f64>(q);
    for (let r = 0; r < rows; r++) a += load<f64>(scales + (<usize>r << 3)) * (<f64>load<f32>(rowAt(table, r, o)) - c);
    store<f64>(q, a);
  }
}

/** x[i] = f32(mu + (x[i] − mu)·scale) in Float64 (variance-corrected.ts's rescale, same operations). */
export function rescale(x: usize, len: i32, mu: f64, scale: f64): void {
  const m = f64x2.splat(mu), s = f64x2.splat(scale);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const p = x + (<usize>i << 2);
    store4(p, f64x2.add(m, f64x2.mul(f64x2.sub(load2(p), m), s)), f64x2.add(m, f64x2.mul(f64x2.sub(load2(p + 8), m), s)));
  }
  for (; i < len; i++) { const p = x + (<usize>i << 2); store<f32>(p, <f32>(mu + (<f64>load<f32>(p) - mu) * scale)); }
}
