// Helpers shared by the kernels (AssemblyScript; compiled by scripts/build-kernels.ts, not by tsc).

/** f32 values [p, p+2) promoted to f64x2. */
@inline export function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Two f64x2 rounded to f32 (round to nearest even, as a Float32Array store) and stored as 4 floats at p. */
@inline export function store4(p: usize, lo: v128, hi: v128): void {
  v128.store(p, i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
}

/**
 * Left-pack shuffles: entry m (16 bytes) moves the float32 lanes whose bit is set in the 4-bit mask m to the
 * front, in lane order. A store of the shuffled vector then appends exactly the selected values (the bytes
 * after them are scratch the next store overwrites), so buffers need 4 floats of slack.
 */
export const PACK: usize = buildPack();

function buildPack(): usize {
  const t = memory.data(256, 16);
  for (let m = 0; m < 16; m++) {
    let o = 0;
    for (let lane = 0; lane < 4; lane++) {
      if ((m >> lane) & 1) { for (let b = 0; b < 4; b++) store<u8>(t + (<usize>m << 4) + <usize>(o * 4 + b), <u8>(lane * 4 + b)); o++; }
    }
    for (; o < 4; o++) for (let b = 0; b < 4; b++) store<u8>(t + (<usize>m << 4) + <usize>(o * 4 + b), <u8>0x80);
  }
  return t;
}

/** The smallest float32 ≥ p (for a float32 x: x < p ⇔ x < f32Above(p)). */
export function f32Above(p: f64): f32 {
  const f = <f32>p;
  if (<f64>f >= p) return f;
  return reinterpret<f32>(f > 0 ? reinterpret<u32>(f) + 1 : f == 0 ? 0x00000001 : reinterpret<u32>(f) - 1);
}

/** The largest float32 ≤ p (for a float32 x: x > p ⇔ x > f32Below(p)). */
export function f32Below(p: f64): f32 { return -f32Above(-p); }
