/**
 * `murmur status|peers|model|history|trust`: inspect a peer and print a table (≤ 100 columns; `--wide` for
 * more), or JSON with `--json` (DESIGN.md "Control API and CLI"). A running daemon answers through its
 * control API; with none running the commands read a snapshot of its store, never creating or changing
 * anything in the data dir (inspect-source.ts). Each command builds its rows once and hands them to
 * render.ts. The bearer token is read by the client and never printed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { MAX_HISTORY_LIMIT } from '../control/server.js';
import { historyColumns, MODEL_FIELDS, peerColumns, statusFields, TENSOR_COLUMNS, trustColumns } from './inspect-columns.js';
import { openInspectSource, type InspectSource } from './inspect-source.js';
import { recordValues, renderRecord, renderRows, reportError, rowValues, toJson } from './render.js';

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
  /** Wait between `status --watch` refreshes; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** `$MURMUR_DATA_DIR` if set and non-empty, else {@link DEFAULT_DATA_DIR}. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env[DATA_DIR_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_DATA_DIR;
}

interface CommonFlags { dataDir: string; json?: boolean; wide?: boolean }
interface HistoryFlags extends CommonFlags { from?: string; limit?: string }
interface StatusFlags extends CommonFlags { watch?: boolean; interval?: string; count?: string }

/** Default refresh period of `murmur status --watch`, seconds. */
export const DEFAULT_WATCH_INTERVAL_S = 2;
/** ANSI: cursor home, clear to the end of the screen (redraw in place without scrolling). */
const REDRAW = '\x1b[H\x1b[J';

/**
 * Add `status` (--watch), `peers`, `model`, `history` (--from, --limit) and `trust` to `program`, each
 * with `--data-dir <dir>`, `--json` and `--wide`. A failure prints through reportError and sets the exit
 * code (3 when there is neither a daemon nor a store at the data dir); actions never throw. Returns `program`.
 */
