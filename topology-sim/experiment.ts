/**
 * Experiment files (`murmur sim <file>`): one schema with defaults, JSON or YAML, flags override fields
 * (`--set rounds=5`). An experiment may sweep: `runs` lists named overrides deep-merged over the base, and each
 * run is simulated in turn and compared in one report.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { dataSchema, mergeDeep, modelSchema, partitionSchema, readConfigFile, trainSchema, validateWith } from '../node/config.js';
import { ConfigError } from '../node/errors.js';

const seed = z.union([z.number().int(), z.string().min(1)]);

export const adversarySchema = z.strictObject({
  /** Share of peers that attack (the last ⌊fraction·N⌋ after a seeded shuffle), or explicit peer indices. */
  fraction: z.number().min(0).lt(1).optional(),
  peers: z.array(z.number().int().min(0)).optional(),
  behaviour: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('label-flip') }),
    z.strictObject({ kind: z.literal('sign-flip'), scale: z.number().positive().default(1) }),
    z.strictObject({ kind: z.literal('gaussian-noise'), std: z.number().positive().default(1) }),
    z.strictObject({ kind: z.literal('alie'), z: z.number().positive().optional() }),
    z.strictObject({ kind: z.literal('random-weights'), scale: z.number().positive().default(1) }),
    z.strictObject({ kind: z.literal('reverse-ranking') }),
    z.strictObject({ kind: z.literal('free-rider') }),
  ]),
});
export type AdversarySpec = z.infer<typeof adversarySchema>;

export const churnSchema = z.strictObject({
  /** Crash (stop without notice) a seeded fraction of the honest peers at a round. */
  crash: z.strictObject({ fraction: z.number().gt(0).max(1), round: z.number().int().min(1) }).optional(),
  /** Each round each peer is online with this probability (offline peers neither train nor answer). */
  online: z.number().gt(0).max(1).optional(),
  join: z.array(z.strictObject({ peer: z.number().int().min(0), round: z.number().int().min(0) })).default([]),
  leave: z.array(z.strictObject({ peer: z.number().int().min(0), round: z.number().int().min(1) })).default([]),
  /** Probability that a model message is dropped. */
  drop: z.number().min(0).max(1).default(0),
  /** Extra delay per message, ms (virtual network). */
  delayMs: z.number().min(0).default(0),
});
export type ChurnSpec = z.infer<typeof churnSchema>;

export const topologySpecSchema = z.looseObject({ kind: z.string(), resample: z.boolean().default(false) });

export const experimentSchema = z.strictObject({
  name: z.string().min(1).default('experiment'),
  description: z.string().default(''),
  seed: seed.default(1),
  peers: z.number().int().min(2).max(100_000).default(100),
  rounds: z.number().int().min(1).default(20),
  transport: z.enum(['memory', 'tcp', 'virtual']).default('memory'),
  mode: z.enum(['sync', 'async']).default('sync'),
  processes: z.number().int().min(1).max(64).default(1),
  topology: topologySpecSchema.default({ kind: 'regular', degree: 4, resample: false }),
  data: dataSchema.safeExtend({
    partition: partitionSchema.default({ scheme: 'iid' }),
    /** Training rows used (the first trainSize of the shuffled training split); default all. */
    trainSize: z.number().int().min(1).optional(),
  }).prefault({}),
  model: modelSchema.safeExtend({
    /** Every peer draws its own initial weights (seed + peer index): the uncorrelated-models setting. */
    independentInit: z.boolean().default(false),
  }).prefault({}),
  /** Bristle: pre-train the shared feature extractor on rows no peer holds. */
  pretrain: z.strictObject({ rows: z.number().int().min(10).default(1000), epochs: z.number().int().min(1).default(3), lr: z.number().positive().default(0.1) }).optional(),
  train: trainSchema.prefault({}),
  algorithm: z.looseObject({ name: z.string().default('dpsgd') }).prefault({}),
  eval: z.strictObject({
    every: z.number().int().min(1).default(1),
    /** Share of honest peers evaluated each round (seeded sample; the last round evaluates all). */
    fraction: z.number().gt(0).max(1).default(1),
    /** Test rows used (the first of the test split). */
    testSize: z.number().int().min(1).optional(),
  }).prefault({}),
  network: z.strictObject({
    timeoutMs: z.number().int().min(1).default(60_000),
    sendTimeoutMs: z.number().int().min(1).default(60_000),
    periodMs: z.number().int().min(1).default(1000),
    latencyMs: z.number().min(0).default(1),
    bandwidthBytesPerMs: z.number().positive().optional(),
    dialConcurrency: z.number().int().min(1).max(256).default(8),
    /** Multi-process swarms: peer i listens on hosts[i mod K]:portBase + i (K = number of shares); keep it below the
     * OS's ephemeral range (Linux: 32768–60999) so outgoing connections never hold these ports. */
    portBase: z.number().int().min(1024).max(65000).default(23000),
    hosts: z.array(z.string().regex(/^[0-9.]+$/, 'an IPv4 address')).default([]),
  }).prefault({}),
  adversaries: adversarySchema.optional(),
  churn: churnSchema.optional(),
  workers: z.number().int().min(1).max(64).optional(),
  output: z.string().optional(),
  runs: z.array(z.looseObject({ name: z.string().min(1) })).default([]),
});
export type Experiment = z.infer<typeof experimentSchema>;

export interface ResolvedRun { name: string; experiment: Experiment }

/** Load, apply overrides, validate; relative paths (CSV, edge lists, layers models) resolve against the file. */
export async function loadExperiment(file: string, overrides: Record<string, unknown> = {}): Promise<{ base: Experiment; runs: ResolvedRun[]; raw: unknown }> {
  const raw = mergeDeep(await readConfigFile(file), overrides);
  const base = validateWith(experimentSchema, raw, `experiment ${file}`);
  const dir = dirname(resolve(file));
  const fix = (e: Experiment): Experiment => {
    if (e.data.path) e.data.path = resolve(dir, e.data.path);
    if (e.model.path) e.model.path = resolve(dir, e.model.path);
    const t = e.topology as { kind: string; path?: string };
    if (t.kind === 'edges' && t.path) t.path = resolve(dir, t.path);
    return e;
  };
  const rawRuns = (raw as { runs?: Array<Record<string, unknown>> }).runs ?? [];
  const { runs: _runs, ...rawBase } = raw as Record<string, unknown>;
  const runs = rawRuns.length === 0
    ? [{ name: base.name, experiment: fix(base) }]
    : rawRuns.map((r, i) => {
      const { name, ...over } = r as { name: string };
      const e = validateWith(experimentSchema, mergeDeep(rawBase, over), `experiment ${file}, runs[${i}] (${name})`);
      return { name, experiment: fix(e) };
    });
  const names = new Set<string>();
  for (const r of runs) {
    if (names.has(r.name)) throw new ConfigError(`experiment ${file}: two runs are named "${r.name}"`);
    names.add(r.name);
  }
  return { base: fix(base), runs, raw };
}
