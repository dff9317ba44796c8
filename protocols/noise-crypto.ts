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
 * The crypto: noise's default crypto (@chainsafe/libp2p-noise/crypto: Node's ChaCha20-Poly1305) with the
 * handshake's key work of noise-handshake.ts: X25519 keys made into Node KeyObjects once per key and crossing
 * into Node as JWK, HKDF by Node, the static key signed once per node (exchange-tuning.md §5, §15). Same
 * algorithms and bytes on the wire: peers with and without it interoperate.
 */
import { noise, type ICryptoInterface, type NoiseInit } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { handshakeCrypto, withSigningOnce } from './noise-handshake.js';

/** Noise crypto as nodes run it (module comment); pass as `noise({ crypto })`. */
export const keyCachingNoiseCrypto: ICryptoInterface = handshakeCrypto(defaultCrypto);

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
  // The static key's signature made once per node, same bytes (noise-handshake.ts).
  const make = noise({ ...init, crypto: keyCachingNoiseCrypto });
  return (components) => {
    const encrypter = make(withSigningOnce(components));
    const outbound = encrypter.secureOutbound.bind(encrypter);
    const inbound = encrypter.secureInbound.bind(encrypter);
    encrypter.secureOutbound = async (...args) => installDecrypt(await outbound(...args));
    encrypter.secureInbound = async (...args) => installDecrypt(await inbound(...args));
    return encrypter;
  };
}
