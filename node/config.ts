/**
 * The daemon's configuration: one schema with defaults (STYLE.md "Configuration"). Precedence is
 * defaults < file (JSON or YAML) < environment < flags; validation reports every problem with its key path,
 * unknown keys are errors, and the result is frozen. This is the only module that reads process.env.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const multiaddr = z.string().regex(/^\/(ip4|ip6|dns|dns4|dns6|memory)\/\S+$/, 'must be a multiaddr such as /ip4/127.0.0.1/tcp/4001');
const seed = z.union([z.number().int(), z.string().min(1)]);

export const partitionSchema = z.discriminatedUnion('scheme', [
  z.strictObject({ scheme: z.literal('iid') }),
  z.strictObject({ scheme: z.literal('dirichlet'), alpha: z.number().positive(), minSize: z.number().int().min(0).optional() }),
  z.strictObject({ scheme: z.literal('shards'), classesPerPeer: z.number().int().min(1) }),
  z.strictObject({ scheme: z.literal('classes'), classes: z.array(z.array(z.number().int().min(0))) }),
  z.strictObject({ scheme: z.literal('window'), classesPerPeer: z.number().int().min(1) }),
  z.strictObject({ scheme: z.literal('quantity'), alpha: z.number().positive(), minSize: z.number().int().min(0).optional() }),
]);

export const dataSchema = z.strictObject({
  source: z.enum(['digits', 'csv', 'synthetic']).default('digits'),
  /** CSV file for source csv. */
  path: z.string().optional(),
  classCount: z.number().int().min(2).max(256).optional(),
  /** Synthetic task size (source synthetic). */
  size: z.number().int().min(10).default(2000),
  featureCount: z.number().int().min(1).default(20),
  /** The examples are split over `peers` shares and this device keeps share `peerIndex`. */
  peers: z.number().int().min(1).default(1),
  peerIndex: z.number().int().min(0).default(0),
  partition: partitionSchema.default({ scheme: 'iid' }),
  testSize: z.number().int().min(0).optional(),
  testFraction: z.number().min(0).max(1).optional(),
  /** Only this many test examples are evaluated each round (0 = all). */
  evalSize: z.number().int().min(0).default(0),
  seed: seed.default(1),
}).refine((d) => d.peerIndex < d.peers, { message: 'peerIndex must be < peers', path: ['peerIndex'] })
  .refine((d) => d.source !== 'csv' || !!d.path, { message: 'source csv needs data.path', path: ['path'] });

export const modelSchema = z.strictObject({
  arch: z.enum(['logreg', 'mlp', 'cnn', 'layers', 'supermask-mlp', 'supermask-cnn']).default('mlp'),
  /** Supermask models: fraction of edges kept (FRL's k). */
  sparsity: z.number().gt(0).max(1).optional(),
  hidden: z.array(z.number().int().min(1)).default([32]),
  filters: z.tuple([z.number().int().min(1), z.number().int().min(1)]).optional(),
  dense: z.array(z.number().int().min(1)).optional(),
  /** A TF.js model.json (arch layers). */
  path: z.string().optional(),
  /** Seed of the shared initial weights: every peer of a swarm must use the same. */
  seed: seed.default(1),
}).refine((m) => m.arch !== 'layers' || !!m.path, { message: 'arch layers needs model.path', path: ['path'] });

export const trainSchema = z.strictObject({
  lr: z.number().positive().default(0.05),
  lrSchedule: z.enum(['constant', 'cosine']).default('constant'),
  momentum: z.number().min(0).lt(1).default(0),
  weightDecay: z.number().min(0).default(0),
  batchSize: z.number().int().min(1).default(32),
  epochs: z.number().int().min(0).default(1),
  steps: z.number().int().min(0).optional(),
  /** 'js': plain-JS kernel for logreg/MLP, several times faster on small models (node/learner/dense-js.ts). */
  kernel: z.enum(['tfjs', 'js']).default('tfjs'),
});

export const roundsSchema = z.strictObject({
  mode: z.enum(['sync', 'async']).default('sync'),
  /** Last round; null = run until stopped. */
  max: z.number().int().min(1).nullable().default(null),
  timeoutMs: z.number().int().min(1).default(10_000),
  sendTimeoutMs: z.number().int().min(1).default(30_000),
  minRoundMs: z.number().int().min(0).default(1_000),
  periodMs: z.number().int().min(1).default(1_000),
  evalEvery: z.number().int().min(0).default(1),
});

