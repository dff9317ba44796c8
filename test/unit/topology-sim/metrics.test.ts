import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accuracyStats, consensusDistance, openMetricsWriter, quantileSorted, readResults, summarizeRuns, summaryCsv,
  type PeerStats, type RoundRecord,
} from '../../../topology-sim/metrics.js';

function assertCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    if (pattern) assert.match((e as Error).message, pattern);
    return true;
  });
}

async function assertRejectsCode(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    if (pattern) assert.match((e as Error).message, pattern);
    return true;
  });
}

function assertStats(actual: PeerStats, expected: PeerStats): void {
  for (const key of Object.keys(expected) as (keyof PeerStats)[]) {
    assert.ok(Math.abs(actual[key] - expected[key]) < 1e-12, `${key}: got ${actual[key]}, expected ${expected[key]}`);
  }
}

const stats = (v: number): PeerStats => ({ mean: v, min: v, p10: v, median: v, p90: v, max: v });

/** A record with honest mean `acc`; everything else is filler. */
function record(run: string, round: number, acc: number, extra: Partial<RoundRecord> = {}): RoundRecord {
  return {
    run, round, time: round * 100, honest: stats(acc), loss: stats(1 - acc), consensusDistance: 0.5, consensusRms: 0.1,
    bytesSent: round * 2e6, bytesReceived: round * 2e6, bytesSentRound: 2e6, bytesReceivedRound: 2e6,
    framesRejected: 0, framesRejectedRound: 0, wallMs: { train: 300, exchange: 150, aggregate: 50, total: 500 }, peersOnline: 8,
    ...extra,
  };
}

describe('accuracyStats', () => {
  it('interpolates quantiles linearly on the sorted values (odd count)', () => {
    // Sorted: 0.5 0.6 0.7 0.8 0.9; h = 4q. p10: h = 0.4 → 0.5 + 0.4·0.1 = 0.54; median: h = 2 → 0.7;
    // p90: h = 3.6 → 0.8 + 0.6·0.1 = 0.86; mean = 3.5/5 = 0.7.
    assertStats(accuracyStats([0.9, 0.5, 0.7, 0.6, 0.8]), { mean: 0.7, min: 0.5, p10: 0.54, median: 0.7, p90: 0.86, max: 0.9 });
  });

  it('interpolates quantiles linearly on the sorted values (even count, single value)', () => {
    // 1 2 3 4, h = 3q: p10 h = 0.3 → 1.3; median h = 1.5 → 2.5; p90 h = 2.7 → 3.7; mean 2.5.
    assertStats(accuracyStats([4, 3, 2, 1]), { mean: 2.5, min: 1, p10: 1.3, median: 2.5, p90: 3.7, max: 4 });
    assertStats(accuracyStats([0.25]), stats(0.25));
    assert.equal(quantileSorted([1, 2, 3, 4], 1), 4);
  });

  it('sorts NaN (a diverged loss) last and rejects an empty list', () => {
    const s = accuracyStats([Number.NaN, 0.2, 0.4]);
    assert.equal(s.min, 0.2);
    assert.ok(Math.abs(s.p10 - 0.24) < 1e-12); // h = 0.2 between 0.2 and 0.4
    assert.ok(Number.isNaN(s.mean) && Number.isNaN(s.max));
    assertCode(() => accuracyStats([]), 'ERR_METRICS_INPUT');
  });
});

describe('consensusDistance', () => {
  it('is the mean squared distance to the average model, and its RMS per parameter', () => {
    // Mean of (1,2), (3,4), (5,9) = (3,5). Squared distances: 4+9 = 13, 0+1 = 1, 4+16 = 20; mean 34/3.
    // RMS per parameter: √(34/3 / 2) = √(17/3).
    const c = consensusDistance([Float32Array.of(1, 2), Float32Array.of(3, 4), Float32Array.of(5, 9)]);
    assert.ok(Math.abs(c.meanSquared - 34 / 3) < 1e-12);
    assert.ok(Math.abs(c.rms - Math.sqrt(17 / 3)) < 1e-12);
  });

  it('is 0 for identical models, no models or empty models, and rejects mixed lengths', () => {
    const v = Float32Array.of(0.1, -2, 3e5);
    assert.deepEqual(consensusDistance([v, v.slice(), v.slice()]), { meanSquared: 0, rms: 0 });
    assert.deepEqual(consensusDistance([]), { meanSquared: 0, rms: 0 });
    assert.deepEqual(consensusDistance([new Float32Array(0)]), { meanSquared: 0, rms: 0 });
    assertCode(() => consensusDistance([new Float32Array(3), new Float32Array(4)]), 'ERR_METRICS_INPUT', /vector 1 has 4/);
  });

  it('accumulates in Float64: a tiny spread on a large offset survives', () => {
    // 1e4 ± 2^-9 is exact in float32 (ulp at 1e4 is 2^-10); the mean is exactly 1e4 and every squared
    // distance is (2^-9)² = 2^-18, so the mean is 2^-18 and the RMS 2^-9, all exact in Float64.
    const n = 2000;
    const vectors = Array.from({ length: n }, (_, i) => Float32Array.of(1e4 + (i % 2 === 0 ? 2 ** -9 : -(2 ** -9))));
    const c = consensusDistance(vectors);
    assert.equal(c.meanSquared, 2 ** -18);
    assert.equal(c.rms, 2 ** -9);
  });
});

