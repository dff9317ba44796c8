/**
 * openStreamOnConnection (protocols/stream-opener.ts): a stream that may run on a limited connection opens
 * on the relayed connection we have instead of a new dial; everything else goes through dialProtocol.
 */
import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { openStreamOnConnection, type StreamOpeningNode } from '../../../protocols/stream-opener.js';

const PEER = peerIdFromString('12D3KooWBFo4QqjAzaDsE9TUBi8tnGy8awMtyMTdA2JVZb8e8SXC');

/** A node whose connections are `conns`; records which path opened each stream. */
function fakeNode(conns: Array<{ id: string; status: string; limited: boolean }>) {
  const opened: string[] = [];
  const stream = (via: string) => { opened.push(via); return Promise.resolve({ protocol: '/p' } as unknown as Stream); };
  const node: StreamOpeningNode = {
    getConnections: (peer?: PeerId) => (peer?.equals(PEER) === true ? conns : []).map((c) => ({
      id: c.id, status: c.status, ...(c.limited ? { limits: { bytes: 1n } } : {}), newStream: () => stream(c.id),
    }) as unknown as Connection),
    dialProtocol: () => stream('dial'),
  };
  return { node, opened };
}

describe('openStreamOnConnection', () => {
  it('opens on the oldest open limited connection when the protocol may run on one (no dial)', async () => {
    const { node, opened } = fakeNode([{ id: 'closing', status: 'closing', limited: true }, { id: 'relayed-1', status: 'open', limited: true }, { id: 'relayed-2', status: 'open', limited: true }]);
    await openStreamOnConnection(node, PEER, '/p', { runOnLimitedConnection: true });
    assert.deepEqual(opened, ['relayed-1']);
  });

  it('dials (libp2p picks the connection) when an unlimited connection is open, when the protocol may not run limited, or when nothing is open', async () => {
    for (const [conns, allowed] of [
      [[{ id: 'relayed', status: 'open', limited: true }, { id: 'direct', status: 'open', limited: false }], true],
      [[{ id: 'relayed', status: 'open', limited: true }], false],
      [[{ id: 'relayed', status: 'closed', limited: true }], true],
      [[], true],
    ] as const) {
      const { node, opened } = fakeNode([...conns]);
      await openStreamOnConnection(node, PEER, '/p', { runOnLimitedConnection: allowed });
      assert.deepEqual(opened, ['dial'], JSON.stringify({ conns, allowed }));
    }
  });
});
