/**
 * What one process knows about a round: its hosted honest peers' evaluations, the sum and squared norms of their
 * models (enough for the exact consensus distance: mean‖w_i − w̄‖² = Σ‖w_i‖²/n − ‖Σw_i/n‖²), and its traffic.
 * A one-process run turns its tally into the record directly (roundRecord); `--processes K` ships one partial per
 * process and round (possibly from other machines) and combines them (combinePartials).
 */
import { accuracyStats, type RoundRecord } from './metrics.js';

export interface RoundPartial {
  run: string;
  round: number;
  /** Wall ms since the run started in the process that measured it. */
  time: number;
  accuracies: number[];
  losses: number[];
  /** Σ w_i over the reporting honest peers (Float64). */
  sum: Float64Array;
  sumSq: number;
  count: number;
  bytesSentRound: number;
  /** Cumulative bytes received and frames rejected by this process's peers. */
  bytesReceivedTotal: number;
  rejectedTotal: number;
  wall: { train: number; exchange: number; aggregate: number };
  last: boolean;
}

/** Add a model to a partial's sums. */
export function addModel(p: Pick<RoundPartial, 'sum' | 'sumSq' | 'count'>, v: Float32Array): void {
  // Four squared-norm partial sums: one running sum is a chain of dependent adds, 4 cycles per element.
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
  const sum = p.sum, d = v.length;
  for (; k + 4 <= d; k += 4) {
    const x0 = v[k]!, x1 = v[k + 1]!, x2 = v[k + 2]!, x3 = v[k + 3]!;
    sum[k] = sum[k]! + x0; sum[k + 1] = sum[k + 1]! + x1; sum[k + 2] = sum[k + 2]! + x2; sum[k + 3] = sum[k + 3]! + x3;
    s0 += x0 * x0; s1 += x1 * x1; s2 += x2 * x2; s3 += x3 * x3;
  }
  for (; k < d; k++) { const x = v[k]!; sum[k] = sum[k]! + x; s0 += x * x; }
  p.sumSq += (s0 + s1) + (s2 + s3);
  p.count++;
}

/**
 * The record of a round from one process's tally: what a one-process run writes directly. Exact consensus
 * distance from the sums (mean‖w_i − w̄‖² = Σ‖w_i‖²/n − ‖Σw_i/n‖²); previous gives the cumulative fields.
 */
export function roundRecord(t: RoundPartial, previous: RoundRecord | undefined): RoundRecord {
  const d = t.sum.length;
  let meanNormSq = 0;
  for (let k = 0; k < d; k++) meanNormSq += (t.sum[k]! / Math.max(1, t.count)) ** 2;
  const cd = t.count > 1 ? Math.max(0, t.sumSq / t.count - meanNormSq) : 0;
  const sentRound = t.bytesSentRound, received = t.bytesReceivedTotal, rejected = t.rejectedTotal;
  return {
    run: t.run, round: t.round, time: t.time,
    honest: t.accuracies.length ? accuracyStats(t.accuracies) : previous?.honest ?? accuracyStats([0]),
    loss: t.losses.length ? accuracyStats(t.losses) : previous?.loss ?? accuracyStats([0]),
    consensusDistance: cd, consensusRms: Math.sqrt(cd / Math.max(1, d)),
    bytesSent: (previous?.bytesSent ?? 0) + sentRound, bytesReceived: received,
    bytesSentRound: sentRound, bytesReceivedRound: received - (previous?.bytesReceived ?? 0),
    framesRejected: rejected, framesRejectedRound: rejected - (previous?.framesRejected ?? 0),
    wallMs: { train: Math.max(0, t.wall.train), exchange: Math.max(0, t.wall.exchange), aggregate: Math.max(0, t.wall.aggregate), total: t.time - (previous?.time ?? 0) },
    peersOnline: t.count,
    ...(t.last ? { perPeerAccuracy: t.accuracies } : {}),
  };
}

/** One round record from the partials of every process of a multi-process swarm (all for the same run and round). */
export function combinePartials(parts: readonly RoundPartial[], previous: RoundRecord | undefined): RoundRecord {
  const first = parts[0]!;
  const sum = new Float64Array(first.sum.length);
  for (let k = 0; k < sum.length; k++) {
    let t = 0;
    for (const p of parts) t += p.sum[k]!;
    sum[k] = t;
  }
  const total = (f: (p: RoundPartial) => number): number => parts.reduce((s, p) => s + f(p), 0);
  const max = (k: 'train' | 'exchange' | 'aggregate') => Math.max(0, ...parts.map((p) => p.wall[k]));
  return roundRecord({
    run: first.run, round: first.round, time: Math.max(...parts.map((p) => p.time)),
    accuracies: parts.flatMap((p) => p.accuracies), losses: parts.flatMap((p) => p.losses),
    sum, sumSq: total((p) => p.sumSq), count: total((p) => p.count),
    bytesSentRound: total((p) => p.bytesSentRound), bytesReceivedTotal: total((p) => p.bytesReceivedTotal), rejectedTotal: total((p) => p.rejectedTotal),
    wall: { train: max('train'), exchange: max('exchange'), aggregate: max('aggregate') }, last: parts.some((p) => p.last),
  }, previous);
}

/** One JSON line (the sum travels as base64 of its Float64 bytes). */
export function encodePartial(p: RoundPartial): string {
  const { sum, ...rest } = p;
  return JSON.stringify({ ...rest, sum: Buffer.from(sum.buffer, sum.byteOffset, sum.byteLength).toString('base64') });
}

export function decodePartial(line: string): RoundPartial {
  const o = JSON.parse(line) as Omit<RoundPartial, 'sum'> & { sum: string };
  const b = Buffer.from(o.sum, 'base64');
  const sum = new Float64Array(b.byteLength / 8);
  new Uint8Array(sum.buffer).set(b);
  return { ...o, sum };
}
