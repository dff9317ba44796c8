/** The daemon's answers to the control API: reads of the peer, the network and the store. */
import { kernelInfo } from '../aggregation/kernels/wasm.js';
import type { DaemonConfig } from './config.js';
import { skipReasons, type BackendChoice } from './learner/backend-info.js';
import { describeModel, type ControlSource, type HistoryEntry, type PeerInfo, type StallInfo } from './control/types.js';
import type { Network } from './network.js';
import type { Peer } from './peer.js';
import type { Store } from './store.js';
import type { MurmurNode } from '../protocols/libp2p.js';
import type { ReachabilityMonitor } from '../protocols/reachability.js';

export interface DaemonControlInit {
  cfg: Readonly<DaemonConfig>; peer: Peer; node: MurmurNode; network: Network; store: Store;
  reachability: ReachabilityMonitor; backend: string | BackendChoice; version: string; startedAt: number;
  /** The stall detector's state (node/stall.ts); null while rounds finish or where no detector runs. */
  stall?: () => StallInfo | null;
}

export function daemonControlSource(d: DaemonControlInit): ControlSource {
  return {
    status() {
      const s = d.peer.status();
      return {
        peerId: s.peerId, addresses: d.node.getMultiaddrs().map(String), backend: typeof d.backend === 'string' ? d.backend : d.backend.name, algorithm: s.algorithm,
        swarm: d.cfg.swarm, round: s.round, phase: s.phase, accuracy: s.accuracy, loss: s.loss, modelAge: s.age,
        neighbours: s.neighbours, connections: d.node.getConnections().length, uptimeMs: Date.now() - d.startedAt,
        dataDir: d.cfg.dataDir, version: d.version, mode: s.mode, modelHash: s.modelHash, ...(s.extra ? { extra: s.extra } : {}),
        backendReason: backendReason(d.backend), kernels: kernelInfo(), listen: [...d.cfg.network.listen],
        reachability: d.reachability.snapshot(), stall: d.stall?.() ?? null,
      };
    },
    peers() {
      const trust = new Map(d.peer.trust().map((t) => [t.peer, t.score]));
      const kinds = new Map(d.reachability.connections().map((c) => [c.peer, c.kind]));
      return d.network.traffic().map((t): PeerInfo => ({
        ...t, ...(trust.has(t.peer) ? { trust: trust.get(t.peer)! } : {}), ...(kinds.has(t.peer) ? { connection: kinds.get(t.peer)! } : {}),
      }));
    },
    model() {
      return describeModel(d.peer.layout, d.peer.vector(), { round: d.peer.round, age: d.peer.age });
    },
    async history(q) {
      const rows = await d.store.history({ from: q.from, limit: q.limit });
      return rows as HistoryEntry[];
    },
    trust() { return d.peer.trust(); },
  };
}

/** Why the backend was chosen: the faster ones skipped, and why ('' when the first choice loaded). */
function backendReason(backend: string | BackendChoice): string {
  return typeof backend === 'string' ? '' : skipReasons(backend);
}
