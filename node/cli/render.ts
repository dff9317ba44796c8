/**
 * One helper for every read command (STYLE.md §4.6, "rows once, two renderers"): a command builds its
 * rows and column list once, then gets either a table (cli-table3, human units) or JSON (raw numbers,
 * epoch ms, bytes). Errors go through {@link reportError}: `{ success: false, code, message }` on stdout
 * in JSON mode, one line on stderr otherwise, never a stack.
 */
import Table from 'cli-table3';
import { MurmurError } from '../errors.js';

/**
 * How a table cell shows a raw value (JSON always gets the raw value): 'bytes' → "1.5 KiB", 'time'
 * (epoch ms) → ISO UTC plus "(… ago)", 'duration' (ms) → "5m 03s", 'ratio' (0..1) → "87.50%",
 * 'number' → 4 significant digits for fractions, 'bool' → yes/no, 'list' → comma-separated, 'map'
 * → "k=v, …" sorted, 'auto' picks by the value's type. null/undefined show as "-".
 */
export type CellFormat = 'text' | 'number' | 'bytes' | 'time' | 'duration' | 'ratio' | 'bool' | 'list' | 'map' | 'auto';

/** One column (or, for {@link renderRecord}, one field) of a rendering. */
export interface Column<T> {
  /** JSON key. */
  readonly key: string;
  /** Table header; defaults to `key`. */
  readonly header?: string;
  /** The raw value, as it appears in JSON. */
  readonly value: (row: T) => unknown;
  /** A named format, or a function for a one-off (it never sees null/undefined). Default 'auto'. */
  readonly format?: CellFormat | ((value: unknown) => string);
}

/** Options shared by the renderers. */
export interface RenderOptions {
  readonly json: boolean;
  /** Reference time for "ago" in 'time' cells, epoch ms; omitted → absolute times only. */
  readonly now?: number;
  /** Table-mode text when there are no rows (JSON mode prints `[]`); default "(none)". */
  readonly empty?: string;
  /**
   * Widest table, in terminal columns; default {@link DEFAULT_TABLE_WIDTH}. Wider cells wrap (at spaces,
   * or inside a long word such as a multiaddr). Infinity (`--wide`) never wraps.
   */
  readonly maxWidth?: number;
}

/** Tables fit an 100-column terminal unless `--wide` asks for more (issue 13). */
export const DEFAULT_TABLE_WIDTH = 100;
/** A column is never squeezed below this many characters of content. */
const MIN_CELL_WIDTH = 6;
/** Words up to this long (a short peer id, a number with its unit) are kept whole while any column can wrap at spaces. */
const MAX_UNBROKEN_WORD = 20;

/** Process exit codes of the CLI. */
export const EXIT_OK = 0;
/** Any failure without a more specific code. */
export const EXIT_FAILURE = 1;
/** Invalid flags, config or request (ERR_CONFIG, ERR_BAD_REQUEST). */
export const EXIT_USAGE = 2;
/** No daemon at the data dir (ERR_NO_DAEMON), so scripts can tell "not running" from "broken". */
export const EXIT_NO_DAEMON = 3;

/** Raw values of `rows` keyed by column: what JSON mode prints. */
export function rowValues<T>(rows: readonly T[], columns: readonly Column<T>[]): Record<string, unknown>[] {
  return rows.map((row) => recordValues(row, columns));
}

/** Raw values of one record keyed by field; undefined fields are left out, as JSON.stringify would. */
export function recordValues<T>(record: T, fields: readonly Column<T>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = f.value(record);
    if (v !== undefined) out[f.key] = v;
  }
  return out;
}

/** Render rows as a table (one row per item) or as a JSON array. Output ends with a newline. */
export function renderRows<T>(rows: readonly T[], columns: readonly Column<T>[], options: RenderOptions): string {
  if (options.json) return toJson(rowValues(rows, columns));
  if (rows.length === 0) return `${options.empty ?? '(none)'}\n`;
  const head = columns.map((c) => c.header ?? c.key);
  const cells = rows.map((row) => columns.map((c) => formatCell(c.value(row), c.format ?? 'auto', options.now)));
  return drawTable([head, ...cells], true, options.maxWidth ?? DEFAULT_TABLE_WIDTH);
}

/** Render one record as a two-column field/value table, or as a JSON object. Output ends with a newline. */
export function renderRecord<T>(record: T, fields: readonly Column<T>[], options: RenderOptions): string {
  if (options.json) return toJson(recordValues(record, fields));
  const cells = fields.map((f) => [f.header ?? f.key, formatCell(f.value(record), f.format ?? 'auto', options.now)]);
  return drawTable(cells, false, options.maxWidth ?? DEFAULT_TABLE_WIDTH);
}

/**
 * Draw `grid` (first row is the header when `header`) no wider than `maxWidth`: the widest columns give
 * up characters first, and their cells are wrapped by {@link wrapText} before cli-table3 sees them (its
 * own wrapping cuts a long word with "…", which would hide the end of an address).
 */
