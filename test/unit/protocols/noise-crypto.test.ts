import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { keyCachingNoiseCrypto } from '../../../protocols/noise-crypto.js';

/** noise's own copy of uint8arraylist is another declared type than ours; the same class at run time. */
const asKey = (l: Uint8ArrayList) => l as unknown as Parameters<typeof keyCachingNoiseCrypto.generateX25519SharedKey>[0];

describe('noise crypto with cached X25519 keys', () => {
  it('agrees with noise\'s default crypto on every shared secret, whoever made the keys', () => {
    const ours = keyCachingNoiseCrypto.generateX25519KeyPair();
    const theirs = defaultCrypto.generateX25519KeyPair();
    const fromSeed = keyCachingNoiseCrypto.generateX25519KeyPairFromSeed(new Uint8Array(32).fill(7));
    for (const [a, b] of [[ours, theirs], [theirs, ours], [fromSeed, ours], [ours, fromSeed]] as const) {
      const expected = defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey);
      // Twice: the second time from the caches; then with the keys as lists, as noise may pass them.
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey), expected);
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey), expected);
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(asKey(new Uint8ArrayList(a.privateKey.slice())), asKey(new Uint8ArrayList(b.publicKey.slice()))), expected);
      // Both sides derive the same secret (Diffie-Hellman).
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(b.privateKey, a.publicKey), expected);
    }
  });

  it('does not mix up cached keys: 300 key pairs, each secret as the default computes it', () => {
    const a = keyCachingNoiseCrypto.generateX25519KeyPair();
    const others = Array.from({ length: 300 }, () => defaultCrypto.generateX25519KeyPair());
    for (const o of others) {
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(a.privateKey, o.publicKey), defaultCrypto.generateX25519SharedKey(a.privateKey, o.publicKey));
      assert.deepEqual(keyCachingNoiseCrypto.generateX25519SharedKey(o.privateKey, a.publicKey), defaultCrypto.generateX25519SharedKey(o.privateKey, a.publicKey));
    }
  });
});
