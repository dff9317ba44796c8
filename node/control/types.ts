/**
 * The JSON shapes of the control API (DESIGN.md "Control API and CLI") and the `ControlSource` the daemon
 * implements. The server serialises exactly these objects, the client returns them typed, and the CLI's
 * `--json` mode prints them unchanged, so all three agree by construction. Units: ms and bytes; times
 * are epoch ms.
 */
import type { PeerTraffic } from '../network.js';
import type { Layout, TensorRole } from '../../aggregation/layout.js';
import { tensorView } from '../../aggregation/layout.js';
import { modelHash } from '../model-hash.js';

/** What the round engine is doing now; also the closed `phase` label set of the metrics. */
export type Phase = 'starting' | 'training' | 'exchanging' | 'aggregating' | 'evaluating' | 'committing' | 'idle' | 'stopping' | 'stopped';

/** Every {@link Phase}, in lifecycle order (metrics pre-create one series per phase). */
export const PHASES: readonly Phase[] = ['starting', 'training', 'exchanging', 'aggregating', 'evaluating', 'committing', 'idle', 'stopping', 'stopped'];

/** GET /status. */
export interface StatusInfo {
  readonly peerId: string;
  /** Listen addresses as multiaddr strings. */
  readonly addresses: readonly string[];
  /** TF.js backend in use ('tensorflow' | 'wasm' | 'cpu'), as chosen by node/learner/backend.ts. */
  readonly backend: string;
  /** Algorithm registry key, e.g. 'gossip-age'. */
  readonly algorithm: string;
  readonly swarm: string;
  readonly round: number;
  readonly phase: Phase;
  /** Last test accuracy in [0, 1]; null before the first evaluation. */
  readonly accuracy: number | null;
  /** Last test loss; null before the first evaluation. */
  readonly loss: number | null;
  /**
   * Model age, the gossip-learning "age": the number of training samples behind the model, its own and
   * (through merges) its neighbours'.
   */
  readonly modelAge: number;
  /** Current neighbour peer ids. */
  readonly neighbours: readonly string[];
  /** Open libp2p connections. */
  readonly connections: number;
  readonly uptimeMs: number;
  readonly dataDir: string;
  /** Murmuration version (package.json). */
  readonly version: string;
  /** Algorithm-specific state, e.g. MoDeST view size, sample, role. Values must be JSON. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Round engine: 'sync' rounds (barrier + timeout) or 'async' gossip. */
  readonly mode?: 'sync' | 'async';
  /**
   * Hash of the weights in memory now (node/model-hash.ts). During a round it moves (training, merging);
   * a history entry's `modelHash` is the model committed at the end of that round, so the two agree only
   * between rounds.
   */
  readonly modelHash?: string;
  /** Why this backend: the faster backends skipped and their reasons ('' when the first choice loaded). */
  readonly backendReason?: string;
  /** The aggregation kernels this daemon runs (aggregation/kernels): 'wasm-simd128' or 'js', and why. */
  readonly kernels?: { readonly variant: string; readonly reason: string };
  /** Configured listen addresses (port 0 = any free port; `addresses` shows the ports bound). */
  readonly listen?: readonly string[];
  /** NAT traversal state (protocols/reachability.ts); absent where the node has none (memory transport). */
  readonly reachability?: ReachabilityInfo;
  /** Set while no round finished for 3 round timeouts (node/stall.ts); null while rounds finish. */
  readonly stall?: StallInfo | null;
}

/** A stalled peer: since when no round finished, whom its round waits for, how many round timeouts passed. */
export interface StallInfo {
  /** ISO 8601 time of the last finished round (or of the start). */
  readonly since: string;
  /** Peer ids the current round waits for. */
  readonly waitingFor: string[];
  readonly timeouts: number;
}

/**
 * How we are connected to a peer: 'direct' (a plain TCP connection), 'relayed' (through a circuit relay:
 * limited in bytes and time by the relay) or 'hole-punched' (a direct connection DCUtR opened to replace
 * a relayed one).
 */
export type ConnectionKind = 'direct' | 'relayed' | 'hole-punched';

/** Every {@link ConnectionKind} (metrics pre-create one series per kind). */
export const CONNECTION_KINDS: readonly ConnectionKind[] = ['direct', 'relayed', 'hole-punched'];

/** Our best connection to one connected peer. */
export interface PeerConnectionInfo {
  readonly peer: string;
  readonly kind: ConnectionKind;
  /** The peer's address on this connection (a /p2p-circuit address when relayed). */
  readonly address: string;
  readonly direction: 'inbound' | 'outbound';
  /** Epoch ms. */
  readonly openedAt: number;
  /** Whether model frames may flow on it (relayed: only when network.relay.allowModels is on). */
  readonly models: boolean;
  /** For a relayed connection: why it was not upgraded to a direct one (DCUtR's preconditions and log). */
  readonly holePunch?: string;
}

