import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { keyFromSeed, swarmPeerIds, swarmPeerSeed } from '../../../protocols/keys.js';

describe('seeded identities', () => {
  it('derive the key @libp2p/crypto derives from the same seed (same peer ids, same signatures)', async () => {
    for (let i = 0; i < 20; i++) {
      const seed = swarmPeerSeed(7, i);
      const ours = await keyFromSeed(seed);
      const reference = await generateKeyPairFromSeed('Ed25519', createHash('sha256').update(seed, 'utf8').digest());
      assert.deepEqual(ours.raw, reference.raw);
      assert.equal(peerIdFromPrivateKey(ours).toString(), peerIdFromPrivateKey(reference).toString());
      const message = Uint8Array.of(1, 2, 3, i);
      assert.ok(await reference.publicKey.verify(message, await ours.sign(message)));
    }
  });

  it('give every peer of a swarm its own id, the same each time', async () => {
    const ids = await swarmPeerIds(1, 50);
    assert.equal(new Set(ids).size, 50);
    assert.deepEqual(await swarmPeerIds(1, 50), ids);
  });
});
