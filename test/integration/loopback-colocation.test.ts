import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { announceTopic } from '../../protocols/constants.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';

const PEERS = 13;

/**
 * A device accepts at most 5 inbound connections a second from one host (libp2p's inboundConnectionThreshold,
 * kept: it slows a local prober cycling identities) and resets the rest; thirteen quick dials from 127.0.0.1
 * meet it on a fast machine. Dial again after a reset, as a daemon's next discovery tick would.
 */
async function dialPaced(n: MurmurNode, device: MurmurNode): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await n.dial(device.getMultiaddrs()[0]!);
      return;
    } catch (err) {
      if (attempt === 10) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * gossipsub penalises every peer of an IP once more than 10 peers came from it (and remembers identities
 * that left with a score ≤ 0 for an hour). Daemons on one host all come from 127.0.0.1: with a dozen of
 * them (or a local prober cycling identities) each one's score fell below the publish threshold, and
 * announcements stopped. A device exempts loopback.
 */
describe('a device does not penalise peers on its own host for sharing 127.0.0.1', { timeout: 60_000 }, () => {
  let device: MurmurNode;
  const others: MurmurNode[] = [];
  before(async () => {
    device = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], swarm: 'colo', reachability: { dht: false } });
    device.services.pubsub.subscribe(announceTopic('colo'));
    for (let i = 0; i < PEERS; i++) {
      const n = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], preset: 'swarm', swarm: 'colo' });
      n.services.pubsub.subscribe(announceTopic('colo'));
      others.push(n);
      await dialPaced(n, device);
    }
  });
  after(() => Promise.all([device, ...others].map((n) => n.stop())));

  it(`scores ${PEERS} loopback peers at 0 or more, not below the publish threshold`, async () => {
    const ids = others.map((n) => n.peerId.toString());
    // gossipsub learns a peer's IP when its stream opens; wait until all are known to the scorer.
    for (let i = 0; i < 100 && device.services.pubsub.getPeers().length < PEERS; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(device.services.pubsub.getPeers().length, PEERS);
    // getScore is public on the GossipSub class but missing from the service's declared type.
    const pubsub = device.services.pubsub as unknown as { getScore(id: string): number };
    const scores = ids.map((id) => pubsub.getScore(id));
    assert.ok(scores.every((s) => s >= 0), `scores ${scores.map((s) => s.toFixed(1)).join(', ')}`);
  });
});
