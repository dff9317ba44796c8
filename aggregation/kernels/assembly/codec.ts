// The codec's f16 and q8 conversions (protocols/codec/f16.ts, quantize.ts) with SIMD: the same integer bit
// tricks and the same Float64 expressions, so the bytes and floats equal the JS versions bit for bit.

/** float32 → half for 4 lanes of float bits: the rounding-bias trick of f16.ts, branch-free. */
@inline function halves4(x: v128): v128 {
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const normal = i32x4.shr_u(i32x4.add(i32x4.sub(a, i32x4.splat(0x37fff001)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), 13);
  const big = i32x4.gt_s(a, i32x4.splat(0x477fe000));
  const isNormal = i32x4.ge_s(a, i32x4.splat(0x38800000));
  // Subnormal halves: |x|·2²⁴ rounded to an integer, ties to even. For |x| < 2⁻¹⁴, 0.5 + |x| rounds (float32
  // add, ties to even) to a multiple of 2⁻²⁴, the ulp of 0.5, so its bits minus those of 0.5 are that integer
  // (Giesen's denormal magic): two instructions instead of mul, nearest and a saturating convert.
  const sub = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  const h = v128.bitselect(v128.bitselect(i32x4.splat(0x7bff), normal, big), sub, isNormal);
  return v128.or(v128.and(i32x4.shr_u(x, 16), i32x4.splat(0x8000)), h);
}

/** Halves of n floats (f16.ts floatsToHalves); returns 1 when every input is finite, 0 otherwise. */
export function f16Encode(src: usize, dst: usize, n: i32): i32 {
  let bad = i32x4.splat(0);
  const inf = i32x4.splat(0x7f800000 - 1);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const x0 = v128.load(src + (<usize>i << 2)), x1 = v128.load(src + (<usize>i << 2), 16);
    bad = v128.or(bad, v128.or(i32x4.gt_s(v128.and(x0, i32x4.splat(0x7fffffff)), inf), i32x4.gt_s(v128.and(x1, i32x4.splat(0x7fffffff)), inf)));
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(halves4(x0), halves4(x1)));
  }
  let finite = v128.any_true(bad) ? 0 : 1;
  for (; i < n; i++) {
    const x = i32x4.splat(load<i32>(src + (<usize>i << 2)));
    if ((load<u32>(src + (<usize>i << 2)) & 0x7fffffff) >= 0x7f800000) finite = 0;
    store<u16>(dst + (<usize>i << 1), <u16>i32x4.extract_lane(halves4(x), 0));
  }
  return finite;
}

/** half → float32 bits for 4 lanes (f16.ts halvesToFloats: integer re-bias; exact value for zeros and subnormals). */
@inline function floats4(h: v128): v128 {
  const e = v128.and(h, i32x4.splat(0x7c00));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const normal = v128.or(sign, i32x4.shl(i32x4.add(v128.and(h, i32x4.splat(0x7fff)), i32x4.splat(0x1c000)), 13));
  const small = v128.or(sign, f32x4.mul(f32x4.convert_i32x4_s(v128.and(h, i32x4.splat(0x3ff))), f32x4.splat(5.9604644775390625e-8)));
  return v128.bitselect(small, normal, i32x4.eq(e, i32x4.splat(0)));
}

/** Floats of n halves; returns 1 when none is a half infinity or NaN (every output is written either way). */
export function f16Decode(src: usize, dst: usize, n: i32): i32 {
  let special = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const lo = i32x4.extend_low_i16x8_u(h), hi = i32x4.extend_high_i16x8_u(h);
    special = v128.or(special, v128.or(i32x4.eq(v128.and(lo, i32x4.splat(0x7c00)), i32x4.splat(0x7c00)), i32x4.eq(v128.and(hi, i32x4.splat(0x7c00)), i32x4.splat(0x7c00))));
    v128.store(dst + (<usize>i << 2), floats4(lo));
    v128.store(dst + (<usize>i << 2), floats4(hi), 16);
  }
  let ok = v128.any_true(special) ? 0 : 1;
  for (; i < n; i++) {
    const h = <i32>load<u16>(src + (<usize>i << 1));
    if ((h & 0x7c00) == 0x7c00) ok = 0;
    store<i32>(dst + (<usize>i << 2), i32x4.extract_lane(floats4(i32x4.splat(h)), 0));
  }
  return ok;
}

/**
 * min and max of n floats into out[0], out[1], as Math.min/max in quantize.ts: NaN if any input is NaN or ±Inf
 * (the caller refuses those; it only asks whether both are finite), else the exact extremes, signed zeros included.
 * The main loop uses pmin/pmax (one x86 instruction each; the IEEE min/max take several) on four accumulators and
 * flags non-finite inputs by their bits; pmin keeps either zero when -0 meets +0, so an extreme of zero is
 * recomputed with the exact min/max.
 */
