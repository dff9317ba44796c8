/**
 * The columns of `murmur status|peers|model|history|trust`: what each table shows by default (fitting 100
 * columns), and what `--wide` adds. JSON output does not go through these for history and status: it
 * prints the answers whole.
 */
import type { HistoryEntry, ModelInfo, PeerInfo, ReachabilityInfo, TensorInfo, TrustInfo } from '../control/types.js';
import type { StallInfo } from '../control/types.js';
import type { InspectStatus, RunningStatus, StoppedStatus } from './inspect-source.js';
import { formatBytes, formatDuration, formatTime, type Column } from './render.js';

/** `12D3KooWAb…uVwXyZ`: enough of a peer id to tell peers apart in a table; `--wide` shows it whole. */
export function shortPeerId(id: string): string {
  return id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id;
}

const lines = (v: unknown): string => (Array.isArray(v) ? (v.length === 0 ? '-' : v.map(String).join('\n')) : String(v));

/** The fields of a running daemon's status, in reading order; absent optional fields are left out. */
export function runningStatusFields(now: number): Column<RunningStatus>[] {
  return [
    { key: 'state', header: 'daemon', value: (s) => s.state, format: () => 'running' },
    { key: 'stall', header: 'stalled', value: (s) => s.stall ?? undefined, format: (v) => stallText(v as StallInfo, now) },
    { key: 'peerId', header: 'peer id', value: (s) => s.peerId },
    { key: 'controlUrl', header: 'control API', value: (s) => s.controlUrl, format: (v) => `${String(v)} (bearer token in control.token)` },
    { key: 'metricsUrl', header: 'metrics', value: (s) => s.metricsUrl, format: (v) => `${String(v)} (Prometheus, same token)` },
    { key: 'listen', header: 'listening on', value: (s) => s.listen, format: lines },
    { key: 'addresses', header: 'announced', value: (s) => s.addresses, format: lines },
    { key: 'swarm', value: (s) => s.swarm },
    { key: 'algorithm', value: (s) => s.algorithm, format: (v) => String(v) },
    { key: 'mode', header: 'rounds', value: (s) => s.mode, format: (v) => (v === 'async' ? 'async gossip' : 'sync (barrier + timeout)') },
    { key: 'round', value: (s) => s.round, format: 'number' },
    { key: 'phase', value: (s) => s.phase },
    { key: 'accuracy', value: (s) => s.accuracy, format: 'ratio' },
    { key: 'loss', value: (s) => s.loss, format: 'number' },
    { key: 'modelAge', header: 'model age', value: (s) => s.modelAge, format: (v) => `${String(v)} samples trained (own and merged)` },
    { key: 'modelHash', header: 'weights hash', value: (s) => s.modelHash, format: (v) => `${String(v)} (in memory now; history shows each round's committed hash)` },
    { key: 'neighbours', value: (s) => s.neighbours, format: lines },
    { key: 'connections', value: (s) => s.connections, format: 'number' },
    { key: 'backend', header: 'TF.js backend', value: (s) => s.backend, format: (v) => v === 'tensorflow' ? 'tensorflow (native)' : `${String(v)}` },
    { key: 'backendReason', header: 'backend why', value: (s) => (s.backendReason === '' ? undefined : s.backendReason) },
    { key: 'kernels', header: 'aggregation', value: (s) => s.kernels, format: (v) => { const k = v as { variant: string; reason: string }; return `${k.variant} kernels (${k.reason})`; } },
    { key: 'reachability', value: (s) => s.reachability, format: (r) => reachabilityText(r as ReachabilityInfo) },
    { key: 'extra', header: 'engine state', value: (s) => s.extra, format: 'map' },
    { key: 'uptimeMs', header: 'uptime', value: (s) => s.uptimeMs, format: 'duration' },
    { key: 'dataDir', header: 'data dir', value: (s) => s.dataDir },
    { key: 'version', value: (s) => s.version },
  ];
}

/** "since 2026-…Z (12.0 s ago), waiting for 12D3…, … (3 timeouts)". */
function stallText(stall: StallInfo, now: number): string {
  const since = Date.parse(stall.since);
  const when = Number.isFinite(since) ? formatTime(since, now) : stall.since;
  const who = stall.waitingFor.length === 0 ? 'nobody named' : stall.waitingFor.map(shortPeerId).join(', ');
  return `since ${when}\nwaiting for ${who} (${stall.timeouts} timeout${stall.timeouts === 1 ? '' : 's'})`;
}

