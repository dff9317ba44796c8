/**
 * Per-round simulation metrics (DESIGN.md "topology-sim"; STYLE.md §3.5 "reports observe; they don't reach
 * in"): the `RoundRecord` a simulator emits once per round and run, the statistics that fill it, a writer
 * that appends records to results.jsonl, a reader for that file, and the per-run summary that both
 * summary.csv and the HTML report's table are rendered from.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { MetricsError } from './errors.js';

export { MetricsError, type MetricsErrorCode } from './errors.js';

/** Distribution of one quantity over peers; quantiles as in `accuracyStats`. */
export interface PeerStats {
  mean: number;
  min: number;
  p10: number;
  median: number;
  p90: number;
  max: number;
}

/** Wall-clock time one round spent per phase, summed over peers' critical path as the simulator measures it (ms). */
export interface PhaseMs {
  train: number;
  exchange: number;
  aggregate: number;
  total: number;
}

/**
 * Everything recorded about one round of one run. Byte and rejection counts come cumulative (since the
 * run started) and per round. Non-finite numbers (a diverged loss) are written to JSON as null.
 */
export interface RoundRecord {
  /** Run label, e.g. the algorithm + topology; one report compares runs. */
  run: string;
  /** Round number as the engine counts it (the report and summary use it as is). */
  round: number;
  /** Time since the run started on the run's clock (virtual in virtual-net, wall in a libp2p swarm), ms. */
  time: number;
  /** Test accuracy in [0, 1] over the honest peers evaluated this round. */
  honest: PeerStats;
  /** Test loss over the same peers. */
  loss: PeerStats;
  /** Mean over peers of ‖w_i − w̄‖² (squared L2 distance to the average model; see `consensusDistance`). */
  consensusDistance: number;
  /** √(consensusDistance / d): root-mean-square deviation per parameter. */
  consensusRms: number;
  bytesSent: number;
  bytesReceived: number;
  bytesSentRound: number;
  bytesReceivedRound: number;
  /** Frames refused by receivers (codec/inbox reject reasons), cumulative and this round. */
  framesRejected: number;
  framesRejectedRound: number;
  wallMs: PhaseMs;
  peersOnline: number;
  /** Every honest peer's final test accuracy; only in a run's last record. */
  perPeerAccuracy?: number[];
}


/** NaN sorts above +∞, so a few diverged peers leave min and the low quantiles meaningful. */
const ascending = (a: number, b: number): number => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);

/**
 * Linear-interpolation quantile of ascending-sorted values (Hyndman & Fan type 7, numpy's default):
 * h = (N − 1)·q, value = s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋ + 1] − s[⌊h⌋]).
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q, lo = Math.floor(h);
  const a = sorted[lo]!, b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  return h === lo ? a : a + (h - lo) * (b - a);
}

/**
 * Mean, min, p10, median, p90 and max of per-peer values; quantiles by linear interpolation
 * (`quantileSorted`). The mean is NaN if any value is.
 * @throws MetricsError ERR_METRICS_INPUT for an empty list
 */
export function accuracyStats(values: readonly number[]): PeerStats {
  if (values.length === 0) throw new MetricsError('ERR_METRICS_INPUT', 'accuracyStats: no values (no honest peer was evaluated this round)');
  const s = [...values].sort(ascending);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    mean: sum / s.length, min: s[0]!, p10: quantileSorted(s, 0.1), median: quantileSorted(s, 0.5), p90: quantileSorted(s, 0.9), max: s[s.length - 1]!,
  };
}

/** Result of `consensusDistance`. */
export interface ConsensusDistance {
  /** (1/n) Σ_i ‖w_i − w̄‖², w̄ = (1/n) Σ_i w_i. */
  meanSquared: number;
  /** √(meanSquared / d): RMS deviation per parameter, comparable across model sizes. */
  rms: number;
}

/**
 * How far peers' models are from their average: two passes over the vectors, Float64 accumulation, one
 * Float64 mean buffer of length d, O(n·d). No vectors (or d = 0) gives 0.
 * @throws MetricsError ERR_METRICS_INPUT when lengths differ
 */
export function consensusDistance(vectors: readonly Float32Array[]): ConsensusDistance {
  const n = vectors.length;
  if (n === 0) return { meanSquared: 0, rms: 0 };
  const d = vectors[0]!.length;
  vectors.forEach((v, i) => {
    if (v.length !== d) throw new MetricsError('ERR_METRICS_INPUT', `consensusDistance: vector ${i} has ${v.length} parameters, vector 0 has ${d}`);
  });
  if (d === 0) return { meanSquared: 0, rms: 0 };
  const mean = new Float64Array(d);
  for (const v of vectors) for (let k = 0; k < d; k++) mean[k]! += v[k]!;
  for (let k = 0; k < d; k++) mean[k]! /= n;
  let total = 0;
  for (const v of vectors) {
    for (let k = 0; k < d; k++) { const e = v[k]! - mean[k]!; total += e * e; }
  }
  const meanSquared = total / n;
  return { meanSquared, rms: Math.sqrt(meanSquared / d) };
}

