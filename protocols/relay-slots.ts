/**
 * Asking a connected relay for a slot again. @libp2p/circuit-relay-v2 asks a relay for a slot when identify
 * first shows it speaking the hop protocol, and never again while that connection stays open: a request
 * that failed (seen under load in the NAT e2e, protocols/docs/exchange-tuning.md §21) left a device behind
 * NAT without a slot, reachable only over connections it opened. While we hold fewer slots than we want,
 * this runs identify again on each open direct connection to a relay; with the transport's discovery filter
 * forgetting relays (`FORGETFUL_RELAY_FILTER`, protocols/nat.ts), that asks the relay for a slot again.
 */
import type { Connection, PeerId, TopologyFilter } from '@libp2p/interface';
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';

/** How often a device without all its slots asks its connected relays again, ms. */
export const RELAY_SLOT_RETRY_MS = 15_000;

/**
 * The relay transport's discovery filter: remembers no relay, so every identify of a relay (ours below, or
 * its identify push) reaches the transport; one that holds enough slots ignores it (HadEnoughRelaysError).
 */
export const FORGETFUL_RELAY_FILTER: TopologyFilter = { has: () => false, add: () => {}, remove: () => {} };

/** What the keeper needs of a libp2p node (a device node fits). */
export interface RelaySlotNode {
  getConnections(): Connection[];
  peerStore: { get(peer: PeerId): Promise<{ protocols: string[] }> };
  services: { identify?: { identify(connection: Connection): Promise<unknown> } };
}

/** Options of {@link keepRelaySlots}. */
export interface RelaySlotKeeperInit {
  node: RelaySlotNode;
  /** Slots wanted (0: the keeper does nothing). */
  wanted: number;
  /** Slots held now. */
  held: () => number;
  everyMs?: number;
}

/** One pass: when short of slots, identify again every open direct connection to a relay. */
export async function askRelaysAgain(init: RelaySlotKeeperInit): Promise<number> {
  if (init.held() >= init.wanted) return 0;
  let asked = 0;
  for (const conn of init.node.getConnections()) {
    if (conn.status !== 'open' || conn.limits !== undefined) continue;
    const peer = await init.node.peerStore.get(conn.remotePeer).catch(() => null);
    if (peer === null || !peer.protocols.includes(RELAY_V2_HOP_CODEC)) continue;
    asked++;
    await init.node.services.identify?.identify(conn).catch(() => {});
  }
  return asked;
}

/** Run {@link askRelaysAgain} every `everyMs` until the returned stop is called. */
export function keepRelaySlots(init: RelaySlotKeeperInit): () => void {
  if (init.wanted <= 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void askRelaysAgain(init).finally(() => { running = false; });
  }, init.everyMs ?? RELAY_SLOT_RETRY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