export function registerInspectCommands(
  program: Command,
  {
    env = process.env,
    stdout = (text) => void process.stdout.write(text),
    stderr = (text) => void process.stderr.write(text),
    setExitCode = (code) => { process.exitCode = code; },
    now = Date.now,
    sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  }: InspectOptions = {},
): Command {
  const dataDirDefault = defaultDataDir(env);

  const define = <F extends CommonFlags>(
    name: string,
    description: string,
    run: (source: InspectSource, flags: F) => Promise<string>,
    extra: (cmd: Command) => Command = (cmd) => cmd,
  ): void => {
    const cmd = program
      .command(name)
      .description(description)
      .option('--data-dir <dir>', `data directory of the peer ($${DATA_DIR_ENV} sets the default)`, dataDirDefault)
      .option('--json', 'print JSON instead of a table')
      .option('--wide', 'show every column, whole peer ids and addresses (wider than 100 columns)');
    extra(cmd).action(async (flags: F) => {
      try {
        stdout(await once(flags, run));
      } catch (err) {
        setExitCode(reportError(err, { json: flags.json === true, stdout, stderr }));
      }
    });
  };

  const once = async <F extends CommonFlags>(flags: F, run: (source: InspectSource, flags: F) => Promise<string>): Promise<string> => {
    const source = await openInspectSource(resolve(flags.dataDir));
    try {
      return await run(source, flags);
    } finally {
      await source.close();
    }
  };
  const width = (flags: CommonFlags): number => (flags.wide === true ? Infinity : 100);

  const status = async (source: InspectSource, flags: CommonFlags): Promise<string> => {
    const s = await source.status();
    if (flags.json === true) return toJson(s);
    return renderRecord(s, statusFields(s, now()), { json: false, now: now(), maxWidth: width(flags) });
  };

  program
    .command('status')
    .description('show the peer: daemon state, API and metrics URLs, addresses, algorithm, round, accuracy, backend')
    .option('--data-dir <dir>', `data directory of the peer ($${DATA_DIR_ENV} sets the default)`, dataDirDefault)
    .option('--json', 'print JSON instead of a table')
    .option('--wide', 'do not wrap long values to 100 columns')
    .option('--watch', 'refresh in place until interrupted')
    .option('--interval <s>', `seconds between refreshes with --watch (default ${DEFAULT_WATCH_INTERVAL_S})`)
    .option('--count <n>', 'with --watch: stop after n refreshes')
    .action(async (flags: StatusFlags) => {
      try {
        if (flags.watch !== true) {
          stdout(await once(flags, status));
          return;
        }
        if (flags.json === true) throw new ConfigError('--watch redraws a table; it cannot be combined with --json (poll `murmur status --json` instead)');
        const intervalMs = flags.interval === undefined ? DEFAULT_WATCH_INTERVAL_S * 1000 : parseCount('--interval', flags.interval, 1, 3600) * 1000;
        const count = flags.count === undefined ? Infinity : parseCount('--count', flags.count, 1, Number.MAX_SAFE_INTEGER);
        for (let i = 0; i < count; i++) {
          if (i > 0) await sleep(intervalMs);
          // A daemon that stops or starts between refreshes is picked up: the source is opened each time.
          const text = await once(flags, status).catch((err: unknown) => `error: ${(err as Error).message}\n`);
          stdout(`${REDRAW}${text}(every ${intervalMs / 1000} s; Ctrl-C to stop)\n`);
        }
      } catch (err) {
        setExitCode(reportError(err, { json: flags.json === true, stdout, stderr }));
      }
    });

  define<CommonFlags>('peers', 'list known peers: link, last seen, traffic, rejections, trust', async (source, flags) => {
    const peers = (await source.peers()).sort((a, b) => compare(a.peer, b.peer));
    if (flags.json === true) return toJson(peers);
    const empty = source.running ? '(no peers yet)' : '(no peers recorded)';
    return renderRows(peers, peerColumns(flags.wide === true, now()), { json: false, now: now(), empty, maxWidth: width(flags) });
  });

  define<CommonFlags>('model', 'show the current model: layout, hash, round, age, per-tensor norms', async (source, flags) => {
    const model = await source.model();
    const json = flags.json === true;
    if (model === null) return json ? toJson(null) : source.running ? 'no model yet: the daemon has not built or loaded its model\n' : 'no model committed yet\n';
    if (json) return toJson({ ...recordValues(model, MODEL_FIELDS), tensors: rowValues(model.tensors, TENSOR_COLUMNS) });
    const options = { json, maxWidth: width(flags) };
    return renderRecord(model, MODEL_FIELDS, options) + renderRows(model.tensors, TENSOR_COLUMNS, { ...options, empty: '(no tensors)' });
  });

  define<HistoryFlags>('history', 'list committed rounds: time, accuracy, loss, received/expected, bytes, duration', async (source, flags) => {
    const from = flags.from === undefined ? undefined : parseCount('--from', flags.from, 0, Number.MAX_SAFE_INTEGER);
    const limit = flags.limit === undefined ? undefined : parseCount('--limit', flags.limit, 1, MAX_HISTORY_LIMIT);
    const entries = await source.history({ ...(from === undefined ? {} : { from }), ...(limit === undefined ? {} : { limit }) });
    // JSON keeps every field the store has; the table picks the columns that matter.
    if (flags.json === true) return toJson(entries);
    return renderRows(entries, historyColumns(flags.wide === true), { json: false, empty: '(no rounds committed yet)', maxWidth: width(flags) });
  }, (cmd) => cmd
    .option('--from <round>', 'first round to show (default 0)')
    .option('--limit <n>', `number of rounds to show, 1..${MAX_HISTORY_LIMIT} (default 100)`));

  define<CommonFlags>('trust', 'list per-peer trust scores, highest first', async (source, flags) => {
    const rows = (await source.trust()).sort((a, b) => b.score - a.score || compare(a.peer, b.peer));
    return renderRows(rows, trustColumns(flags.wide === true), {
      json: flags.json === true, empty: '(no trust scores: the algorithm keeps none, or no peers yet)', maxWidth: width(flags),
    });
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
