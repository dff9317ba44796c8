/**
 * A send to a neighbour that is still connecting to us (protocols/docs/exchange-tuning.md §12, "the lost
 * frame"). When peer A dials peer B, A's dial resolves before B has A's connection: with noise's early muxer
 * negotiation A is done once it has sent the last handshake message, and B holds the connection only after
 * receiving and checking it (a turn of the event loop or several on a loaded one). Until then B has neither
 * a connection to A nor an address to dial (the simulator learns none; a daemon learns them by identify over
 * that very connection), and libp2p fails B's send at once with NoValidAddressesError. A, which already
 * counts B as connected, then waits its whole round timeout for a frame that was never sent.
 *
 * So a send that finds no connection and no address waits for the peer's connection and dials again,
 * bounded by the send's deadline and by a grace: a peer that never connects (known only from an
 * announcement) or that left (crashed, departed) still fails fast, and one that re-dials is waited for.
 */
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface';
import { deadlineOn, type StartTimer } from '../node/deadline.js';

/**
 * How long a send waits for a peer that never connected to us and has no address, ms. The race above lasts
 * a few event-loop turns, seconds on a loaded machine; a peer known only from an announcement (no address,
 * nobody dialling) then fails after this, not after the whole send deadline. The simulator's swarm, whose
 * bring-up leaves many edges half-open at once, passes a larger grace (topology-sim/libp2p-swarm.ts).
 */
export const CONNECTING_PEER_GRACE_MS = 5_000;

/**
 * How long a send waits for a peer whose connection closed, ms: a dropped connection the neighbour
 * re-dials is the same race as a first connection (the frame would be lost again), while a crashed or
 * departed neighbour should still fail fast. A re-dial takes one handshake, well within this.
 */
export const RETURNING_PEER_GRACE_MS = 3_000;

/**
 * The grace's timer keeps the process alive (unlike node/deadline.ts's wall timer): a send waiting for a
 * peer must settle, not vanish when nothing else is pending (an in-process swarm has no sockets); stop()
 * releases it, and it is short.
 */
const refTimer: StartTimer = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

/** Peers remembered as gone (the oldest is forgotten first): only the grace and the message depend on it. */
export const MAX_GONE_PEERS = 4_096;

/** What the watch needs of a libp2p node (a node itself fits). */
export interface WatchedNode {
  getConnections(peer?: PeerId): Array<{ readonly status: string }>;
  addEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void;
  addEventListener(type: 'connection:open', listener: (evt: CustomEvent<{ readonly remotePeer: PeerId }>) => void): void;
  removeEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void;
  removeEventListener(type: 'connection:open', listener: (evt: CustomEvent<{ readonly remotePeer: PeerId }>) => void): void;
}

