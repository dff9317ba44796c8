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
import { summarizeRuns, summaryColumns, summaryCsv, DEFAULT_THRESHOLDS, type RoundRecord } from './metrics.js';
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

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 980px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; } th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.2em 0; } figcaption { font-weight: 600; margin-bottom: .4em; }
.empty { color: #777; font-style: italic; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
`;

/**
 * Build the report page. Exported for tests and for callers that serve the page instead of writing it.
 * Plots whose records hold nothing to draw become a one-line note.
 */
export async function renderReportHtml(input: ReportInput): Promise<string> {
  const { title, records, runs } = input;
  const thresholds = input.thresholds ?? DEFAULT_THRESHOLDS;
  const columns = summaryColumns(thresholds);
  const rows = summarizeRuns(records, { runs, thresholds });
  const table = [
    '<table>',
    `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c.name)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((s) => `<tr>${columns.map((c) => `<td>${escapeHtml(c.cell(s))}</td>`).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
  const figures: string[] = [];
  for (const plot of reportPlots(records, runs)) figures.push(await figureHtml(plot.id, plot.caption, plot.spec));
  const count = records.filter((r) => runs.includes(r.run)).length;
  return htmlPage(title, [
    `<p>${runs.length} run(s), ${count} round records. Accuracy is test accuracy over honest peers; MB = 10⁶ bytes; `
      + '"rounds_to_X" is the first round whose honest mean accuracy reached X% (blank: never).</p>',
    '<h2>Comparison</h2>',
    table,
    '<h2>Plots</h2>',
    ...figures,
    '<h2>Configuration</h2>',
    `<pre>${escapeHtml(configText(input.config))}</pre>`,
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
