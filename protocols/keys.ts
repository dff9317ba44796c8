/**
 * The one identity derivation of simulated and seeded peers: an Ed25519 key from a seed string, and the seed
 * of peer i of a swarm. The libp2p swarm gives its nodes these keys and the virtual swarm gives its peers the
 * same ids, so a synchronous experiment is bit-identical over both (a peer's random streams and the order it
 * aggregates in depend on its id; DESIGN.md seam 5).
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

/** PKCS#8 DER header of a raw 32-byte Ed25519 seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Deterministic Ed25519 key from a seed string (SHA-256 of its UTF-8 bytes as the 32-byte seed): the key
 * `generateKeyPairFromSeed('Ed25519', …)` of @libp2p/crypto gives (RFC 8032 derives the key pair from the
 * seed alone), but through Node's native Ed25519: @libp2p/crypto derives the public key in pure JS
 * (@noble/curves), ~10 ms a key on a loaded machine, 100 s for a 10,000-peer swarm.
 */
export async function keyFromSeed(seed: string): Promise<PrivateKey> {
  const secret = createHash('sha256').update(seed, 'utf8').digest();
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const publicKey = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
  return privateKeyFromRaw(Buffer.concat([secret, publicKey]));
}

/** The key seed of peer `index` of a simulated swarm with experiment seed `seed`. */
export function swarmPeerSeed(seed: number | string, index: number): string {
  return `${String(seed)}/peer-${index}`;
}

/** The peer ids (string form) of the `n` peers of a simulated swarm, without starting any node. */
export async function swarmPeerIds(seed: number | string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(peerIdFromPrivateKey(await keyFromSeed(swarmPeerSeed(seed, i))).toString());
  return ids;
}
