/**
 * `murmur status|peers|model|history|trust`: read a running daemon through its control API and print a
 * table, or JSON with `--json` (DESIGN.md "Control API and CLI"). Each command builds its rows once and
 * hands them to render.ts. The bearer token is read by the client and never printed: outputs contain only
 * the daemon's JSON answers and error messages, which never include it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { connectControl, type ControlClient } from '../control/client.js';
import { MAX_HISTORY_LIMIT } from '../control/server.js';
import type { HistoryEntry, ModelInfo, PeerInfo, ReachabilityInfo, StatusInfo, TensorInfo, TrustInfo } from '../control/types.js';
import { recordValues, renderRecord, renderRows, reportError, rowValues, toJson, type Column } from './render.js';

/** Data dir used when neither --data-dir nor $MURMUR_DATA_DIR is given (relative to the working dir). */
export const DEFAULT_DATA_DIR = './.murmur';
/** Environment variable naming the default data dir. */
export const DATA_DIR_ENV = 'MURMUR_DATA_DIR';

/** Environment and output of the inspect commands; every member has a process-backed default. */
export interface InspectOptions {
  /**
   * Environment read for the default data dir. Defaults to `process.env`: this parameter default is the
   * one place the inspect commands read the environment (config.ts owns the daemon's env).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Result text; default process.stdout. */
  readonly stdout?: (text: string) => void;
  /** Diagnostics; default process.stderr. */
  readonly stderr?: (text: string) => void;
  /** Receives the exit code of a failed command; default sets `process.exitCode`. */
  readonly setExitCode?: (code: number) => void;
  /** Clock for "… ago" cells, epoch ms; default Date.now. */
  readonly now?: () => number;
}

/** `$MURMUR_DATA_DIR` if set and non-empty, else {@link DEFAULT_DATA_DIR}. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env[DATA_DIR_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_DATA_DIR;
}

interface CommonFlags { dataDir: string; json?: boolean }
interface HistoryFlags extends CommonFlags { from?: string; limit?: string }

/**
 * Add `status`, `peers`, `model`, `history` (--from, --limit) and `trust` to `program`, each with
 * `--data-dir <dir>` and `--json`. A failure prints through reportError and sets the exit code (3 when no
 * daemon runs at the data dir); actions never throw. Returns `program`.
 */
