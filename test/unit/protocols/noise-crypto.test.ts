import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { noise } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { MessageStream, StreamMessageEvent, Upgrader } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { decryptInPieces, decryptsInPieces, keyCachingNoiseCrypto, murmurNoise } from '../../../protocols/noise-crypto.js';

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

/** A ChaCha20-Poly1305 channel as noise's handshake holds one: a key and a nonce counter per direction. */
function channel(key: Uint8Array) {
  const nonce = (n: number) => { const b = new Uint8Array(12); new DataView(b.buffer).setBigUint64(4, BigInt(n), true); return b; };
  let sent = 0, received = 0;
  const calls: { pieces: number; dst: Uint8Array | undefined }[] = [];
  const ad = new Uint8Array(0);
  return {
    calls,
    seal: (plaintext: Uint8Array): Uint8Array => (defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(sent++), ad, key) as Uint8ArrayList | Uint8Array).subarray(),
    handshake: {
      decrypt(ciphertext: unknown, dst?: Uint8Array) {
        calls.push({ pieces: ciphertext instanceof Uint8Array ? 1 : [...(ciphertext as Uint8ArrayList)].length, dst });
        return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext as Uint8Array, nonce(received++), ad, key, dst) as Uint8Array;
      },
    },
  };
}

const random = (n: number, seed: number): Uint8Array => { const b = new Uint8Array(n); let x = seed; for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; } return b; };
const counter = () => { const c = { n: 0, increment() { c.n++; } }; return c; };

describe('decryptInPieces (noise decrypt without joining a message\'s pieces)', () => {
  const key = random(32, 1);

  it('decrypts a message split into two pieces at any position, handing Node\'s cipher the pieces and no destination', () => {
    // 65,535 bytes: noise's largest message (the case of every TCP transfer); 1,216: the smallest on Node's cipher.
    for (const size of [65_535, 1_216]) {
      const plaintext = random(size - 16, size);
      const positions = [1, 2, 15, 16, 17, size - 17, size - 16, size - 15, size - 1];
      for (let p = 997; p < size - 1; p += 4099) positions.push(p);
      for (const at of positions) {
        const c = channel(key);
        const wire = c.seal(plaintext);
        const metrics = { decryptedPackets: counter(), decryptErrors: counter() };
        const out = decryptInPieces.call({ handshake: c.handshake, metrics }, new Uint8ArrayList(wire.subarray(0, at), wire.subarray(at)));
        assert.deepEqual(Uint8Array.from(out.subarray()), plaintext, `size ${size} split at ${at}`);
        assert.equal(c.calls[0]!.dst, undefined, `size ${size} split at ${at}: no joined destination`);
        assert.equal(c.calls[0]!.pieces, 2, `size ${size} split at ${at}: the pieces, not a joined copy`);
        assert.equal(metrics.decryptedPackets.n, 1);
      }
    }
  });

  it('decrypts the messages of a chunk one after another, small ones into noise\'s destination as noise does', () => {
    const c = channel(key);
    const big = random(65_519, 2), small = random(100, 3);
    const wire = new Uint8ArrayList(c.seal(big), c.seal(small));
    const out = decryptInPieces.call({ handshake: c.handshake }, new Uint8ArrayList(wire.subarray(0, 40_000), wire.subarray(40_000)));
    assert.deepEqual(Uint8Array.from(out.subarray()), Uint8Array.from(new Uint8ArrayList(big, small).subarray()));
    assert.equal(c.calls.length, 2);
    assert.equal(c.calls[1]!.dst?.byteLength, 100, 'the WebAssembly cipher (< 1,200 bytes) decrypts in place');
  });

  it('refuses a tampered message and a chunk too short for a tag, counting the error', () => {
    const c = channel(key);
    const wire = c.seal(random(5000, 4));
    wire[4999]! ^= 1;
    const metrics = { decryptedPackets: counter(), decryptErrors: counter() };
    assert.throws(() => decryptInPieces.call({ handshake: c.handshake, metrics }, new Uint8ArrayList(wire.subarray(0, 7), wire.subarray(7))));
    assert.equal(metrics.decryptErrors.n, 1);
    assert.throws(() => decryptInPieces.call({ handshake: channel(key).handshake }, new Uint8Array(15)), /Invalid chunk/);
  });
});

describe('murmurNoise', () => {
  async function components() {
    const privateKey = await generateKeyPair('Ed25519');
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader: { getStreamMuxers: () => new Map() } as unknown as Upgrader };
  }

  /** Send `data` over `from` and collect what `to` emits until it has as many bytes. */
  async function transfer(from: MessageStream, to: MessageStream, data: Uint8Array): Promise<Uint8Array> {
    const got = new Uint8ArrayList();
    const done = new Promise<void>((resolve) => {
      to.addEventListener('message', (evt) => { got.append((evt as StreamMessageEvent).data); if (got.byteLength >= data.byteLength) resolve(); });
    });
    from.send(data);
    await done;
    return got.subarray();
  }

  it('secures connections that decrypt in pieces and interoperate with default noise both ways', async () => {
    const kinds = { ours: murmurNoise, default: noise };
    for (const [outKind, inKind] of [['ours', 'default'], ['default', 'ours'], ['ours', 'ours']] as const) {
      const [outConn, inConn] = multiaddrConnectionPair();
      const bComponents = await components();
      const a = kinds[outKind]()(await components());
      const b = kinds[inKind]()(bComponents);
      const opts = { skipStreamMuxerNegotiation: true } as const;
      const [out, inb] = await Promise.all([a.secureOutbound(outConn, { ...opts, remotePeer: bComponents.peerId }), b.secureInbound(inConn, opts)]);
      assert.equal(decryptsInPieces(out.connection), outKind === 'ours', `${outKind} → ${inKind}: outbound`);
      assert.equal(decryptsInPieces(inb.connection), inKind === 'ours', `${outKind} → ${inKind}: inbound`);
      // Count the decrypts noise makes through the installed method: it must look it up on the stream each time.
      const calls = { out: 0, inb: 0 };
      for (const [side, conn] of [['out', out.connection], ['inb', inb.connection]] as const) {
        const stream = conn as unknown as { decrypt: (chunk: unknown) => unknown };
        const installed = stream.decrypt;
        stream.decrypt = function (this: unknown, chunk: unknown) { calls[side]++; return installed.call(this, chunk); };
      }
      const data = random(300_000, 5);
      assert.deepEqual(Uint8Array.from(await transfer(out.connection, inb.connection, data)), data, `${outKind} → ${inKind}`);
      assert.deepEqual(Uint8Array.from(await transfer(inb.connection, out.connection, data)), data, `${inKind} → ${outKind}`);
      assert.ok(calls.out >= 5 && calls.inb >= 5, `noise decrypts through the stream's method (${calls.out}, ${calls.inb} calls)`);
    }
  });
});