/** The fields of a stopped daemon's status, read from its store. */
export function stoppedStatusFields(now: number): Column<StoppedStatus>[] {
  return [
    { key: 'state', header: 'daemon', value: (s) => s.state, format: (_v) => '' },
    { key: 'peerId', header: 'peer id', value: (s) => s.peerId },
    { key: 'swarm', value: (s) => s.swarm },
    { key: 'algorithm', value: (s) => s.algorithm },
    { key: 'model', value: (s) => s.model, format: (v) => modelText(v) },
    { key: 'round', header: 'last round', value: (s) => s.round, format: 'number' },
    { key: 'lastCommitAt', header: 'committed', value: (s) => s.lastCommitAt, format: (v) => formatTime(v as number, now) },
    { key: 'accuracy', value: (s) => s.accuracy, format: 'ratio' },
    { key: 'loss', value: (s) => s.loss, format: 'number' },
    { key: 'modelAge', header: 'model age', value: (s) => s.modelAge, format: (v) => `${String(v)} samples trained (own and merged)` },
    { key: 'modelHash', header: 'model hash', value: (s) => s.modelHash, format: (v) => `${String(v)} (the last committed round's)` },
    { key: 'checkpoints', value: (s) => s.checkpoints, format: (v) => `${(v as number[]).join(', ') || 'none'} (murmur export --round <r>)` },
    { key: 'dataDir', header: 'data dir', value: (s) => s.dataDir },
  ];
}

/** The first line of a stopped status: since when, or that it died. */
export function stoppedHeadline(s: StoppedStatus, now: number): string {
  if (s.heldBy !== null) return `starting: pid ${s.heldBy} holds the store, its control API is not up (yet)`;
  if (s.crashed !== null) {
    return `not running: pid ${s.crashed.pid} (started ${formatTime(s.crashed.startedAt, now)}) exited without stopping cleanly`;
  }
  return s.stoppedAt === null ? 'stopped (when is not recorded)' : `stopped since ${formatTime(s.stoppedAt, now)}`;
}

/** "mlp hidden=[16]" from a stored model spec. */
function modelText(spec: unknown): string {
  if (typeof spec !== 'object' || spec === null) return String(spec);
  const { arch, ...rest } = spec as Record<string, unknown>;
  const params = Object.entries(rest).filter(([k]) => k !== 'seed').map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [String(arch), ...params].join(' ');
}

/** Status fields for either state. */
export function statusFields(s: InspectStatus, now: number): Column<InspectStatus>[] {
  const fields = (s.state === 'running' ? runningStatusFields(now) : stoppedStatusFields(now)) as Column<InspectStatus>[];
  if (s.state !== 'running') {
    const head = stoppedHeadline(s, now);
    fields[0] = { key: 'state', header: 'daemon', value: (x) => x.state, format: () => `${head}\nread from its store; start it for live state` };
  }
  return fields.filter((f) => f.value(s) !== undefined);
}

/** The status table's reachability cell: public or not (and why), relay slots, then one line per peer. */
function reachabilityText(r: ReachabilityInfo): string {
  const out = [r.publiclyReachable ? `public: yes (${r.publicAddresses.join(', ')})` : `public: no (${r.reason ?? 'no public address'})`];
  out.push(`relay slots: ${r.relayReservations.length === 0 ? 'none' : r.relayReservations.map((x) => x.addresses.join(', ')).join('; ')}`);
  if (r.relayService !== null) out.push(`serving as relay: ${r.relayService.reservations}/${r.relayService.maxReservations} slots held`);
  if (r.dht !== null) out.push(`dht: ${r.dht}`);
  for (const c of r.connections) out.push(`${shortPeerId(c.peer)}: ${c.kind}${c.models ? '' : ' (no models)'}${c.holePunch !== undefined ? ` — ${c.holePunch}` : ''}`);
  return out.join('\n');
}

const ago = (now: number) => (v: unknown): string => (v === 0 ? 'never' : `${formatDuration(Math.max(0, now - (v as number)))} ago`);
const total = (m: Readonly<Record<string, number>>): number => Object.values(m).reduce((a, b) => a + b, 0);

