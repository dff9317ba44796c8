/**
 * The one identity derivation of simulated and seeded peers: an Ed25519 key from a seed string, and the seed
 * of peer i of a swarm. The libp2p swarm gives its nodes these keys and the virtual swarm gives its peers the
 * same ids, so a synchronous experiment is bit-identical over both (a peer's random streams and the order it
 * aggregates in depend on its id; DESIGN.md seam 5).
 */
import { createHash } from 'node:crypto';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

/** Deterministic Ed25519 key from a seed string (SHA-256 of its UTF-8 bytes as the 32-byte seed). */
export async function keyFromSeed(seed: string): Promise<PrivateKey> {
  return generateKeyPairFromSeed('Ed25519', createHash('sha256').update(seed, 'utf8').digest());
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
