/**
 * askRelaysAgain (protocols/relay-slots.ts): a device short of relay slots runs identify again on its open
 * direct connections to relays (which makes the relay transport ask for a slot again), and on nothing else.
 */
import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '@libp2p/interface';
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import { peerIdFromString } from '@libp2p/peer-id';
import { askRelaysAgain, FORGETFUL_RELAY_FILTER, type RelaySlotNode } from '../../../protocols/relay-slots.js';

const RELAY = peerIdFromString('12D3KooWBFo4QqjAzaDsE9TUBi8tnGy8awMtyMTdA2JVZb8e8SXC');
const OTHER = peerIdFromString('12D3KooWETmRWSUjfhgnuu9pv8vrNxzHQesKVmrhLTGPEj9zg6FK');

function fakeNode() {
  const identified: string[] = [];
  const conn = (id: string, peer: typeof RELAY, status: string, limited: boolean) =>
    ({ id, remotePeer: peer, status, ...(limited ? { limits: { bytes: 1n } } : {}) }) as unknown as Connection;
  const node: RelaySlotNode = {
    getConnections: () => [conn('relay-direct', RELAY, 'open', false), conn('relay-closed', RELAY, 'closed', false), conn('other-direct', OTHER, 'open', false), conn('other-relayed', OTHER, 'open', true)],
    peerStore: { get: async (peer) => ({ protocols: peer.equals(RELAY) ? ['/ipfs/id/1.0.0', RELAY_V2_HOP_CODEC] : ['/ipfs/id/1.0.0'] }) },
    services: { identify: { identify: async (c: Connection) => { identified.push(c.id); } } },
  };
  return { node, identified };
}

describe('relay slots', () => {
  it('short of slots: identify runs again on the open direct connection to the relay, nowhere else', async () => {
    const { node, identified } = fakeNode();
    assert.equal(await askRelaysAgain({ node, wanted: 1, held: () => 0 }), 1);
    assert.deepEqual(identified, ['relay-direct']);
  });

  it('holding the slots wanted: nothing runs', async () => {
    const { node, identified } = fakeNode();
    assert.equal(await askRelaysAgain({ node, wanted: 1, held: () => 1 }), 0);
    assert.deepEqual(identified, []);
  });

  it('the transport\'s discovery filter remembers no relay (so an identify again reaches it)', () => {
    FORGETFUL_RELAY_FILTER.add(RELAY);
    assert.equal(FORGETFUL_RELAY_FILTER.has(RELAY), false);
  });
});
