/**
 * Where `murmur status|peers|model|history|trust` get their answers: the running daemon's control API, or,
 * when no daemon runs at the data dir, a read-only snapshot of its store (node/store/read-only.ts). Both
 * answer the same questions in the control API's shapes, so the commands render them alike; the status says
 * which one answered.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { connectControl, type ControlClient } from '../control/client.js';
import { ControlError, noDaemonError } from '../control/errors.js';
import { ENDPOINT_FILE, LAST_RUN_FILE, TOKEN_FILE, type ControlEndpoint, type LastRun } from '../control/token.js';
import { describeModel, type HistoryEntry, type HistoryQuery, type ModelInfo, type PeerInfo, type StatusInfo, type TrustInfo } from '../control/types.js';
import { DB_DIR, hasStore, openStoreSnapshot, type StoreSnapshot } from '../store/read-only.js';
import type { PeerRecord } from '../store/types.js';

/** `murmur status` of a running daemon: its /status plus where its API and metrics are served. */
export interface RunningStatus extends StatusInfo {
  readonly state: 'running';
  readonly controlUrl: string;
  readonly metricsUrl: string;
  readonly tokenFile: string;
}

/** `murmur status` with no daemon running: what the store remembers. Times are epoch ms. */
export interface StoppedStatus {
  /**
   * 'stopped', or 'starting' when a process holds the store's lock but serves no control API yet (a daemon
   * starting up, or one whose API does not answer): what it committed is shown either way.
   */
  readonly state: 'stopped' | 'starting';
  /** The pid holding the store's lock (Linux /proc), or null. */
  readonly heldBy: number | null;
  /** When the daemon stopped cleanly (last-run.json), or null when unknown (it crashed or was killed). */
  readonly stoppedAt: number | null;
  /** A control.json left behind by a daemon that did not stop cleanly: its pid and start time. */
  readonly crashed: { readonly pid: number; readonly startedAt: number } | null;
  readonly peerId: string | null;
  readonly swarm: string | null;
  readonly algorithm: string | null;
  /** The model spec the daemon ran, e.g. { arch: 'mlp', hidden: [16] }. */
  readonly model: unknown;
  /** Last committed round, null before the first. */
  readonly round: number | null;
  readonly lastCommitAt: number | null;
  readonly accuracy: number | null;
  readonly loss: number | null;
  /** Samples trained behind the committed model (its age). */
  readonly modelAge: number | null;
  /** Hash of the committed model (the same as the last history entry's). */
  readonly modelHash: string | null;
  readonly checkpoints: readonly number[];
  readonly dataDir: string;
}

export type InspectStatus = RunningStatus | StoppedStatus;

/** The questions the inspect commands ask; answered by a daemon or by its store. */
export interface InspectSource {
  readonly running: boolean;
  status(): Promise<InspectStatus>;
  peers(): Promise<PeerInfo[]>;
  model(): Promise<ModelInfo | null>;
  history(query: HistoryQuery): Promise<HistoryEntry[]>;
  trust(): Promise<TrustInfo[]>;
  close(): Promise<void>;
}

/**
 * The daemon at `dataDir` if one answers, else a snapshot of its store. Throws ERR_NO_DAEMON (exit 3) when
 * neither exists, naming the data dir; nothing is created there.
 */
export async function openInspectSource(dataDir: string): Promise<InspectSource> {
  try {
    return daemonSource(await connectControl(dataDir), dataDir);
  } catch (err) {
    if (!(err instanceof ControlError && err.code === 'ERR_NO_DAEMON')) throw err;
    if (!(await hasStore(dataDir))) throw noDaemonError(dataDir, 'no control.json there, and no store either');
    return storeSource(await openStoreSnapshot(dataDir));
  }
}

function daemonSource(client: ControlClient, dataDir: string): InspectSource {
  const { url } = client.endpoint;
  return {
    running: true,
    status: async () => ({
      state: 'running', controlUrl: url, metricsUrl: `${url}/metrics`, tokenFile: join(dataDir, TOKEN_FILE),
      ...(await client.get<StatusInfo>('/status')),
    }),
    peers: () => client.get<PeerInfo[]>('/peers'),
    model: () => client.get<ModelInfo | null>('/model'),
    history: (q) => {
      const query = new URLSearchParams();
      if (q.from !== undefined) query.set('from', String(q.from));
      if (q.limit !== undefined) query.set('limit', String(q.limit));
      return client.get<HistoryEntry[]>(query.size > 0 ? `/history?${query.toString()}` : '/history');
    },
    trust: () => client.get<TrustInfo[]>('/trust'),
    close: async () => {},
  };
}

