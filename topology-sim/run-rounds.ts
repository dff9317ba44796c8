/**
 * The third step of a run (runner.ts): run the swarm and turn the peers' round summaries into one record
 * per round over the honest peers, written as each round is final (STYLE.md §3.5: the report only reads the
 * records). Also applies crashes and, for overlapping-round engines, churn at the swarm's round.
 *
 * A round is final when every honest online peer this process hosts reported it; overlapping rounds
 * (MoDeST: round r's average is computed while round r + 1 trains) are final once a report of round r + 2
 * arrives, and the rest when the run ends.
 */
import { rngFor } from '../node/data/rng.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { RoundSummary } from '../node/peer.js';
import type { RoundRecord } from './metrics.js';
import { addModel, roundRecord, type RoundPartial } from './round-partial.js';
import type { PreparedRun } from './run-prepare.js';
import type { BuiltSwarm } from './run-swarm.js';

/** Where the records go and what stops the run. */
export interface CollectDeps {
  pool: WorkerPool;
  signal?: AbortSignal;
  onRecord?: (r: RoundRecord) => void;
  /** Called as each peer reports a round (benchmarks time rounds by it: records can close in bursts). */
  onPeerRound?: (peer: number, round: number, summary: RoundSummary) => void;
  onInfo?: (line: string) => void;
  /** Each round's partial, for a multi-process run's merging process. */
  onPartial?: (p: RoundPartial) => void;
}

interface Pending { vectors: Map<number, Float32Array>; summaries: Map<number, RoundSummary>; bytesOut: number; aggregators: Set<number> }

function maxPhase(p: Pending, k: 'train' | 'exchange' | 'aggregate'): number {
  let m = 0;
  for (const x of p.summaries.values()) m = Math.max(m, x.phaseMs[k]);
  return m;
}

/** Collects one run's rounds (see the module comment). */
export class RoundCollector {
  readonly records: RoundRecord[] = [];
  private readonly pending = new Map<number, Pending>();
  private finalize: Promise<void> = Promise.resolve();
  private readonly hosted: Set<number>;
  private readonly runStart = Date.now();
  /** Overlapping rounds: every round up to this one is closed or closing. */
  private closedUpTo = 0;
  private readonly closing = new Set<number>();
  private readonly reporters = new Map<number, number>();
  /** Overlapping rounds: bytes of a hand-off repeated after its round was recorded (liveness), for the next record. */
  private lateBytes = 0;
  private readonly gone = new Set<number>();

  constructor(private readonly p: PreparedRun, private readonly b: BuiltSwarm, private readonly deps: CollectDeps) {
    this.hosted = new Set(b.swarm.hosted);
  }