export function registerInspectCommands(
  program: Command,
  {
    env = process.env,
    stdout = (text) => void process.stdout.write(text),
    stderr = (text) => void process.stderr.write(text),
    setExitCode = (code) => { process.exitCode = code; },
    now = Date.now,
  }: InspectOptions = {},
): Command {
  const dataDirDefault = defaultDataDir(env);

  const define = <F extends CommonFlags>(
    name: string,
    description: string,
    run: (client: ControlClient, flags: F) => Promise<string>,
    extra: (cmd: Command) => Command = (cmd) => cmd,
  ): void => {
    const cmd = program
      .command(name)
      .description(description)
      .option('--data-dir <dir>', `data directory of the daemon ($${DATA_DIR_ENV} sets the default)`, dataDirDefault)
      .option('--json', 'print JSON instead of a table');
    extra(cmd).action(async (flags: F) => {
      try {
        const client = await connectControl(resolve(flags.dataDir));
        stdout(await run(client, flags));
      } catch (err) {
        setExitCode(reportError(err, { json: flags.json === true, stdout, stderr }));
      }
    });
  };

  define<CommonFlags>('status', 'show the daemon: peer id, addresses, algorithm, round, phase, accuracy', async (client, flags) =>
    renderRecord(await client.get<StatusInfo>('/status'), STATUS_FIELDS, { json: flags.json === true, now: now() }));

  define<CommonFlags>('peers', 'list known peers: connection, last seen, frames, bytes, rejections', async (client, flags) => {
    const peers = (await client.get<PeerInfo[]>('/peers')).sort((a, b) => compare(a.peer, b.peer));
    return renderRows(peers, PEER_COLUMNS, { json: flags.json === true, now: now(), empty: '(no peers yet)' });
  });

  define<CommonFlags>('model', 'show the current model: layout, hash, round, age, per-tensor norms', async (client, flags) => {
    const model = await client.get<ModelInfo | null>('/model');
    const json = flags.json === true;
    if (model === null) return json ? toJson(null) : 'no model yet: the daemon has not built or loaded its model\n';
    if (json) return toJson({ ...recordValues(model, MODEL_FIELDS), tensors: rowValues(model.tensors, TENSOR_COLUMNS) });
    return renderRecord(model, MODEL_FIELDS, { json }) + renderRows(model.tensors, TENSOR_COLUMNS, { json, empty: '(no tensors)' });
  });

  define<HistoryFlags>('history', 'list committed rounds: time, model hash, accuracy, loss', async (client, flags) => {
    const query = new URLSearchParams();
    if (flags.from !== undefined) query.set('from', String(parseCount('--from', flags.from, 0, Number.MAX_SAFE_INTEGER)));
    if (flags.limit !== undefined) query.set('limit', String(parseCount('--limit', flags.limit, 1, MAX_HISTORY_LIMIT)));
    const entries = await client.get<HistoryEntry[]>(query.size > 0 ? `/history?${query.toString()}` : '/history');
    return renderRows(entries, historyColumns(entries), { json: flags.json === true, now: now(), empty: '(no rounds committed yet)' });
  }, (cmd) => cmd
    .option('--from <round>', 'first round to show (default 0)')
    .option('--limit <n>', `number of rounds to show, 1..${MAX_HISTORY_LIMIT} (default 100)`));

  define<CommonFlags>('trust', 'list per-peer trust scores, highest first', async (client, flags) => {
    const rows = (await client.get<TrustInfo[]>('/trust')).sort((a, b) => b.score - a.score || compare(a.peer, b.peer));
    return renderRows(rows, TRUST_COLUMNS, { json: flags.json === true, empty: '(no trust scores: the algorithm keeps none, or no peers yet)' });
  });

  return program;
}

