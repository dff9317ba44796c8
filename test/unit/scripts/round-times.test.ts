import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MissingRoundError, timedRounds } from '../../../scripts/lib/round-times.js';

/** Three peers; peer p reports round r at r × roundMs + p × spreadMs (ms); records close at `closed(r)`. */
function swarm(rounds: number, roundMs: number, spreadMs: number, closed: (r: number) => number): { peerReports: number[][]; recordClosed: number[] } {
  const peerReports: number[][] = [];
  const recordClosed: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    peerReports[r] = [0, 1, 2].map((p) => r * roundMs + p * spreadMs);
    recordClosed[r] = closed(r);
  }
  return { peerReports, recordClosed };
}

describe('timedRounds (bench-sim seconds per round)', () => {
  it('counts slow rounds whose records close in a burst after them', () => {
    // Rounds of 7 s at every peer; the records of rounds 1–9 all close at the end, 0.1 s apart (evaluations held back).
    const t = swarm(9, 7000, 10, (r) => 63_100 + 100 * r);
    const m = timedRounds(t, 3, 6);
    // Timed work: from the median report of round 3 (21.01 s) to the close of round 9's record (64.0 s) over 6 rounds.
    assert.ok(Math.abs(m.meanS - (64_000 - 21_010) / 1000 / 6) < 1e-9, `mean ${m.meanS}`);
    assert.ok(m.meanS >= 7, `a burst of records hid 7 s rounds: mean ${m.meanS}`);
    assert.deepEqual(m.seconds.map((s) => Math.round(s * 1000)), [7000, 7000, 7000, 7000, 7000, 7000]);
    // What the record intervals said (the old figure): 0.1 s.
    assert.ok(Math.abs(m.recordMeanS - 0.1) < 1e-9);
  });

  it('gives the round time of a steady swarm whose records close right after the last report', () => {
    // 1 s rounds, peers 10 ms apart; each record closes 50 ms after the round's last report.
    const m = timedRounds(swarm(10, 1000, 10, (r) => r * 1000 + 20 + 50), 3, 6);
    assert.deepEqual(m.seconds.map((s) => Math.round(s * 1000)), [1000, 1000, 1000, 1000, 1000, 1000]);
    // (9.070 − 3.010) / 6: half the spread of the peers and the last record's lag count once, not per round.
    assert.ok(Math.abs(m.meanS - 6.06 / 6) < 1e-9, `mean ${m.meanS}`);
  });

  it('shows a straggler round as one long interval, not hidden by the catch-up after it', () => {
    const t = swarm(10, 1000, 10, (r) => r * 1000 + 100);
    // Round 6 is held up 4 s at one peer; the others wait for its frames in round 7, then all go on at 1 s a round.
    t.peerReports[6] = [6000, 6010, 10_000];
    for (let r = 7; r <= 10; r++) t.peerReports[r] = [0, 1, 2].map((p) => 3500 + r * 1000 + 10 * p);
    const m = timedRounds({ ...t, recordClosed: t.recordClosed.map((c, r) => (r >= 6 ? 3600 + r * 1000 : c)) }, 3, 6);
    assert.deepEqual(m.seconds.map((s) => Math.round(s * 1000)), [1000, 1000, 4980, 520, 1000, 1000]);
    assert.ok(Math.abs(m.meanS - (12_600 - 3010) / 1000 / 6) < 1e-9, `mean ${m.meanS}`);
  });

  it('counts a warm-up stall that holds the timed rounds up, though the rounds then close fast', () => {
    // One peer is stuck in round 3 until 62 s; the others did rounds 4–8 by 9 s and then waited for it.
    const t = swarm(9, 1000, 10, (r) => 62_100 + 20 * r);
    t.peerReports[3] = [4000, 5000, 62_000];
    for (let r = 4; r <= 9; r++) t.peerReports[r] = [r * 1000, r * 1000 + 10, 62_000 + 20 * (r - 3)];
    const m = timedRounds(t, 3, 6);
    // From the median report of round 3 (5.0 s) to the close of round 9's record (62.28 s).
    assert.ok(Math.abs(m.meanS - (62_280 - 5000) / 1000 / 6) < 1e-9, `mean ${m.meanS}`);
    // The rounds' own intervals are short: only the mean shows the stall.
    assert.ok(Math.max(...m.seconds) < 0.1);
  });

  it('times a round a peer skipped until that peer got past it (no negative round times)', () => {
    // Peer 2 finishes round 4 late (at 6.5 s), skips round 5 (the others are in round 6: a sync-rounds peer two
    // rounds behind jumps to the swarm's round) and reports round 6 at 7 s; it never reports round 5.
    const t = swarm(8, 1000, 10, (r) => r * 1000 + 100);
    t.peerReports[4] = [4000, 4010, 6500];
    t.peerReports[5] = [5000, 5010];
    t.peerReports[6] = [6000, 6010, 7000];
    const m = timedRounds(t, 3, 4);
    // Round 5 was done when peer 2 got past it (7.0 s), round 6 too; without peer 2: 5.01 − 6.5 = −1.49 s.
    assert.deepEqual(m.seconds.map((s) => Math.round(s * 1000)), [3480, 500, 0, 20]);
    // Reports out of order in time (one clock per peer may not hold): still never negative.
    t.peerReports[6] = [6000, 6010, 6020];
    assert.ok(timedRounds(t, 3, 4).seconds.every((s) => s >= 0));
  });

  it('never ends a round before the one before it when a peer stops reporting (crashed after a late round)', () => {
    // Peer 2 finishes round 4 late (6.5 s) and reports nothing after it; rounds 5 and 6 are done by the others at 5.01, 6.01 s.
    const t = swarm(8, 1000, 10, (r) => r * 1000 + 100);
    t.peerReports[4] = [4000, 4010, 6500];
    for (let r = 5; r <= 8; r++) t.peerReports[r] = [r * 1000, r * 1000 + 10];
    const m = timedRounds(t, 3, 4);
    // Round 5 was done no earlier than round 4 (6.5 s); without that, 5.01 − 6.5 = −1.49 s.
    assert.deepEqual(m.seconds.map((s) => Math.round(s * 1000)), [3480, 0, 0, 510]);
  });

  it('names a round with no reports or no record', () => {
    const t = swarm(9, 1000, 10, (r) => r * 1000);
    assert.throws(() => timedRounds({ ...t, peerReports: t.peerReports.slice(0, 8) }, 3, 6), (e: unknown) => e instanceof MissingRoundError && /round 8/.test(e.message));
    assert.throws(() => timedRounds({ ...t, recordClosed: t.recordClosed.slice(0, 9) }, 3, 6), (e: unknown) => e instanceof MissingRoundError && /round 9's record/.test(e.message));
    assert.throws(() => timedRounds(t, 0, 6), RangeError);
  });
});