  /** Run the swarm to its last round (or the signal) and finalise every round; resolves whether it was aborted. */
  async collect(): Promise<{ aborted: boolean }> {
    const { b, deps } = this;
    const crashWatch = b.overlapping ? [] : this.watchCrashes();
    let aborted = false;
    const onAbort = (): void => { aborted = true; };
    deps.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await b.swarm.run((i, s) => this.onRound(i, s), { signal: deps.signal }).catch((err: unknown) => {
        // An overlapping round whose trainers all crashed has nobody left to restart it: report what ran.
        if (b.overlapping && (err as { code?: string }).code === 'ERR_SIMULATION_STALLED') deps.onInfo?.(`the swarm stalled: ${(err as Error).message}`);
        else if (!aborted) throw err;
      });
      if (b.overlapping) this.closeUpTo(Infinity);
      await this.finalize;
    } finally {
      deps.signal?.removeEventListener('abort', onAbort);
      crashWatch.forEach((off) => off());
      await this.finalize.catch(() => {});
    }
    return { aborted };
  }

  private onRound(i: number, s: RoundSummary): void {
    this.deps.onPeerRound?.(i, s.round, s);
    if (this.b.attackers.has(i)) return;
    if (this.b.overlapping && s.round <= this.closedUpTo) { this.lateBytes += s.bytesOut; return; }
    let p = this.pending.get(s.round);
    if (!p) { p = { vectors: new Map(), summaries: new Map(), bytesOut: 0, aggregators: new Set() }; this.pending.set(s.round, p); }
    // No copy (100 kB per peer and round for the MLP): a finished round's vector is never written again (peer.ts),
    // nor recycled while held here (node/vector-bank.ts; released once the round's record is out).
    const peer = this.b.swarm.peerAt(i)!;
    const v = peer.vectorView();
    peer.vectors()?.hold(v);
    const before = p.vectors.get(i);
    if (before !== undefined) peer.vectors()?.release(before);
    p.vectors.set(i, v);
    p.summaries.set(i, s);
    p.bytesOut += s.bytesOut;
    if (s.roles?.includes('aggregator')) p.aggregators.add(i);
    if (this.b.overlapping) {
      // A report of round r + 2 means round r is over.
      this.closedUpTo = Math.max(this.closedUpTo, s.round - 2);
      this.closeUpTo(this.closedUpTo);
      this.churnAtSwarmRound(s);
    } else if (p.vectors.size >= this.expectedReporters(s.round)) {
      const round = s.round;
      this.finalize = this.finalize.then(() => this.close(round));
    }
  }

  /** Honest hosted peers online in `round`; counted once per round (every report asks: O(N²) at 10,000 peers). */
  private expectedReporters(round: number): number {
    let n = this.reporters.get(round);
    if (n === undefined) {
      n = this.b.honest.filter((i) => this.hosted.has(i) && this.b.churn.online(i, round)).length;
      this.reporters.set(round, n);
    }
    return n;
  }

  private closeUpTo(upTo: number): void {
    for (const r of [...this.pending.keys()].filter((r) => r <= upTo && !this.closing.has(r)).sort((a, b) => a - b)) {
      this.closing.add(r);
      this.finalize = this.finalize.then(() => this.close(r));
    }
  }

  /** The evaluated peers of a round: a sample of the honest online ones (all in the last round). */
  private evaluated(round: number, p: Pending): number[] {
    const { e } = this.p;
    const last = round === e.rounds;
    // The sample is drawn over every honest online peer, so all processes of a swarm agree on it.
    const online = this.b.honest.filter((i) => this.b.churn.online(i, round));
    const due = last || round === 1 || round % e.eval.every === 0;
    const sample = !due ? [] : last || e.eval.fraction >= 1 ? online
      : rngFor('eval', e.seed, round).sample(online, Math.max(1, Math.round(e.eval.fraction * online.length)));
    // Overlapping rounds: a round's model is its aggregators' average; trainers' local models only stand in when no aggregator reported.
    return (this.b.overlapping && p.aggregators.size > 0 ? (due ? [...p.aggregators] : []) : sample.filter((i) => p.vectors.has(i))).sort((a, b) => a - b);
  }

  private async close(round: number): Promise<void> {
    const { p: run, deps } = this;
    const p = this.pending.get(round)!;
    this.pending.delete(round);
    const reporters = [...p.vectors.keys()].sort((a, b) => a - b);
    const evals = await Promise.all(this.evaluated(round, p).map((i) => deps.pool.evaluate(
      { spec: run.spec, weights: p.vectors.get(i)!, dataset: run.dataset, indices: run.testIndices, kernel: run.e.train.kernel }, { background: true, priority: round })));
    const traffic = this.b.swarm.networks.flatMap((net) => net.traffic());
    const lateBytes = this.lateBytes;
    this.lateBytes = 0;
    const partial: RoundPartial = {
      run: run.run.name, round, time: Date.now() - this.runStart, accuracies: evals.map((x) => x.accuracy), losses: evals.map((x) => x.loss),
      sum: new Float64Array(run.layout.size), sumSq: 0, count: 0,
      bytesSentRound: p.bytesOut + lateBytes,
      bytesReceivedTotal: traffic.reduce((s, t) => s + t.bytesIn, 0),
      rejectedTotal: traffic.reduce((s, t) => s + Object.values(t.rejections).reduce((a, b) => a + b, 0), 0),
      wall: { train: maxPhase(p, 'train'), exchange: maxPhase(p, 'exchange'), aggregate: maxPhase(p, 'aggregate') }, last: round === run.e.rounds,
    };
    for (const i of reporters) addModel(partial, p.vectors.get(i)!);
    // The evaluations are answered (their weights were staged when dispatched) and the sums taken: the vectors may go.
    for (const [i, v] of p.vectors) this.b.swarm.peerAt(i)?.vectors()?.release(v);
    deps.onPartial?.(partial);
    const rec = roundRecord(partial, this.records.at(-1));
    this.records.push(rec);
    deps.onRecord?.(rec);
  }

  /** Crashes: a peer stops without notice when it reaches its crash round. */
  private watchCrashes(): Array<() => void> {
    return [...this.hosted].flatMap((i) => {
      const peer = this.b.swarm.peerAt(i);
      return peer ? [peer.onRound((s) => { if (s.round + 1 >= this.b.churn.crashRound(i)) void peer.stop(); })] : [];
    });
  }

  /**
   * Churn at the swarm's round (overlapping rounds): once the average of round r − 1 went to the trainers of
   * round r, the peers scheduled to crash at r stop without notice and leave the network (pings to them
   * fail), and those scheduled to leave at r leave gracefully first. Joiners stay dormant until their engine
   * hears of round r.
   */
  private churnAtSwarmRound(s: RoundSummary): void {
    if (!s.roles?.includes('aggregator')) return;
    const started = s.round + 1;
    const { churn, swarm } = this.b;
    for (const i of this.hosted) {
      const crash = churn.crashRound(i) <= started;
      const leave = !crash && churn.joinRound(i) < started && churn.knownAbsent(i, started);
      const peer = swarm.peerAt(i);
      if (this.gone.has(i) || (!crash && !leave) || !peer) continue;
      this.gone.add(i);
      void (crash ? peer.stop() : peer.leave()).then(() => swarm.disconnect(i));
    }
  }
}
