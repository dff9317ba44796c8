/**
 * `murmur daemon`: one peer on a device. Start order: store (its lock keeps a second daemon off the data
 * dir) → identity → training workers → data and model → libp2p node → network → peer → announcements →
 * control API. Stop runs the same list backwards; the store closes last, after the engine.
 */
import { defaultRegistry } from './algorithms/defaults.js';
import { systemClock } from './clock.js';
import { deadline } from './deadline.js';
import { resolveModelSpec, type DaemonConfig } from './config.js';
import { datasetParts } from './data/dataset.js';
import { loadPeerData } from './data/peer-share.js';
import { backendTip, describeBackend, type BackendName } from './learner/backend-info.js';
import { WorkerPool } from './learner/pool.js';
import { commitAdoptedState, DEFAULT_JOIN_WAIT_MS, DEFAULT_STATE_REQUEST_MS, joinPhase, type JoinComponents, type JoinHook } from './join.js';
import type { Logger } from './logger.js';
import type { Network } from './network.js';
import { registerStallGauge, StallDetector } from './stall.js';
import { Peer, type Phase } from './peer.js';
import { store as createStore, type Store } from './store.js';
import { createMetrics, type Metrics } from './control/metrics.js';
import { controlServer } from './control/server.js';
import { daemonControlSource } from './daemon-control.js';
import { collectStartupGarbage, explainStartError, recordStartFootprint } from './daemon-start.js';
import { createMurmurNode, type MurmurNode } from '../protocols/libp2p.js';
import { largestFrameBytes, libp2pNetwork } from '../protocols/libp2p-network.js';
import { swarmDiscovery } from '../protocols/discovery.js';
import { DEFAULT_RELAY_MAX_RESERVATIONS } from '../protocols/nat.js';
import { NatLog, ReachabilityMonitor } from '../protocols/reachability.js';
import { keepRelaySlots } from '../protocols/relay-slots.js';
import { REJECT_REASONS } from '../protocols/codec.js';
import { MIN_ANNOUNCE_INTERVAL_MS } from '../protocols/constants.js';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';

/** While the daemon has no connection at all, unreachable bootstrap peers are dialed again this often, ms. */
export const BOOTSTRAP_RETRY_MS = 15_000;
/** How often reachability is published to /metrics (and logged when it changed), ms. */
const REACHABILITY_EVERY_MS = 2_000;
/**
 * Young-generation cap of the daemon's training workers, MB: a training task allocates few JS objects (its
 * tensors live in the backend's memory), and V8's default let each worker keep ~20 MB more resident.
 */
const DAEMON_WORKER_YOUNG_GENERATION_MB = 4;
/** Deadline of one bootstrap dial, ms. */
const BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000;

/**
 * libp2p's bootstrap module dials each bootstrap peer once, a second after start, and reports a failure only
 * under DEBUG=libp2p:*; a daemon whose bootstrap peer was down would then sit alone without a word. This
 * dials them itself, says at warn which one is unreachable and why (once, until it is reached again), and
 * retries every BOOTSTRAP_RETRY_MS while the daemon has no connection. Returns the stop function.
 */
function dialBootstrapPeers(node: MurmurNode, addresses: readonly string[], logger: Logger): () => void {
  const unreachable = new Set<string>();
  let stopped = false;
  const attempt = (): void => {
    if (stopped || node.getConnections().length > 0) return;
    for (const address of addresses) {
      node.dial(multiaddr(address), { signal: deadline(BOOTSTRAP_DIAL_TIMEOUT_MS) }).then(() => {
        if (!stopped) logger.info({ address }, 'connected to bootstrap peer');
        unreachable.delete(address);
      }, (err: unknown) => {
        if (stopped) return;
        const first = !unreachable.has(address);
        unreachable.add(address);
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        logger[first ? 'warn' : 'debug']({ address, reason },
          `bootstrap peer unreachable; running without it, retrying every ${BOOTSTRAP_RETRY_MS / 1000} s while no peer is connected`);
      });
    }
  };
  attempt();
  const timer = setInterval(attempt, BOOTSTRAP_RETRY_MS);
  return () => { stopped = true; clearInterval(timer); };
}

