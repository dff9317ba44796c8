/**
 * Noise as every node runs it: `murmurNoise()`, noise with the crypto below and with received messages
 * decrypted from the pieces they arrived in.
 *
 * Pieces, not a joined copy: a noise message with its 2-byte length is up to 65,537 bytes and a TCP read
 * (and @libp2p/memory's chunk) at most 65,536, so nearly every message of a large transfer arrives in two
 * pieces. Noise's `EncryptedMessageStream.decrypt` (dist/src/utils.js, 17.0.0, the latest) then computes
 * `chunk.subarray(…)` of the message as an in-place destination `dst`, which joins the pieces into a new
 * array: a copy of every received byte. Node's ChaCha20-Poly1305, which noise's default crypto uses from
 * 1,200 bytes up, ignores `dst`, allocates the plaintext and already decrypts a list piece by piece (one
 * `update` per piece, tag and AAD set first). So `decryptInPieces` below is noise's decrypt without that
 * destination for such messages: 5 MB less allocated per 10 MB-model f16 push (protocols/docs/exchange-tuning.md
 * §10, §14). Same bytes on the wire: peers with and without it interoperate.
 *
 * The crypto: noise's default crypto (@chainsafe/libp2p-noise/crypto: Node's X25519 and ChaCha20-Poly1305) with one
 * change: X25519 keys become Node KeyObjects once, not at every Diffie-Hellman. The default rebuilds both
 * KeyObjects from DER bytes for each of the three DH operations of an XX handshake, although the static key is
 * the same for every handshake of a node and each ephemeral key serves two of them; in a 100-peer bring-up
 * profile `createPrivateKey`/`createPublicKey` were 14% of the main thread (protocols/docs/exchange-tuning.md
 * §5). Same algorithms and bytes on the wire: peers with and without it interoperate.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { noise, type ICryptoInterface, type NoiseInit } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { handshakeCrypto, withSigningOnce } from './noise-handshake.js';

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

/** Noise's largest message with its tag (NOISE_MSG_MAX_LENGTH_BYTES, dist/src/constants.js). */
const NOISE_MSG_MAX_BYTES = 65535;
const CHACHA_TAG_BYTES = 16;
/** Below this many bytes noise's default crypto uses its WebAssembly cipher, which decrypts into `dst`. */
const WASM_CIPHER_BELOW_BYTES = 1200;

/** Bytes as noise passes them around: one array or a list of pieces (whichever uint8arraylist version). */
type Pieces = Uint8Array | { byteLength: number; sublist(start: number, end: number): Pieces; subarray(start: number, end: number): Uint8Array };

/** What `decryptInPieces` uses of noise's secured stream (EncryptedMessageStream in 17.0.0). */
export interface NoiseSecuredStream {
  handshake: { decrypt(ciphertext: Pieces, dst?: Uint8Array): Uint8Array | Uint8ArrayList };
  metrics?: { decryptedPackets: { increment(): void }; decryptErrors: { increment(): void } };
}

/**
 * Noise's `EncryptedMessageStream.decrypt` (same loop, checks, metrics and errors) without joining a message's
 * pieces for a destination Node's cipher ignores (module comment). Installed on each secured stream by murmurNoise.
 */
export function decryptInPieces(this: NoiseSecuredStream, chunk: Pieces): Uint8ArrayList {
  const output = new Uint8ArrayList();
  for (let i = 0; i < chunk.byteLength; i += NOISE_MSG_MAX_BYTES) {
    const end = Math.min(i + NOISE_MSG_MAX_BYTES, chunk.byteLength);
    if (end - CHACHA_TAG_BYTES < i) throw new Error('Invalid chunk');
    const encrypted = chunk instanceof Uint8Array ? chunk.subarray(i, end) : chunk.sublist(i, end);
    const dst = end - i < WASM_CIPHER_BELOW_BYTES ? chunk.subarray(i, end - CHACHA_TAG_BYTES) : undefined;
    try {
      output.append(this.handshake.decrypt(encrypted, dst));
      this.metrics?.decryptedPackets.increment();
    } catch (err) {
      this.metrics?.decryptErrors.increment();
      throw err;
    }
  }
  return output;
}

/** Whether `connection` (a secured stream noise returned) decrypts in pieces: tests check murmurNoise still installs it. */
export function decryptsInPieces(connection: object): boolean {
  return (connection as { decrypt?: unknown }).decrypt === decryptInPieces;
}

function installDecrypt<T extends { connection: object }>(secured: T): T {
  const stream = secured.connection as Partial<NoiseSecuredStream> & { decrypt?: unknown };
  // Only over the shape this was written against; another noise version keeps its own decrypt.
  if (typeof stream.decrypt === 'function' && typeof stream.handshake?.decrypt === 'function') {
    stream.decrypt = decryptInPieces;
  }
  return secured;
}

/**
 * noise() with keyCachingNoiseCrypto whose secured streams decrypt received messages from their pieces
 * (module comment). Pass as a connection encrypter: `connectionEncrypters: [murmurNoise()]`.
 */
export function murmurNoise(init: Omit<NoiseInit, 'crypto'> = {}): ReturnType<typeof noise> {
  // The handshake's key work and the static key's signature: cheaper, same bytes (noise-handshake.ts).
  const make = noise({ ...init, crypto: handshakeCrypto(keyCachingNoiseCrypto) });
  return (components) => {
    const encrypter = make(withSigningOnce(components));
    const outbound = encrypter.secureOutbound.bind(encrypter);
    const inbound = encrypter.secureInbound.bind(encrypter);
    encrypter.secureOutbound = async (...args) => installDecrypt(await outbound(...args));
    encrypter.secureInbound = async (...args) => installDecrypt(await inbound(...args));
    return encrypter;
  };
}
