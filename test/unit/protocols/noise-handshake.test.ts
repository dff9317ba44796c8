import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto';
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey, Upgrader } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { murmurNoise } from '../../../protocols/noise-crypto.js';
import { handshakeCrypto, signingOnce } from '../../../protocols/noise-handshake.js';

const ours = handshakeCrypto(defaultCrypto);
/** noise's own copy of uint8arraylist is another declared type than ours; the same class at run time. */
const asKey = (l: Uint8ArrayList) => l as unknown as Parameters<typeof ours.generateX25519SharedKey>[0];
/** Deterministic bytes: SHA-256 chained from `seed`. */
function bytes(n: number, seed: string): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0, block = createHash('sha256').update(seed).digest(); at < n; at += 32, block = createHash('sha256').update(block).digest()) out.set(block.subarray(0, Math.min(32, n - at)), at);
  return out;
}

describe('handshakeCrypto', () => {
  it('agrees with noise\'s default crypto on every shared secret, whoever made the keys', () => {
    const pairs = [ours.generateX25519KeyPair(), defaultCrypto.generateX25519KeyPair(), defaultCrypto.generateX25519KeyPairFromSeed(bytes(32, 'seed'))];
    for (const a of pairs) for (const b of pairs) {
      if (a === b) continue;
      const expected = defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey);
      assert.equal(expected.byteLength, 32);
      // Twice (the second from the caches), then with the keys as lists, as noise may pass them.
      assert.deepEqual(Uint8Array.from(ours.generateX25519SharedKey(a.privateKey, b.publicKey)), Uint8Array.from(expected));
      assert.deepEqual(Uint8Array.from(ours.generateX25519SharedKey(a.privateKey, b.publicKey)), Uint8Array.from(expected));
      assert.deepEqual(Uint8Array.from(ours.generateX25519SharedKey(asKey(new Uint8ArrayList(a.privateKey.slice())), asKey(new Uint8ArrayList(b.publicKey.slice())))), Uint8Array.from(expected));
    }
  });

  it('makes fresh key pairs whose public key is its private key\'s (32 bytes each)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pair = ours.generateX25519KeyPair();
      assert.equal(pair.publicKey.byteLength, 32);
      assert.equal(pair.privateKey.byteLength, 32);
      assert.deepEqual(Uint8Array.from(pureJsCrypto.generateX25519KeyPairFromSeed(pair.privateKey.slice()).publicKey), Uint8Array.from(pair.publicKey));
      seen.add(Buffer.from(pair.privateKey).toString('hex'));
      // Each key in memory of its own, not a view into a pool other buffers share.
      assert.equal(pair.privateKey.buffer.byteLength, 32);
      assert.equal(pair.publicKey.buffer.byteLength, 32);
    }
    assert.equal(seen.size, 50);
  });

  it('derives the same HKDF outputs as noise\'s own (@noble/hashes), for empty and 32-byte inputs', () => {
    for (let i = 0; i < 20; i++) {
      const ck = bytes(32, `ck${i}`);
      for (const ikm of [bytes(32, `ikm${i}`), new Uint8Array(0)]) {
        assert.deepEqual(ours.getHKDF(ck, ikm).map((k) => Uint8Array.from(k)), pureJsCrypto.getHKDF(ck, ikm).map((k) => Uint8Array.from(k)));
      }
    }
  });

  it('refuses a public key that is not 32 bytes', () => {
    const a = ours.generateX25519KeyPair();
    assert.throws(() => ours.generateX25519SharedKey(a.privateKey, new Uint8Array(31)), /31 bytes, expected 32/);
  });
});

/** An Ed25519 key that counts its signatures. */
async function countingKey(): Promise<{ key: PrivateKey; signatures: () => number }> {
  const key = await generateKeyPair('Ed25519');
  let n = 0;
  const counted = privateKeyFromRaw(key.raw);
  const sign = counted.sign.bind(counted);
  counted.sign = (data: Parameters<PrivateKey['sign']>[0], options?: Parameters<PrivateKey['sign']>[1]) => { n++; return sign(data, options); };
  return { key: counted, signatures: () => n };
}

describe('signingOnce', () => {
  it('signs a repeated message once, a new message again, and each signature verifies', async () => {
    const { key, signatures } = await countingKey();
    const once = signingOnce(key);
    const m1 = bytes(56, 'm1'), m2 = bytes(56, 'm2');
    const s1 = Uint8Array.from(await once.sign(m1));
    const again = await once.sign(Uint8Array.from(m1));
    assert.deepEqual(again, s1);
    assert.equal(signatures(), 1);
    const s2 = await once.sign(new Uint8ArrayList(m2.subarray(0, 20), m2.subarray(20)));
    assert.equal(signatures(), 2);
    assert.equal(await key.publicKey.verify(m1, s1), true);
    assert.equal(await key.publicKey.verify(m2, s2), true);
    // A caller that changes a returned signature does not change the next one.
    again.fill(0);
    assert.deepEqual(Uint8Array.from(await once.sign(m1)), s1);
    // Everything else is the key's own.
    assert.equal(once.type, 'Ed25519');
    assert.ok(once.publicKey.equals(key.publicKey));
    assert.ok(once.equals(key));
  });
});

describe('murmurNoise handshakes', () => {
  async function components(key?: PrivateKey) {
    const privateKey = key ?? await generateKeyPair('Ed25519');
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader: { getStreamMuxers: () => new Map() } as unknown as Upgrader };
  }

  it('interoperate with stock noise both ways, and a node signs its static key once over many handshakes', async () => {
    const { key, signatures } = await countingKey();
    const mine = murmurNoise()(await components(key));
    const stockDialler = await components();
    const stock = noise()(stockDialler);
    const opts = { skipStreamMuxerNegotiation: true } as const;
    const me = peerIdFromPrivateKey(key);
    for (let i = 0; i < 3; i++) {
      // ours dials stock
      let [o, n] = multiaddrConnectionPair();
      const stockComponents = await components();
      const stockEnd = noise()(stockComponents);
      const [out, inb] = await Promise.all([mine.secureOutbound(o, { ...opts, remotePeer: stockComponents.peerId }), stockEnd.secureInbound(n, opts)]);
      assert.ok(out.remotePeer.equals(stockComponents.peerId));
      assert.ok(inb.remotePeer.equals(me));
      // stock dials ours
      [o, n] = multiaddrConnectionPair();
      const [out2, inb2] = await Promise.all([stock.secureOutbound(o, { ...opts, remotePeer: me }), mine.secureInbound(n, opts)]);
      assert.ok(out2.remotePeer.equals(me));
      assert.ok(inb2.remotePeer.equals(stockDialler.peerId));
      // Data flows both ways over each secured pair.
      for (const [a, b] of [[out.connection, inb.connection], [inb2.connection, out2.connection]] as const) {
        const got = new Promise<Uint8Array>((resolve) => b.addEventListener('message', (evt) => resolve((evt as unknown as { data: Uint8ArrayList | Uint8Array }).data.subarray()), { once: true }));
        a.send(bytes(100, `data${i}`));
        assert.deepEqual(Uint8Array.from(await got), bytes(100, `data${i}`));
      }
    }
    assert.equal(signatures(), 1, 'six handshakes, one signature of the static key');
  });
});