/**
 * The join phase of a daemon (node/join.ts): wait up to two announcement periods (at least 10 s) for the neighbours'
 * rounds, then fetch a neighbour's model over /murmur/state/1.0.0 when fresh or far behind. A daemon with
 * no way to find a neighbour (no bootstrap peer, no mDNS, no configured list: the first peer of a swarm)
 * does not wait. MoDeST only waits (its members are then in its initial view); it gets its model through
 * its own protocol, from the aggregators of the round it is sampled for (ALGORITHMS.md §3.3).
 */
function daemonJoin(cfg: Readonly<DaemonConfig>, node: MurmurNode, neighbours: () => string[], logger: Logger, engine: string | undefined, persist: JoinComponents['persist']): JoinHook {
  const canFindNeighbours = cfg.network.bootstrap.length > 0 || cfg.network.mdns || cfg.network.neighbours !== 'connected';
  // The wait ends a second after the first announcement; the bound matters only when none comes: under
  // load (30-90 s starts at load 50 on 2 cores) gossipsub took longer than 2 periods of 2 s to deliver one.
  const waitMs = canFindNeighbours ? Math.max(2 * cfg.network.announceEveryMs, DEFAULT_JOIN_WAIT_MS) : 0;
  return joinPhase({ waitMs, fetchState: engine !== 'modest' }, {
    neighbours,
    requestState: async (peer, options) => {
      const service = node.services.state;
      if (service === undefined) return null;
      return service.request(peerIdFromString(peer), options);
    },
    clock: systemClock,
    logger: logger.child({ component: 'join' }),
    persist,
  });
}

export interface Daemon {
  readonly peer: Peer;
  readonly node: MurmurNode;
  readonly network: Network;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly controlUrl: string;
  stop(): Promise<void>;
}

