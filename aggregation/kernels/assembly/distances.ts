// Krum's pairwise squared distances (aggregation/robust.ts pairwiseSquaredDistances) on one block of coordinates.
// The JS rule works on two rows against four columns with eight Float64 sums per block; here a SIMD lane is one
// (row, column) pair: rows i and i+1 are interleaved as f64 pairs [a[k], a2[k]], a column value is splat to both
// lanes, and each lane adds (x − c)² in k order, exactly as the JS sums do. Same block size, so the partial
// sums reach D in the same order: bit-identical.

/** rows64[r·len + k] = f64(stage[r·len + k]); pairs[(i/2)·2·len + 2k + {0,1}] = rows i, i+1 at k (i even). */
export function distancePrep(stage: usize, n: i32, len: i32, rows64: usize, pairs: usize): void {
  const total = n * len;
  let i = 0;
  for (; i + 2 <= total; i += 2) v128.store(rows64 + (<usize>i << 3), f64x2.promote_low_f32x4(v128.load64_zero(stage + (<usize>i << 2))));
  for (; i < total; i++) store<f64>(rows64 + (<usize>i << 3), <f64>load<f32>(stage + (<usize>i << 2)));
  for (let r = 0; r + 1 < n; r += 2) {
    const a = rows64 + (<usize>(r * len) << 3), b = a + (<usize>len << 3), p = pairs + (<usize>(r * len) << 3);
    for (let k = 0; k < len; k++) {
      v128.store(p + (<usize>k << 4), f64x2.replace_lane(f64x2.splat(load<f64>(a + (<usize>k << 3))), 1, load<f64>(b + (<usize>k << 3))));
    }
  }
}

@inline function sq(acc: v128, p: v128, col: usize): v128 {
  const e = f64x2.sub(p, v128.load64_splat(col));
  return f64x2.add(acc, f64x2.mul(e, e));
}

/** D[i·n + j] += Σ_k (x_i[k] − x_j[k])² over this block for i < j, in robust.ts's grouping (upper triangle only). */
export function distanceBlock(rows64: usize, pairs: usize, n: i32, len: i32, D: usize): void {
  const zero = f64x2.splat(0);
  for (let i = 0; i + 1 < n; i += 2) {
    const a = rows64 + (<usize>(i * len) << 3), a2 = a + (<usize>len << 3), p = pairs + (<usize>(i * len) << 3);
    const row = D + (<usize>(i * n) << 3), row2 = row + (<usize>n << 3);
    let s: f64 = 0;
    for (let k = 0; k < len; k++) { const e = load<f64>(a + (<usize>k << 3)) - load<f64>(a2 + (<usize>k << 3)); s += e * e; }
    store<f64>(row + (<usize>(i + 1) << 3), load<f64>(row + (<usize>(i + 1) << 3)) + s);
    let j = i + 2;
    for (; j + 3 < n; j += 4) {
      const c0 = rows64 + (<usize>(j * len) << 3), c1 = c0 + (<usize>len << 3), c2 = c1 + (<usize>len << 3), c3 = c2 + (<usize>len << 3);
      let u0 = zero, u1 = zero, u2 = zero, u3 = zero;
      for (let k = 0; k < len; k++) {
        const x = v128.load(p + (<usize>k << 4)), o = <usize>k << 3;
        u0 = sq(u0, x, c0 + o); u1 = sq(u1, x, c1 + o); u2 = sq(u2, x, c2 + o); u3 = sq(u3, x, c3 + o);
      }
      const d = row + (<usize>j << 3), d2 = row2 + (<usize>j << 3);
      store<f64>(d, load<f64>(d) + f64x2.extract_lane(u0, 0)); store<f64>(d2, load<f64>(d2) + f64x2.extract_lane(u0, 1));
      store<f64>(d, load<f64>(d, 8) + f64x2.extract_lane(u1, 0), 8); store<f64>(d2, load<f64>(d2, 8) + f64x2.extract_lane(u1, 1), 8);
      store<f64>(d, load<f64>(d, 16) + f64x2.extract_lane(u2, 0), 16); store<f64>(d2, load<f64>(d2, 16) + f64x2.extract_lane(u2, 1), 16);
      store<f64>(d, load<f64>(d, 24) + f64x2.extract_lane(u3, 0), 24); store<f64>(d2, load<f64>(d2, 24) + f64x2.extract_lane(u3, 1), 24);
    }
    for (; j < n; j++) {
      const c = rows64 + (<usize>(j * len) << 3);
      let u = zero;
      for (let k = 0; k < len; k++) u = sq(u, v128.load(p + (<usize>k << 4)), c + (<usize>k << 3));
      const d = row + (<usize>j << 3), d2 = row2 + (<usize>j << 3);
      store<f64>(d, load<f64>(d) + f64x2.extract_lane(u, 0));
      store<f64>(d2, load<f64>(d2) + f64x2.extract_lane(u, 1));
    }
  }
}
