/**
 * Runs one run of an experiment: data and partition, topology, model, algorithm instances (attackers wrapped),
 * a swarm (libp2p in-process or the virtual network), and per-round metrics over the honest peers, written as
 * they are finalised (STYLE.md §3.5: the report only reads the records).
 */
import { defaultRegistry } from '../node/algorithms/defaults.js';
import type { AlgorithmInstance } from '../node/algorithms/types.js';
import { resolveModelSpec } from '../node/config.js';
import { datasetParts } from '../node/data/dataset.js';
import { partition } from '../node/data/partitioners.js';
import { rngFor } from '../node/data/rng.js';
import { loadDataSource, type DataSourceSpec, type LoadedData } from '../node/data/source.js';
import type { WorkerPool } from '../node/learner/pool.js';
import type { RoundSummary } from '../node/peer.js';
import { adversarial, attackerSet } from './adversary.js';
import { presence } from './churn.js';
import type { ResolvedRun } from './experiment.js';
import type { RoundRecord } from './metrics.js';
import { addModel, combinePartials, type RoundPartial } from './round-partial.js';
import { Libp2pSwarm } from './swarm.js';
import { VirtualSwarm } from './virtual-swarm.js';
import { constantBandwidth, constantLatency, dropProbability } from './virtual/links.js';
import { ConfigError } from '../node/errors.js';
import { mixingSpectralGap } from './spectral.js';
import { buildTopology, graphStats, validateTopologySpec, type Graph } from './topologies.js';

export interface RunDeps {
  pool: WorkerPool;
  signal?: AbortSignal;
  /** Called with each finalised round record. */
  onRecord?: (r: RoundRecord) => void;
  /** Free-form progress lines (bring-up, topology facts). */
  onInfo?: (line: string) => void;
  /** Called with each round's partial (multi-process runs ship these to the merging process). */
  onPartial?: (p: RoundPartial) => void;
  /** This process hosts share `index` of `count` (peers i with i mod count = index). */
  share?: { index: number; count: number };
}

export interface MemoryReport {
  /** RSS before the swarm was built (data, workers and TF.js loaded), bytes. */
  baselineRss: number;
  /** Highest RSS sampled while the swarm existed, bytes. */
  peakRss: number;
  /** (peak − baseline − peers × weight bytes) / peers, bytes: what a peer costs beyond its weights. */
  perPeerBeyondWeights: number;
  weightBytes: number;
}

export interface RunResult {
  memory: MemoryReport;
  records: RoundRecord[];
  topology: { edges: number; meanDegree: number; spectralGap: number };
  attackers: number[];
  /** Model hash of every peer at the end (determinism checks). */
  finalHashes: string[];
  partitionHistograms: number[][];
  aborted: boolean;
}

const dataCache = new Map<string, Promise<LoadedData>>();
function loadData(spec: DataSourceSpec, seed: number | string, testSize?: number): Promise<LoadedData> {
  const key = JSON.stringify([spec, seed, testSize]);
  if (!dataCache.has(key)) dataCache.set(key, loadDataSource(spec, { seed, testSize }));
  return dataCache.get(key)!;
}

interface Pending { vectors: Map<number, Float32Array>; summaries: Map<number, RoundSummary>; bytesOut: number; aggregators: Set<number> }

