import '../../../node/polyfill.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Peer, PeerData, PeerId, PeerStore } from '@libp2p/interface';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { skipRepeatedProtocolMerges } from '../../../protocols/peer-store-writes.js';

/** A peer store stub: records by peer, counting the writes that reach it. */
function stubStore(): { store: PeerStore; writes: string[] } {
  const writes: string[] = [];
  const records = new Map<string, Peer>();
  const write = (kind: string, replace: boolean) => async (id: PeerId, data: PeerData): Promise<Peer> => {
    writes.push(kind);
    const old = records.get(id.toString());
    const protocols = replace ? [...data.protocols ?? []] : [...new Set([...old?.protocols ?? [], ...data.protocols ?? []])];
    const peer = { id, addresses: [], protocols, metadata: new Map(), tags: new Map() } as Peer;
    records.set(id.toString(), peer);
    return peer;
  };
  const store = {
    merge: write('merge', false), patch: write('patch', true), save: write('save', true),
    delete: async (id: PeerId) => { writes.push('delete'); records.delete(id.toString()); },
  } as unknown as PeerStore;
  return { store, writes };
}

describe('skipRepeatedProtocolMerges (swarm nodes without announcements)', () => {
  it('answers a protocols-only merge the record already holds without writing, and writes everything else', async () => {
    const { store, writes } = stubStore();
    skipRepeatedProtocolMerges(store);
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')), b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    await store.merge(a, { protocols: ['/p/1'] });
    const again = await store.merge(a, { protocols: ['/p/1'] });
    assert.deepEqual(again.protocols, ['/p/1']);
    assert.deepEqual(writes, ['merge'], 'the repeated merge wrote');
    await store.merge(a, { protocols: ['/p/2'] });
    await store.merge(b, { protocols: ['/p/1'] });
    await store.merge(a, { protocols: ['/p/1'], tags: { x: { value: 1 } } });
    assert.deepEqual(writes, ['merge', 'merge', 'merge', 'merge'], 'a new protocol, another peer, more than protocols: all written');
    await store.merge(a, { protocols: ['/p/2'] });
    assert.equal(writes.length, 4);
  });

  it('writes again after a patch, save or delete of that peer', async () => {
    const { store, writes } = stubStore();
    skipRepeatedProtocolMerges(store);
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    for (const change of [() => store.patch(a, { protocols: [] }), () => store.save(a, { protocols: [] }), () => store.delete(a)]) {
      await store.merge(a, { protocols: ['/p/1'] });
      await change();
      const before = writes.length;
      const peer = await store.merge(a, { protocols: ['/p/1'] });
      assert.equal(writes.length, before + 1, 'the merge after the change was skipped');
      assert.deepEqual(peer.protocols, ['/p/1']);
    }
  });
});