/** Opens protocol streams, dialing if needed (model-exchange-types.ts ModelExchangeDialer fits). */
export interface StreamOpener {
  openStream(peer: PeerId, protocols: string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** Tells when a peer that is not connected yet gets connected. */
export interface PeerConnections {
  /**
   * Resolves once `peer` has an open connection to us. Rejects with PeerNotConnectedError when none comes
   * within a grace (shorter for a peer that was connected before and left), or with the signal's reason
   * when `options.signal` aborts first.
   */
  connected(peer: PeerId, options?: AbortOptions): Promise<void>;
  /** `listener` runs when a peer gets its first connection to us (either side dialled); returns an unsubscribe. */
  onConnect?(listener: (peer: PeerId) => void): () => void;
}

/** Raised by `connected` when the peer did not connect within its grace, or the watch stopped. */
export class PeerNotConnectedError extends Error {
  override readonly name: string = 'PeerNotConnectedError';
}

/** A PeerNotConnectedError for a peer that was connected before and left. */
export class PeerGoneError extends PeerNotConnectedError {
  override readonly name = 'PeerGoneError';
}

export interface ConnectionWatchInit {
  /** Wait for a peer that never connected, ms; default CONNECTING_PEER_GRACE_MS (Infinity: the caller's deadline only). */
  connectingGraceMs?: number;
  /** Wait for a peer that was connected and left, ms; default RETURNING_PEER_GRACE_MS. */
  returningGraceMs?: number;
}

interface Waiter {
  wake(): void;
  fail(err: Error): void;
}

/** PeerConnections over a libp2p node's connection events; listens between start() and stop(). */
export class ConnectionWatch implements PeerConnections {
  /** Peers whose last connection closed (they left or crashed), until they connect again; oldest first. */
  private readonly gone = new Set<string>();
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly listeners = new Set<(peer: PeerId) => void>();
  private readonly connectingGraceMs: number;
  private readonly returningGraceMs: number;
  private stopped = false;

  constructor(private readonly node: WatchedNode, init: ConnectionWatchInit = {}) {
    this.connectingGraceMs = init.connectingGraceMs ?? CONNECTING_PEER_GRACE_MS;
    this.returningGraceMs = init.returningGraceMs ?? RETURNING_PEER_GRACE_MS;
    for (const [name, ms] of [['connectingGraceMs', this.connectingGraceMs], ['returningGraceMs', this.returningGraceMs]] as const) {
      if (!(ms >= 0)) throw new RangeError(`${name} must be a number ≥ 0 (Infinity allowed), got ${ms}`);
    }
    this.onPeerConnect = this.onPeerConnect.bind(this);
    this.onConnectionOpen = this.onConnectionOpen.bind(this);
    this.onDisconnect = this.onDisconnect.bind(this);
  }

  start(): void {
    this.stopped = false;
    this.node.addEventListener('peer:connect', this.onPeerConnect);
    // libp2p fires 'peer:connect' only for a peer's first stored connection: a new one opened while an old
    // one is still closing comes only as 'connection:open' (libp2p connection-manager, isNewPeer).
    this.node.addEventListener('connection:open', this.onConnectionOpen);
    this.node.addEventListener('peer:disconnect', this.onDisconnect);
  }

  /** Stops listening; pending waits reject with PeerNotConnectedError. */
  stop(): void {
    this.stopped = true;
    this.node.removeEventListener('peer:connect', this.onPeerConnect);
    this.node.removeEventListener('connection:open', this.onConnectionOpen);
    this.node.removeEventListener('peer:disconnect', this.onDisconnect);
    for (const [id, set] of [...this.waiting]) {
      for (const waiter of [...set]) waiter.fail(new PeerNotConnectedError(`stopped waiting for peer ${id} to connect: the connection watch stopped`));
    }
    this.gone.clear();
  }

  connected(peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const id = peer.toString();
    if (this.node.getConnections(peer).some((c) => c.status === 'open')) return Promise.resolve();
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.stopped) return Promise.reject(new PeerNotConnectedError(`cannot wait for peer ${id} to connect: the connection watch is stopped`));
    const left = this.gone.has(id);
    const graceMs = left ? this.returningGraceMs : this.connectingGraceMs;
    const grace = deadlineOn(refTimer, graceMs, [signal]);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        grace.signal.removeEventListener('abort', onAbort);
        grace.release();
        const set = this.waiting.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.waiting.delete(id);
      };
      const waiter: Waiter = { wake: () => { done(); resolve(); }, fail: (err) => { done(); reject(err); } };
      const onAbort = (): void => {
        if (signal?.aborted === true) { waiter.fail(signal.reason as Error); return; }
        waiter.fail(left
          ? new PeerGoneError(`peer ${id} disconnected and has not come back within ${graceMs} ms`)
          : new PeerNotConnectedError(`peer ${id} has no connection and no known address, and did not connect within ${graceMs} ms`));
      };
      let set = this.waiting.get(id);
      if (set === undefined) this.waiting.set(id, set = new Set());
      set.add(waiter);
      grace.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  onConnect(listener: (peer: PeerId) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private onPeerConnect(evt: CustomEvent<PeerId>): void {
    this.wakeIfOpen(evt.detail);
    for (const listener of [...this.listeners]) listener(evt.detail);
  }

  private onConnectionOpen(evt: CustomEvent<{ readonly remotePeer: PeerId }>): void {
    this.wakeIfOpen(evt.detail.remotePeer);
  }

  private wakeIfOpen(peer: PeerId): void {
    if (!this.node.getConnections(peer).some((c) => c.status === 'open')) return;
    const id = peer.toString();
    this.gone.delete(id);
    const set = this.waiting.get(id);
    if (set !== undefined) for (const waiter of [...set]) waiter.wake();
  }

  private onDisconnect(evt: CustomEvent<PeerId>): void {
    const id = evt.detail.toString();
    this.gone.delete(id); // re-inserted as the newest
    this.gone.add(id);
    if (this.gone.size > MAX_GONE_PEERS) this.gone.delete(this.gone.values().next().value!);
  }

  /** Peers remembered as gone (tests). */
  goneCount(): number {
    return this.gone.size;
  }
}

/**
 * Open a stream to `peer` through `dialer`; when libp2p finds neither a connection nor an address for it
 * (NoValidAddressesError), wait for the peer's own connection through `connections` (see the module
 * comment) and open it then. Rejects with the dial's error for other failures or when the caller's deadline
 * passes, and with PeerNotConnectedError (the dial's error as cause) when the peer did not come within its grace.
 */
export async function openStreamToPeer(dialer: StreamOpener, connections: PeerConnections | undefined, peer: PeerId, protocols: string[], options: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream> {
  try {
    return await dialer.openStream(peer, protocols, options);
  } catch (err) {
    if (connections === undefined || (err as Error | null)?.name !== 'NoValidAddressesError') throw err;
    try {
      await connections.connected(peer, options);
    } catch (waitErr) {
      // The caller's deadline passed: its own error says so. Else why nobody came, with the dial's error as cause.
      if (options.signal?.aborted === true || !(waitErr instanceof PeerNotConnectedError)) throw err;
      throw Object.assign(waitErr, { cause: err });
    }
    return dialer.openStream(peer, protocols, options);
  }
}
