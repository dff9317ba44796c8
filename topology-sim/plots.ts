/**
 * Vega-Lite specs of the simulation report's plots and their offline SVG rendering (notes/report-plots.md:
 * vega 6.4.0 + vega-lite 6.4.3, `renderer: 'none'`, no DOM, no canvas). Specs only read RoundRecords.
 * Every plot colours runs with one shared domain, so a run keeps its colour across plots. Non-finite
 * values (null in results.jsonl) are left out, and so are values a log axis cannot show (≤ 0).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { rngFor } from '../node/data/rng.js';
import { BYTES_PER_MB, recordsByRun, type RoundRecord } from './metrics.js';

/** Plot area size in px (axes and legend come on top); the page scales a plot down on a narrow screen. */
export const PLOT_WIDTH = 860;
export const PLOT_HEIGHT = 320;

/** One plot of the report: a caption and a spec, or null when the records hold nothing to draw. */
export interface PlotDef {
  id: string;
  caption: string;
  spec: TopLevelSpec | null;
}

/**
 * Render a Vega-Lite spec to a self-contained SVG string (legends inside, no scripts). The view is
 * finalized even when rendering fails.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Legend of line plots: a thick stroke per run, in the run's full colour, so it matches its line. */
const LINE_LEGEND = { labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 300, symbolOpacity: 1, labelFontSize: 12 };

function colour(runs: readonly string[]): Record<string, unknown> {
  return { field: 'run', type: 'nominal', title: 'run', scale: { domain: [...runs] }, legend: LINE_LEGEND };
}

/** Rounds are integers: no "1.5" ticks. */
const ROUND_X = { field: 'round', type: 'quantitative', title: 'round', axis: { format: 'd', tickMinStep: 1 } };

function base(rows: object[]): { width: number; height: number; background: string; data: { values: object[] } } {
  return { width: PLOT_WIDTH, height: PLOT_HEIGHT, background: 'white', data: { values: rows } };
}

/** Honest mean test accuracy per round, one line per run over a shaded p10–p90 band. */
export function accuracyVsRoundSpec(records: readonly RoundRecord[], runs: readonly string[]): TopLevelSpec | null {
  const rows = records.filter((r) => runs.includes(r.run) && finite(r.round) && finite(r.honest.mean))
    .map((r) => ({ run: r.run, round: r.round, mean: r.honest.mean, p10: finite(r.honest.p10) ? r.honest.p10 : r.honest.mean, p90: finite(r.honest.p90) ? r.honest.p90 : r.honest.mean }));
  if (rows.length === 0) return null;
  const y = { type: 'quantitative', title: 'honest test accuracy (mean; band p10–p90)', axis: { format: '.0%' }, scale: { zero: false } };
  // One colour legend for band and line; LINE_LEGEND draws its swatches as full-opacity strokes (they took
  // the band's 15% opacity before, which made them hard to match to the lines).
  return {
    ...base(rows),
    encoding: { x: ROUND_X, color: colour(runs) },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { y: { field: 'p10', ...y }, y2: { field: 'p90' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { y: { field: 'mean', ...y } } },
    ],
  } as TopLevelSpec;
}

/** Honest mean accuracy against cumulative MB sent by the whole swarm (log x, not "nice"d: see the notes). */
export function accuracyVsBytesSpec(records: readonly RoundRecord[], runs: readonly string[]): TopLevelSpec | null {
  const rows = records.filter((r) => runs.includes(r.run) && finite(r.bytesSent) && r.bytesSent > 0 && finite(r.honest.mean))
    .map((r) => ({ run: r.run, round: r.round, mb: r.bytesSent / BYTES_PER_MB, mean: r.honest.mean }));
  if (rows.length === 0) return null;
  return {
    ...base(rows),
    mark: { type: 'line', point: { size: 16 } },
    encoding: {
      x: { field: 'mb', type: 'quantitative', title: 'cumulative MB sent (all peers)', scale: { type: 'log', nice: false } },
      y: { field: 'mean', type: 'quantitative', title: 'honest mean test accuracy', axis: { format: '.0%' }, scale: { zero: false } },
      order: { field: 'round', type: 'quantitative' },
      color: colour(runs),
    },
  } as TopLevelSpec;
}

/** Consensus distance (mean ‖w_i − w̄‖²) per round, log y; rounds at exactly 0 (identical models) are left out. */
export function consensusSpec(records: readonly RoundRecord[], runs: readonly string[]): TopLevelSpec | null {
  const rows = records.filter((r) => runs.includes(r.run) && finite(r.round) && finite(r.consensusDistance) && r.consensusDistance > 0)
    .map((r) => ({ run: r.run, round: r.round, distance: r.consensusDistance }));
  if (rows.length === 0) return null;
  // The axis spans the data with a 10% margin in log space (a "nice" log domain added a blank band up to the
  // next decade; an exact one drew the extreme points on the frame, half cut off), and is labelled at powers
  // of ten only (every 2…9 tick labelled crowded the axis).
  const values = rows.map((r) => r.distance);
  const min = Math.min(...values), max = Math.max(...values);
  const margin = min === max ? 2 : (max / min) ** 0.1;
  const lo = min / margin, hi = max * margin;
  const decades: number[] = [];
  for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) decades.push(10 ** e);
  const axis = decades.length >= 2 ? { format: '.0e', values: decades, grid: true } : { format: '.1e', tickCount: 4, labelOverlap: 'greedy', grid: true };
  return {
    ...base(rows),
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: ROUND_X,
      y: {
        field: 'distance', type: 'quantitative', title: 'consensus distance (log scale)',
        scale: { type: 'log', nice: false, domain: [lo, hi] }, axis,
      },
      color: colour(runs),
    },
  } as TopLevelSpec;
}

