/**
 * The simulation report (DESIGN.md "topology-sim"; STYLE.md §3.5: the report reads only RoundRecords).
 * `writeReport` writes summary.csv, config.json and report.html into a folder. The HTML is one
 * self-contained file that needs no script and no network: SVG plots rendered in Node by vega
 * (notes/report-plots.md), a comparison table built from the same rows as summary.csv, and the resolved
 * configuration. A Content-Security-Policy forbids scripts and remote loads, and every text that comes
 * from records or config is HTML-escaped. The output has no timestamp: the same inputs give the same bytes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { summarizeRuns, summaryCsv, DEFAULT_THRESHOLDS, type RoundRecord, type RunSummary } from './metrics.js';
import { renderSvg, reportPlots } from './plots.js';

export { renderSvg } from './plots.js';

/** What `writeReport` puts on the page. */
export interface ReportInput {
  title: string;
  records: readonly RoundRecord[];
  /** Resolved experiment configuration (seed, package versions, backend…), written as config.json and shown. */
  config: object;
  /** Runs to compare, in table and legend order; records of other runs are ignored. */
  runs: readonly string[];
  /** Accuracy thresholds of the "rounds to" columns; default DEFAULT_THRESHOLDS. */
  thresholds?: readonly number[];
}

/** Paths of the files `writeReport` wrote. */
export interface ReportFiles {
  summaryCsv: string;
  configJson: string;
  reportHtml: string;
}

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON text of the config; bigints (not JSON) become strings rather than throwing. */
function configText(config: object): string {
  return JSON.stringify(config, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2);
}