describe('MetricsWriter', () => {
  it('appends JSON lines, keeps copies in memory and flushes on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-metrics-'));
    try {
      const path = join(dir, 'nested', 'results.jsonl');
      const w = await openMetricsWriter(path);
      const first = record('a', 0, 0.5, { loss: stats(Number.NaN) });
      w.append(first);
      w.append(record('a', 1, 0.6, { perPeerAccuracy: [0.5, 0.7] }));
      first.round = 99; // the writer kept a copy
      await w.close();
      await w.close(); // idempotent
      assert.equal(w.records.length, 2);
      assert.equal(w.records[0]!.round, 0);
      const lines = (await readFile(path, 'utf8')).split('\n');
      assert.equal(lines.length, 3); // two records and the final newline
      assert.equal(lines[2], '');
      assert.equal(JSON.parse(lines[0]!).loss.mean, null); // NaN is written as null
      const back = await readResults(path);
      assert.deepEqual(back[1], w.records[1]);
      assertCode(() => w.append(record('a', 2, 0.7)), 'ERR_METRICS_WRITER', /after close/);

      const again = await openMetricsWriter(path, { append: true });
      again.append(record('b', 0, 0.1));
      await again.close();
      assert.deepEqual((await readResults(path)).map((r) => r.run), ['a', 'a', 'b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails at open for an unusable path, and names file:line for a bad results file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-metrics-'));
    try {
      const blocker = join(dir, 'file');
      await writeFile(blocker, 'x');
      await assertRejectsCode(openMetricsWriter(join(blocker, 'results.jsonl')), 'ERR_METRICS_WRITER', /cannot open/);
      const bad = join(dir, 'bad.jsonl');
      await writeFile(bad, `${JSON.stringify(record('a', 0, 0.5))}\n{"round": 1}\n`);
      await assertRejectsCode(readResults(bad), 'ERR_RESULTS_FILE', /bad\.jsonl:2: not a round record/);
      await writeFile(bad, 'not json\n');
      await assertRejectsCode(readResults(bad), 'ERR_RESULTS_FILE', /bad\.jsonl:1: not JSON/);
      await assertRejectsCode(readResults(join(dir, 'missing.jsonl')), 'ERR_RESULTS_FILE', /cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('summaryCsv', () => {
  // Run "x, quoted": accuracies 0.70, 0.82, 0.86, 0.84 over rounds 1..4 (recorded out of order);
  // run "y": 0.5, 0.91 over rounds 1..2.
  const records = [
    record('x, quoted', 2, 0.82), record('x, quoted', 1, 0.7), record('y', 1, 0.5), record('x, quoted', 3, 0.86),
    record('x, quoted', 4, 0.84, { honest: { mean: 0.84, min: 0.61, p10: 0.7, median: 0.85, p90: 0.9, max: 0.95 } }), record('y', 2, 0.91),
  ];

  it('summarises each run: final, best, first round over each threshold, MB and wall time', () => {
    const [x, y] = summarizeRuns(records);
    assert.deepEqual(x, {
      run: 'x, quoted', rounds: 4, finalRound: 4, finalMean: 0.84, finalMin: 0.61, finalMedian: 0.85, bestMean: 0.86,
      roundsTo: [2, 3, null], totalMbSent: 8, wallS: 2, // 4 rounds × 2e6 B = 8 MB; 4 × 500 ms = 2 s
    });
    assert.deepEqual(y!.roundsTo, [2, 2, 2]);
  });

  it('writes one quoted CSV row per run, blanks for thresholds never reached', () => {
    const lines = summaryCsv(records).trimEnd().split('\n');
    assert.equal(lines[0], 'run,rounds,final_mean_acc,final_min_acc,final_median_acc,best_mean_acc,rounds_to_80,rounds_to_85,rounds_to_90,total_mb_sent,wall_s');
    assert.equal(lines[1], '"x, quoted",4,0.8400,0.6100,0.8500,0.8600,2,3,,8.000,2.000');
    assert.equal(lines[2], 'y,2,0.9100,0.9100,0.9100,0.9100,2,2,2,4.000,1.000');
    assert.equal(lines.length, 3);
  });

  it('follows the given run order, with an empty row for a run without records', () => {
    const lines = summaryCsv(records, { runs: ['z', 'y'], thresholds: [0.9] }).trimEnd().split('\n');
    assert.deepEqual(lines, [
      'run,rounds,final_mean_acc,final_min_acc,final_median_acc,best_mean_acc,rounds_to_90,total_mb_sent,wall_s',
      'z,0,,,,,,,0.000',
      'y,2,0.9100,0.9100,0.9100,0.9100,2,4.000,1.000',
    ]);
  });
});
