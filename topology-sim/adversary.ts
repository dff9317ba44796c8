/**
 * Byzantine behaviours for simulations (issue "Topology simulator", item 6). An attacker runs the same Peer;
 * its algorithm instance is wrapped so that what it trains on or what it sends is corrupted. Honest metrics
 * exclude attackers. ALIE (Baruch et al. 2019) is omniscient: it reads the honest peers' current models.
 */
import type { Layout } from '../aggregation/layout.js';
import { reverseRanking } from '../aggregation/frl.js';
import type { AlgorithmInstance } from '../node/algorithms/types.js';
import { rngFor } from '../node/data/rng.js';
import type { AdversarySpec } from './experiment.js';
import { AdversaryError } from './errors.js';

export type Behaviour = AdversarySpec['behaviour'];

export interface AdversaryContext {
  layout: Layout;
  classes: number;
  initial: Float32Array;
  peerIndex: number;
  seed: number | string;
  peers: number;
  attackers: number;
  /** Honest peers' current models (ALIE). */
  honestModels: () => Float32Array[];
}

/** Indices of the attacking peers: explicit, or the first ⌊fraction·N⌋ of a seeded permutation. */
export function attackerSet(spec: AdversarySpec | undefined, peers: number, seed: number | string): Set<number> {
  if (!spec) return new Set();
  if (spec.peers) return new Set(spec.peers.filter((p) => p < peers));
  const k = Math.floor((spec.fraction ?? 0) * peers);
  return new Set(rngFor('attackers', seed).sample(Array.from({ length: peers }, (_, i) => i), k));
}

/** z of ALIE for n peers and f attackers: Φ⁻¹((n − s)/n), s = ⌊n/2 + 1⌋ − f. */
export function alieZ(n: number, f: number): number {
  const s = Math.floor(n / 2 + 1) - f;
  const p = Math.min(0.999, Math.max(0.501, (n - s) / n));
  return inverseNormal(p);
}

/** Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9). */
export function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Wrap an honest instance with a behaviour. */
export function adversarial(base: AlgorithmInstance, behaviour: Behaviour, ctx: AdversaryContext): AlgorithmInstance {
  let round = 0;
  const noise = () => rngFor('attack', ctx.seed, ctx.peerIndex, round++);
  switch (behaviour.kind) {
    case 'label-flip':
      return { ...base, trainer: { ...base.trainer, labelMap: Array.from({ length: ctx.classes }, (_, c) => ctx.classes - 1 - c) } };
    case 'free-rider':
      // Never trains; keeps sending the stale initial model.
      return { ...base, trainer: { ...base.trainer, steps: 0 }, extract: (full) => base.extract(ctx.initial.length === full.length ? ctx.initial : full) };
    case 'reverse-ranking':
      if (!base.rank) throw new AdversaryError('reverse-ranking needs an algorithm that exchanges rankings (frl)');
      return { ...base, rank: (full) => base.rank!(full).map(reverseRanking) };
    case 'sign-flip': {
      let before: Float32Array | null = null;
      return {
        ...base,
        afterTrain: (b, a, rows, labels) => { before = b.slice(); return base.afterTrain ? base.afterTrain(b, a, rows, labels) : a; },
        extract(full) {
          const sent = base.extract(full);
          if (!before) return sent;
          const prev = base.extract(before);
          const out = new Float32Array(sent.length);
          for (let i = 0; i < out.length; i++) out[i] = prev[i]! - behaviour.scale * (sent[i]! - prev[i]!);
          return out;
        },
      };
    }
    case 'gaussian-noise':
      return {
        ...base,
        extract(full) {
          const sent = base.extract(full).slice();
          const rng = noise();
          for (let i = 0; i < sent.length; i++) sent[i] = sent[i]! + behaviour.std * rng.normal();
          return sent;
        },
      };
    case 'random-weights':
      return {
        ...base,
        extract(full) {
          const sent = base.extract(full);
          const rng = noise();
          return Float32Array.from(sent, () => (2 * rng.next() - 1) * behaviour.scale);
        },
      };
    case 'alie': {
      const z = behaviour.z ?? alieZ(ctx.peers, ctx.attackers);
      return {
        ...base,
        extract(full) {
          const honest = ctx.honestModels().map((v) => base.extract(v));
          if (honest.length === 0) return base.extract(full);
          const d = honest[0]!.length, out = new Float32Array(d);
          for (let i = 0; i < d; i++) {
            let s = 0, s2 = 0;
            for (const h of honest) { s += h[i]!; s2 += h[i]! * h[i]!; }
            const m = s / honest.length;
            out[i] = m - z * Math.sqrt(Math.max(0, s2 / honest.length - m * m));
          }
          return out;
        },
      };
    }
  }
}