// The page is as wide as a laptop screen allows; a table wider than its box scrolls inside the box (never
// past the page edge), and plots shrink with the page rather than overflow it.
const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1.5em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .3em .55em; text-align: right; } th { background: #f4f4f4; vertical-align: bottom; }
td:first-child, th:first-child { text-align: left; } td { white-space: nowrap; } td:first-child { white-space: normal; }
table.record th { text-align: left; font-weight: 600; }
figure { margin: 1.4em 0; } figcaption { font-weight: 600; margin-bottom: .4em; } figure svg { max-width: 100%; height: auto; }
.empty { color: #777; font-style: italic; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
`;

const pct = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? '' : `${(v * 100).toFixed(digits)}%`);
const fixed = (v: number | null, digits: number): string => (v === null || !Number.isFinite(v) ? '' : v.toFixed(digits));

/**
 * The comparison table's columns on the page: accuracies as percentages (as the CLI and the plots show
 * them) and short headers that wrap; summary.csv keeps its machine-readable columns (metrics.ts).
 */
export function htmlSummaryColumns(thresholds: readonly number[]): { name: string; cell: (s: RunSummary) => string }[] {
  return [
    { name: 'run', cell: (s) => s.run },
    { name: 'rounds', cell: (s) => String(s.rounds) },
    { name: 'final mean accuracy', cell: (s) => pct(s.finalMean, 2) },
    { name: 'final min', cell: (s) => pct(s.finalMin) },
    { name: 'final median', cell: (s) => pct(s.finalMedian) },
    { name: 'best mean', cell: (s) => pct(s.bestMean) },
    ...thresholds.map((t, k) => ({ name: `rounds to ${Number((t * 100).toFixed(2))}%`, cell: (s: RunSummary) => (s.roundsTo[k] === null ? '–' : String(s.roundsTo[k])) })),
    { name: 'MB sent (all peers)', cell: (s) => fixed(s.totalMbSent, 1) },
    { name: 'wall time (s)', cell: (s) => fixed(s.wallS, 1) },
  ];
}

/**
 * The settings shown on the page: the resolved configuration without what cannot apply to the runs
 * (config.json keeps everything). The experiment schema shares the daemon's data and model sections, so a
 * run on the digits would otherwise list the synthetic task's size and the daemon's share keys.
 */
export function applicableConfig(config: object): unknown {
  const copy = JSON.parse(configText(config)) as Record<string, unknown>;
  const runs = Array.isArray(copy.resolved) ? copy.resolved as Record<string, unknown>[] : [copy];
  for (const run of runs) pruneRun(run);
  return copy;
}

function pruneRun(run: Record<string, unknown>): void {
  const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : null);
  const drop = (o: Record<string, unknown> | null, ...keys: string[]): void => { if (o !== null) for (const k of keys) delete o[k]; };
  const data = obj(run.data);
  if (data !== null) {
    drop(data, 'peers', 'peerIndex', 'evalSize'); // the daemon's share of the data; a swarm splits over its `peers`
    if (data.source !== 'synthetic') drop(data, 'size', 'featureCount');
    if (data.source !== 'csv') drop(data, 'path');
    if (data.source === 'digits') drop(data, 'classCount');
  }
  const model = obj(run.model);
  if (model !== null) {
    const arch = String(model.arch);
    if (arch !== 'layers') drop(model, 'path');
    if (!arch.startsWith('supermask')) drop(model, 'sparsity');
    if (!arch.endsWith('cnn')) drop(model, 'filters', 'dense');
    if (!arch.endsWith('mlp')) drop(model, 'hidden');
  }
  const network = obj(run.network);
  if (network !== null) {
    if (run.processes === 1 && (!Array.isArray(network.hosts) || network.hosts.length === 0)) drop(network, 'portBase', 'hosts');
    if (run.transport !== 'virtual') drop(network, 'bandwidthBytesPerMs');
    if (run.mode !== 'async') drop(network, 'periodMs');
  }
  if (Array.isArray(run.runs) && run.runs.length === 0) delete run.runs;
}

/**
 * Build the report page. Exported for tests and for callers that serve the page instead of writing it.
 * Plots whose records hold nothing to draw become a one-line note.
 */
export async function renderReportHtml(input: ReportInput): Promise<string> {
  const { title, records, runs } = input;
  const thresholds = input.thresholds ?? DEFAULT_THRESHOLDS;
  const columns = htmlSummaryColumns(thresholds);
  const rows = summarizeRuns(records, { runs, thresholds });
  const table = [
    '<div class="table-wrap"><table>',
    `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c.name)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((s) => `<tr>${columns.map((c) => `<td>${escapeHtml(c.cell(s))}</td>`).join('')}</tr>`),
    '</tbody></table></div>',
  ].join('\n');
  const figures: string[] = [];
  for (const plot of reportPlots(records, runs)) figures.push(await figureHtml(plot.id, plot.caption, plot.spec));
  const count = records.filter((r) => runs.includes(r.run)).length;
  return htmlPage(title, [
    `<p>${runs.length} run(s), ${count} round records. Accuracy is test accuracy over honest peers; MB = 10⁶ bytes; `
      + '"rounds to X%" is the first round whose honest mean accuracy reached X% (–: never). summary.csv holds the same '
      + 'figures as fractions.</p>',
    '<h2>Comparison</h2>',
    table,
    '<h2>Plots</h2>',
    ...figures,
    '<h2>Configuration</h2>',
    '<p>The settings that apply to these runs; config.json holds the whole resolved configuration.</p>',
    `<pre>${escapeHtml(configText(applicableConfig(input.config) as object))}</pre>`,
  ]);
}

/**
 * The report page around `body` (HTML fragments, already escaped): no script, no remote load (the
 * Content-Security-Policy forbids both), the report's style. Shared by the simulation report and
 * `murmur report`.
 */
export function htmlPage(title: string, body: readonly string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

/** A `<figure>` holding a rendered plot, or a note when there is nothing to draw. */
export async function figureHtml(id: string, caption: string, spec: Parameters<typeof renderSvg>[0] | null): Promise<string> {
  const body = spec === null ? '<p class="empty">No data to plot.</p>' : await renderSvg(spec);
  return `<figure id="${escapeHtml(id)}"><figcaption>${escapeHtml(caption)}</figcaption>\n${body}\n</figure>`;
}

/**
 * Write summary.csv, config.json and report.html into `dir` (created if missing) and return their paths.
 * Errors of the file system propagate as they are (the caller reports the path).
 */
export async function writeReport(dir: string, input: ReportInput): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files: ReportFiles = { summaryCsv: join(dir, 'summary.csv'), configJson: join(dir, 'config.json'), reportHtml: join(dir, 'report.html') };
  const html = await renderReportHtml(input);
  await writeFile(files.summaryCsv, summaryCsv(input.records, { runs: input.runs, thresholds: input.thresholds }));
  await writeFile(files.configJson, `${configText(input.config)}\n`);
  await writeFile(files.reportHtml, html);
  return files;
}
