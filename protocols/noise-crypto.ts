/**
 * Noise's default crypto (@chainsafe/libp2p-noise/crypto: Node's X25519 and ChaCha20-Poly1305) with one
 * change: X25519 keys become Node KeyObjects once, not at every Diffie-Hellman. The default rebuilds both
 * KeyObjects from DER bytes for each of the three DH operations of an XX handshake, although the static key is
 * the same for every handshake of a node and each ephemeral key serves two of them; in a 100-peer bring-up
 * profile `createPrivateKey`/`createPublicKey` were 14% of the main thread (protocols/docs/exchange-tuning.md
 * §5). Same algorithms and bytes on the wire: peers with and without it interoperate.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';

/** A key as noise passes it: bytes or a list of chunks (its own uint8arraylist version's type). */
type KeyBytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0];

/** DER headers of a raw X25519 key (RFC 8410), as @chainsafe/libp2p-noise writes them. */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

/** Private KeyObjects by the exact byte array noise holds (its handshake state keeps one per key). */
const privateKeys = new WeakMap<Uint8Array, KeyObject>();
/**
 * Remote public KeyObjects by their bytes: noise hands the remote ephemeral key over as a new view for each
 * of its two DHs. Bounded: cleared when full (a handshake needs its entries for a few messages only).
 */
const publicKeys = new Map<string, KeyObject>();
const MAX_PUBLIC_KEYS = 4096;

function der(prefix: Uint8Array, raw: KeyBytes): Buffer {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray();
  return Buffer.concat([prefix, bytes], prefix.byteLength + bytes.byteLength);
}

function privateKeyOf(raw: KeyBytes): KeyObject {
  const hit = raw instanceof Uint8Array ? privateKeys.get(raw) : undefined;
  if (hit !== undefined) return hit;
  const key = createPrivateKey({ key: der(PKCS8_PREFIX, raw), type: 'pkcs8', format: 'der' });
  if (raw instanceof Uint8Array) privateKeys.set(raw, key);
  return key;
}

function publicKeyOf(raw: KeyBytes): KeyObject {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray();
  const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const hit = publicKeys.get(id);
  if (hit !== undefined) return hit;
  const key = createPublicKey({ key: der(SPKI_PREFIX, bytes), type: 'spki', format: 'der' });
  if (publicKeys.size >= MAX_PUBLIC_KEYS) publicKeys.clear();
  publicKeys.set(id, key);
  return key;
}

/** Noise crypto with cached X25519 KeyObjects (see the module comment); pass as `noise({ crypto })`. */
export const keyCachingNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair() {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const pub = publicKey.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.byteLength);
    const priv = privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(PKCS8_PREFIX.byteLength);
    privateKeys.set(priv, privateKey);
    return { publicKey: pub, privateKey: priv };
  },
  generateX25519SharedKey(privateKey, publicKey) {
    return diffieHellman({ privateKey: privateKeyOf(privateKey), publicKey: publicKeyOf(publicKey) });
  },
};
