/**
 * The second step of a run (runner.ts): the swarm. The topology (and its per-round re-samples), which peers
 * attack and how, who is present when (churn), one algorithm instance per peer, and the Swarm over the
 * experiment's transport, built but not started.
 */
import { defaultRegistry } from '../node/algorithms/defaults.js';
import type { ResolvedAlgorithm } from '../node/algorithms/registry.js';
import { ConfigError } from '../node/errors.js';
import type { WorkerPool } from '../node/learner/pool.js';
import { adversarial, attackerSet } from './adversary.js';
import { presence, type Presence } from './churn.js';
import { Libp2pSwarm } from './libp2p-swarm.js';
import type { PreparedRun } from './run-prepare.js';
import { mixingSpectralGap } from './spectral.js';
import type { Swarm, SwarmInit } from './swarm.js';
import { buildTopology, graphStats, validateTopologySpec, type Graph } from './topologies.js';
import { constantBandwidth, constantLatency, dropProbability } from './virtual/links.js';
import { VirtualSwarm } from './virtual-swarm.js';

/**
 * How an engine's rounds map onto the swarm (one entry per engine that is not round-synchronous):
 * `overlapping` rounds (MoDeST: round r's average is computed while round r + 1 trains) are closed late and
 * take churn at the swarm's round; such an engine samples peers beyond its neighbours, so every node learns
 * every address, and it has no per-round presence ('churn.online').
 */
const OVERLAPPING_ENGINES = new Set(['modest']);
/**
 * Engines that publish announcements (MoDeST: round beacons, join and leave): only their libp2p swarms run
 * gossipsub. The others never announce in a simulation (only a daemon does), so their nodes skip it and
 * identify (libp2p-swarm.ts `announcements`).
 */
const ANNOUNCING_ENGINES = new Set(['modest']);

/** The swarm of a run and what the round collection needs to know about it. */
export interface BuiltSwarm {
  readonly swarm: Swarm;
  readonly graph: Graph;
  readonly topology: { edges: number; meanDegree: number; spectralGap: number };
  readonly attackers: ReadonlySet<number>;
  /** Non-attacking peer indices, ascending: the metrics are theirs. */
  readonly honest: readonly number[];
  readonly churn: Presence;
  /** Whether the engine's rounds overlap (see OVERLAPPING_ENGINES). */
  readonly overlapping: boolean;
}

function stripResample(t: { kind: string; resample?: boolean }): unknown {
  const { resample: _r, ...rest } = t;
  return rest;
}

/** The topology, its per-round re-samples (when `topology.resample`), and the facts the report prints. */
function topologyOf(p: PreparedRun, info: (line: string) => void): { graph: Graph; graphAt: (round: number) => Graph; topology: BuiltSwarm['topology'] } {
  const { e, n } = p;
  const topoSpec = validateTopologySpec(stripResample(e.topology), n);
  const graph: Graph = buildTopology(topoSpec, n, e.seed);
  const stats = graphStats(graph);
  const gap = n <= 2000 ? mixingSpectralGap(graph) : NaN;
  info(`topology ${topoSpec.kind}: ${stats.edges} edges, degree ${stats.minDegree}–${stats.maxDegree} (mean ${stats.meanDegree.toFixed(2)}), spectral gap of the Metropolis–Hastings matrix ${gap.toFixed(4)}`);
  const resampled = new Map<number, Graph>();
  const graphAt = (round: number): Graph => {
    if (!e.topology.resample) return graph;
    if (!resampled.has(round)) resampled.set(round, buildTopology(topoSpec, n, `${String(e.seed)}/round-${round}`));
    return resampled.get(round)!;
  };
  return { graph, graphAt, topology: { edges: stats.edges, meanDegree: stats.meanDegree, spectralGap: gap } };
}

/** One resolved algorithm per peer; attackers get theirs wrapped (adversary.ts). */
function algorithmsOf(p: PreparedRun, attackers: ReadonlySet<number>, honestModels: () => Float32Array[]): ResolvedAlgorithm[] {
  const { e, n, layout, initial } = p;
  const registry = defaultRegistry();
  const { name, ...params } = e.algorithm;
  return Array.from({ length: n }, (_, i) => {
    const resolved = registry.resolve(name, params, { layout, mode: e.mode, initial });
    if (!attackers.has(i) || !e.adversaries) return resolved;
    const context = { layout, classes: p.data.dataset.classCount, initial, peerIndex: i, seed: e.seed, peers: n, attackers: attackers.size, honestModels };
    return { ...resolved, instance: adversarial(resolved.instance, e.adversaries.behaviour, context) };
  });
}