/** Appends RoundRecords to a JSON-lines file and keeps them in memory for the report. */
export interface MetricsWriter {
  /** The file written to. */
  readonly path: string;
  /** Every record appended so far, in order (copies: later changes to the caller's objects do not show). */
  readonly records: readonly RoundRecord[];
  /** Queue one record as one JSON line. @throws MetricsError ERR_METRICS_WRITER after close() or a write error */
  append(record: RoundRecord): void;
  /** Flush and close the file; idempotent. @throws MetricsError ERR_METRICS_WRITER if a write failed */
  close(): Promise<void>;
}

/** Options of `openMetricsWriter`. */
export interface MetricsWriterOptions {
  /** Keep the file's existing lines instead of truncating it (default false). */
  append?: boolean;
}

/**
 * Open (create, or truncate unless `append`) a results.jsonl file, creating its directory. The stream is
 * open when the promise resolves, so a bad path fails here rather than at the first append.
 * @throws MetricsError ERR_METRICS_WRITER when the directory or file cannot be created
 */
export async function openMetricsWriter(path: string, options: MetricsWriterOptions = {}): Promise<MetricsWriter> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const stream = createWriteStream(path, { flags: options.append === true ? 'a' : 'w' });
    await new Promise<void>((resolveOpen, reject) => {
      stream.once('open', () => { stream.off('error', reject); resolveOpen(); });
      stream.once('error', reject);
    });
    return new JsonlMetricsWriter(path, stream);
  } catch (err) {
    throw new MetricsError('ERR_METRICS_WRITER', `cannot open ${path} for writing: ${(err as Error).message}`, { cause: err });
  }
}

class JsonlMetricsWriter implements MetricsWriter {
  private readonly kept: RoundRecord[] = [];
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(readonly path: string, private readonly stream: WriteStream) {
    // Records are small and rounds are slow, so the stream's own buffer is the only backpressure needed;
    // an error is remembered and surfaces at the next append or at close().
    stream.on('error', (err) => { this.failure ??= err; });
  }

  get records(): readonly RoundRecord[] {
    return this.kept;
  }

  append(record: RoundRecord): void {
    if (this.closing !== undefined) throw new MetricsError('ERR_METRICS_WRITER', `append after close (${this.path})`);
    if (this.failure !== undefined) throw new MetricsError('ERR_METRICS_WRITER', `writing ${this.path} failed: ${this.failure.message}`, { cause: this.failure });
    const copy = structuredClone(record);
    this.kept.push(copy);
    this.stream.write(`${JSON.stringify(copy)}\n`);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stream.end();
      try {
        await finished(this.stream);
      } catch (err) {
        this.failure ??= err as Error;
      }
      if (this.failure !== undefined) throw new MetricsError('ERR_METRICS_WRITER', `writing ${this.path} failed: ${this.failure.message}`, { cause: this.failure });
    })();
    return this.closing;
  }
}

/**
 * Read a results.jsonl file back (blank lines skipped), e.g. to rebuild a report without rerunning.
 * Only the shape needed by the report is checked (run string, finite round).
 * @throws MetricsError ERR_RESULTS_FILE naming file:line
 */
