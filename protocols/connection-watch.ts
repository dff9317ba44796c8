/**
 * A send to a neighbour that is still connecting to us (protocols/docs/exchange-tuning.md §12, "the lost
 * frame"). When peer A dials peer B, A's dial resolves before B has A's connection: with noise's early muxer
 * negotiation A is done once it has sent the last handshake message, and B holds the connection only after
 * receiving and checking it (a turn of the event loop or several on a loaded one). Until then B has neither
 * a connection to A nor an address to dial (the simulator learns none; a daemon learns them by identify over
 * that very connection), and libp2p fails B's send at once with NoValidAddressesError. A, which already
 * counts B as connected, then waits its whole round timeout for a frame that was never sent.
 *
 * So a send that finds no connection and no address waits for the peer's connection (bounded by the send's
 * deadline) and dials again, unless the peer was connected before and left: a crashed or departed
 * neighbour still fails at once.
 */
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface';

/** What the watch needs of a libp2p node (a node itself fits). */
export interface WatchedNode {
  getConnections(peer?: PeerId): Array<{ readonly status: string }>;
  addEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void;
  removeEventListener(type: 'peer:connect' | 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void): void;
}

/** Opens protocol streams, dialing if needed (model-exchange-types.ts ModelExchangeDialer fits). */
export interface StreamOpener {
  openStream(peer: PeerId, protocols: string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** Tells when a peer that is not connected yet gets connected. */
export interface PeerConnections {
  /**
   * Resolves once `peer` has an open connection to us. Rejects at once when it was connected before and
   * left (it is gone, not connecting), or with the signal's reason when `options.signal` aborts first.
   */
  connected(peer: PeerId, options?: AbortOptions): Promise<void>;
  /** `listener` runs when a peer gets its first connection to us (either side dialled); returns an unsubscribe. */
  onConnect?(listener: (peer: PeerId) => void): () => void;
}

/** Raised by `connected` for a peer that left: nobody is connecting. */
export class PeerGoneError extends Error {
  override readonly name = 'PeerGoneError';
}

/** PeerConnections over a libp2p node's connection events; listens between start() and stop(). */
export class ConnectionWatch implements PeerConnections {
  /** Peers whose last connection closed (they left or crashed), until they connect again. */
  private readonly gone = new Set<string>();
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(peer: PeerId) => void>();

  constructor(private readonly node: WatchedNode) {
    this.onPeerConnect = this.onPeerConnect.bind(this);
    this.onDisconnect = this.onDisconnect.bind(this);
  }

  start(): void {
    this.node.addEventListener('peer:connect', this.onPeerConnect);
    this.node.addEventListener('peer:disconnect', this.onDisconnect);
  }

  stop(): void {
    this.node.removeEventListener('peer:connect', this.onPeerConnect);
    this.node.removeEventListener('peer:disconnect', this.onDisconnect);
  }

  connected(peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const id = peer.toString();
    if (this.node.getConnections(peer).some((c) => c.status === 'open')) return Promise.resolve();
    if (this.gone.has(id)) return Promise.reject(new PeerGoneError(`peer ${id} disconnected and has not come back`));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        const set = this.waiting.get(id);
        set?.delete(wake);
        if (set?.size === 0) this.waiting.delete(id);
      };
      const wake = (): void => { done(); resolve(); };
      const onAbort = (): void => { done(); reject(signal!.reason); };
      let set = this.waiting.get(id);
      if (set === undefined) this.waiting.set(id, set = new Set());
      set.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  onConnect(listener: (peer: PeerId) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private onPeerConnect(evt: CustomEvent<PeerId>): void {
    const id = evt.detail.toString();
    this.gone.delete(id);
    const set = this.waiting.get(id);
    if (set !== undefined) for (const wake of [...set]) wake();
    for (const listener of [...this.listeners]) listener(evt.detail);
  }

  private onDisconnect(evt: CustomEvent<PeerId>): void {
    this.gone.add(evt.detail.toString());
  }
}

/**
 * Open a stream to `peer` through `dialer`; when libp2p finds neither a connection nor an address for it
 * (NoValidAddressesError), wait for the peer's own connection through `connections` (see the module
 * comment) and open it then. Rejects with the dial's error when there is nothing to wait for.
 */
export async function openStreamToPeer(dialer: StreamOpener, connections: PeerConnections | undefined, peer: PeerId, protocols: string[], options: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream> {
  try {
    return await dialer.openStream(peer, protocols, options);
  } catch (err) {
    if (connections === undefined || (err as Error | null)?.name !== 'NoValidAddressesError') throw err;
    try {
      await connections.connected(peer, options);
    } catch {
      throw err; // gone, or the deadline passed: the dial's own error says why the send failed
    }
    return dialer.openStream(peer, protocols, options);
  }
}