export async function runExperimentRun(run: ResolvedRun, deps: RunDeps): Promise<RunResult> {
  const e = run.experiment;
  const n = e.peers;
  const info = deps.onInfo ?? (() => {});
  const source: DataSourceSpec = e.data.source === 'csv' ? { source: 'csv', path: e.data.path!, classCount: e.data.classCount }
    : e.data.source === 'synthetic' ? { source: 'synthetic', size: e.data.size, featureCount: e.data.featureCount, classCount: e.data.classCount ?? 10 }
      : { source: 'digits' };
  const data = await loadData(source, e.data.seed, e.data.testSize);
  const ds = data.dataset;
  // Bristle pre-trains on the first `pretrain.rows` training rows; peers share the rest (or trainSize of it).
  const pretrainRows = e.pretrain ? data.train.subarray(0, e.pretrain.rows) : new Uint32Array(0);
  const peerRows = data.train.subarray(pretrainRows.length, e.data.trainSize ? pretrainRows.length + e.data.trainSize : undefined);
  const split = partition(e.data.partition, ds.y, peerRows, n, ds.classCount, e.data.seed);
  const testIndices = e.eval.testSize ? data.test.subarray(0, e.eval.testSize) : data.test;
  const dataset = { id: `${ds.name}`, parts: datasetParts(ds) };

  const spec = resolveModelSpec(e.model, ds);
  const { layout, initial: shared } = await deps.pool.describe(spec);
  let initial = shared;
  if (e.pretrain) {
    initial = (await deps.pool.train({ spec, weights: shared, dataset, indices: pretrainRows, options: { lr: e.pretrain.lr, epochs: e.pretrain.epochs, batchSize: 32, seed: `${String(e.seed)}/pretrain` } })).weights;
    const acc = (await deps.pool.evaluate({ spec, weights: initial, dataset, indices: testIndices })).accuracy;
    info(`pre-trained the shared model on ${pretrainRows.length} rows no peer holds: test accuracy ${(100 * acc).toFixed(1)}%`);
  }
  const initials: Float32Array[] | null = e.model.independentInit
    ? await Promise.all(Array.from({ length: n }, async (_, i) => (await deps.pool.describe({ ...spec, seed: `${String(e.model.seed)}/peer-${i}` } as typeof spec)).initial))
    : null;

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

  const attackers = attackerSet(e.adversaries, n, e.seed);
  const honest = Array.from({ length: n }, (_, i) => i).filter((i) => !attackers.has(i));
  const churn = presence(e.churn, n, e.seed, (i) => !attackers.has(i));
  // MoDeST derives its own sample each round: the topology is only each peer's initial view, and churn is
  // applied at the swarm's round (modestChurn below), not at each peer's own rounds.
  const isModest = e.algorithm.name === 'modest';
  if (isModest && e.churn?.online !== undefined && e.churn.online < 1) throw new ConfigError('churn.online is not supported with modest: use crash, join and leave schedules');
  const registry = defaultRegistry();
  const { name: algorithmName, ...algorithmParams } = e.algorithm;
  let swarm: Libp2pSwarm | VirtualSwarm | null = null;
  const honestModels = () => (swarm ? honest.flatMap((i) => { const p = swarm instanceof Libp2pSwarm ? swarm.peerAt(i) : swarm!.peers[i]; return p ? [p.vector()] : []; }) : []);
  const instances: AlgorithmInstance[] = Array.from({ length: n }, (_, i) => {
    const base = registry.resolve(algorithmName, algorithmParams, { layout, mode: e.mode, initial }).instance;
    if (!attackers.has(i) || !e.adversaries) return base;
    return adversarial(base, e.adversaries.behaviour, { layout, classes: ds.classCount, initial, peerIndex: i, seed: e.seed, peers: n, attackers: attackers.size, honestModels });
  });

  const common = {
    swarm: `sim-${run.name}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64), seed: e.seed, graph,
    peers: split.parts.map((p, i) => ({ trainIndices: p, algorithm: { definition: registry.get(algorithmName), params: algorithmParams, instance: instances[i]! } })),
    algorithmName, mode: e.mode, model: spec, layout, initial: initials ? (i: number) => initials[i]! : initial,
    train: { ...e.train }, dataset, testIndices: new Uint32Array(0),
    rounds: { maxRounds: e.rounds, timeoutMs: e.network.timeoutMs, sendTimeoutMs: e.network.sendTimeoutMs, minRoundMs: 0, periodMs: e.network.periodMs, evalEvery: 0 },
    neighboursOf: (i: number, round: number) => graphAt(round)[i]!.filter((j) => !churn.knownAbsent(j, round)),
    isOnline: (i: number, round: number) => churn.online(i, round),
  };
  if (e.transport === 'virtual') {
    swarm = new VirtualSwarm({
      ...common,
      net: {
        latency: constantLatency(e.network.latencyMs + (e.churn?.delayMs ?? 0)),
        ...(e.network.bandwidthBytesPerMs ? { bandwidth: constantBandwidth(e.network.bandwidthBytesPerMs) } : {}),
        ...(e.churn?.drop ? { drop: dropProbability(e.churn.drop, `${String(e.seed)}/drop`) } : {}),
        sendTimeoutMs: e.network.sendTimeoutMs,
      },
    }, { pool: deps.pool });
  } else {
    if (e.churn?.drop || e.churn?.delayMs) throw new ConfigError('churn.drop and churn.delayMs need transport: virtual (the libp2p transports deliver every message)');
    const share = deps.share && deps.share.count > 1 ? deps.share : null;
    if (share && e.transport !== 'tcp') throw new ConfigError(`a swarm spread over ${share.count} processes needs transport: tcp (got ${e.transport})`);
    const shares = share ? {
      hosted: Array.from({ length: n }, (_, i) => i).filter((i) => i % share.count === share.index),
      address: (i: number) => `/ip4/${e.network.hosts[i % share.count] ?? '127.0.0.1'}/tcp/${e.network.portBase + i}`,
    } : undefined;
    swarm = new Libp2pSwarm({ ...common, transport: e.transport, dialConcurrency: e.network.dialConcurrency, dialOnDemand: e.topology.resample || isModest, shares }, { pool: deps.pool });
  }

  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);
  sampler.unref();
  const t0 = Date.now();
  info(`bringing up ${n} peers over the ${e.transport} transport…`);
  await swarm.start();
  info(`${n} peers connected in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const records: RoundRecord[] = [];
  const pending = new Map<number, Pending>();
  let finalize: Promise<void> = Promise.resolve();
  const hosted = new Set(swarm instanceof Libp2pSwarm ? swarm.hosted : honest);
  const expectedReporters = (round: number) => honest.filter((i) => hosted.has(i) && churn.online(i, round)).length;
  const runStart = Date.now();
  const peerAt = (i: number) => (swarm instanceof Libp2pSwarm ? swarm.peerAt(i) : swarm!.peers[i]);

  const close = async (round: number) => {
    const p = pending.get(round)!;
    pending.delete(round);
    const reporters = [...p.vectors.keys()].sort((a, b) => a - b);
    const last = round === e.rounds;
    // The evaluation sample is drawn over every honest online peer, so all processes of a swarm agree on it.
    const online = honest.filter((i) => churn.online(i, round));
    const due = last || round === 1 || round % e.eval.every === 0;
    const sample = !due ? [] : last || e.eval.fraction >= 1 ? online
      : rngFor('eval', e.seed, round).sample(online, Math.max(1, Math.round(e.eval.fraction * online.length)));
    // MoDeST: a round's model is its aggregators' average; trainers' local models only stand in when no aggregator reported.
    const mine = (isModest && p.aggregators.size > 0 ? (due ? [...p.aggregators] : []) : sample.filter((i) => p.vectors.has(i))).sort((a, b) => a - b);
    const evals = await Promise.all(mine.map((i) => deps.pool.evaluate({ spec, weights: p.vectors.get(i)!, dataset, indices: testIndices, kernel: e.train.kernel }, { background: true, priority: round })));
    const traffic = swarm!.networks.flatMap((net) => net.traffic());
    const partial: RoundPartial = {
      run: run.name, round, time: Date.now() - runStart, accuracies: evals.map((x) => x.accuracy), losses: evals.map((x) => x.loss),
      sum: new Float64Array(layout.size), sumSq: 0, count: 0,
      bytesSentRound: p.bytesOut + takeLateBytes(),
      bytesReceivedTotal: traffic.reduce((s, t) => s + t.bytesIn, 0),
      rejectedTotal: traffic.reduce((s, t) => s + Object.values(t.rejections).reduce((a, b) => a + b, 0), 0),
      wall: { train: maxPhase(p, 'train'), exchange: maxPhase(p, 'exchange'), aggregate: maxPhase(p, 'aggregate') }, last,
    };
    for (const i of reporters) addModel(partial, p.vectors.get(i)!);
    deps.onPartial?.(partial);
    const rec = combinePartials([partial], records.at(-1));
    records.push(rec);
    deps.onRecord?.(rec);
  };

  // MoDeST: a hand-off repeated after its round was recorded (liveness) counts in the next record's bytes.
  let closedUpTo = 0;
  let lateBytes = 0;
  const closing = new Set<number>();
  const closeModestRounds = (upTo: number): void => {
    for (const r of [...pending.keys()].filter((r) => r <= upTo && !closing.has(r)).sort((a, b) => a - b)) {
      closing.add(r);
      finalize = finalize.then(() => close(r));
    }
  };
  const takeLateBytes = (): number => { const b = lateBytes; lateBytes = 0; return b; };
  const onRound = (i: number, s: RoundSummary) => {
    if (attackers.has(i)) return;
    if (isModest && s.round <= closedUpTo) { lateBytes += s.bytesOut; return; }
    let p = pending.get(s.round);
    if (!p) { p = { vectors: new Map(), summaries: new Map(), bytesOut: 0, aggregators: new Set() }; pending.set(s.round, p); }
    p.vectors.set(i, peerAt(i)!.vector());
    p.summaries.set(i, s);
    p.bytesOut += s.bytesOut;
    if (s.roles?.includes('aggregator')) p.aggregators.add(i);
    if (isModest) {
      // Rounds overlap (round r's average is computed while round r + 1 starts); a report of round r + 2
      // means round r is over. The rest close when the run ends.
      closedUpTo = Math.max(closedUpTo, s.round - 2);
      closeModestRounds(closedUpTo);
      modestChurn(s);
    } else if (p.vectors.size >= expectedReporters(s.round)) {
      const round = s.round;
      finalize = finalize.then(() => close(round));
    }
  };

  // MoDeST churn at the swarm's round: once the average of round r − 1 went to the trainers of round r, the
  // peers scheduled to crash at r stop without notice and leave the network (pings to them fail), and those
  // scheduled to leave at r advertise LEAVE first. Joiners stay dormant until their engine hears of round r.
  const gone = new Set<number>();
  const offline = (i: number): void => {
    if (swarm instanceof VirtualSwarm) swarm.net.setOnline(swarm.peerId(i), false);
    else void swarm!.networks[swarm!.hosted.indexOf(i)]?.stop();
  };
  function modestChurn(s: RoundSummary): void {
    if (!s.roles?.includes('aggregator')) return;
    const started = s.round + 1;
    for (const i of hosted) {
      const crash = churn.crashRound(i) <= started;
      const leave = !crash && churn.joinRound(i) < started && churn.knownAbsent(i, started);
      const peer = peerAt(i);
      if (gone.has(i) || (!crash && !leave) || !peer) continue;
      gone.add(i);
      void (crash ? peer.stop() : peer.leave()).then(() => offline(i));
    }
  }

  // Crashes: a peer stops without notice when it reaches its crash round.
  const crashWatch = isModest ? [] : [...hosted].flatMap((i) => { const peer = peerAt(i); return peer ? [peer.onRound((s) => {
    if (s.round + 1 >= churn.crashRound(i)) void peer.stop();
  })] : []; });
  let aborted = false;
  const onAbort = () => { aborted = true; if (swarm instanceof Libp2pSwarm) void swarm.stop(); };
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (swarm instanceof VirtualSwarm) {
      await swarm.run(onRound, { signal: deps.signal }).catch((err: unknown) => {
        // A MoDeST round whose trainers all crashed has nobody left to restart it: report what ran.
        if (isModest && (err as { code?: string }).code === 'ERR_SIMULATION_STALLED') info(`the MoDeST swarm stalled: ${(err as Error).message}`);
        else if (!aborted) throw err;
      });
    } else await swarm.run(onRound);
    if (isModest) closeModestRounds(Infinity);
    await finalize;
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    crashWatch.forEach((off) => off());
    await finalize.catch(() => {});
  }
  const finalHashes = Array.from({ length: n }, (_, i) => peerAt(i)?.status().modelHash ?? '');
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  clearInterval(sampler);
  await swarm.stop();
  const weightBytes = layout.size * 4;
  const memory = { baselineRss, peakRss, weightBytes, perPeerBeyondWeights: (peakRss - baselineRss - n * weightBytes) / n };
  info(`memory: baseline RSS ${(baselineRss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB, ${(memory.perPeerBeyondWeights / 2 ** 20).toFixed(2)} MiB per peer beyond its ${(weightBytes / 2 ** 10).toFixed(0)} KiB of weights`);
  return {
    memory,
    records, attackers: [...attackers].sort((a, b) => a - b), finalHashes, partitionHistograms: split.histograms, aborted,
    topology: { edges: stats.edges, meanDegree: stats.meanDegree, spectralGap: gap },
  };
}

function maxPhase(p: Pending, k: 'train' | 'exchange' | 'aggregate'): number {
  let m = 0;
  for (const x of p.summaries.values()) m = Math.max(m, x.phaseMs[k]);
  return m;
}

function stripResample(t: { kind: string; resample?: boolean }): unknown {
  const { resample: _r, ...rest } = t;
  return rest;
}
