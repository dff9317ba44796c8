/**
 * The handshake half of noise's crypto, cheaper on Node 20, with the same algorithms and bytes on the wire: a
 * 500-peer bring-up runs 2,000 XX handshakes on one thread (protocols/docs/exchange-tuning.md §15).
 *
 * - X25519 keys cross into Node as JWK, not DER. Node 20's OpenSSL 3 decodes and encodes DER keys through its
 *   generic decoder framework: importing a raw public key from SPKI DER costs ~107 µs, from JWK ~18 µs; a key
 *   pair plus its two DER exports ~158 µs, plus one JWK export ~47 µs (tmp micro-benchmark, loaded machine).
 *   A handshake makes one key pair and imports two remote keys per side.
 * - HKDF by Node (`hkdfSync`, RFC 5869 as noise's @noble/hashes one): ~20 µs against ~36 µs, four per side.
 * - Each KeyObject is made once per key (the private one with its pair, a remote one at its first DH); noise's
 *   default rebuilds both from DER for each of the three DHs of an XX handshake (exchange-tuning.md §5).
 * - The node's signature of its static noise key is made once (`signingOnce`): noise signs the same message,
 *   "noise-libp2p-static-key:" + the static key, at every handshake, and @libp2p/crypto rebuilds the Ed25519
 *   KeyObject from JWK for each signature (~114 µs; ~47 µs of it the signature). A valid signature of the same
 *   message is as good as a new one (Ed25519 signatures are deterministic anyway: the same bytes).
 * Nothing here skips a check: every DH, every verification of the remote's signature and every cipher runs.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import type { AbortOptions, PrivateKey } from '@libp2p/interface';

/** A key as noise passes it: bytes or a list of chunks (its own uint8arraylist version's type). */
type KeyBytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0];

/** DER header of a raw X25519 private key (RFC 8410): only for a private key noise hands over as a copy. */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const EMPTY = new Uint8Array(0);

/** Private KeyObjects by the exact byte array noise holds (its handshake state keeps one per key). */
const privateKeys = new WeakMap<Uint8Array, KeyObject>();
/**
 * Remote public KeyObjects by their bytes: noise hands a remote key over as a new view for each DH, and a
 * node's static key recurs over its connections. Bounded: cleared when full (a handshake needs its entries
 * for a few messages only).
 */
const publicKeys = new Map<string, KeyObject>();
const MAX_PUBLIC_KEYS = 4096;

function bytesOf(raw: KeyBytes): Uint8Array {
  return raw instanceof Uint8Array ? raw : raw.subarray();
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function privateKeyOf(raw: KeyBytes): KeyObject {
  const hit = raw instanceof Uint8Array ? privateKeys.get(raw) : undefined;
  if (hit !== undefined) return hit;
  // A copy noise made (not seen in 17.0.0's handshake): the rare path, by DER (a JWK private key needs `x`).
  const bytes = bytesOf(raw);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes], PKCS8_PREFIX.byteLength + bytes.byteLength), type: 'pkcs8', format: 'der' });
  if (raw instanceof Uint8Array) privateKeys.set(raw, key);
  return key;
}

function publicKeyOf(raw: KeyBytes): KeyObject {
  const bytes = bytesOf(raw);
  if (bytes.byteLength !== 32) throw new RangeError(`X25519 public key has ${bytes.byteLength} bytes, expected 32`);
  const x = base64url(bytes);
  const hit = publicKeys.get(x);
  if (hit !== undefined) return hit;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  if (publicKeys.size >= MAX_PUBLIC_KEYS) publicKeys.clear();
  publicKeys.set(x, key);
  return key;
}

/** An X25519 key pair as raw bytes, its private KeyObject remembered for the DHs (module comment). */
function generateX25519KeyPair(): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk: JsonWebKey = privateKey.export({ format: 'jwk' });
  // Own memory (Uint8Array.from): a small Buffer.from(string) is a view into Node's shared pool, and the
  // memory transport hands views to other nodes of the process.
  const priv = Uint8Array.from(Buffer.from(jwk.d!, 'base64url'));
  privateKeys.set(priv, privateKey);
  return { publicKey: Uint8Array.from(Buffer.from(jwk.x!, 'base64url')), privateKey: priv };
}

function generateX25519SharedKey(privateKey: KeyBytes, publicKey: KeyBytes): Uint8Array {
  return diffieHellman({ privateKey: privateKeyOf(privateKey), publicKey: publicKeyOf(publicKey) });
}

/** Noise's HKDF (HMAC-SHA256, salt `ck`, no info, three 32-byte outputs) by Node. */
function getHKDF(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 96));
  return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)];
}

/**
 * `base` (hashing and the ciphers: noise-crypto.ts) with the handshake functions above; pass as
 * `noise({ crypto: handshakeCrypto(base) })`. A seeded static key (noise's `staticNoiseKey`) stays with `base`.
 */
export function handshakeCrypto(base: ICryptoInterface): ICryptoInterface {
  return { ...base, generateX25519KeyPair, generateX25519SharedKey, getHKDF };
}

/**
 * `key` with its last signature remembered: signing the same message again returns a copy of it (module
 * comment). Anything else about the key is `key`'s own.
 */
export function signingOnce(key: PrivateKey): PrivateKey {
  let last: { message: Uint8Array; signature: Uint8Array } | null = null;
  const sign = async (message: Uint8Array | { subarray(): Uint8Array }, options?: AbortOptions): Promise<Uint8Array> => {
    const bytes = message instanceof Uint8Array ? message : message.subarray();
    if (last !== null && Buffer.compare(last.message, bytes) === 0) {
      options?.signal?.throwIfAborted();
      return Uint8Array.from(last.signature);
    }
    const signature = await key.sign(bytes, options);
    // Copies (Uint8Array.from: a Buffer's slice() would share the caller's memory).
    last = { message: Uint8Array.from(bytes), signature: Uint8Array.from(signature) };
    return signature;
  };
  return new Proxy(key, { get: (target, prop) => (prop === 'sign' ? sign : Reflect.get(target, prop, target)) });
}

/**
 * libp2p's components for a noise encrypter, with the node's key signing once (`signingOnce`). Noise reads
 * `components.privateKey` at each handshake; every other component is libp2p's.
 */
export function withSigningOnce<C extends { privateKey: PrivateKey }>(components: C): C {
  let privateKey: PrivateKey | null = null;
  return new Proxy(components, {
    get: (target, prop) => (prop === 'privateKey' ? (privateKey ??= signingOnce(target.privateKey)) : Reflect.get(target, prop, target)),
  });
}
