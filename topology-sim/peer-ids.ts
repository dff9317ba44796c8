/** Peer ids of simulated libp2p peers, derived from the experiment seed without starting any node. */
/**
 * The peer ids Libp2pSwarm gives a swarm of `n` with `seed` (Ed25519 keys from `${seed}/peer-${i}`,
 * protocols/libp2p.ts keyFromSeed). libp2p is imported only when this is called.
 */
export async function libp2pPeerIds(seed: number | string, n: number): Promise<string[]> {
  const [{ keyFromSeed }, { peerIdFromPrivateKey }] = await Promise.all([import('../protocols/libp2p.js'), import('@libp2p/peer-id')]);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(peerIdFromPrivateKey(await keyFromSeed(`${String(seed)}/peer-${i}`)).toString());
  return ids;
}