function drawTable(grid: string[][], header: boolean, maxWidth: number): string {
  const columns = grid[0]?.length ?? 0;
  const natural = Array.from({ length: columns }, (_, i) => Math.max(1, ...grid.map((r) => widthOf(r[i] ?? ''))));
  const content = [...natural];
  // Borders: one per column plus one; padding: one space each side of every cell.
  const total = (): number => content.reduce((a, b) => a + b + 3, 1);
  // First squeeze columns down to their longest word (they then wrap at spaces), and only then cut words.
  const longestWord = Array.from({ length: columns }, (_, i) =>
    Math.min(MAX_UNBROKEN_WORD, Math.max(MIN_CELL_WIDTH, ...grid.flatMap((r) => (r[i] ?? '').split(/[\s\n]+/).map((w) => [...w].length)))));
  for (const floor of [(i: number) => longestWord[i]!, () => MIN_CELL_WIDTH]) {
    while (total() > maxWidth) {
      let widest = -1;
      for (let i = 0; i < columns; i++) if (content[i]! > floor(i) && (widest < 0 || content[i]! > content[widest]!)) widest = i;
      if (widest < 0) break;
      content[widest]!--;
    }
  }
  const wrapped = grid.map((row) => row.map((cell, i) => (content[i]! < natural[i]! ? wrapText(cell, content[i]!) : cell)));
  // A record reads as one block: no rule between its fields (multi-line values stay readable by indentation).
  const chars = header ? {} : { chars: { 'mid': '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } };
  const options = { style: PLAIN, colWidths: content.map((w) => w + 2), ...chars };
  const table = header ? new Table({ ...options, head: wrapped[0]! }) : new Table(options);
  for (const row of header ? wrapped.slice(1) : wrapped) table.push(row);
  return `${table.toString()}\n`;
}

/** Characters a string takes in a terminal (code points; our cells hold no wide characters). */
function widthOf(text: string): number {
  let w = 0;
  for (const line of text.split('\n')) w = Math.max(w, [...line].length);
  return w;
}

/** Wrap each line of `text` to `width`: at spaces where possible, inside a word longer than the width. */
export function wrapText(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    let current = '';
    for (const word of line.split(' ')) {
      let rest = [...word];
      const sep = current === '' ? 0 : 1;
      if ([...current].length + sep + rest.length <= width) {
        current = current === '' ? word : `${current} ${word}`;
        continue;
      }
      if (current !== '') out.push(current);
      current = '';
      while (rest.length > width) {
        out.push(rest.slice(0, width).join(''));
        rest = rest.slice(width);
      }
      current = rest.join('');
    }
    out.push(current);
  }
  return out.join('\n');
}

/** Pretty JSON (2-space indent) with a trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value ?? null, null, 2)}\n`;
}

/** Where {@link reportError} writes. */
export interface ErrorSink {
  readonly json: boolean;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * Print `err` for the user and return the exit code. JSON mode: `{"success":false,"code","message"}` on
 * stdout; otherwise `error: <message>` on one line of stderr. Typed errors keep their code; anything
 * else is reported as ERR_UNEXPECTED. Never prints a stack.
 */
export function reportError(err: unknown, sink: ErrorSink): number {
  const code = err instanceof MurmurError ? err.code : 'ERR_UNEXPECTED';
  const problems = (err as { problems?: unknown }).problems;
  let message = err instanceof Error ? err.message : String(err);
  if (Array.isArray(problems) && problems.length > 0) message = `${message}: ${problems.join('; ')}`;
  message = message.replace(/\s*\n\s*/g, ' ');
  if (sink.json) sink.stdout(`${JSON.stringify({ success: false, code, message })}\n`);
  else sink.stderr(`error: ${message}\n`);
  return exitCodeOf(code);
}

/** Exit code for an error code (see EXIT_*). */
export function exitCodeOf(code: string): number {
  if (code === 'ERR_NO_DAEMON' || code === 'ERR_NO_STORE') return EXIT_NO_DAEMON;
  if (code === 'ERR_CONFIG' || code === 'ERR_BAD_REQUEST') return EXIT_USAGE;
  return EXIT_FAILURE;
}

// No ANSI colours: output is often piped, and tests compare text.
const PLAIN = { head: [] as string[], border: [] as string[] };

/** Table text for a raw value (see {@link CellFormat}). */
export function formatCell(value: unknown, format: CellFormat | ((value: unknown) => string), now?: number): string {
  if (value === null || value === undefined) return '-';
  if (typeof format === 'function') return format(value);
  switch (format) {
    case 'bytes': return typeof value === 'number' ? formatBytes(value) : String(value);
    case 'time': return typeof value === 'number' ? formatTime(value, now) : String(value);
    case 'duration': return typeof value === 'number' ? formatDuration(value) : String(value);
    case 'ratio': return typeof value === 'number' ? `${(value * 100).toFixed(2)}%` : String(value);
    case 'number': return typeof value === 'number' ? formatNumber(value) : String(value);
    case 'bool': return value === true ? 'yes' : value === false ? 'no' : String(value);
    case 'list': return Array.isArray(value) ? (value.length === 0 ? '-' : value.map((v) => formatCell(v, 'auto')).join(', ')) : String(value);
    case 'map': return formatMap(value);
    case 'text': return String(value);
    case 'auto':
      if (typeof value === 'number') return formatNumber(value);
      if (typeof value === 'boolean') return formatCell(value, 'bool');
      if (Array.isArray(value)) return formatCell(value, 'list');
      if (typeof value === 'object') return formatMap(value);
      return String(value);
  }
}

/** Bytes in binary units: 512 → "512 B", 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Milliseconds as a short duration: "850 ms", "12.3 s", "5m 03s", "2h 05m", "3d 04h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Epoch ms as ISO UTC to the second, plus "(… ago)" when `now` is given; 0 means "never". */
export function formatTime(epochMs: number, now?: number): string {
  if (epochMs === 0) return 'never';
  if (!Number.isFinite(epochMs)) return String(epochMs);
  const iso = new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return now === undefined ? iso : `${iso} (${formatDuration(Math.max(0, now - epochMs))} ago)`;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}

function formatMap(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${formatCell(v, 'auto')}`).join(', ');
}