/** Reachability of this peer from the internet, and how it reaches its neighbours. */
export interface ReachabilityInfo {
  /** True when one of our addresses is public (not private/relayed): announced, mapped by UPnP or confirmed by AutoNAT. */
  readonly publiclyReachable: boolean;
  readonly publicAddresses: readonly string[];
  /** Why we are not publicly reachable, and how others reach us instead. */
  readonly reason?: string;
  /** Our slots on relays: one entry per relay, with our addresses through it. */
  readonly relayReservations: ReadonlyArray<{ readonly relay: string; readonly addresses: readonly string[] }>;
  /** When we serve as a relay: slots others hold on us now, and at most. */
  readonly relayService: { readonly reservations: number; readonly maxReservations: number } | null;
  /** Mode of the swarm's DHT, or null without one. */
  readonly dht: 'client' | 'server' | null;
  /** One entry per connected peer, sorted by peer id. */
  readonly connections: readonly PeerConnectionInfo[];
}

/** One row of GET /peers: the network's traffic and rejection counters and (when the algorithm keeps one) trust. */
export interface PeerInfo extends PeerTraffic {
  readonly trust?: number;
  /** How we are connected now (absent when not connected or not known). */
  readonly connection?: ConnectionKind;
}

/** Statistics of one tensor of the current model. */
export interface TensorInfo {
  readonly name: string;
  readonly role: TensorRole;
  readonly shape: readonly number[];
  /** Euclidean norm of the tensor's elements. */
  readonly l2: number;
  readonly mean: number;
  /** Population standard deviation. */
  readonly std: number;
}

/** GET /model; the endpoint answers `null` before the model exists. */
export interface ModelInfo {
  /** Layout hash (16 hex digits, aggregation/layout.ts). */
  readonly layoutHash: string;
  /** Content hash of the parameter vector (node/model-hash.ts). */
  readonly hash: string;
  readonly round: number;
  /** Model age (merged updates). */
  readonly age: number;
  /** Number of float parameters. */
  readonly parameters: number;
  readonly tensors: readonly TensorInfo[];
}

/** One entry of GET /history (a committed round); the store may add free fields (bytes, peers, …). */
export interface HistoryEntry {
  readonly round: number;
  /** Epoch ms when the round was committed. */
  readonly time: number;
  readonly modelHash: string;
  readonly accuracy?: number;
  readonly loss?: number;
  readonly [field: string]: unknown;
}

/** GET /history query: entries with `round >= from`, at most `limit` of them, oldest first. */
export interface HistoryQuery {
  readonly from?: number;
  readonly limit?: number;
}

/** One row of GET /trust. */
export interface TrustInfo {
  readonly peer: string;
  readonly score: number;
  /** Components of the score (e.g. rejections, distance, reputation), algorithm-defined. */
  readonly details?: Readonly<Record<string, number>>;
}

/**
 * What the control server reads; the daemon's Peer implements it, tests stub it. Synchronous getters
 * return a snapshot of in-memory state; `history` reads the Store and honours the signal.
 */
export interface ControlSource {
  status(): StatusInfo;
  peers(): PeerInfo[];
  model(): ModelInfo | null;
  history(query: HistoryQuery, options?: { signal?: AbortSignal }): Promise<HistoryEntry[]>;
  trust(): TrustInfo[];
}

/**
 * Minimal logger the control server needs; a pino `Logger` (or its child) satisfies it. Structured
 * fields go first, pino style.
 */
export interface ControlLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Build the {@link ModelInfo} of a parameter vector: per-tensor L2 norm, mean and population std,
 * accumulated in float64 so large tensors don't lose precision. Throws RangeError if the vector's length
 * differs from the layout's size.
 */
export function describeModel(layout: Layout, vector: Float32Array, state: { round: number; age: number }): ModelInfo {
  if (vector.length !== layout.size) {
    throw new RangeError(`model vector has ${vector.length} parameters but layout ${layout.hash} has ${layout.size}`);
  }
  const tensors = layout.tensors.map((spec): TensorInfo => {
    const view = tensorView(vector, spec);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < view.length; i++) {
      const v = view[i];
      sum += v;
      sumSq += v * v;
    }
    const n = view.length;
    const mean = n > 0 ? sum / n : 0;
    // Var = E[x²] − mean²; clamp the tiny negative values rounding can produce.
    const variance = n > 0 ? Math.max(0, sumSq / n - mean * mean) : 0;
    return { name: spec.name, role: spec.role, shape: spec.shape, l2: Math.sqrt(sumSq), mean, std: Math.sqrt(variance) };
  });
  return {
    layoutHash: layout.hash,
    hash: modelHash(vector),
    round: state.round,
    age: state.age,
    parameters: layout.size,
    tensors,
  };
}