export async function readResults(path: string): Promise<RoundRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MetricsError('ERR_RESULTS_FILE', `${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  const records: RoundRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new MetricsError('ERR_RESULTS_FILE', `${path}:${i + 1}: not JSON: ${(err as Error).message}`, { cause: err });
    }
    const r = value as Partial<RoundRecord> | null;
    if (typeof r !== 'object' || r === null || typeof r.run !== 'string' || !Number.isFinite(r.round)) {
      throw new MetricsError('ERR_RESULTS_FILE', `${path}:${i + 1}: not a round record (needs a string "run" and a numeric "round")`);
    }
    records.push(r as RoundRecord);
  });
  return records;
}

/** Default accuracy thresholds of the summary's "rounds to reach" columns. */
export const DEFAULT_THRESHOLDS: readonly number[] = [0.8, 0.85, 0.9];
/** Bytes per MB in every report figure (decimal megabytes). */
export const BYTES_PER_MB = 1e6;

/** One run's row of summary.csv and of the report's comparison table. */
export interface RunSummary {
  run: string;
  /** Number of records of the run. */
  rounds: number;
  /** `round` of the last record (highest round), null for a run without records. */
  finalRound: number | null;
  finalMean: number | null;
  finalMin: number | null;
  finalMedian: number | null;
  bestMean: number | null;
  /** Per threshold: the first `round` whose honest mean accuracy is ≥ the threshold, null if never. */
  roundsTo: (number | null)[];
  /** Cumulative bytes sent at the last record, in MB (BYTES_PER_MB). */
  totalMbSent: number | null;
  /** Σ wallMs.total over the run's records, in seconds. */
  wallS: number;
}

/** Options of `summarizeRuns` and `summaryCsv`. */
export interface SummaryOptions {
  /** Runs in row order (a run without records gets an empty row, records of unlisted runs are left out); default: every run, in order of first appearance. */
  runs?: readonly string[];
  /** Accuracy thresholds in [0, 1]; default DEFAULT_THRESHOLDS. */
  thresholds?: readonly number[];
}

/** Group records by run, each run sorted by round. With `runs`: those runs in that order (records of other runs are dropped). */
export function recordsByRun(records: readonly RoundRecord[], runs?: readonly string[]): Map<string, RoundRecord[]> {
  const byRun = new Map<string, RoundRecord[]>();
  for (const run of runs ?? []) byRun.set(run, []);
  for (const r of records) {
    if (runs !== undefined && !byRun.has(r.run)) continue;
    let list = byRun.get(r.run);
    if (list === undefined) byRun.set(r.run, (list = []));
    list.push(r);
  }
  for (const list of byRun.values()) list.sort((a, b) => a.round - b.round);
  return byRun;
}

/** One summary row per run (see `RunSummary`); the single source of summary.csv and the HTML table. */
export function summarizeRuns(records: readonly RoundRecord[], options: SummaryOptions = {}): RunSummary[] {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  return [...recordsByRun(records, options.runs)].map(([run, list]) => {
    const last = list[list.length - 1];
    let best: number | null = null;
    for (const r of list) if (Number.isFinite(r.honest.mean) && (best === null || r.honest.mean > best)) best = r.honest.mean;
    return {
      run, rounds: list.length, finalRound: last?.round ?? null,
      finalMean: last?.honest.mean ?? null, finalMin: last?.honest.min ?? null, finalMedian: last?.honest.median ?? null, bestMean: best,
      roundsTo: thresholds.map((t) => list.find((r) => r.honest.mean >= t)?.round ?? null),
      totalMbSent: last === undefined ? null : last.bytesSent / BYTES_PER_MB,
      wallS: list.reduce((s, r) => s + r.wallMs.total, 0) / 1000,
    };
  });
}

/** Column header of a threshold, e.g. 0.85 → "rounds_to_85". */
export const thresholdLabel = (t: number): string => `rounds_to_${Number((t * 100).toFixed(2))}`;

/** Summary columns: name and the cell text of a row (blank for null). */
export function summaryColumns(thresholds: readonly number[] = DEFAULT_THRESHOLDS): { name: string; cell: (s: RunSummary) => string }[] {
  const fixed = (v: number | null, digits: number): string => (v === null || !Number.isFinite(v) ? '' : v.toFixed(digits));
  return [
    { name: 'run', cell: (s) => s.run },
    { name: 'rounds', cell: (s) => String(s.rounds) },
    { name: 'final_mean_acc', cell: (s) => fixed(s.finalMean, 4) },
    { name: 'final_min_acc', cell: (s) => fixed(s.finalMin, 4) },
    { name: 'final_median_acc', cell: (s) => fixed(s.finalMedian, 4) },
    { name: 'best_mean_acc', cell: (s) => fixed(s.bestMean, 4) },
    ...thresholds.map((t, k) => ({ name: thresholdLabel(t), cell: (s: RunSummary) => (s.roundsTo[k] === null ? '' : String(s.roundsTo[k])) })),
    { name: 'total_mb_sent', cell: (s) => fixed(s.totalMbSent, 3) },
    { name: 'wall_s', cell: (s) => fixed(s.wallS, 3) },
  ];
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
const csvField = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * summary.csv text: a header and one row per run (see `summaryColumns` and `summarizeRuns`): final
 * mean/min/median accuracy, best mean, first round reaching each threshold (blank if never), total MB
 * sent and wall seconds. Lines end with \n.
 */
export function summaryCsv(records: readonly RoundRecord[], options: SummaryOptions = {}): string {
  const columns = summaryColumns(options.thresholds);
  const rows = summarizeRuns(records, options).map((s) => columns.map((c) => csvField(c.cell(s))).join(','));
  return `${[columns.map((c) => c.name).join(','), ...rows].join('\n')}\n`;
}