/** Offline answers from a store snapshot; `limit` defaults to the control API's default (100). */
export function storeSource(snapshot: StoreSnapshot, defaultLimit = 100): InspectSource {
  const { store, dataDir } = snapshot;
  return {
    running: false,
    status: async () => {
      const [current, last, extra, checkpoints, lastRun, endpoint] = await Promise.all([
        store.current(), store.history({ reverse: true, limit: 1 }), store.extra(), store.checkpoints(),
        readJson<LastRun>(join(dataDir, LAST_RUN_FILE)), readJson<ControlEndpoint>(join(dataDir, ENDPOINT_FILE)),
      ]);
      const h = last[0];
      const heldBy = await lockHolder(join(dataDir, DB_DIR, 'LOCK'));
      return {
        state: heldBy === null ? 'stopped' : 'starting',
        heldBy,
        // A clean stop removes control.json; one still there was left by a daemon that died.
        stoppedAt: endpoint === null ? lastRun?.stoppedAt ?? null : null,
        crashed: endpoint === null ? null : { pid: endpoint.pid, startedAt: endpoint.startedAt },
        peerId: snapshot.peerId,
        swarm: stringOrNull(extra?.swarm), algorithm: stringOrNull(extra?.algorithm), model: extra?.model ?? null,
        round: current?.round ?? null, lastCommitAt: h?.time ?? null,
        accuracy: numberOrNull(h?.accuracy), loss: numberOrNull(h?.loss),
        modelAge: current?.age ?? null, modelHash: current?.hash ?? null,
        checkpoints: checkpoints.map((c) => c.round), dataDir,
      };
    },
    peers: async () => (await store.peers()).map(peerInfoOf),
    model: async () => {
      const [current, extra] = await Promise.all([store.current(), store.extra()]);
      if (current === null) return null;
      // The layout is rebuilt from the model spec the daemon stored; TF.js is loaded only for this command.
      const { createModel, validateAnyModelSpec } = await import('../learner/create-model.js');
      const built = await createModel(validateAnyModelSpec(extra?.model));
      built.model.dispose();
      return describeModel(built.layout, current.vector, { round: current.round, age: current.age });
    },
    history: (q) => store.history({ from: q.from ?? 0, limit: q.limit ?? defaultLimit }) as Promise<HistoryEntry[]>,
    trust: async () => (await store.peers()).flatMap((p) => {
      const score = p.trust?.score;
      if (typeof score !== 'number') return [];
      const details = Object.fromEntries(Object.entries(p.trust ?? {}).filter(([k]) => k !== 'score'));
      return [{ peer: p.id, score, ...(Object.keys(details).length > 0 ? { details } : {}) }];
    }),
    close: () => snapshot.close(),
  };
}

/** A stored peer record in the shape of GET /peers (not connected: no daemon runs). */
function peerInfoOf(p: PeerRecord): PeerInfo {
  return {
    peer: p.id, connected: false, lastSeen: p.lastSeen, framesIn: p.framesIn ?? 0, framesOut: p.framesOut ?? 0,
    bytesIn: p.bytesIn ?? 0, bytesOut: p.bytesOut ?? 0, rejections: p.rejections ?? {}, sendFailures: 0,
    ...(typeof p.trust?.score === 'number' ? { trust: p.trust.score } : {}),
  };
}

/**
 * The pid of a process that has `lockFile` open (LevelDB holds its LOCK open while the database is open),
 * from Linux's /proc; null when none does, or where there is no /proc. This process is left out unless
 * `exclude` is null (a test holding the lock itself).
 */
export async function lockHolder(lockFile: string, exclude: number | null = process.pid): Promise<number | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== exclude);
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try { fds = await readdir(`/proc/${pid}/fd`); } catch { continue; } // gone, or another user's
    for (const fd of fds) {
      if (await readlink(`/proc/${pid}/fd/${fd}`).then((target) => target === lockFile, () => false)) return Number(pid);
    }
  }
  return null;
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
