import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rngFor } from '../../node/data/rng.js';
import { accuracyStats, type RoundRecord } from '../../topology-sim/metrics.js';
import { renderReportHtml } from '../../topology-sim/report.js';

const run = promisify(execFile);
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const RUNS = ['dpsgd/ring', 'gossip-learning/regular-4', 'variance-corrected/erdos-renyi', 'dfedsam-mgs/watts-strogatz'];

/** 4 runs × 30 rounds of seeded plausible records, the last with per-peer accuracies. */
function records(): RoundRecord[] {
  const out: RoundRecord[] = [];
  RUNS.forEach((name, k) => {
    const rng = rngFor('report-browser', name);
    for (let round = 1; round <= 30; round++) {
      const acc = Array.from({ length: 40 }, () => Math.min(1, 0.3 + 0.6 * (1 - Math.exp(-round / (5 + 3 * k))) + 0.03 * rng.normal()));
      out.push({
        run: name, round, time: round * 1000, honest: accuracyStats(acc), loss: accuracyStats(acc.map((a) => 1 - a)),
        consensusDistance: 5 * Math.exp(-0.3 * round * (k + 1)), consensusRms: 0.01, bytesSent: round * 123.4e6 * (k + 1),
        bytesReceived: round * 1e6, bytesSentRound: 1e6, bytesReceivedRound: 1e6, framesRejected: 0, framesRejectedRound: 0,
        wallMs: { train: 800, exchange: 150, aggregate: 50, total: 12_345 }, peersOnline: 40, ...(round === 30 ? { perPeerAccuracy: acc } : {}),
      });
    }
  });
  return out;
}

// The page itself runs no script (its Content-Security-Policy forbids one); the test adds one that measures
// the laid-out page and writes the result into the title, which --dump-dom prints.
const PROBE = `<script>
const wrap = document.querySelector('.table-wrap'), table = wrap && wrap.querySelector('table');
const svgs = [...document.querySelectorAll('figure svg')].map((s) => s.getBoundingClientRect().width);
document.title = JSON.stringify({
  tableFits: !!table && table.getBoundingClientRect().width <= wrap.clientWidth + 0.5,
  pageOverflows: document.documentElement.scrollWidth > window.innerWidth,
  cells: document.querySelectorAll('.table-wrap td').length,
  percentCells: [...document.querySelectorAll('.table-wrap td')].filter((td) => /%$/.test(td.textContent)).length,
  svgWidths: svgs,
});
</script>`;

describe('the simulation report in a real browser', () => {
  it('shows the whole comparison table and wide plots at 1280 px', { skip: CHROMIUM === undefined ? 'no Chromium installed (apt-get install chromium)' : false, timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-report-browser-'));
    try {
      const html = await renderReportHtml({ title: 'Four algorithms', records: records(), config: { seed: 1 }, runs: RUNS, thresholds: [0.5, 0.7, 0.8, 0.9] });
      const page = join(dir, 'report.html');
      await writeFile(page, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `${PROBE}</body>`));
      const { stdout } = await run(CHROMIUM!, [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`, '--window-size=1280,2000', '--dump-dom', `file://${page}`,
      ], { timeout: 150_000, maxBuffer: 64 * 1024 * 1024 });
      const title = /<title>(.*?)<\/title>/s.exec(stdout)?.[1];
      assert.ok(title !== undefined && title.startsWith('{'), `no measurement in the page title: ${title ?? '(none)'}`);
      const m = JSON.parse(title.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { tableFits: boolean; pageOverflows: boolean; cells: number; percentCells: number; svgWidths: number[] };
      assert.equal(m.tableFits, true, 'the comparison table is wider than its box');
      assert.equal(m.pageOverflows, false, 'the page scrolls sideways');
      assert.equal(m.percentCells, RUNS.length * 4, 'accuracies are shown as percentages');
      assert.ok(m.svgWidths.length >= 4 && m.svgWidths.every((w) => w >= 800), `plots ${m.svgWidths.join(', ')} px wide`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
