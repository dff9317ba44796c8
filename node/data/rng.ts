/**
 * Seeded randomness for everything (DESIGN.md seam 5): no library code calls Math.random. A stream is
 * derived from (seed, peer, round, purpose), so a peer's choices in a round do not depend on how many
 * numbers other peers or other purposes drew before it.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  uint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Gamma(shape, 1) sample (Marsaglia–Tsang), shape > 0. */
  gamma(shape: number): number;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[];
  /** Shuffle in place for typed arrays. */
  shuffleTyped<A extends Uint32Array | Int32Array | Float32Array>(items: A): A;
  /** k distinct items drawn without replacement (order random). */
  sample<T>(items: readonly T[], k: number): T[];
  /** A `() => number` view, for pure code that takes a plain uniform source. */
  readonly uniform: () => number;
}

export type StreamKey = readonly (string | number | bigint)[];

/** Derive a 128-bit state from a key through a 32-bit mixing hash (murmur3 finaliser per word). */
function seedState(key: StreamKey): [number, number, number, number] {
  const text = key.map((k) => `${typeof k}:${String(k)}`).join('\u0001');
  let h1 = 0x9e3779b9, h2 = 0x85ebca6b, h3 = 0xc2b2ae35, h4 = 0x27d4eb2f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h3 = Math.imul(h3 + c, 0x27d4eb2d) ^ (h3 >>> 15);
    h4 = Math.imul(h4 ^ (c + i), 0x165667b1);
  }
  const fin = (h: number): number => {
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
    return h >>> 0;
  };
  const s: [number, number, number, number] = [fin(h1 ^ h4), fin(h2 ^ h1), fin(h3 ^ h2), fin(h4 ^ h3)];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** sfc32: small, fast, passes PractRand to 2^40+; plenty for simulation. */
class Sfc32 implements Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | null = null;
  readonly uniform = (): number => this.next();

  constructor(state: [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = state;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    // 53-bit float from two draws, so even long shuffles are unbiased.
    const hi = this.uint32() >>> 5, lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return s; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
      let u = 0;
      while (u === 0) u = this.next();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do { x = this.normal(); v = 1 + c * x; } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!; items[i] = items[j]!; items[j] = t;
    }
    return items;
  }

  shuffleTyped<A extends Uint32Array | Int32Array | Float32Array>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!; items[i] = items[j]!; items[j] = t;
    }
    return items;
  }

  sample<T>(items: readonly T[], k: number): T[] {
    if (k >= items.length) return this.shuffle([...items]);
    const idx = Array.from(items.keys());
    for (let i = 0; i < k; i++) {
      const j = i + this.int(idx.length - i);
      const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t;
    }
    return idx.slice(0, k).map((i) => items[i]!);
  }
}

/** A stream for an arbitrary key; keys are compared by value and type (1 ≠ '1'). */
export function rngFor(...key: StreamKey): Rng {
  return new Sfc32(seedState(key));
}

/** The canonical stream of the project: (experiment seed, peer index or id, round, purpose). */
export function deriveRng(seed: number | string, peer: number | string, round: number, purpose: string): Rng {
  return rngFor('murmur', seed, peer, round, purpose);
}
