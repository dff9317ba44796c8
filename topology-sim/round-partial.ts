/**
 * What one process knows about a round: its hosted honest peers' evaluations, the sum and squared norms of their
 * models (enough for the exact consensus distance: mean‖w_i − w̄‖² = Σ‖w_i‖²/n − ‖Σw_i/n‖²), and its traffic.
 * A single-process run combines one partial per round; `--processes K` combines K, possibly from other machines.
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
  let sq = 0;
  for (let k = 0; k < v.length; k++) { const x = v[k]!; p.sum[k] = p.sum[k]! + x; sq += x * x; }
  p.sumSq += sq;
  p.count++;
}

/** One round record from the partials of every process (all for the same run and round). */
export function combinePartials(parts: readonly RoundPartial[], previous: RoundRecord | undefined): RoundRecord {
  const first = parts[0]!;
  const accuracies = parts.flatMap((p) => p.accuracies), losses = parts.flatMap((p) => p.losses);
  const count = parts.reduce((s, p) => s + p.count, 0);
  const sumSq = parts.reduce((s, p) => s + p.sumSq, 0);
  const d = first.sum.length;
  let meanNormSq = 0;
  for (let k = 0; k < d; k++) {
    let t = 0;
    for (const p of parts) t += p.sum[k]!;
    meanNormSq += (t / Math.max(1, count)) ** 2;
  }
  const cd = count > 1 ? Math.max(0, sumSq / count - meanNormSq) : 0;
  const sentRound = parts.reduce((s, p) => s + p.bytesSentRound, 0);
  const received = parts.reduce((s, p) => s + p.bytesReceivedTotal, 0);
  const rejected = parts.reduce((s, p) => s + p.rejectedTotal, 0);
  const time = Math.max(...parts.map((p) => p.time));
  const max = (k: 'train' | 'exchange' | 'aggregate') => Math.max(0, ...parts.map((p) => p.wall[k]));
  return {
    run: first.run, round: first.round, time,
    honest: accuracies.length ? accuracyStats(accuracies) : previous?.honest ?? accuracyStats([0]),
    loss: losses.length ? accuracyStats(losses) : previous?.loss ?? accuracyStats([0]),
    consensusDistance: cd, consensusRms: Math.sqrt(cd / Math.max(1, d)),
    bytesSent: (previous?.bytesSent ?? 0) + sentRound, bytesReceived: received,
    bytesSentRound: sentRound, bytesReceivedRound: received - (previous?.bytesReceived ?? 0),
    framesRejected: rejected, framesRejectedRound: rejected - (previous?.framesRejected ?? 0),
    wallMs: { train: max('train'), exchange: max('exchange'), aggregate: max('aggregate'), total: time - (previous?.time ?? 0) },
    peersOnline: count,
    ...(parts.some((p) => p.last) ? { perPeerAccuracy: accuracies } : {}),
  };
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
