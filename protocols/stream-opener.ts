/**
 * Opening a protocol stream to a connected peer without dialing it again. libp2p's `dialProtocol(peerId)`
 * reuses an open connection only when it is unlimited: with nothing but relayed (limited) connections it
 * dials the peer again, hoping for a direct connection (libp2p/js-libp2p#2187; libp2p 3.3
 * `findExistingConnection`). To a neighbour behind another NAT, reachable only through a relay, every model
 * frame then started a full dial: the peer's private addresses (unreachable from here, up to the dial
 * timeout), then one more circuit through the relay, which libp2p drops again as a duplicate of the one we
 * have. On a loaded machine that dial outlived the send's deadline, so every frame to that neighbour failed
 * while its frames to us (over the same relayed connection) arrived (protocols/docs/exchange-tuning.md §21).
 * Finding a direct path is DCUtR's and discovery's job, not a send's: a send that may run on a limited
 * connection uses the one that is open.
 */
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface';

/** What the opener needs of a libp2p node (a node itself fits). */
export interface StreamOpeningNode {
  getConnections(peer?: PeerId): Connection[];
  dialProtocol(peer: PeerId, protocols: string | string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** Options of a stream opening: the caller's deadline, and whether the protocol may run on a limited connection. */
export type OpenStreamOptions = AbortOptions & { runOnLimitedConnection?: boolean };

/**
 * Open `protocols` to `peer`: over an open unlimited connection or by dialing, as libp2p's `dialProtocol`
 * does, except that a peer with only limited connections open is not dialed again when the protocol may
 * run on one (`runOnLimitedConnection`): the stream opens on the oldest open one.
 */
export function openStreamOnConnection(node: StreamOpeningNode, peer: PeerId, protocols: string | string[], options: OpenStreamOptions = {}): Promise<Stream> {
  const open = node.getConnections(peer).filter((c) => c.status === 'open');
  if (options.runOnLimitedConnection === true && open.length > 0 && open.every((c) => c.limits !== undefined)) {
    return open[0]!.newStream(protocols, options);
  }
  return node.dialProtocol(peer, protocols, options);
}