/**
 * Strip points sit right of their box: the offset scale maps [−1.5, 1.5] onto the run's band, so 0 is the
 * band centre (the box, ±0.15 wide) and [0.25, 1.25) is a strip beside it.
 */
const JITTER_FROM = 0.25, JITTER_WIDTH = 1;

/**
 * Final per-peer accuracy of each run (from its last record's `perPeerAccuracy`): a box plot with every peer
 * as a point beside it. The horizontal jitter comes from `rngFor('report-jitter', run)`, so the SVG is the
 * same on every render.
 */
export function perPeerSpreadSpec(records: readonly RoundRecord[], runs: readonly string[]): TopLevelSpec | null {
  const rows: { run: string; accuracy: number; jitter: number }[] = [];
  for (const [run, list] of recordsByRun(records, runs)) {
    const last = [...list].reverse().find((r) => r.perPeerAccuracy !== undefined);
    if (last === undefined) continue;
    const rng = rngFor('report-jitter', run);
    for (const a of last.perPeerAccuracy!) if (finite(a)) rows.push({ run, accuracy: a, jitter: JITTER_FROM + JITTER_WIDTH * rng.next() });
  }
  if (rows.length === 0) return null;
  const x = { field: 'run', type: 'nominal', title: 'run', scale: { domain: [...runs] }, axis: { labelAngle: 0 } };
  const y = { field: 'accuracy', type: 'quantitative', title: 'final test accuracy per honest peer', axis: { format: '.0%' }, scale: { zero: false } };
  return {
    ...base(rows),
    encoding: { x, color: { ...colour(runs), legend: null } },
    layer: [
      { mark: { type: 'boxplot', extent: 'min-max', size: 28, opacity: 0.5 }, encoding: { y } },
      {
        mark: { type: 'circle', size: 14, opacity: 0.7 },
        encoding: { y, xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-1.5, 1.5] }, axis: null } },
      },
    ],
  } as TopLevelSpec;
}

/** One point of a {@link seriesSpec} plot. */
export interface SeriesPoint {
  readonly series: string;
  readonly x: number;
  readonly y: number;
}

/** Axis titles and formats of a {@link seriesSpec} plot. */
export interface SeriesOptions {
  readonly xTitle: string;
  readonly yTitle: string;
  /** d3-format of the y axis, e.g. '.0%'; default vega's. */
  readonly yFormat?: string;
  /** Series in legend order (their colours); default the order of first appearance. */
  readonly series?: readonly string[];
  /** x is a round number: integer ticks. */
  readonly roundX?: boolean;
}

/**
 * A line per series over x (e.g. a daemon's accuracy and loss per round, `murmur report`). Non-finite
 * points are left out; null when none is left.
 */
export function seriesSpec(points: readonly SeriesPoint[], options: SeriesOptions): TopLevelSpec | null {
  const rows = points.filter((p) => finite(p.x) && finite(p.y));
  if (rows.length === 0) return null;
  const series = options.series ?? [...new Set(rows.map((p) => p.series))];
  const x = options.roundX === true ? { ...ROUND_X, field: 'x', title: options.xTitle } : { field: 'x', type: 'quantitative', title: options.xTitle };
  return {
    ...base(rows.map((p) => ({ ...p }))),
    mark: { type: 'line', strokeWidth: 2, point: rows.length <= 60 ? { size: 20 } : false },
    encoding: {
      x,
      y: { field: 'y', type: 'quantitative', title: options.yTitle, ...(options.yFormat ? { axis: { format: options.yFormat } } : {}), scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: [...series] }, legend: series.length > 1 ? { orient: 'top', labelLimit: 280 } : null },
    },
  } as TopLevelSpec;
}

/** The report's plots in page order. */
export function reportPlots(records: readonly RoundRecord[], runs: readonly string[]): PlotDef[] {
  return [
    { id: 'accuracy-round', caption: 'Honest mean test accuracy per round (band: p10–p90 over honest peers)', spec: accuracyVsRoundSpec(records, runs) },
    { id: 'accuracy-bytes', caption: 'Honest mean test accuracy against cumulative MB sent (log scale)', spec: accuracyVsBytesSpec(records, runs) },
    { id: 'consensus', caption: 'Consensus distance per round (mean squared distance to the average model, log scale)', spec: consensusSpec(records, runs) },
    { id: 'per-peer', caption: 'Final test accuracy of every honest peer (box: quartiles and min–max)', spec: perPeerSpreadSpec(records, runs) },
  ];
}
