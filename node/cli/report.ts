/**
 * `murmur report --data-dir D [--out report.html]`: one peer's own history as an HTML report, drawn by the
 * simulator's plotting code (topology-sim/plots.ts, report.ts): accuracy and loss, bytes sent, frames
 * received against expected (the neighbours heard from), and round duration, per round. The history comes
 * from the running daemon's API, or from a copy of its store when it is stopped (inspect-source.ts); the
 * page needs no script and no network.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { MAX_HISTORY_LIMIT } from '../control/server.js';
import type { HistoryEntry } from '../control/types.js';
import type { SeriesPoint } from '../../topology-sim/plots.js';
import { shortPeerId } from './inspect-columns.js';
import { openInspectSource, type InspectSource, type InspectStatus } from './inspect-source.js';
import { defaultDataDir, DATA_DIR_ENV } from './inspect.js';
import { formatBytes, formatDuration, formatTime, reportError } from './render.js';

/** Default output file, relative to the working directory. */
export const DEFAULT_REPORT_FILE = 'report.html';

/** Every committed round, oldest first, read in pages of the API's largest limit. */
export async function fullHistory(source: InspectSource): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for (let from = 0; ;) {
    const page = await source.history({ from, limit: MAX_HISTORY_LIMIT });
    out.push(...page);
    if (page.length < MAX_HISTORY_LIMIT) return out;
    from = page.at(-1)!.round + 1;
  }
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const durationOf = (h: HistoryEntry): number => {
  const p = h.phaseMs as Record<string, unknown> | undefined;
  return p === undefined || p === null ? Number.NaN : Object.values(p).reduce<number>((a, b) => a + num(b), 0);
};

/** The page for one peer: a summary table, the plots, and the settings the peer ran with. */
export async function renderPeerReport(status: InspectStatus, history: readonly HistoryEntry[], now: number): Promise<string> {
  // Loaded on use: vega is heavy, and the other commands do not need it.
  const { escapeHtml, figureHtml, htmlPage } = await import('../../topology-sim/report.js');
  const { seriesSpec } = await import('../../topology-sim/plots.js');
  const id = status.peerId ?? 'unknown peer';
  const points = (series: string, y: (h: HistoryEntry) => number): SeriesPoint[] => history.map((h) => ({ series, x: h.round, y: y(h) }));
  const figures = [
    await figureHtml('accuracy', 'Test accuracy per round (this peer’s test share)',
      seriesSpec(points('accuracy', (h) => num(h.accuracy)), { xTitle: 'round', yTitle: 'test accuracy', yFormat: '.0%', roundX: true })),
    await figureHtml('loss', 'Test loss per round',
      seriesSpec(points('loss', (h) => num(h.loss)), { xTitle: 'round', yTitle: 'test loss (cross-entropy)', roundX: true })),
    await figureHtml('bytes', 'Bytes sent per round',
      seriesSpec(points('sent', (h) => num(h.bytesOut) / 1024), { xTitle: 'round', yTitle: 'KiB sent', roundX: true })),
    await figureHtml('neighbours', 'Neighbours over time: model frames received and expected per round',
      seriesSpec([...points('expected', (h) => num(h.expected)), ...points('received', (h) => num(h.received))],
        { xTitle: 'round', yTitle: 'frames', roundX: true, series: ['expected', 'received'] })),
    await figureHtml('duration', 'Round duration (train + exchange + aggregate + evaluate)',
      seriesSpec(points('duration', (h) => durationOf(h) / 1000), { xTitle: 'round', yTitle: 'seconds', roundX: true })),
  ];
  const accuracies = history.map((h) => num(h.accuracy)).filter(Number.isFinite);
  const last = history.at(-1);
  const late = history.filter((h) => h.timedOut === true).length;
  const bytes = history.reduce((a, h) => a + (Number.isFinite(num(h.bytesOut)) ? num(h.bytesOut) : 0), 0);
  const durations = history.map(durationOf).filter(Number.isFinite);
  const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(2)}%`);
  const summary: Array<[string, string]> = [
    ['peer', id],
    ['daemon', status.state],
    ['swarm', String(status.swarm ?? '–')],
    ['algorithm', String(status.algorithm ?? '–')],
    ['rounds', history.length === 0 ? 'none committed' : `${history[0]!.round}–${last!.round} (${history.length})`],
    ['last round at', last === undefined ? '–' : formatTime(last.time, now)],
    ['final accuracy', pct(accuracies.at(-1))],
    ['best accuracy', pct(accuracies.length === 0 ? undefined : Math.max(...accuracies))],
    ['rounds that waited out the timeout', `${late} of ${history.length}`],
    ['bytes sent', formatBytes(bytes)],
    ['median round', durations.length === 0 ? '–' : formatDuration(median(durations))],
  ];
  const table = ['<table class="record">', ...summary.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`), '</table>'].join('\n');
  return htmlPage(`murmur peer ${shortPeerId(id)}`, [
    `<p>History of one peer, ${history.length} committed round(s). Accuracy and loss are measured on this peer's own test share.</p>`,
    '<h2>Summary</h2>',
    table,
    '<h2>Plots</h2>',
    ...figures,
    '<h2>Settings</h2>',
    `<pre>${escapeHtml(JSON.stringify(settingsOf(status), null, 2))}</pre>`,
  ]);
}

/** What the peer ran with (only what applies to it: no defaults of other sources). */
function settingsOf(s: InspectStatus): Record<string, unknown> {
  if (s.state === 'running') return { swarm: s.swarm, algorithm: s.algorithm, mode: s.mode, backend: s.backend, kernels: s.kernels?.variant, dataDir: s.dataDir, version: s.version };
  return { swarm: s.swarm, algorithm: s.algorithm, model: s.model, dataDir: s.dataDir };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of {@link registerReportCommand} (as for the inspect commands). */
export interface ReportCommandOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly setExitCode?: (code: number) => void;
  readonly now?: () => number;
}

export function registerReportCommand(program: Command, {
  env = process.env,
  stdout = (text) => void process.stdout.write(text),
  stderr = (text) => void process.stderr.write(text),
  setExitCode = (code) => { process.exitCode = code; },
  now = Date.now,
}: ReportCommandOptions = {}): Command {
  program.command('report')
    .description('write an HTML report of a peer’s history (running or stopped): accuracy, loss, bytes, neighbours per round')
    .option('--data-dir <dir>', `data directory of the peer ($${DATA_DIR_ENV} sets the default)`, defaultDataDir(env))
    .option('--out <file>', 'output HTML file', DEFAULT_REPORT_FILE)
    .option('--json', 'print the result as JSON')
    .action(async (flags: { dataDir: string; out: string; json?: boolean }) => {
      try {
        const source = await openInspectSource(resolve(flags.dataDir));
        let html: string;
        let rounds: number;
        try {
          const [status, history] = await Promise.all([source.status(), fullHistory(source)]);
          html = await renderPeerReport(status, history, now());
          rounds = history.length;
        } finally {
          await source.close();
        }
        const out = resolve(flags.out);
        await writeFile(out, html);
        stdout(flags.json === true ? `${JSON.stringify({ success: true, out, rounds })}\n` : `wrote ${out} (${rounds} rounds)\n`);
      } catch (err) {
        setExitCode(reportError(err, { json: flags.json === true, stdout, stderr }));
      }
    });
  return program;
}