/** Peers: one row each; `wide` shows whole ids, absolute times and every counter. */
export function peerColumns(wide: boolean, now: number): Column<PeerInfo>[] {
  if (wide) {
    return [
      { key: 'peer', value: (p) => p.peer },
      { key: 'connected', value: (p) => p.connected, format: 'bool' },
      { key: 'connection', value: (p) => p.connection },
      { key: 'lastSeen', header: 'last seen', value: (p) => p.lastSeen, format: 'time' },
      { key: 'framesIn', header: 'frames in', value: (p) => p.framesIn, format: 'number' },
      { key: 'framesOut', header: 'frames out', value: (p) => p.framesOut, format: 'number' },
      { key: 'bytesIn', header: 'bytes in', value: (p) => p.bytesIn, format: 'bytes' },
      { key: 'bytesOut', header: 'bytes out', value: (p) => p.bytesOut, format: 'bytes' },
      { key: 'rejections', value: (p) => p.rejections, format: 'map' },
      { key: 'sendFailures', header: 'send failures', value: (p) => p.sendFailures, format: 'number' },
      { key: 'trust', value: (p) => p.trust, format: 'number' },
    ];
  }
  return [
    { key: 'peer', value: (p) => p.peer, format: (v) => shortPeerId(String(v)) },
    { key: 'link', value: (p) => (p.connected ? p.connection ?? 'yes' : 'no') },
    { key: 'lastSeen', header: 'seen', value: (p) => p.lastSeen, format: ago(now) },
    { key: 'in', header: 'in (frames)', value: (p) => `${formatBytes(p.bytesIn)} (${p.framesIn})` },
    { key: 'out', header: 'out (frames)', value: (p) => `${formatBytes(p.bytesOut)} (${p.framesOut})` },
    { key: 'rejected', header: 'rejects', value: (p) => total(p.rejections), format: 'number' },
    { key: 'failed', header: 'fails', value: (p) => p.sendFailures, format: 'number' },
    { key: 'trust', value: (p) => p.trust, format: 'number' },
  ];
}

export const MODEL_FIELDS: readonly Column<ModelInfo>[] = [
  { key: 'layoutHash', header: 'layout hash', value: (m) => m.layoutHash },
  { key: 'hash', header: 'model hash', value: (m) => m.hash },
  { key: 'round', value: (m) => m.round, format: 'number' },
  { key: 'age', header: 'model age', value: (m) => m.age, format: (v) => `${String(v)} samples trained` },
  { key: 'parameters', value: (m) => m.parameters, format: 'number' },
];

export const TENSOR_COLUMNS: readonly Column<TensorInfo>[] = [
  { key: 'name', value: (t) => t.name },
  { key: 'role', value: (t) => t.role },
  // JSON keeps the shape array; the table shows 784x10.
  { key: 'shape', value: (t) => t.shape, format: (shape) => (shape as number[]).join('x') },
  { key: 'l2', header: 'L2', value: (t) => t.l2, format: 'number' },
  { key: 'mean', value: (t) => t.mean, format: 'number' },
  { key: 'std', value: (t) => t.std, format: 'number' },
];

export function trustColumns(wide: boolean): Column<TrustInfo>[] {
  return [
    { key: 'peer', value: (t) => t.peer, format: (v) => (wide ? String(v) : shortPeerId(String(v))) },
    { key: 'score', value: (t) => t.score, format: 'number' },
    { key: 'details', value: (t) => t.details, format: 'map' },
  ];
}

const phases = (h: HistoryEntry): Record<string, number> | null => {
  const p = h.phaseMs;
  return typeof p === 'object' && p !== null ? p as Record<string, number> : null;
};

/** Total of a round's phase times, ms (train + exchange + aggregate + evaluate), or undefined. */
function roundDuration(h: HistoryEntry): number | undefined {
  const p = phases(h);
  return p === null ? undefined : Object.values(p).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
}

/** History: round, time, accuracy, loss, received/expected, bytes sent, duration; `wide` adds the rest. */
export function historyColumns(wide: boolean): Column<HistoryEntry>[] {
  const base: Column<HistoryEntry>[] = [
    { key: 'round', value: (h) => h.round, format: 'number' },
    { key: 'time', value: (h) => h.time, format: 'time' },
    { key: 'accuracy', value: (h) => h.accuracy, format: 'ratio' },
    { key: 'loss', value: (h) => h.loss, format: 'number' },
    {
      key: 'received', header: 'recv/exp',
      value: (h) => (typeof h.received === 'number' ? `${h.received}/${String(h.expected)}${h.timedOut === true ? ' late' : ''}` : undefined),
    },
    { key: 'bytesOut', header: 'sent', value: (h) => h.bytesOut, format: 'bytes' },
    { key: 'duration', value: roundDuration, format: 'duration' },
  ];
  if (!wide) return base;
  const phase = (name: string): Column<HistoryEntry> => ({ key: `${name}Ms`, header: `${name} ms`, value: (h) => phases(h)?.[name], format: 'number' });
  return [
    ...base,
    { key: 'modelHash', header: 'model hash', value: (h) => h.modelHash },
    { key: 'age', header: 'model age', value: (h) => h.age, format: 'number' },
    { key: 'samples', value: (h) => h.samples, format: 'number' },
    { key: 'trainLoss', header: 'train loss', value: (h) => h.trainLoss, format: 'number' },
    { key: 'sendFailures', header: 'send fail', value: (h) => h.sendFailures, format: 'number' },
    phase('train'), phase('exchange'), phase('aggregate'), phase('evaluate'),
    { key: 'roles', value: (h) => h.roles, format: 'list' },
  ];
}
