/**
 * Baselines users compare against: plain and sample-weighted mean, and the Byzantine-robust rules
 * (coordinate-wise median, trimmed mean, Krum, Multi-Krum, centered clipping) applied to the own model plus the
 * neighbours' models of each synchronous gossip step. Math in aggregation/mean.ts and aggregation/robust.ts.
 */
import { z } from 'zod';
import { mean, weightedMean } from '../../aggregation/mean.js';
import { krumMinInputs, multiKrum } from '../../aggregation/krum.js';
import { centeredClipping, coordinateMedian, trimmedMean } from '../../aggregation/robust.js';
import { encodingParam } from './dpsgd.js';
import type { AggregateInput, AlgorithmDefinition, AlgorithmInstance } from './types.js';
import { fullExchange } from './types.js';
import type { Layout } from '../../aggregation/layout.js';

type Rule = (own: Float32Array, others: Float32Array[], input: AggregateInput) => Float32Array | null;

function instance(layout: Layout, encoding: AlgorithmInstance['encoding'], rule: Rule): AlgorithmInstance {
  return {
    trainer: {}, gossipSteps: 1, targets: 'neighbours', encoding, ...fullExchange(layout),
    aggregate(input) {
      const others = input.received.flatMap((c) => (c.values ? [c.values] : []));
      if (others.length === 0) return null;
      const v = rule(input.own, others, input);
      return v ? { vector: v, age: input.ownAge } : null;
    },
  };
}

const encodingOnly = z.strictObject({ encoding: encodingParam });

export const meanRule: AlgorithmDefinition<z.infer<typeof encodingOnly> & { weighting?: 'equal' | 'age' }> = {
  name: 'mean', description: 'plain average of the own and the neighbours’ models (weighting age = by model age / samples)',
  modes: ['sync'],
  params: z.strictObject({ encoding: encodingParam, weighting: z.enum(['equal', 'age']).default('equal') }),
  create: (p, env) => instance(env.layout, p.encoding, (own, others, input) => {
    if (p.weighting === 'equal') return mean([own, ...others]);
    const ages = [input.ownAge, ...input.received.filter((c) => c.values).map((c) => c.age)];
    return ages.some((a) => a > 0) ? weightedMean([own, ...others], ages) : mean([own, ...others]);
  }),
};

export const medianRule: AlgorithmDefinition<z.infer<typeof encodingOnly>> = {
  name: 'median', description: 'coordinate-wise median of the own and the neighbours’ models', modes: ['sync'], params: encodingOnly,
  create: (p, env) => instance(env.layout, p.encoding, (own, others) => coordinateMedian([own, ...others])),
};

const fParam = z.number().int().min(0).default(1);

export const trimmedMeanRule: AlgorithmDefinition<{ f: number; encoding: AlgorithmInstance['encoding'] }> = {
  name: 'trimmed-mean', description: 'coordinate-wise mean after dropping the f largest and f smallest values', modes: ['sync'],
  params: z.strictObject({ f: fParam, encoding: encodingParam }),
  // With too few inputs for f, trim as many as the inputs allow (n > 2f'), so a lonely peer still mixes.
  create: (p, env) => instance(env.layout, p.encoding, (own, others) => {
    const all = [own, ...others];
    return trimmedMean(all, Math.min(p.f, Math.floor((all.length - 1) / 2)));
  }),
};

export const krumRule: AlgorithmDefinition<{ f: number; m: number; encoding: AlgorithmInstance['encoding'] }> = {
  name: 'krum', description: 'Krum (m = 1) or Multi-Krum (m > 1) over the own and the neighbours’ models', modes: ['sync'],
  params: z.strictObject({ f: fParam, m: z.number().int().min(1).default(1), encoding: encodingParam }),
  create: (p, env) => instance(env.layout, p.encoding, (own, others) => {
    const all = [own, ...others];
    // Krum needs n ≥ f + 3; below that the rule cannot choose, so keep the own model (Flower: "no update").
    if (all.length < krumMinInputs(p.f)) return null;
    return multiKrum(all, p.f, Math.min(p.m, all.length - p.f));
  }),
};

export const centeredClippingRule: AlgorithmDefinition<{ tau: number; iterations: number; encoding: AlgorithmInstance['encoding'] }> = {
  name: 'centered-clipping', description: 'centered clipping around the own model (Karimireddy et al. 2021)', modes: ['sync'],
  params: z.strictObject({ tau: z.number().positive().default(1), iterations: z.number().int().min(1).default(1), encoding: encodingParam }),
  create: (p, env) => instance(env.layout, p.encoding, (own, others) => centeredClipping(own, [own, ...others], p.tau, p.iterations)),
};