/** The experiment's transport: the virtual network, or libp2p in this process (or this share of it). */
function swarmOver(p: PreparedRun, init: SwarmInit, engine: string, pool: WorkerPool, share: { index: number; count: number } | undefined): Swarm {
  const overlapping = OVERLAPPING_ENGINES.has(engine);
  const { e, n } = p;
  if (e.transport === 'virtual') {
    return new VirtualSwarm({
      ...init,
      net: {
        latency: constantLatency(e.network.latencyMs + (e.churn?.delayMs ?? 0)),
        ...(e.network.bandwidthBytesPerMs ? { bandwidth: constantBandwidth(e.network.bandwidthBytesPerMs) } : {}),
        ...(e.churn?.drop ? { drop: dropProbability(e.churn.drop, `${String(e.seed)}/drop`) } : {}),
        sendTimeoutMs: e.network.sendTimeoutMs,
      },
    }, { pool });
  }
  if (e.churn?.drop || e.churn?.delayMs) throw new ConfigError('churn.drop and churn.delayMs need transport: virtual (the libp2p transports deliver every message)');
  const spread = share && share.count > 1 ? share : null;
  // Spread over processes, a memory swarm connects the peers of one process over memory and the others over tcp.
  const shares = spread ? {
    hosted: Array.from({ length: n }, (_, i) => i).filter((i) => i % spread.count === spread.index),
    address: (i: number) => `/ip4/${e.network.hosts[i % spread.count] ?? '127.0.0.1'}/tcp/${e.network.portBase + i}`,
    memoryWithin: e.transport === 'memory',
  } : undefined;
  return new Libp2pSwarm({ ...init, transport: spread ? 'tcp' : e.transport, dialConcurrency: e.network.dialConcurrency, dialOnDemand: e.topology.resample || overlapping, announcements: ANNOUNCING_ENGINES.has(engine), shares }, { pool });
}

/** Topology, attackers, churn, algorithms and the swarm (not started). */
export function buildSwarm(p: PreparedRun, pool: WorkerPool, info: (line: string) => void, share?: { index: number; count: number }): BuiltSwarm {
  const { e, n } = p;
  const { graph, graphAt, topology } = topologyOf(p, info);
  const attackers = attackerSet(e.adversaries, n, e.seed);
  const honest = Array.from({ length: n }, (_, i) => i).filter((i) => !attackers.has(i));
  const churn = presence(e.churn, n, e.seed, (i) => !attackers.has(i));
  let swarm: Swarm | null = null;
  const honestModels = (): Float32Array[] => (swarm ? honest.flatMap((i) => { const peer = swarm!.peerAt(i); return peer ? [peer.vector()] : []; }) : []);
  const algorithms = algorithmsOf(p, attackers, honestModels);
  const engine = algorithms[0]?.engine.name ?? '';
  const overlapping = OVERLAPPING_ENGINES.has(engine);
  if (overlapping && e.churn?.online !== undefined && e.churn.online < 1) throw new ConfigError(`churn.online is not supported with the ${engine} engine: use crash, join and leave schedules`);
  const init: SwarmInit = {
    swarm: `sim-${p.run.name}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64), seed: e.seed, graph,
    peers: p.split.parts.map((rows, i) => ({ trainIndices: rows, algorithm: algorithms[i]! })),
    algorithmName: e.algorithm.name, mode: e.mode, model: p.spec, layout: p.layout, initial: p.initials ? (i: number) => p.initials![i]! : p.initial,
    train: { ...e.train }, dataset: p.dataset, testIndices: new Uint32Array(0),
    rounds: { maxRounds: e.rounds, timeoutMs: e.network.timeoutMs, sendTimeoutMs: e.network.sendTimeoutMs, minRoundMs: 0, periodMs: e.network.periodMs, evalEvery: 0 },
    // MoDeST derives its own sample each round: the topology is only each peer's initial view.
    neighboursOf: (i: number, round: number) => graphAt(round)[i]!.filter((j) => !churn.knownAbsent(j, round)),
    isOnline: (i: number, round: number) => churn.online(i, round),
  };
  swarm = swarmOver(p, init, engine, pool, share);
  return { swarm, graph, topology, attackers, honest, churn, overlapping };
}
