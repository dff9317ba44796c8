/**
 * Network effects as small objects checked when built (STYLE.md §3.4, after gossipy's delay classes):
 * latency per link and message, bandwidth per link, loss per message. Randomness is seeded per
 * (seed, link, message), so a message's fate does not depend on how many other messages were sent.
 * Links are directed pairs of peer indices. Units: ms, bytes, bytes per ms.
 */
import { rngFor } from '../../node/data/rng.js';
import { LinkModelError } from './errors.js';

/** One directed link: sender and receiver peer indices. */
export interface Link {
  readonly from: number;
  readonly to: number;
}

/** One-way latency of a message, ms (finite, ≥ 0). `message` identifies the message on its link. */
export interface LatencyModel {
  readonly kind: string;
  latencyMs(link: Link, message: number | string): number;
}

/** Throughput of a link, bytes per ms (> 0; Infinity = no transfer time). */
export interface BandwidthModel {
  readonly kind: string;
  bytesPerMs(link: Link): number;
}

/** Whether a message is lost. */
export interface DropModel {
  readonly kind: string;
  dropped(link: Link, message: number | string): boolean;
}

/** The three models of a virtual network. */
export interface LinkModels {
  latency: LatencyModel;
  bandwidth: BandwidthModel;
  drop: DropModel;
}

const finiteAtLeast = (field: string, v: number, min: number): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new LinkModelError(field, v, `must be a finite number ≥ ${min}`);
  return v;
};

/** The same latency on every link: `ms` ≥ 0. Throws LinkModelError otherwise. */
export function constantLatency(ms: number): LatencyModel {
  finiteAtLeast('latency ms', ms, 0);
  return Object.freeze({ kind: 'constant', latencyMs: () => ms });
}

/**
 * Latency uniform in [minMs, maxMs), drawn per (seed, link, message), so it is reproducible and independent
 * of other traffic. Throws LinkModelError unless 0 ≤ minMs ≤ maxMs, both finite.
 */
export function uniformLatency(minMs: number, maxMs: number, seed: number | string): LatencyModel {
  finiteAtLeast('uniform latency minMs', minMs, 0);
  finiteAtLeast('uniform latency maxMs', maxMs, minMs);
  const span = maxMs - minMs;
  return Object.freeze({
    kind: 'uniform',
    latencyMs: (link: Link, message: number | string) => minMs + span * rngFor('murmur-latency', seed, link.from, link.to, message).next(),
  });
}

/** The same throughput on every link, bytes per ms (> 0, Infinity allowed: frames take no transfer time). */
export function constantBandwidth(bytesPerMs: number): BandwidthModel {
  if (typeof bytesPerMs !== 'number' || !(bytesPerMs > 0)) throw new LinkModelError('bandwidth bytesPerMs', bytesPerMs, 'must be > 0 (Infinity for no transfer time)');
  return Object.freeze({ kind: 'constant', bytesPerMs: () => bytesPerMs });
}

/** No transfer time on any link. */
export const UNLIMITED_BANDWIDTH: BandwidthModel = constantBandwidth(Infinity);

/**
 * Each message is lost with probability `p` ∈ [0, 1], decided per (seed, link, message). Throws
 * LinkModelError outside [0, 1] (NaN included).
 */
export function dropProbability(p: number, seed: number | string): DropModel {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new LinkModelError('drop probability', p, 'must be in [0, 1]');
  return Object.freeze({
    kind: 'bernoulli',
    dropped: (link: Link, message: number | string) => p > 0 && (p >= 1 || rngFor('murmur-drop', seed, link.from, link.to, message).next() < p),
  });
}

/** No message is lost. */
export const NO_DROP: DropModel = dropProbability(0, 0);

/** Default one-way latency, ms: the 1 ms of the libp2p memory transport in the 'swarm' preset. */
export const DEFAULT_LATENCY_MS = 1;

/**
 * Latency of one message, checked: a custom model returning a negative or non-finite value throws
 * LinkModelError naming the link instead of corrupting the clock.
 */
export function sampleLatency(model: LatencyModel, link: Link, message: number | string): number {
  const ms = model.latencyMs(link, message);
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new LinkModelError(`${model.kind} latency of link ${link.from}→${link.to}`, ms, 'must be a finite number ≥ 0');
  return ms;
}

/** Transfer time of `bytes` on a link, ms, checked like `sampleLatency`. */
export function transferMs(model: BandwidthModel, link: Link, bytes: number): number {
  const rate = model.bytesPerMs(link);
  if (typeof rate !== 'number' || !(rate > 0)) throw new LinkModelError(`${model.kind} bandwidth of link ${link.from}→${link.to}`, rate, 'must be > 0 bytes per ms');
  return rate === Infinity ? 0 : bytes / rate;
}