export const daemonSchema = z.strictObject({
  dataDir: z.string().min(1).default('./.murmur'),
  swarm: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (≤ 64)').default('murmur'),
  seed: seed.default(1),
  network: z.strictObject({
    listen: z.array(multiaddr).default(['/ip4/0.0.0.0/tcp/0']),
    bootstrap: z.array(multiaddr).default([]),
    mdns: z.boolean().default(false),
    /** 'connected' = every connected swarm peer, or an explicit list of peer ids. */
    neighbours: z.union([z.literal('connected'), z.array(z.string().min(1))]).default('connected'),
    announceEveryMs: z.number().int().min(100).default(5_000),
    /** A member not heard for this many announcement periods counts as gone (MoDeST leaves it out of its samples). */
    memberSilencePeriods: z.number().int().min(2).max(1000).default(5),
    /** Stop dialing announced peers beyond this many connections. */
    maxPeers: z.number().int().min(1).max(1000).default(16),
    inboxMaxBytes: z.number().int().min(1024).default(512 * 1024 * 1024),
    /** Public addresses to announce (e.g. /ip4/<public ip>/tcp/4001), for a machine reachable from the internet. */
    announce: z.array(multiaddr).default([]),
    /** Circuit relay v2 (protocols/nat.ts; README "Peers behind NAT"). Unset limits take libp2p's defaults. */
    relay: z.strictObject({
      /** Serve as a relay for other peers (`--relay`). */
      serve: z.boolean().default(false),
      /** Relay slots to hold on relays we know; default 1 with a bootstrap peer, else 0 (and 0 while serving). */
      reservations: z.number().int().min(0).max(8).optional(),
      /** Let model frames use relayed connections (both peers must allow it; the relay's limits still apply). */
      allowModels: z.boolean().default(false),
      /** When serving: slots at once (default 32). */
      maxReservations: z.number().int().min(1).max(10_000).optional(),
      /** When serving: slot lifetime before renewal, ms (default 2 h). */
      reservationTtlMs: z.number().int().min(1_000).optional(),
      /** When serving: bytes one relayed connection may carry (default 128 KiB). */
      dataLimitBytes: z.number().int().min(1024).optional(),
      /** When serving: how long one relayed connection may stay open, ms (default 2 min). */
      durationLimitMs: z.number().int().min(1_000).optional(),
    }).prefault({}),
    /** The swarm's Kademlia DHT: finds members beyond the bootstrap peers, also those behind relays. */
    dht: z.boolean().default(true),
    /** Map our port on the home router with UPnP. */
    upnp: z.boolean().default(false),
  }).prefault({}),
  control: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(0),
    allowNonLoopback: z.boolean().default(false),
  }).prefault({}),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  algorithm: z.looseObject({ name: z.string().default('dpsgd') }).prefault({}),
  train: trainSchema.prefault({}),
  rounds: roundsSchema.prefault({}),
  checkpoints: z.number().int().min(1).max(1000).default(5),
  /**
   * Training workers. One peer trains one model at a time (train, then exchange, then evaluate), so one
   * worker is all a device needs; each more costs a TF.js instance (~60–100 MB) for nothing.
   */
  workers: z.number().int().min(1).max(64).default(1),
  backend: z.enum(['tensorflow', 'wasm', 'cpu']).optional(),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    pretty: z.boolean().optional(),
  }).prefault({}),
});

export type DaemonConfig = z.infer<typeof daemonSchema>;

/**
 * Every problem of a schema parse, each as "key.path: message". With the `schema`, an unknown key gets a
 * "did you mean" (STYLE.md §4.7): the closest key at that level, or the full path of a key of that name
 * elsewhere (`timeoutMs` → `rounds.timeoutMs`).
 */
export function formatIssues(error: z.ZodError, prefix = '', schema?: z.ZodType): string[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)';
    if (i.code === 'unrecognized_keys') {
      const hints = schema === undefined ? [] : i.keys.map((k) => suggestKey(schema, i.path.map(String), k)).filter((h): h is string => h !== null);
      return `${path}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}${hints.length > 0 ? ` (did you mean ${hints.join(', ')}?)` : ''}`;
    }
    return `${path}: ${i.message}`;
  });
}

/** The object schema under wrappers (default, prefault, optional) and along `path`, or null. */
function objectAt(schema: z.ZodType, path: readonly string[]): Record<string, z.ZodType> | null {
  let s: unknown = schema;
  for (let depth = 0; ; depth++) {
    const def = (s as { _zod?: { def?: { innerType?: unknown; shape?: Record<string, z.ZodType> } } })._zod?.def;
    if (def?.innerType !== undefined && depth < 16) { s = def.innerType; continue; }
    const shape = def?.shape;
    if (shape === undefined) return null;
    if (path.length === 0) return shape;
    const next = shape[path[0]!];
    if (next === undefined) return null;
    return objectAt(next, path.slice(1));
  }
}

/** Every key path of an object schema, e.g. ['dataDir', 'rounds.timeoutMs', …]. */
function keyPaths(schema: z.ZodType, prefix: readonly string[] = []): string[][] {
  const shape = objectAt(schema, []);
  if (shape === null || prefix.length > 4) return [];
  return Object.entries(shape).flatMap(([k, v]) => [[...prefix, k], ...keyPaths(v, [...prefix, k])]);
}