export function minMax(src: usize, n: i32, out: usize): void {
  const inf = i32x4.splat(0x7f800000 - 1), abs = i32x4.splat(0x7fffffff);
  let bad = i32x4.splat(0);
  let mn0 = f32x4.splat(Infinity), mn1 = mn0, mx0 = f32x4.splat(-Infinity), mx1 = mx0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = src + (<usize>i << 2);
    const x0 = v128.load(p), x1 = v128.load(p, 16);
    bad = v128.or(bad, v128.or(i32x4.gt_s(v128.and(x0, abs), inf), i32x4.gt_s(v128.and(x1, abs), inf)));
    mn0 = f32x4.pmin(mn0, x0); mx0 = f32x4.pmax(mx0, x0);
    mn1 = f32x4.pmin(mn1, x1); mx1 = f32x4.pmax(mx1, x1);
  }
  const mn = f32x4.min(mn0, mn1), mx = f32x4.max(mx0, mx1);
  let a = min<f32>(min<f32>(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), min<f32>(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  let b = max<f32>(max<f32>(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max<f32>(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
  for (; i < n; i++) { const x = load<f32>(src + (<usize>i << 2)); a = min<f32>(a, x); b = max<f32>(b, x); }
  if (v128.any_true(bad)) { a = NaN; b = NaN; } else if (a == 0 || b == 0) {
    // Which zero is the extreme depends on every zero seen: redo it with the sign-exact min/max.
    let en = f32x4.splat(Infinity), ex = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= n; j += 4) { const x = v128.load(src + (<usize>j << 2)); en = f32x4.min(en, x); ex = f32x4.max(ex, x); }
    a = min<f32>(min<f32>(f32x4.extract_lane(en, 0), f32x4.extract_lane(en, 1)), min<f32>(f32x4.extract_lane(en, 2), f32x4.extract_lane(en, 3)));
    b = max<f32>(max<f32>(f32x4.extract_lane(ex, 0), f32x4.extract_lane(ex, 1)), max<f32>(f32x4.extract_lane(ex, 2), f32x4.extract_lane(ex, 3)));
    for (; j < n; j++) { const x = load<f32>(src + (<usize>j << 2)); a = min<f32>(a, x); b = max<f32>(b, x); }
  }
  store<f32>(out, a);
  store<f32>(out, b, 4);
}

/**
 * Two codes as the low 32 bits of two doubles: y = (x − min)·inv + 0.5 lies in [0.5, 256), so floor(y) + 2⁵² is
 * exact and its low bits are trunc(y), the |0 of quantize.ts (a floor and an add instead of a saturating convert).
 */
@inline function code2(src: usize, vmin: v128, vinv: v128): v128 {
  return f64x2.add(f64x2.floor(f64x2.add(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(src)), vmin), vinv), f64x2.splat(0.5))), f64x2.splat(4503599627370496));
}
/** The four codes of two code2 results as i32 lanes. */
@inline function join2(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27); }

/** codes[i] = ((x[i] − min)·inv + 0.5) | 0 in Float64 (quantize.ts; every value lies in [min, max]). */
export function q8Encode(src: usize, codes: usize, n: i32, mn: f64, inv: f64): void {
  const vmin = f64x2.splat(mn), vinv = f64x2.splat(inv);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = src + (<usize>i << 2);
    const a = join2(code2(p, vmin, vinv), code2(p + 8, vmin, vinv)), b = join2(code2(p + 16, vmin, vinv), code2(p + 24, vmin, vinv));
    const c = join2(code2(p + 32, vmin, vinv), code2(p + 40, vmin, vinv)), d = join2(code2(p + 48, vmin, vinv), code2(p + 56, vmin, vinv));
    v128.store(codes + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.narrow_i32x4_u(c, d)));
  }
  for (; i < n; i++) store<u8>(codes + <usize>i, <u8>(<i32>((<f64>load<f32>(src + (<usize>i << 2)) - mn) * inv + 0.5)));
}

@inline function value4(q: v128, vmin: v128, vs: v128): v128 {
  // Codes are below 2³¹: the signed convert (one x86 instruction, the unsigned one takes several) is exact.
  const lo = f64x2.add(vmin, f64x2.mul(f64x2.convert_low_i32x4_s(q), vs));
  const hi = f64x2.add(vmin, f64x2.mul(f64x2.convert_low_i32x4_s(i8x16.shuffle(q, q, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), vs));
  return i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/** out[i] = f32(min + codes[i]·scale) in Float64 (quantize.ts dequantizeQ8). */
export function q8Decode(codes: usize, out: usize, n: i32, mn: f64, scale: f64): void {
  const vmin = f64x2.splat(mn), vs = f64x2.splat(scale);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const q = v128.load(codes + <usize>i);
    const w0 = i16x8.extend_low_i8x16_u(q), w1 = i16x8.extend_high_i8x16_u(q);
    const p = out + (<usize>i << 2);
    v128.store(p, value4(i32x4.extend_low_i16x8_u(w0), vmin, vs));
    v128.store(p, value4(i32x4.extend_high_i16x8_u(w0), vmin, vs), 16);
    v128.store(p, value4(i32x4.extend_low_i16x8_u(w1), vmin, vs), 32);
    v128.store(p, value4(i32x4.extend_high_i16x8_u(w1), vmin, vs), 48);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(mn + <f64>load<u8>(codes + <usize>i) * scale));
}