/** Bring a configured peer up; on failure, release whatever was acquired and rethrow. */
export async function startDaemon(cfg: Readonly<DaemonConfig>, logger: Logger, version: string): Promise<Daemon> {
  const cleanup: Array<() => Promise<void>> = [];
  const undo = async () => { for (const f of cleanup.reverse()) await f().catch((err: unknown) => logger.warn({ err }, 'cleanup step failed')); };
  // A failed start leaves the data dir as it found it (no peer.key or db/ from a start that never ran).
  const footprint = await recordStartFootprint(cfg.dataDir);
  try {
    const store = createStore({ dataDir: cfg.dataDir, checkpoints: cfg.checkpoints });
    await store.start();
    cleanup.push(() => store.stop());
    const privateKey = await store.loadOrCreateIdentity();
    const datastore = await store.libp2pDatastore();

    const pool = new WorkerPool({ size: cfg.workers, prefer: cfg.backend ? [cfg.backend as BackendName] : undefined, youngGenerationMb: DAEMON_WORKER_YOUNG_GENERATION_MB });
    await pool.start();
    cleanup.push(() => pool.stop());
    logger.info({ backend: describeBackend(pool.backend()), workers: pool.size }, 'TensorFlow.js backend ready');
    const tip = backendTip(pool.backend());
    if (tip !== null) logger.info(tip);

    // Only this device's rows are kept (node/data/peer-share.ts): `data.dataset` holds the share alone.
    const share = await loadPeerData(
      cfg.data.source === 'csv' ? { source: 'csv', path: cfg.data.path!, classCount: cfg.data.classCount }
        : cfg.data.source === 'synthetic' ? { source: 'synthetic', size: cfg.data.size, featureCount: cfg.data.featureCount, classCount: cfg.data.classCount ?? 10 }
          : { source: 'digits' },
      { seed: cfg.data.seed, testSize: cfg.data.testSize, testFraction: cfg.data.testFraction },
      { ...cfg.data, seed: cfg.data.seed });
    const data = { dataset: share.dataset };
    logger.info({ dataset: data.dataset.name, train: share.train.length, test: share.test.length, classes: share.histogram }, 'local data ready');
    const spec = resolveModelSpec(cfg.model, data.dataset);
    const { layout, initial } = await pool.describe(spec);
    const { name: algorithmName, ...algorithmParams } = cfg.algorithm;
    const algorithm = defaultRegistry().resolve(algorithmName, algorithmParams, { layout, mode: cfg.rounds.mode });

    const relay = cfg.network.relay;
    const wantedRelaySlots = relay.reservations ?? (relay.serve || cfg.network.bootstrap.length === 0 ? 0 : 1);
    const natLog = new NatLog();
    const node = await createMurmurNode({
      transport: 'tcp', listen: [...cfg.network.listen], bootstrap: [...cfg.network.bootstrap], mdns: cfg.network.mdns,
      privateKey, datastore, preset: 'device', swarm: cfg.swarm, logger: natLog.logger,
      // A joining neighbour may ask for our current model (node/join.ts); bounded like a model frame.
      state: { swarm: cfg.swarm, layout, maxFrameBytes: largestFrameBytes(layout), timeoutMs: DEFAULT_STATE_REQUEST_MS, logger: logger.child({ component: 'state-transfer' }) },
      reachability: {
        announce: cfg.network.announce, upnp: cfg.network.upnp, dht: cfg.network.dht,
        // Searching for a relay dials every discovered peer until one is found: only worth it where one is
        // expected (a bootstrap peer given), not on a LAN found by mDNS alone.
        relayReservations: wantedRelaySlots,
        ...(relay.serve ? { relayServer: { maxReservations: relay.maxReservations, reservationTtlMs: relay.reservationTtlMs, dataLimitBytes: relay.dataLimitBytes, durationLimitMs: relay.durationLimitMs } } : {}),
      },
    });
    cleanup.push(async () => { await node.stop(); });
    const network = libp2pNetwork({
      node, swarm: cfg.swarm, layout: algorithm.instance.exchangeLayout, inboxMaxBytes: cfg.network.inboxMaxBytes,
      allowRelayed: relay.allowModels, logger: logger.child({ component: 'network' }),
    });
    await network.start();
    cleanup.push(() => network.stop());
    const reachability = new ReachabilityMonitor({
      node, natLog, allowRelayedModels: relay.allowModels, maxRelayReservations: relay.maxReservations ?? DEFAULT_RELAY_MAX_RESERVATIONS,
    });
    reachability.start();
    cleanup.push(async () => reachability.stop());
    // A slot request that failed is not repeated by libp2p while the relay stays connected (relay-slots.ts).
    const stopSlotKeeper = keepRelaySlots({ node, wanted: wantedRelaySlots, held: () => reachability.snapshot().relayReservations.length });
    cleanup.push(async () => stopSlotKeeper());
    if (cfg.network.bootstrap.length > 0) {
      const stopDialing = dialBootstrapPeers(node, cfg.network.bootstrap, logger.child({ component: 'bootstrap' }));
      cleanup.push(async () => stopDialing());
    }
    // mDNS, the DHT, announcements and remembered members name peers; this dials them (protocols/discovery.ts).
    const discovery = swarmDiscovery({ node, swarm: cfg.swarm, maxPeers: cfg.network.maxPeers, logger: logger.child({ component: 'discovery' }) });
    discovery.start();
    cleanup.push(async () => discovery.stop());

    // Neighbours: connected peers that announced this swarm with our layout (other libp2p peers may be
    // connected too), or the configured list.
    const members = new Map<string, number>();
    let announce = (): void => {};
    network.onAnnouncement((from, a) => {
      if (a.layoutHash !== algorithm.instance.exchangeLayout.hash) return;
      // A newcomer learns our round from our answer instead of waiting for our next round or timer.
      if (!members.has(from)) { announce(); discovery.markMember(from); }
      members.set(from, Date.now());
      // Discovery through announcements: bootstrap only connects us to the bootstrap peers; announcements
      // relayed by gossipsub carry the other members' addresses (relay addresses of peers behind NAT
      // included), so dial them up to the connection budget.
      discovery.consider(from, a.addresses);
    });
    // A neighbour that vanishes (crash, network loss, mid-transfer) leaves the neighbour list with its
    // connection; the round it was in waits out rounds.timeoutMs, later rounds go on without it.
    const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
      const peer = evt.detail.toString();
      if (members.has(peer)) logger.info({ peer }, 'neighbour disconnected; rounds continue without it');
    };
    node.addEventListener('peer:disconnect', onDisconnect);
    cleanup.push(async () => node.removeEventListener('peer:disconnect', onDisconnect));
    const configured = cfg.network.neighbours;
    // A member reached only through a relay is no neighbour unless models may use relayed connections:
    // its frames could not arrive, and every round would wait out its timeout for them.
    const neighbours = configured === 'connected'
      ? () => network.connectedPeers().filter((p) => members.has(p) && reachability.modelCapable(p)).sort()
      : () => [...configured].sort();

    let currentPhase = (): Phase => 'starting';
    const metrics = createMetrics({ rejectReasons: [...REJECT_REASONS, 'duplicate', 'inbox-full', 'stale', 'stalled', 'aborted', 'busy'], phase: () => currentPhase() });
    let stalledSeconds = (): number => 0;
    registerStallGauge(metrics.registry, () => stalledSeconds());
    const peer = new Peer({
      swarm: cfg.swarm, seed: cfg.seed, algorithmName, algorithm: algorithm.instance, mode: cfg.rounds.mode, engine: algorithm.engine,
      model: spec, layout, initial, train: { ...cfg.train }, dataset: { id: data.dataset.name, parts: datasetParts(data.dataset) },
      trainIndices: share.train, testIndices: share.test,
      rounds: { ...cfg.rounds, maxRounds: cfg.rounds.max ?? Infinity },
    }, { network, pool, clock: systemClock, logger: logger.child({ component: 'peer' }), store, neighbours, join: daemonJoin(cfg, node, neighbours, logger, algorithm.engine.name,
        commitAdoptedState(store, layout.hash, { model: spec, algorithm: algorithmName, swarm: cfg.swarm })),
      memberSilenceMs: cfg.network.memberSilencePeriods * cfg.network.announceEveryMs,
    });
    // What a joining neighbour gets: our model once we finished a round (a peer still joining has none to give).
    node.services.state?.serve(() => (peer.round > 0 ? { vector: peer.vector(), round: peer.round, age: peer.age } : null));
    await peer.start();
    cleanup.push(() => peer.stop());
    currentPhase = () => peer.status().phase;

    let lastAnnounce = 0;
    let deferred: ReturnType<typeof setTimeout> | null = null;
    const announceNow = async () => {
      lastAnnounce = Date.now();
      await network.announce({
        swarm: cfg.swarm, round: peer.round, degree: neighbours().length, age: peer.age, algorithm: algorithmName,
        layoutHash: algorithm.instance.exchangeLayout.hash, addresses: node.getMultiaddrs().map(String).slice(0, 16),
      }).catch((err: unknown) => logger.debug({ err }, 'announcement not published'));
    };
    // At most one announcement per MIN_ANNOUNCE_INTERVAL_MS (receivers rate-limit authors); a request in
    // between is deferred, not dropped, so the latest round always goes out.
    announce = () => {
      if (deferred !== null) return;
      const wait = lastAnnounce + MIN_ANNOUNCE_INTERVAL_MS - Date.now();
      if (wait <= 0) void announceNow();
      else deferred = setTimeout(() => { deferred = null; void announceNow(); }, wait);
    };
    // Announce on a timer and after every round: neighbours learn our round (a restarted peer catches up) and
    // a newcomer becomes a member without waiting a whole period.
    const timer = setInterval(announce, cfg.network.announceEveryMs);
    const announceOnRound = peer.onRound(announce);
    announce();
    cleanup.push(async () => { clearInterval(timer); if (deferred !== null) clearTimeout(deferred); announceOnRound(); });

    // The round engines finish a round at least every round timeout; MoDeST rounds finish only where the
    // peer is sampled, so a quiet MoDeST peer is not stalled.
    const stall = algorithm.engine.name === 'modest' ? null : new StallDetector({ roundTimeoutMs: cfg.rounds.mode === 'async' ? Math.max(cfg.rounds.periodMs, cfg.rounds.timeoutMs) : cfg.rounds.timeoutMs }, {
      clock: systemClock, logger: logger.child({ component: 'health' }), waitingFor: () => peer.waitingFor(),
    });
    if (stall !== null) {
      stall.start();
      stalledSeconds = () => stall.stalledSeconds();
      const offRound = peer.onRound((s) => stall.onRound(s.round));
      cleanup.push(async () => { offRound(); stall.stop(); });
    }
    const source = daemonControlSource({ cfg, peer, node, network, store, reachability, backend: pool.backend(), version, startedAt: Date.now(), stall: () => stall?.check() ?? null });
    // The network keeps cumulative per-peer counters; the metrics get their growth once per round.
    const seen = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, sendFailures: 0, rejections: new Map<string, number>() };
    const publishTraffic = (): void => {
      const now = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, sendFailures: 0, rejections: new Map<string, number>() };
      for (const t of network.traffic()) {
        now.framesIn += t.framesIn; now.framesOut += t.framesOut; now.bytesIn += t.bytesIn; now.bytesOut += t.bytesOut;
        now.sendFailures += t.sendFailures;
        for (const [reason, n] of Object.entries(t.rejections)) now.rejections.set(reason, (now.rejections.get(reason) ?? 0) + n);
      }
      if (now.framesIn > seen.framesIn) metrics.onFrame('in', now.bytesIn - seen.bytesIn, now.framesIn - seen.framesIn);
      if (now.framesOut > seen.framesOut) metrics.onFrame('out', now.bytesOut - seen.bytesOut, now.framesOut - seen.framesOut);
      if (now.sendFailures > seen.sendFailures) metrics.onSendFailure(now.sendFailures - seen.sendFailures);
      for (const [reason, n] of now.rejections) {
        const before = seen.rejections.get(reason) ?? 0;
        if (n > before) metrics.onReject(reason, n - before);
      }
      Object.assign(seen, now);
    };
    const wireMetrics = peer.onRound((s) => {
      metrics.onRound(s.round);
      if (s.evaluation) metrics.onEvaluation(s.evaluation);
      for (const [phase, ms] of Object.entries(s.phaseMs)) {
        const p = phase === 'train' ? 'training' : phase === 'exchange' ? 'exchanging' : phase === 'aggregate' ? 'aggregating' : 'evaluating';
        metrics.onPhaseDuration(p, ms);
      }
      metrics.setConnectedPeers(network.connectedPeers().length);
      publishTraffic();
    });
    cleanup.push(async () => { wireMetrics(); });
    // Reachability goes to /metrics every few seconds, and to the log whenever it changes.
    let lastReachability = '';
    const publishReachability = (): void => {
      const r = reachability.snapshot();
      metrics.setReachability(r);
      const connections = Object.fromEntries(r.connections.map((c) => [c.peer, c.kind]));
      const summary = JSON.stringify([r.publicAddresses, r.relayReservations, connections]);
      if (summary === lastReachability) return;
      lastReachability = summary;
      const holePunch = Object.fromEntries(r.connections.filter((c) => c.holePunch !== undefined).map((c) => [c.peer, c.holePunch]));
      logger.info({ publicAddresses: r.publicAddresses, relayReservations: r.relayReservations.map((x) => x.relay), connections, holePunch }, 'reachability');
    };
    const reachabilityTimer = setInterval(publishReachability, REACHABILITY_EVERY_MS);
    cleanup.push(async () => clearInterval(reachabilityTimer));
    const control = controlServer({ dataDir: cfg.dataDir, host: cfg.control.host, port: cfg.control.port, allowNonLoopback: cfg.control.allowNonLoopback })({
      source, metrics, logger: logger.child({ component: 'control' }),
    });
    await control.start();
    cleanup.push(() => control.stop());
    logger.info({ peerId: node.peerId.toString(), addresses: node.getMultiaddrs().map(String), control: control.url }, 'murmur daemon running');
    collectStartupGarbage();

    let stopping: Promise<void> | null = null;
    return {
      peer, node, network, store, metrics, controlUrl: control.url ?? "",
      stop: () => (stopping ??= undo()),
    };
  } catch (err) {
    await undo();
    await footprint.undo().catch((e: unknown) => logger.warn({ err: e }, 'could not remove what the failed start created'));
    throw explainStartError(err);
  }
}
