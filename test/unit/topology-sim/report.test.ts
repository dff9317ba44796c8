import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rngFor } from '../../../node/data/rng.js';
import { accuracyStats, type RoundRecord } from '../../../topology-sim/metrics.js';
import { escapeHtml, renderReportHtml, renderSvg, writeReport } from '../../../topology-sim/report.js';
import { consensusSpec } from '../../../topology-sim/plots.js';

const HOSTILE = '<script>alert("x")</script> & co';
const RUNS = ['gossip/ring', HOSTILE];

/** 2 runs × 10 rounds of plausible fake records (seeded): accuracy rising, consensus distance falling. */
function fakeRecords(): RoundRecord[] {
  const records: RoundRecord[] = [];
  RUNS.forEach((run, k) => {
    const rng = rngFor('report-test', run);
    for (let round = 1; round <= 10; round++) {
      const acc = Array.from({ length: 12 }, () => Math.min(1, 0.4 + 0.05 * round + 0.02 * k + 0.03 * rng.normal()));
      records.push({
        run, round, time: round * 1000, honest: accuracyStats(acc), loss: accuracyStats(acc.map((a) => 1 - a)),
        consensusDistance: 5 * Math.exp(-0.4 * round), consensusRms: 0.01,
        bytesSent: round * 1.2e6 * (k + 1), bytesReceived: round * 1.2e6 * (k + 1), bytesSentRound: 1.2e6, bytesReceivedRound: 1.2e6,
        framesRejected: k, framesRejectedRound: 0, wallMs: { train: 80, exchange: 15, aggregate: 5, total: 100 }, peersOnline: 12,
        ...(round === 10 ? { perPeerAccuracy: acc } : {}),
      });
    }
  });
  return records;
}

const svgs = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

describe('writeReport', () => {
  it('writes summary.csv, config.json and a script-free HTML page with four plots', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-report-'));
    try {
      const config = { seed: 7, backend: 'cpu', versions: { vega: '6.4.0' }, note: '</pre><b>' };
      const files = await writeReport(join(dir, 'out'), { title: 'Ring vs <regular>', records: fakeRecords(), config, runs: RUNS });
      const html = await readFile(files.reportHtml, 'utf8');
      const plots = svgs(html);
      assert.ok(plots.length >= 4, `${plots.length} svg elements`);
      for (const svg of plots) assert.ok(svg.length > 2000 && /<path/.test(svg), 'a non-empty svg');
      assert.doesNotMatch(html, /<script/i);
      assert.doesNotMatch(html, /<b>/); // the config's "<b>" and the title's "<regular>" are escaped
      assert.match(html, /<title>Ring vs &lt;regular&gt;<\/title>/);
      assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; co/);
      assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/); // nothing to fetch: only SVG namespace URIs

      const csv = (await readFile(files.summaryCsv, 'utf8')).trimEnd().split('\n');
      assert.equal(csv.length, 1 + RUNS.length);
      assert.match(csv[1]!, /^gossip\/ring,10,/);
      assert.match(csv[2]!, /^"<script>alert\(""x""\)<\/script> & co",10,/);
      assert.deepEqual(JSON.parse(await readFile(files.configJson, 'utf8')), config);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders the same bytes twice and replaces empty plots with a note', async () => {
    const records = fakeRecords();
    const input = { title: 't', records, config: { seed: 1 }, runs: RUNS };
    assert.equal(await renderReportHtml(input), await renderReportHtml(input));
    // No bytes counted, models always identical, no per-peer list: only the accuracy plot remains.
    const bare = records.map(({ perPeerAccuracy: _drop, ...r }) => ({ ...r, bytesSent: 0, consensusDistance: 0 }));
    const html = await renderReportHtml({ ...input, records: bare });
    assert.equal(svgs(html).length, 1);
    assert.equal(html.match(/No data to plot/g)?.length, 3);
  });
});

describe('renderSvg and escapeHtml', () => {
  it('renders a minimal spec to a standalone svg', async () => {
    const svg = await renderSvg({ data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] }, mark: 'line', encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } });
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it('escapes the five HTML special characters', () => {
    assert.equal(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  });
});

describe('the report page', () => {
  it('shows only the settings that apply: no synthetic-data or daemon-share keys for a digits run', async () => {
    const { applicableConfig } = await import('../../../topology-sim/report.js');
    const shown = applicableConfig({
      resolved: [{ run: 'a', transport: 'memory', mode: 'sync', processes: 1, data: { source: 'digits', size: 2000, featureCount: 20, peers: 1, peerIndex: 0, evalSize: 0, seed: 1 },
        model: { arch: 'mlp', hidden: [32], seed: 1 }, network: { timeoutMs: 1, portBase: 23000, hosts: [], periodMs: 1000, bandwidthBytesPerMs: 5 }, runs: [] }],
      versions: { vega: '6.4.0' },
    }) as { resolved: Array<Record<string, unknown>>; versions: unknown };
    assert.deepEqual(shown.resolved[0], { run: 'a', transport: 'memory', mode: 'sync', processes: 1, data: { source: 'digits', seed: 1 }, model: { arch: 'mlp', hidden: [32], seed: 1 }, network: { timeoutMs: 1 } });
    assert.deepEqual(shown.versions, { vega: '6.4.0' });
  });

  it('shows accuracies in the comparison table as percentages', async () => {
    const html = await renderReportHtml({ title: 't', records: fakeRecords(), config: {}, runs: RUNS });
    const table = /<table>[\s\S]*?<\/table>/.exec(html)![0];
    assert.match(table, /<th>final mean accuracy<\/th>/);
    assert.match(table, /<td>\d{1,3}\.\d\d%<\/td>/);
    assert.doesNotMatch(table, /<td>0\.\d{4}<\/td>/);
  });
});

describe('the consensus-distance plot', () => {
  it('spans the data with a margin on its log axis, so no point sits on the frame', () => {
    const records = fakeRecords();
    const spec = consensusSpec(records, RUNS) as unknown as { encoding: { y: { scale: { type: string; domain: [number, number] } } } };
    const values = records.map((r) => r.consensusDistance);
    const [lo, hi] = spec.encoding.y.scale.domain;
    assert.equal(spec.encoding.y.scale.type, 'log');
    assert.ok(lo < Math.min(...values) && hi > Math.max(...values), `domain [${lo}, ${hi}]`);
    // 10% of the data's span in log space on each side: no blank decade either.
    const span = Math.log10(Math.max(...values) / Math.min(...values));
    assert.ok(Math.abs(Math.log10(hi / lo) - 1.2 * span) < 1e-9);
  });
});
