/**
 * The end of a swarm's bring-up: every listener holds the connections dialled to it. A dial resolves once the
 * dialler sent noise's last handshake message; the listener holds the connection a turn of the event loop later,
 * several under load (protocols/docs/exchange-tuning.md §12). One `connection:open` listener per waiting node,
 * no polling, and one listener on the deadline for them all: a listener per waiting node on one shared signal
 * piled up past Node's limit of 10 (a MaxListenersExceededWarning in every 100-peer bring-up, §19).
 */
import type { Connection } from '@libp2p/interface';
import { releasableDeadline } from '../node/deadline.js';
import { SwarmError } from './errors.js';

/** What the wait needs of a node: its `connection:open` events. */
export interface ConnectionEvents {
  addEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void;
  removeEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void;
}

/**
 * Resolve once each node of `waiting` (swarm index → its node and the peer ids whose connections it does not
 * hold yet) saw a `connection:open` from each of them; reject with ERR_SWARM_CONNECT at `giveUpAt` (epoch ms).
 * Callers check what is held already and call this without an await in between. The id sets are emptied as
 * connections arrive.
 */
export async function connectionsHeld(waiting: ReadonlyMap<number, { node: ConnectionEvents; from: Set<string> }>, giveUpAt: number): Promise<void> {
  if (waiting.size === 0) return;
  const expiry = releasableDeadline(Math.max(0, giveUpAt - Date.now()));
  const unlisten: Array<() => void> = [];
  try {
    const held = Promise.all([...waiting.values()].map(({ node, from }) => new Promise<void>((resolve) => {
      if (from.size === 0) { resolve(); return; }
      const onOpen = (evt: CustomEvent<Connection>): void => {
        from.delete(evt.detail.remotePeer.toString());
        if (from.size === 0) { node.removeEventListener('connection:open', onOpen); resolve(); }
      };
      node.addEventListener('connection:open', onOpen);
      unlisten.push(() => node.removeEventListener('connection:open', onOpen));
    })));
    const expired = new Promise<never>((_, reject) => expiry.signal.addEventListener('abort', () => {
      const [j, left] = [...waiting].find(([, w]) => w.from.size > 0) ?? [-1, { from: new Set() }];
      reject(new SwarmError('ERR_SWARM_CONNECT', `peer ${j} never held the connections of ${left.from.size} neighbour(s) whose dials to it resolved`));
    }, { once: true }));
    expired.catch(() => {});
    await Promise.race([held, expired]);
  } finally {
    expiry.release();
    for (const off of unlisten) off();
  }
}
