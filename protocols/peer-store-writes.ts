/**
 * Peer-store writes a simulated swarm can skip ('swarm' preset without announcements: no identify, no
 * gossipsub, nobody reads the protocols a peer speaks). libp2p records the protocol of every new stream in
 * the peer store on both sides (`peerStore.merge(peer, { protocols: [p] })` in libp2p's connection.js): a
 * lock, a protobuf decode and re-encode of the peer's whole record and a compare, 7.7% of the main thread of
 * a 500-peer round (protocols/docs/exchange-tuning.md §13). Once the record holds p, the merge changes
 * nothing; this answers it from the last record instead. Every other write goes through and refreshes or
 * drops what is remembered of that peer, so the answer is the record the store would return.
 */
import type { AbortOptions, Peer, PeerData, PeerId, PeerStore } from '@libp2p/interface';

/** Make `peerStore` answer a protocols-only merge it already recorded without writing (see the module comment). */
export function skipRepeatedProtocolMerges(peerStore: PeerStore): void {
  /** The record each write of a peer returned last (dropped by writes this cannot see the result of). */
  const last = new Map<string, Peer>();
  const merge = peerStore.merge.bind(peerStore);
  const forget = <A extends unknown[], R>(write: (id: PeerId, ...rest: A) => Promise<R>) =>
    async (id: PeerId, ...rest: A): Promise<R> => { last.delete(id.toString()); try { return await write(id, ...rest); } finally { last.delete(id.toString()); } };
  peerStore.merge = async (id: PeerId, data: PeerData, options?: AbortOptions): Promise<Peer> => {
    const key = id.toString();
    const known = last.get(key);
    const only = data.protocols?.length === 1 && Object.keys(data).length === 1 ? data.protocols[0]! : undefined;
    if (known !== undefined && only !== undefined && known.protocols.includes(only)) return known;
    last.delete(key);
    const peer = await merge(id, data, options);
    last.set(key, peer);
    return peer;
  };
  peerStore.patch = forget(peerStore.patch.bind(peerStore));
  peerStore.save = forget(peerStore.save.bind(peerStore));
  peerStore.delete = forget(peerStore.delete.bind(peerStore));
}