/** "`timeoutMs`"-style suggestion for an unknown `key` at `path`, or null when nothing is close. */
function suggestKey(schema: z.ZodType, path: readonly string[], key: string): string | null {
  const siblings = Object.keys(objectAt(schema, path) ?? {});
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const s of siblings) {
    const d = editDistance(key.toLowerCase(), s.toLowerCase());
    if (d < bestDistance) { best = s; bestDistance = d; }
  }
  if (best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3))) return [...path, best].join('.');
  const elsewhere = keyPaths(schema).find((p) => p.at(-1)!.toLowerCase() === key.toLowerCase());
  return elsewhere === undefined ? null : elsewhere.join('.');
}

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Parse `raw` with `schema`; throws one ConfigError listing every problem (and the source, if given). */
export function validateWith<T>(schema: z.ZodType<T>, raw: unknown, source = 'configuration'): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = formatIssues(r.error, '', schema);
  throw new ConfigError(`invalid ${source}:\n  ${problems.join('\n  ')}`, problems);
}

/** Read a JSON or YAML file (by extension; YAML also accepts JSON). Errors name the file. */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

const DISCRIMINATORS = ['kind', 'scheme', 'name', 'arch'] as const;

/**
 * Deep merge of plain objects (arrays and scalars replace). An object whose discriminator (kind, scheme, name,
 * arch) differs from the base's replaces it whole, so another algorithm or attack does not inherit fields.
 */
export function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  if (DISCRIMINATORS.some((k) => k in over && k in base && over[k] !== base[k])) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeDeep(out[k], v);
  return out;
}
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Set `a.b.c` in a nested object, creating levels; the value is parsed as JSON when it looks like JSON. */
export function setPath(target: Record<string, unknown>, path: string, raw: string): void {
  const keys = path.split('.');
  if (keys.some((k) => !/^[A-Za-z_][\w-]*$/.test(k))) throw new ConfigError(`--set ${path}: not a key path like rounds.max`);
  let value: unknown = raw;
  try { value = JSON.parse(raw); } catch { /* a bare string */ }
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isPlain(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** The environment variables the daemon honours, as a config fragment. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.MURMUR_DATA_DIR) out.dataDir = env.MURMUR_DATA_DIR;
  if (env.MURMUR_BACKEND) out.backend = env.MURMUR_BACKEND;
  if (env.MURMUR_LOG_LEVEL) out.log = { level: env.MURMUR_LOG_LEVEL };
  return out;
}

/** The backend override from the environment, for commands without a config (murmur train, benchmarks). */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.MURMUR_BACKEND || undefined;
}

/** Resolve the daemon config: defaults < file < env < flags; frozen. */
export async function loadDaemonConfig(opts: { file?: string; flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Promise<Readonly<DaemonConfig>> {
  const fromFile = opts.file ? await readConfigFile(opts.file) : {};
  const merged = mergeDeep(mergeDeep(fromFile ?? {}, configFromEnv(opts.env)), opts.flags ?? {});
  const cfg = validateWith(daemonSchema, merged, opts.file ? `configuration (${opts.file})` : 'configuration');
  return deepFreeze(cfg);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** The model spec of a config section for a dataset's input shape and class count. */
export function resolveModelSpec(m: z.infer<typeof modelSchema>, ds: { inputShape: readonly number[]; featureCount: number; classCount: number }): import('./learner/create-model.js').AnyModelSpec {
  if (m.arch === 'layers') return { arch: 'layers', path: m.path! };
  const common = { classes: ds.classCount, seed: m.seed };
  if (m.arch === 'cnn') {
    if (ds.inputShape.length !== 3) throw new ConfigError(`model.arch cnn needs image data [height, width, channels]; this dataset's examples have shape [${ds.inputShape.join(', ')}]`);
    return { arch: 'cnn', inputShape: [...ds.inputShape], ...common, ...(m.filters ? { filters: m.filters } : {}), ...(m.dense ? { dense: m.dense } : {}) };
  }
  if (m.arch === 'mlp') return { arch: 'mlp', inputShape: [ds.featureCount], hidden: m.hidden, ...common };
  const sparsity = m.sparsity !== undefined ? { sparsity: m.sparsity } : {};
  if (m.arch === 'supermask-mlp') return { arch: 'supermask-mlp', inputShape: [ds.featureCount], hidden: m.hidden, ...common, ...sparsity };
  if (m.arch === 'supermask-cnn') {
    if (ds.inputShape.length !== 3) throw new ConfigError(`model.arch supermask-cnn needs image data; this dataset's examples have shape [${ds.inputShape.join(', ')}]`);
    return { arch: 'supermask-cnn', inputShape: [...ds.inputShape], ...common, ...sparsity, ...(m.filters ? { filters: m.filters } : {}), ...(m.dense ? { dense: m.dense } : {}) };
  }
  return { arch: 'logreg', inputShape: [ds.featureCount], ...common };
}
