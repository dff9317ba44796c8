/**
 * Bristle (Verbraeken, de Vos, Pouwelse, arXiv 2110.11006; ALGORITHMS.md §4): all peers share a frozen
 * pre-trained feature extractor; only the output kernel W (features × classes) is trained, sent and merged.
 * After local training a peer shares the trained columns of its own classes only (the Kotlin `cw`); received
 * kernels are screened by the distance-based prioritiser (terciles, α, β) and merged by the performance-based
 * integrator, which scores each neighbour's kernel per class by F1 on ≤ κ local examples per own class.
 * Per-neighbour certainty and weights are kept for `murmur trust`.
 *
 * The own model W_s (ALGORITHMS.md §8 "Bristle's own model"): the distances, the own per-class F1 and the
 * integration all use this round's *locally trained* kernel, all columns (Node.kt's `oldModel − gradient`), not the
 * shared copy; so foreign columns start from the local W_s too. The 'mean' integrator (our baseline) averages the
 * shared copies. A round without local training (no rows) falls back to the shared copy.
 */
import { z } from 'zod';
import { integrate, prioritise, BRISTLE_DEFAULT_ALPHA, BRISTLE_DEFAULT_BETA, BRISTLE_DEFAULT_OVERLAP } from '../../aggregation/bristle.js';
import { mean } from '../../aggregation/mean.js';
import { rngFor } from '../data/rng.js';
import { encodingParam } from './dpsgd.js';
import { subLayout } from './sub-layout.js';
import type { AlgorithmDefinition, TrustScore } from './types.js';

export const bristleParams = z.strictObject({
  alpha: z.number().min(0).max(1).default(BRISTLE_DEFAULT_ALPHA),
  beta: z.number().int().min(1).default(BRISTLE_DEFAULT_BETA),
  /** κ: local validation examples per own class. */
  kappa: z.number().int().min(1).default(10),
  /** φ: assumed class overlap with each neighbour (PSI is off in the reference simulator: 3). */
  overlap: z.number().int().min(1).default(BRISTLE_DEFAULT_OVERLAP),
  subtractColumnMean: z.boolean().default(true),
  /** 'mean': plain averaging of the same output layers (the baseline Bristle is compared with). */
  integrator: z.enum(['bristle', 'mean']).default('bristle'),
  /** The output kernel and bias; everything else is the frozen feature extractor. */
  outputKernel: z.string().default('out/kernel'),
  outputBias: z.string().default('out/bias'),
  encoding: encodingParam,
});
export type BristleParams = z.infer<typeof bristleParams>;

/** The peer's own classes and its κ-per-class validation rows (seeded, fixed for the run). */
function localValidation(trainIndices: Uint32Array, labels: Uint8Array, classes: number, kappa: number): { familiar: number[]; rows: Uint32Array } {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (const r of trainIndices) byClass[labels[r]!]!.push(r);
  const familiar = byClass.flatMap((rows, c) => (rows.length > 0 ? [c] : []));
  const rng = rngFor('bristle-validation', trainIndices.length, familiar.join(','));
  const rows = familiar.flatMap((c) => rng.sample(byClass[c]!, kappa));
  return { familiar, rows: Uint32Array.from(rows) };
}

export const bristle: AlgorithmDefinition<BristleParams> = {
  name: 'bristle',
  description: 'Bristle: frozen shared feature extractor; output kernels screened by distance, merged by per-class F1',
  modes: ['sync'],
  params: bristleParams,
  create(p, env) {
    const head = subLayout(env.layout, [p.outputKernel]);
    const kernel = head.parts[0]!;
    const bias = env.layout.tensors.find((t) => t.name === p.outputBias);
    const [features, classes] = kernel.shape as [number, number];
    let validation: { familiar: number[]; rows: Uint32Array } | null = null;
    // This round's locally trained kernel (all columns), consumed by the aggregation that follows.
    let trained: Float32Array | null = null;
    const trust = new Map<string, TrustScore>();
    return {
      trainer: { trainable: [p.outputKernel, ...(bias ? [bias.name] : [])] },
      gossipSteps: 1, targets: 'neighbours', encoding: p.encoding,
      exchangeLayout: head.layout, extract: head.extract, insert: head.insert,
      // Node.kt zeroes the output layer before the first round.
      initialize(initial) {
        const v = initial.slice();
        v.fill(0, kernel.offset, kernel.offset + kernel.size);
        if (bias) v.fill(0, bias.offset, bias.offset + bias.size);
        return v;
      },
      // Only the own classes' columns come from local training; foreign ones come only from integration.
      afterTrain(before, after, trainIndices, labels) {
        validation ??= localValidation(trainIndices, labels, classes, p.kappa);
        trained = head.extract(after);
        const out = before.slice();
        // The bias is local but per class too: a foreign class's bias would only ever be pushed down by local
        // training (its examples never occur here), silencing the column integration brings in; keep it.
        if (bias) for (const c of validation.familiar) out[bias.offset + c] = after[bias.offset + c]!;
        for (let f = 0; f < features; f++) {
          for (const c of validation.familiar) out[kernel.offset + f * classes + c] = after[kernel.offset + f * classes + c]!;
        }
        return out;
      },
      async aggregate(input) {
        validation ??= localValidation(input.trainIndices, input.labels, classes, p.kappa);
        const own = trained ?? input.own;
        trained = null;
        const received = input.received.flatMap((c) => (c.values ? [{ id: c.from, vector: c.values }] : []));
        if (received.length === 0) return null;
        if (p.integrator === 'mean') return { vector: mean([input.own, ...received.map((r) => r.vector)]), age: input.ownAge };
        const chosen = new Set(prioritise(own, received, { alpha: p.alpha, beta: p.beta }, input.rng.uniform));
        const picked = received.filter((r) => chosen.has(r.id));
        const f1Of = async (W: Float32Array) => (await input.evaluate(head.insert(input.full, W), validation!.rows)).perClass.map((m) => m.f1);
        const ownF1 = await f1Of(own);
        const peers = [];
        for (const r of picked) peers.push({ id: r.id, W: r.vector, f1: await f1Of(r.vector), overlap: Math.min(p.overlap, validation.familiar.length) });
        const res = integrate({ features, classes, own, ownF1, familiar: validation.familiar, peers, options: { subtractColumnMean: p.subtractColumnMean } });
        peers.forEach((peer, j) => {
          const w = res.classWeights[j]!;
          let sum = 0;
          for (const c of validation!.familiar) sum += w[c]!;
          trust.set(peer.id, { peer: peer.id, score: res.certainty[j]!, details: { meanClassWeight: sum / validation!.familiar.length, foreignWeight: res.foreignWeight[j]! } });
        });
        return { vector: res.W, age: input.ownAge };
      },
      trust: () => [...trust.values()].sort((a, b) => (a.peer < b.peer ? -1 : 1)),
    };
  },
};
