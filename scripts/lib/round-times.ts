/**
 * Seconds per round of a simulated swarm, from when each peer finished each round and when each round's
 * record closed (bench-sim). A record closes once every peer reported the round and the round's evaluations
 * came back from the worker pool, so records can lag behind the peers and then close in a burst: timing
 * rounds by the intervals between record closings let ten rounds of ~7 s print as 0.11 s per round when the
 * warm-up's records closed late (issue 16). So the figures here come from the peers' own reports, and the
 * mean is the plain wall time of the timed rounds, which no burst can shorten:
 *
 * - a round is done when every peer that got that far had finished it: at each peer's first report of that
 *   round or a later one (a sync-rounds peer two rounds behind jumps to the swarm's round and never reports
 *   the round it skipped), and never before the previous round was done; a timed round's time is the
 *   interval from the previous round's done to its own (a round a straggler held up shows as one long
 *   interval, the catch-up after it as short ones: the p95 sees the long one);
 * - the mean runs from the median report of the last warm-up round (the moment half the peers had started
 *   timed work) to the close of the last timed round's record (all its work done, evaluations included), over
 *   the number of timed rounds. A stall during the warm-up that holds the timed rounds up is counted (their
 *   record closes late); warm-up work of the slower half still running is counted too, so it errs high by
 *   about half a round's spread over the timed rounds, never low. (From the first report it erred high by
 *   the whole spread: a third more than the median round at N = 100 on a loaded machine.)
 */
import { MurmurError } from '../../node/errors.js';
import { summarize } from './bench.js';

/** Times in ms on one clock: every peer's report of each round, and each round's record closing, by round. */
export interface RoundTimings {
  /** peerReports[r][p]: when peer p reported round r; a hole where it did not (skipped, crashed, not there yet). */
  peerReports: ReadonlyArray<ReadonlyArray<number | undefined> | undefined>;
  /** recordClosed[r]: when round r's record closed. */
  recordClosed: ReadonlyArray<number | undefined>;
}

export interface TimedRounds {
  /** Each timed round's time, seconds (rounds warmup + 1 … warmup + timed): between the moments they were done at every peer. */
  seconds: number[];
  /** Wall time of the timed rounds over their number, seconds (see the module comment). */
  meanS: number;
  /** The old figure, for comparison only: intervals between record closings over the timed rounds, mean, seconds. */
  recordMeanS: number;
}

/** Thrown when the timings lack a round the measurement needs. */
export class MissingRoundError extends MurmurError {
  static override name = 'MissingRoundError';
  constructor(message: string) { super('ERR_MISSING_ROUND', message); }
}

function reportsOf(t: RoundTimings, round: number): number[] {
  const r = (t.peerReports[round] ?? []).filter((x): x is number => x !== undefined);
  if (r.length === 0) throw new MissingRoundError(`no peer reported round ${round}; the timings cover rounds with reports only`);
  return r;
}

/**
 * When rounds from..to were done (see the module comment), indexed by round − from: at each peer's first
 * report of the round or a later one, the last such over the peers, and no earlier than the round before.
 */
function doneTimes(t: RoundTimings, from: number, to: number): number[] {
  for (let r = from; r <= to; r++) reportsOf(t, r);
  // Walking down from the last round, firstAtOrAbove[p] is peer p's first report of round r or later.
  const firstAtOrAbove: number[] = [];
  const done: number[] = [];
  for (let r = t.peerReports.length - 1; r >= from; r--) {
    (t.peerReports[r] ?? []).forEach((at, p) => {
      if (at !== undefined) firstAtOrAbove[p] = Math.min(at, firstAtOrAbove[p] ?? Infinity);
    });
    if (r <= to) done[r - from] = Math.max(...firstAtOrAbove.filter((x) => x !== undefined));
  }
  for (let i = 1; i < done.length; i++) done[i] = Math.max(done[i]!, done[i - 1]!);
  return done;
}

function closedAt(t: RoundTimings, round: number): number {
  const c = t.recordClosed[round];
  if (c === undefined) throw new MissingRoundError(`round ${round}'s record never closed`);
  return c;
}

/** The timed rounds warmup + 1 … warmup + timed of `t` (see the module comment). */
export function timedRounds(t: RoundTimings, warmup: number, timed: number): TimedRounds {
  if (!Number.isInteger(warmup) || warmup < 1 || !Number.isInteger(timed) || timed < 1) {
    throw new RangeError(`warmup ${warmup} and timed ${timed} must be integers ≥ 1 (the first timed round starts after a reported round)`);
  }
  const doneAt = doneTimes(t, warmup, warmup + timed);
  const done = (r: number): number => doneAt[r - warmup]!;
  const seconds: number[] = [];
  for (let r = warmup + 1; r <= warmup + timed; r++) seconds.push((done(r) - done(r - 1)) / 1000);
  const end = Math.max(closedAt(t, warmup + timed), done(warmup + timed));
  const start = summarize(reportsOf(t, warmup)).median;
  return { seconds, meanS: (end - start) / 1000 / timed, recordMeanS: (closedAt(t, warmup + timed) - closedAt(t, warmup)) / 1000 / timed };
}
