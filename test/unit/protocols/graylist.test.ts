import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { peerIdFromString } from '@libp2p/peer-id';
import { Graylist } from '../../../protocols/graylist.js';

const PEER = '12D3KooWGRUVh9fPYMh7aYmkSoXYdDHXz1aYqJ2qPNDFkUJKDcQg';

describe('Graylist', () => {
  it('lists a peer at the third strike within the window, for banMs, and the gater refuses it both ways', async () => {
    let now = 0;
    const listed: string[] = [];
    const g = new Graylist({ strikes: 3, windowMs: 1000, banMs: 5000, now: () => now, onListed: (p) => listed.push(p) });
    assert.equal(g.strike(PEER, 'endless-length-prefix'), false);
    now = 500;
    assert.equal(g.strike(PEER, 'negotiation-garbage'), false);
    assert.equal(g.isListed(PEER), false);
    now = 900;
    assert.equal(g.strike(PEER, 'negotiation-garbage'), true);
    assert.deepEqual(listed, [PEER]);
    assert.deepEqual(g.entries(), [{ peer: PEER, until: 5900, reason: 'negotiation-garbage', strikes: 3 }]);
    const gater = g.gater();
    const id = peerIdFromString(PEER);
    assert.equal(await gater.denyDialPeer!(id), true);
    assert.equal(await gater.denyInboundEncryptedConnection!(id, {} as never), true);
    now = 5900;
    assert.equal(g.isListed(PEER), false, 'the ban ends after banMs');
    assert.equal(await gater.denyDialPeer!(id), false);
    assert.deepEqual(g.strikeCounts(), { 'endless-length-prefix': 1, 'negotiation-garbage': 2 });
  });

  it('forgets strikes older than the window', () => {
    let now = 0;
    const g = new Graylist({ strikes: 2, windowMs: 1000, now: () => now });
    g.strike(PEER, 'endless-length-prefix');
    now = 1000;
    assert.equal(g.strike(PEER, 'endless-length-prefix'), false);
    now = 1999;
    assert.equal(g.strike(PEER, 'endless-length-prefix'), true);
  });
});
