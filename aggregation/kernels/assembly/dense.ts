// Dense nets (logreg, MLP with ReLU; softmax cross-entropy) for node/learner/dense-js.ts and dense-eval.ts.
// Training is a port of dense-js.ts with the same Float64 operations in the same order (SIMD across output
// units, never across a sum), and exp/log are JS's own Math.exp/Math.log (imported), so trained weights are
// bit-identical to the JS kernel's. Evaluation sums in Float32 (like the TF.js matMul it replaces).
//
// A net is described by an i32 table `desc` the JS side fills (node/learner/dense-wasm.ts):
//   [0] L  [1] weights (f32)  [2] scale (f64 × L)  [3] labels (i32 × batch)  [4] momentum v (f32)  [5] gradient (f32)
//   then per layer l at 8 + 8·l: fi, fo, offset, act (f64 × batch·fo), grad (f64 × batch·fo), input idx (i32),
//   input val (f32), from/to (i32 × 2·batch: from at +0, to at +4·batch).
import { load2, store4 } from './simd';

@external("env", "exp") declare function jsExp(x: f64): f64;
@external("env", "log") declare function jsLog(x: f64): f64;

const MIN_SCALE: f64 = 1e-3;

@inline function d32(desc: usize, k: i32): i32 { return load<i32>(desc + (<usize>k << 2)); }
@inline function lay(desc: usize, l: i32, k: i32): i32 { return load<i32>(desc + (<usize>(8 + 8 * l + k) << 2)); }
@inline function f64at(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function f32at(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function i32at(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

/** out[o+j] = Σ_{p∈[p0,p1)} val[p]·w[off + idx[p]·fo + j] (Float64, in p order, from +0) for j < fo. */
function gatherDot(out: usize, o: i32, fo: i32, w: usize, off: i32, idx: usize, val: usize, p0: i32, p1: i32): void {
  let j = 0;
  const zero = f64x2.splat(0);
  for (; j + 8 <= fo; j += 8) {
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    for (let p = p0; p < p1; p++) {
      const v = f64x2.splat(<f64>f32at(val, p));
      const r = w + (<usize>(off + i32at(idx, p) * fo + j) << 2);
      a0 = f64x2.add(a0, f64x2.mul(v, load2(r))); a1 = f64x2.add(a1, f64x2.mul(v, load2(r + 8)));
      a2 = f64x2.add(a2, f64x2.mul(v, load2(r + 16))); a3 = f64x2.add(a3, f64x2.mul(v, load2(r + 24)));
    }
    const q = out + (<usize>(o + j) << 3);
    v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
  }
  for (; j + 2 <= fo; j += 2) {
    let a0 = zero;
    for (let p = p0; p < p1; p++) {
      a0 = f64x2.add(a0, f64x2.mul(f64x2.splat(<f64>f32at(val, p)), load2(w + (<usize>(off + i32at(idx, p) * fo + j) << 2))));
    }
    v128.store(out + (<usize>(o + j) << 3), a0);
  }
  for (; j < fo; j++) {
    let a: f64 = 0;
    for (let p = p0; p < p1; p++) a += <f64>f32at(val, p) * <f64>f32at(w, off + i32at(idx, p) * fo + j);
    store<f64>(out + (<usize>(o + j) << 3), a);
  }
}

/** target[off + idx[p]·fo + j] += val[p]·(a·g[gi+j]) (Float64, rounded to f32) for p ∈ [p0,p1), j < fo. */
function scatterOuter(target: usize, off: i32, fo: i32, idx: usize, val: usize, p0: i32, p1: i32, a: f64, g: usize, gi: i32): void {
  let j = 0;
  const va = f64x2.splat(a);
  for (; j + 4 <= fo; j += 4) {
    const gp = g + (<usize>(gi + j) << 3);
    const g0 = f64x2.mul(va, v128.load(gp)), g1 = f64x2.mul(va, v128.load(gp, 16));
    for (let p = p0; p < p1; p++) {
      const v = f64x2.splat(<f64>f32at(val, p));
      const r = target + (<usize>(off + i32at(idx, p) * fo + j) << 2);
      store4(r, f64x2.add(load2(r), f64x2.mul(v, g0)), f64x2.add(load2(r + 8), f64x2.mul(v, g1)));
    }
  }
  for (; j < fo; j++) {
    const g0 = a * f64at(g, gi + j);
    for (let p = p0; p < p1; p++) {
      const r = target + (<usize>(off + i32at(idx, p) * fo + j) << 2);
      store<f32>(r, <f32>(<f64>load<f32>(r) + <f64>f32at(val, p) * g0));
    }
  }
}

/** Fold layer l's lazy decay factor into its kernel. */
function foldScale(desc: usize, l: i32): void {
  const scale = <usize>d32(desc, 2) + (<usize>l << 3), sc = load<f64>(scale);
  if (sc == 1) return;
  const w = <usize>d32(desc, 1), off = lay(desc, l, 2), end = off + lay(desc, l, 0) * lay(desc, l, 1);
  const vs = f64x2.splat(sc);
  let i = off;
  for (; i + 4 <= end; i += 4) { const p = w + (<usize>i << 2); store4(p, f64x2.mul(vs, load2(p)), f64x2.mul(vs, load2(p + 8))); }
  for (; i < end; i++) { const p = w + (<usize>i << 2); store<f32>(p, <f32>(sc * <f64>load<f32>(p))); }
  store<f64>(scale, 1);
}

/** Fold every layer's decay factor (end of a training call). */
export function denseFold(desc: usize): void {
  for (let l = 0; l < d32(desc, 0); l++) foldScale(desc, l);
}

/** Forward pass over `size` samples; returns the mean cross-entropy, leaves dLoss/dlogits in the last grad. */
function forward(desc: usize, size: i32): f64 {
  const L = d32(desc, 0), w = <usize>d32(desc, 1), scale = <usize>d32(desc, 2);
  for (let l = 0; l < L; l++) {
    const fi = lay(desc, l, 0), fo = lay(desc, l, 1), off = lay(desc, l, 2), bias = off + fi * fo, sc = f64at(scale, l);
    const out = <usize>lay(desc, l, 3), idx = <usize>lay(desc, l, 5), val = <usize>lay(desc, l, 6), ft = <usize>lay(desc, l, 7);
    const last = l + 1 == L;
    const nIdx: usize = last ? 0 : <usize>lay(desc, l + 1, 5), nVal: usize = last ? 0 : <usize>lay(desc, l + 1, 6), nFt: usize = last ? 0 : <usize>lay(desc, l + 1, 7);
    for (let i = 0; i < size; i++) {
      const o = i * fo;
      gatherDot(out, o, fo, w, off, idx, val, i32at(ft, i), i32at(ft, size + i));
      if (last) {
        for (let j = 0; j < fo; j++) store<f64>(out + (<usize>(o + j) << 3), sc * f64at(out, o + j) + <f64>f32at(w, bias + j));
        continue;
      }
      let q = o;
      store<i32>(nFt + (<usize>i << 2), q);
      for (let j = 0; j < fo; j++) {
        const z = sc * f64at(out, o + j) + <f64>f32at(w, bias + j);
        if (z > 0) {
          store<f64>(out + (<usize>(o + j) << 3), z);
          store<i32>(nIdx + (<usize>q << 2), j);
          store<f32>(nVal + (<usize>q << 2), <f32>z);
          q++;
        } else store<f64>(out + (<usize>(o + j) << 3), 0);
      }
      store<i32>(nFt + (<usize>(size + i) << 2), q);
    }
  }
  const c = lay(desc, L - 1, 1), logits = <usize>lay(desc, L - 1, 3), g = <usize>lay(desc, L - 1, 4), labels = <usize>d32(desc, 3);
  const sz = <f64>size;
  let loss: f64 = 0;
  for (let i = 0; i < size; i++) {
    const o = i * c;
    let mx = -Infinity;
    for (let j = 0; j < c; j++) if (f64at(logits, o + j) > mx) mx = f64at(logits, o + j);
    let sum: f64 = 0;
    for (let j = 0; j < c; j++) { const e = jsExp(f64at(logits, o + j) - mx); store<f64>(g + (<usize>(o + j) << 3), e); sum += e; }
    const label = i32at(labels, i);
    loss += jsLog(sum) + mx - f64at(logits, o + label);
    for (let j = 0; j < c; j++) store<f64>(g + (<usize>(o + j) << 3), f64at(g, o + j) / sum / sz);
    const gl = g + (<usize>(o + label) << 3);
    store<f64>(gl, load<f64>(gl) - 1 / sz);
  }
  return loss / sz;
}

/** Back-propagate grad[l] into grad[l−1] through layer l's kernel and the ReLU below (dense-js.ts backInto). */
function backInto(desc: usize, l: i32, size: i32): void {
  const w = <usize>d32(desc, 1), sc = f64at(<usize>d32(desc, 2), l);
  const fi = lay(desc, l, 0), fo = lay(desc, l, 1), off = lay(desc, l, 2);
  const g = <usize>lay(desc, l, 4), dh = <usize>lay(desc, l - 1, 4), idx = <usize>lay(desc, l, 5), ft = <usize>lay(desc, l, 7);
  memory.fill(dh, 0, <usize>(size * fi) << 3);
  for (let i = 0; i < size; i++) {
    const gi = i * fo, hi = i * fi;
    for (let p = i32at(ft, i), e = i32at(ft, size + i); p < e; p++) {
      const k = i32at(idx, p), r = off + k * fo;
      let acc: f64 = 0;
      for (let j = 0; j < fo; j++) acc += f64at(g, gi + j) * <f64>f32at(w, r + j);
      store<f64>(dh + (<usize>(hi + k) << 3), sc * acc);
    }
  }
}

/** Plain SGD with lazily applied weight decay (dense-js.ts stepLazy). */
function stepLazy(desc: usize, size: i32, lr: f64, wd: f64): void {
  const L = d32(desc, 0), w = <usize>d32(desc, 1), scale = <usize>d32(desc, 2);
  const decay = 1 - lr * wd;
  for (let l = L - 1; l >= 0; l--) {
    const fi = lay(desc, l, 0), fo = lay(desc, l, 1), off = lay(desc, l, 2), bias = off + fi * fo;
    const g = <usize>lay(desc, l, 4), idx = <usize>lay(desc, l, 5), val = <usize>lay(desc, l, 6), ft = <usize>lay(desc, l, 7);
    if (l > 0) backInto(desc, l, size);
    const sp = scale + (<usize>l << 3);
    store<f64>(sp, load<f64>(sp) * decay);
    if (load<f64>(sp) < MIN_SCALE) foldScale(desc, l);
    const a = -lr / load<f64>(sp);
    for (let i = 0; i < size; i++) scatterOuter(w, off, fo, idx, val, i32at(ft, i), i32at(ft, size + i), a, g, i * fo);
    for (let j = 0; j < fo; j++) {
      let gb: f64 = 0;
      for (let i = 0; i < size; i++) gb += f64at(g, i * fo + j);
      const p = w + (<usize>(bias + j) << 2);
      store<f32>(p, <f32>(<f64>load<f32>(p) * decay - lr * gb));
    }
  }
}

/** SGD with momentum (dense-js.ts stepMomentum): g = ∇L + wd·w, v ← μ·v + g (v = g first), w ← w − lr·v. */
function stepMomentum(desc: usize, size: i32, lr: f64, wd: f64, mu: f64, first: bool): void {
  const L = d32(desc, 0), w = <usize>d32(desc, 1), v = <usize>d32(desc, 4), grad = <usize>d32(desc, 5);
  for (let l = L - 1; l >= 0; l--) {
    const fi = lay(desc, l, 0), fo = lay(desc, l, 1), off = lay(desc, l, 2), bias = off + fi * fo, end = bias + fo;
    const g = <usize>lay(desc, l, 4), idx = <usize>lay(desc, l, 5), val = <usize>lay(desc, l, 6), ft = <usize>lay(desc, l, 7);
    if (l > 0) backInto(desc, l, size);
    memory.fill(grad + (<usize>off << 2), 0, <usize>(end - off) << 2);
    for (let i = 0; i < size; i++) {
      scatterOuter(grad, off, fo, idx, val, i32at(ft, i), i32at(ft, size + i), 1, g, i * fo);
      for (let j = 0; j < fo; j++) {
        const p = grad + (<usize>(bias + j) << 2);
        store<f32>(p, <f32>(<f64>load<f32>(p) + f64at(g, i * fo + j)));
      }
    }
    for (let i = off; i < end; i++) {
      const wp = w + (<usize>i << 2), vp = v + (<usize>i << 2);
      const gi = <f64>f32at(grad, i) + wd * <f64>load<f32>(wp);
      const vi = first ? gi : mu * <f64>load<f32>(vp) + gi;
      store<f32>(vp, <f32>vi);
      store<f32>(wp, <f32>(<f64>load<f32>(wp) - lr * vi));
    }
  }
}

/** One batch: forward, then the SGD step (momentum when mu > 0); returns the batch's mean loss. */
export function denseBatch(desc: usize, size: i32, lr: f64, wd: f64, mu: f64, first: bool): f64 {
  const loss = forward(desc, size);
  if (mu > 0) stepMomentum(desc, size, lr, wd, mu, first);
  else stepLazy(desc, size, lr, wd);
  return loss;
}

@inline function row(w: usize, off: i32, idx: usize, p: i32, fo: i32, j: i32): usize {
  return w + (<usize>(off + i32at(idx, p) * fo + j) << 2);
}
@inline function mac(acc: v128, v: v128, r: usize, o: usize): v128 { return f32x4.add(acc, f32x4.mul(v, v128.load(r + o))); }

/**
 * out[j] = Σ_{p∈[p0,p1)} val[p]·w[off + idx[p]·fo + j] in Float32 for j < fo. Up to 32 output units go in one
 * pass over the inputs with up to eight independent accumulators (for 16 or fewer, two sets over even and odd
 * inputs), so the adds are not one dependency chain; wider layers take 32 units per pass. Loads and stores are
 * whole vectors: reads up to 28 floats past a row and writes up to 28 floats past `fo`, so weights and `out`
 * need 128 bytes of slack.
 */
function gather32(out: usize, fo: i32, w: usize, off: i32, idx: usize, val: usize, p0: i32, p1: i32): void {
  const zero = f32x4.splat(0);
  let j = 0;
  for (; j < fo; j += 32) {
    const left = fo - j;
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
    if (left <= 8) {
      let p = p0;
      for (; p + 1 < p1; p += 2) {
        const v = f32x4.splat(f32at(val, p)), u = f32x4.splat(f32at(val, p + 1));
        const r = row(w, off, idx, p, fo, j), q = row(w, off, idx, p + 1, fo, j);
        a0 = mac(a0, v, r, 0); a1 = mac(a1, v, r, 16); a2 = mac(a2, u, q, 0); a3 = mac(a3, u, q, 16);
      }
      if (p < p1) { const v = f32x4.splat(f32at(val, p)), r = row(w, off, idx, p, fo, j); a0 = mac(a0, v, r, 0); a1 = mac(a1, v, r, 16); }
      a0 = f32x4.add(a0, a2); a1 = f32x4.add(a1, a3);
    } else if (left <= 16) {
      let p = p0;
      for (; p + 1 < p1; p += 2) {
        const v = f32x4.splat(f32at(val, p)), u = f32x4.splat(f32at(val, p + 1));
        const r = row(w, off, idx, p, fo, j), q = row(w, off, idx, p + 1, fo, j);
        a0 = mac(a0, v, r, 0); a1 = mac(a1, v, r, 16); a2 = mac(a2, v, r, 32); a3 = mac(a3, v, r, 48);
        a4 = mac(a4, u, q, 0); a5 = mac(a5, u, q, 16); a6 = mac(a6, u, q, 32); a7 = mac(a7, u, q, 48);
      }
      if (p < p1) {
        const v = f32x4.splat(f32at(val, p)), r = row(w, off, idx, p, fo, j);
        a0 = mac(a0, v, r, 0); a1 = mac(a1, v, r, 16); a2 = mac(a2, v, r, 32); a3 = mac(a3, v, r, 48);
      }
      a0 = f32x4.add(a0, a4); a1 = f32x4.add(a1, a5); a2 = f32x4.add(a2, a6); a3 = f32x4.add(a3, a7);
    } else {
      for (let p = p0; p < p1; p++) {
        const v = f32x4.splat(f32at(val, p)), r = row(w, off, idx, p, fo, j);
        a0 = mac(a0, v, r, 0); a1 = mac(a1, v, r, 16); a2 = mac(a2, v, r, 32); a3 = mac(a3, v, r, 48);
        a4 = mac(a4, v, r, 64); a5 = mac(a5, v, r, 80); a6 = mac(a6, v, r, 96); a7 = mac(a7, v, r, 112);
      }
    }
    const q = out + (<usize>j << 2);
    v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
    v128.store(q, a4, 64); v128.store(q, a5, 80); v128.store(q, a6, 96); v128.store(q, a7, 112);
  }
}

/**
 * Logits of `n` rows (ids at `rows`) into out (f32, n × classes): the CSR rows (start, col, val) through the
 * layers of `desc` (only fi, fo, offset used; weights at desc[1], with 128 bytes of slack). `z`, `hIdx`, `hVal`:
 * scratch of the largest width plus 32 floats.
 */
export function denseLogits(desc: usize, rows: usize, n: i32, start: usize, col: usize, val: usize, out: usize, z: usize, hIdx: usize, hVal: usize): void {
  const L = d32(desc, 0), w = <usize>d32(desc, 1);
  const c = lay(desc, L - 1, 1);
  for (let r = 0; r < n; r++) {
    const row = i32at(rows, r);
    let idx = col, vals = val, p0 = i32at(start, row), p1 = i32at(start, row + 1);
    for (let l = 0; l < L; l++) {
      const fi = lay(desc, l, 0), fo = lay(desc, l, 1), off = lay(desc, l, 2), bias = off + fi * fo;
      gather32(z, fo, w, off, idx, vals, p0, p1);
      if (l + 1 == L) {
        for (let j = 0; j < fo; j++) store<f32>(out + (<usize>(r * c + j) << 2), f32at(z, j) + f32at(w, bias + j));
        break;
      }
      let q = 0;
      for (let j = 0; j < fo; j++) {
        const h = f32at(z, j) + f32at(w, bias + j);
        if (h > 0) { store<i32>(hIdx + (<usize>q << 2), j); store<f32>(hVal + (<usize>q << 2), h); q++; }
      }
      idx = hIdx; vals = hVal; p0 = 0; p1 = q;
    }
  }
}

/**
 * Score n rows of logits (f32, n × c): pred[r] = the first argmax, and the sum over rows of the cross-entropy
 * log Σ exp(z − max) + max − z[label] in Float64 with JS's exp/log, in row order (dense-eval.ts scoreRow).
 */
export function denseScore(logits: usize, n: i32, c: i32, labels: usize, pred: usize): f64 {
  let lossSum: f64 = 0;
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let mx: f64 = -Infinity, arg = 0;
    for (let j = 0; j < c; j++) { const z = <f64>f32at(logits, o + j); if (z > mx) { mx = z; arg = j; } }
    let sum: f64 = 0;
    for (let j = 0; j < c; j++) sum += jsExp(<f64>f32at(logits, o + j) - mx);
    store<i32>(pred + (<usize>r << 2), arg);
    lossSum += jsLog(sum) + mx - <f64>f32at(logits, o + i32at(labels, r));
  }
  return lossSum;
}