/** Parse a non-negative integer flag; ConfigError naming the flag, the value and the range. */
function parseCount(flag: string, text: string, min: number, max: number): number {
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const STATUS_FIELDS: readonly Column<StatusInfo>[] = [
  { key: 'peerId', header: 'peer id', value: (s) => s.peerId },
  { key: 'addresses', header: 'addresses', value: (s) => s.addresses, format: 'list' },
  { key: 'swarm', header: 'swarm', value: (s) => s.swarm },
  { key: 'algorithm', header: 'algorithm', value: (s) => s.algorithm },
  { key: 'backend', header: 'backend', value: (s) => s.backend },
  { key: 'round', header: 'round', value: (s) => s.round, format: 'number' },
  { key: 'phase', header: 'phase', value: (s) => s.phase },
  { key: 'accuracy', header: 'accuracy', value: (s) => s.accuracy, format: 'ratio' },
  { key: 'loss', header: 'loss', value: (s) => s.loss, format: 'number' },
  { key: 'modelAge', header: 'model age', value: (s) => s.modelAge, format: 'number' },
  { key: 'neighbours', header: 'neighbours', value: (s) => s.neighbours, format: 'list' },
  { key: 'connections', header: 'connections', value: (s) => s.connections, format: 'number' },
  { key: 'uptimeMs', header: 'uptime', value: (s) => s.uptimeMs, format: 'duration' },
  { key: 'dataDir', header: 'data dir', value: (s) => s.dataDir },
  { key: 'version', header: 'version', value: (s) => s.version },
  { key: 'extra', header: 'extra', value: (s) => s.extra, format: 'map' },
  { key: 'reachability', header: 'reachability', value: (s) => s.reachability, format: (r) => reachabilityText(r as ReachabilityInfo) },
];

/** The status table's reachability cell: public or not (and why), relay slots, then one line per peer. */
function reachabilityText(r: ReachabilityInfo): string {
  const lines = [r.publiclyReachable ? `public: yes (${r.publicAddresses.join(', ')})` : `public: no (${r.reason ?? 'no public address'})`];
  lines.push(`relay slots: ${r.relayReservations.length === 0 ? 'none' : r.relayReservations.map((x) => x.addresses.join(', ')).join('; ')}`);
  if (r.relayService !== null) lines.push(`serving as relay: ${r.relayService.reservations}/${r.relayService.maxReservations} slots held`);
  if (r.dht !== null) lines.push(`dht: ${r.dht}`);
  for (const c of r.connections) lines.push(`${c.peer}: ${c.kind}${c.models ? '' : ' (no models)'}${c.holePunch !== undefined ? ` — ${c.holePunch}` : ''}`);
  return lines.join('\n');
}

const PEER_COLUMNS: readonly Column<PeerInfo>[] = [
  { key: 'peer', value: (p) => p.peer },
  { key: 'connected', value: (p) => p.connected, format: 'bool' },
  { key: 'lastSeen', header: 'last seen', value: (p) => p.lastSeen, format: 'time' },
  { key: 'framesIn', header: 'frames in', value: (p) => p.framesIn, format: 'number' },
  { key: 'framesOut', header: 'frames out', value: (p) => p.framesOut, format: 'number' },
  { key: 'bytesIn', header: 'bytes in', value: (p) => p.bytesIn, format: 'bytes' },
  { key: 'bytesOut', header: 'bytes out', value: (p) => p.bytesOut, format: 'bytes' },
  { key: 'rejections', value: (p) => p.rejections, format: 'map' },
  { key: 'sendFailures', header: 'send failures', value: (p) => p.sendFailures, format: 'number' },
  { key: 'trust', value: (p) => p.trust, format: 'number' },
  // direct | relayed | hole-punched (protocols/reachability.ts)
  { key: 'connection', value: (p) => p.connection },
];

const MODEL_FIELDS: readonly Column<ModelInfo>[] = [
  { key: 'layoutHash', header: 'layout hash', value: (m) => m.layoutHash },
  { key: 'hash', header: 'model hash', value: (m) => m.hash },
  { key: 'round', value: (m) => m.round, format: 'number' },
  { key: 'age', value: (m) => m.age, format: 'number' },
  { key: 'parameters', value: (m) => m.parameters, format: 'number' },
];

const TENSOR_COLUMNS: readonly Column<TensorInfo>[] = [
  { key: 'name', value: (t) => t.name },
  { key: 'role', value: (t) => t.role },
  // JSON keeps the shape array; the table shows 784x10.
  { key: 'shape', value: (t) => t.shape, format: (shape) => (shape as number[]).join('x') },
  { key: 'l2', header: 'L2', value: (t) => t.l2, format: 'number' },
  { key: 'mean', value: (t) => t.mean, format: 'number' },
  { key: 'std', value: (t) => t.std, format: 'number' },
];

const TRUST_COLUMNS: readonly Column<TrustInfo>[] = [
  { key: 'peer', value: (t) => t.peer },
  { key: 'score', value: (t) => t.score, format: 'number' },
  { key: 'details', value: (t) => t.details, format: 'map' },
];

const HISTORY_FIXED: readonly Column<HistoryEntry>[] = [
  { key: 'round', value: (h) => h.round, format: 'number' },
  { key: 'time', value: (h) => h.time, format: 'time' },
  { key: 'modelHash', header: 'model hash', value: (h) => h.modelHash },
  { key: 'accuracy', value: (h) => h.accuracy, format: 'ratio' },
  { key: 'loss', value: (h) => h.loss, format: 'number' },
];

/** Fixed history columns, then every free field present in any entry, sorted by name. */
function historyColumns(entries: readonly HistoryEntry[]): Column<HistoryEntry>[] {
  const fixed = new Set(HISTORY_FIXED.map((c) => c.key));
  const free = new Set<string>();
  for (const e of entries) for (const k of Object.keys(e)) if (!fixed.has(k)) free.add(k);
  return [...HISTORY_FIXED, ...[...free].sort(compare).map((key): Column<HistoryEntry> => ({ key, value: (h) => h[key], format: 'auto' }))];
}
