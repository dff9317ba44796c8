/**
 * Prometheus metrics of one daemon, behind a small typed facade so the peer never touches prom-client.
 * Each call to {@link createMetrics} owns a fresh `Registry` (never prom-client's global default), so many
 * peers in one process (the simulator, tests) keep separate counts. Names follow
 * `murmur_<area>_<thing>_<unit|total>` and every label comes from a closed set (STYLE.md "Naming").
 *
 * Units: the facade takes ms and bytes like the rest of the code; durations are exposed in seconds,
 * Prometheus' base unit, so standard dashboards and `rate()`/`histogram_quantile()` read them correctly.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONNECTION_KINDS, PHASES, type Phase, type ReachabilityInfo } from './types.js';

/** Upper bound on distinct `reason` label values when no closed list is given; the rest count as 'other'. */
export const MAX_REJECT_REASONS = 32;
/** Label value for reasons outside the closed set. */
export const OTHER_REASON = 'other';
/** Phase-duration histogram buckets, seconds: from 10 ms (an aggregation) to 10 min (a long epoch). */
export const PHASE_BUCKETS_SECONDS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

const REASON_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;

/** Options of {@link createMetrics}. */
export interface MetricsInit {
  /**
   * The closed set of rejection reasons (codec RejectReason plus inbox reasons). Their counters start at 0;
   * any other reason is counted under 'other'. Without it, up to {@link MAX_REJECT_REASONS} well-formed
   * reasons are accepted as they come, which still bounds the label set.
   */
  readonly rejectReasons?: readonly string[];
  /**
   * The engine's phase now, read at every scrape for `murmur_engine_phase` (a gauge set only on phase
   * changes would have to be told of every change by the engine; reading it at scrape time cannot miss one).
   */
  readonly phase?: () => Phase;
}

/** The typed facade the peer and engine call; `registry` is what the control server exposes. */
export interface Metrics {
  readonly registry: Registry;
  /** Content type of {@link Metrics.exposition} (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** A round was committed: sets `murmur_engine_round` and increments `murmur_engine_rounds_total`. */
  onRound(round: number): void;
  /** The engine entered `phase` (`murmur_engine_phase{phase}` is 1 for it, 0 for the others). */
  onPhase(phase: Phase): void;
  /** A `phase` lasted `durationMs` ms (`murmur_engine_phase_duration_seconds{phase}`). */
  onPhaseDuration(phase: Phase, durationMs: number): void;
  /** A frame of `bytes` encoded bytes was received ('in') or sent ('out'). */
  onFrame(direction: 'in' | 'out', bytes: number, frames?: number): void;
  /** An inbound frame was rejected for `reason` (`murmur_network_rejected_frames_total{reason}`). */
  onReject(reason: string, count?: number): void;
  /** A send to a peer failed (unreachable, timeout, aborted). */
  onSendFailure(count?: number): void;
  /** A test evaluation finished; accuracy in [0, 1]. */
  onEvaluation(result: { accuracy: number; loss: number }): void;
  /** Number of peers with an open connection. */
  setConnectedPeers(count: number): void;
  /**
   * NAT traversal state: `murmur_network_publicly_reachable` (0/1), `murmur_network_relay_reservations`
   * (our slots on relays), `murmur_network_relay_served_reservations` (slots others hold on us) and
   * `murmur_network_peer_connections{kind}` (connected peers by direct | relayed | hole-punched).
   */
  setReachability(info: ReachabilityInfo): void;
  /** The Prometheus text exposition of every metric in {@link Metrics.registry}. */
  exposition(): Promise<string>;
}

/** Create a fresh registry with Murmuration's metrics and return its facade. */
export function createMetrics(init: MetricsInit = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const round = new Gauge({ name: 'murmur_engine_round', help: 'Last committed round number.', registers });
  const rounds = new Counter({ name: 'murmur_engine_rounds_total', help: 'Rounds committed by this process.', registers });
  const phase = new Gauge({
    name: 'murmur_engine_phase',
    help: 'Current engine phase: 1 for the active phase, 0 for the others.',
    labelNames: ['phase'] as const,
    registers,
    collect() {
      if (init.phase === undefined) return;
      const active = init.phase();
      for (const p of PHASES) this.set({ phase: p }, p === active ? 1 : 0);
    },
  });
  const phaseDuration = new Histogram({
    name: 'murmur_engine_phase_duration_seconds',
    help: 'Duration of engine phases, seconds.',
    labelNames: ['phase'] as const,
    buckets: [...PHASE_BUCKETS_SECONDS],
    registers,
  });
  const framesIn = new Counter({ name: 'murmur_network_received_frames_total', help: 'Model frames received and accepted.', registers });
  const framesOut = new Counter({ name: 'murmur_network_sent_frames_total', help: 'Model frames sent.', registers });
  const bytesIn = new Counter({ name: 'murmur_network_received_bytes_total', help: 'Encoded bytes of frames received.', registers });
  const bytesOut = new Counter({ name: 'murmur_network_sent_bytes_total', help: 'Encoded bytes of frames sent.', registers });
  const rejected = new Counter({
    name: 'murmur_network_rejected_frames_total',
    help: 'Inbound frames rejected, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const sendFailures = new Counter({ name: 'murmur_network_send_failures_total', help: 'Failed frame sends.', registers });
  const connected = new Gauge({ name: 'murmur_network_connected_peers', help: 'Peers with an open connection.', registers });
  const reachable = new Gauge({ name: 'murmur_network_publicly_reachable', help: '1 when one of our addresses is public (announced, UPnP or AutoNAT-confirmed).', registers });
  const reservations = new Gauge({ name: 'murmur_network_relay_reservations', help: 'Slots we hold on circuit relays.', registers });
  const served = new Gauge({ name: 'murmur_network_relay_served_reservations', help: 'Slots other peers hold on us as a relay.', registers });
  const byKind = new Gauge({
    name: 'murmur_network_peer_connections',
    help: 'Connected peers by connection kind: direct, relayed or hole-punched (DCUtR).',
    labelNames: ['kind'] as const,
    registers,
  });
  const accuracy = new Gauge({ name: 'murmur_learner_test_accuracy_ratio', help: 'Last test accuracy, 0..1.', registers });
  const loss = new Gauge({ name: 'murmur_learner_test_loss', help: 'Last test loss.', registers });
  // Read at scrape time: the whole process, training workers included (they are threads of it).
  new Gauge({
    name: 'murmur_process_resident_memory_bytes', help: 'Resident set size of the daemon process (all threads), bytes.', registers,
    collect() { this.set(process.memoryUsage.rss()); },
  });
  new Gauge({
    name: 'murmur_process_heap_used_bytes', help: 'V8 heap in use on the main thread, bytes.', registers,
    collect() { this.set(process.memoryUsage().heapUsed); },
  });

  // Pre-create the labelled series so a scrape shows zeros rather than missing series.
  for (const p of PHASES) phase.set({ phase: p }, 0);
  for (const k of CONNECTION_KINDS) byKind.set({ kind: k }, 0);
  const closed = init.rejectReasons === undefined ? undefined : new Set(init.rejectReasons.filter((r) => REASON_PATTERN.test(r)));
  if (closed !== undefined) for (const r of closed) rejected.inc({ reason: r }, 0);
  const seen = new Set<string>();

  const reasonLabel = (reason: string): string => {
    if (closed !== undefined) return closed.has(reason) ? reason : OTHER_REASON;
    if (seen.has(reason)) return reason;
    if (!REASON_PATTERN.test(reason) || seen.size >= MAX_REJECT_REASONS) return OTHER_REASON;
    seen.add(reason);
    return reason;
  };

  return {
    registry,
    contentType: registry.contentType,
    onRound(r) {
      round.set(r);
      rounds.inc();
    },
    onPhase(active) {
      for (const p of PHASES) phase.set({ phase: p }, p === active ? 1 : 0);
    },
    onPhaseDuration(p, durationMs) {
      phaseDuration.observe({ phase: p }, durationMs / 1000);
    },
    onFrame(direction, bytes, frames = 1) {
      if (direction === 'in') {
        framesIn.inc(frames);
        bytesIn.inc(bytes);
      } else {
        framesOut.inc(frames);
        bytesOut.inc(bytes);
      }
    },
    onReject(reason, count = 1) {
      rejected.inc({ reason: reasonLabel(reason) }, count);
    },
    onSendFailure(count = 1) {
      sendFailures.inc(count);
    },
    onEvaluation(result) {
      accuracy.set(result.accuracy);
      loss.set(result.loss);
    },
    setConnectedPeers(count) {
      connected.set(count);
    },
    setReachability(info) {
      reachable.set(info.publiclyReachable ? 1 : 0);
      reservations.set(info.relayReservations.length);
      served.set(info.relayService?.reservations ?? 0);
      for (const k of CONNECTION_KINDS) byKind.set({ kind: k }, info.connections.filter((c) => c.kind === k).length);
    },
    exposition() {
      return registry.metrics();
    },
  };
}
