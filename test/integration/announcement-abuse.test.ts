/**
 * Announcement abuse (issue 7): a peer that floods the swarm topic with invalid announcements, or with
 * valid ones faster than ANNOUNCE_RATE_PER_S after a burst of ANNOUNCE_BURST, is rejected by the topic
 * validator until gossipsub's score of it falls below the graylist threshold; from then on its RPCs are
 * dropped unread. An honest peer's announcements keep arriving throughout and its score stays ≥ 0.
 *
 * Four memory-transport nodes: the victim V, connected to an invalid-flooder I, a rate-flooder F and an
 * honest peer H. V's rate limit runs on a frozen clock, so exactly ANNOUNCE_BURST of F's announcements are
 * accepted however slowly the machine publishes. Gossipsub itself runs on real time (heartbeat 1 s), so the
 * waits are heartbeat counts, not sleeps.
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Announcement } from '../../node/network.js';
import { announcements, encodeAnnouncement, type AnnouncementPeerCounters, type Announcements } from '../../protocols/announcements.js';
import { ANNOUNCE_BURST, announceTopic } from '../../protocols/constants.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';

const SWARM = 'abuse';
const topic = announceTopic(SWARM);
/** Gossipsub's default graylist threshold (notes/libp2p-v3.md §3); we do not override it. */
const GRAYLIST_THRESHOLD = -80;
const FLOOD = 2 * ANNOUNCE_BURST; // a burst accepted, as many again over the limit
/**
 * Invalid announcements sent (each garbage kind twice). Gossipsub's P4 penalty is −10 × count² decaying by
 * 0.9 per second (ANNOUNCE_TOPIC_SCORE), so 10 keep the sender graylisted (count ≥ 3) for about 11 s, far
 * longer than the test needs on a slow machine.
 */
const INVALID = 10;

const announcement = (round: number): Announcement => ({
  swarm: SWARM, round, degree: 1, age: round, algorithm: 'dpsgd', layoutHash: '0123456789abcdef', addresses: ['/memory/x'],
});

type Scored = { getScore(peer: string): number };
const scoreOf = (node: MurmurNode, peer: MurmurNode): number => (node.services.pubsub as unknown as Scored).getScore(peer.peerId.toString());

/** Resolves once `node` sees every peer of `peers` subscribed to the topic. */
async function subscribed(node: MurmurNode, peers: MurmurNode[]): Promise<void> {
  const pubsub = node.services.pubsub;
  const seen = (): boolean => peers.every((p) => pubsub.getSubscribers(topic).some((s) => s.equals(p.peerId)));
  const end = Date.now() + 60_000;
  // The event wakes the loop at once; the short poll covers a change that happened before the listener was added.
  while (!seen()) {
    if (Date.now() > end) throw new Error('peers never subscribed to the announcement topic');
    await Promise.race([new Promise((resolve) => pubsub.addEventListener('subscription-change', resolve, { once: true })), new Promise((r) => setTimeout(r, 200))]);
  }
}

/** Resolves at the first gossipsub heartbeat of `node` at which `until` holds, after at least `min` heartbeats. */
async function heartbeats(node: MurmurNode, until: () => boolean, min = 1): Promise<void> {
  const pubsub = node.services.pubsub;
  let seen = 0;
  const end = Date.now() + 60_000;
  while (++seen <= min || !until()) {
    if (Date.now() > end) throw new Error(`the condition did not hold within 60 s of heartbeats (${seen} seen)`);
    await Promise.race([new Promise((resolve) => pubsub.addEventListener('gossipsub:heartbeat', resolve, { once: true })), new Promise((r) => setTimeout(r, 1500))]);
  }
}

describe('announcement abuse', { timeout: 180_000 }, () => {
  let victim: MurmurNode;
  let invalid: MurmurNode;
  let flooder: MurmurNode;
  let honest: MurmurNode;
  let annV: Announcements;
  let annH: Announcements;
  const fromHonest: Announcement[] = [];
  const fromFlooder: Announcement[] = [];

  before(async () => {
    const make = (seed: string) => createMurmurNode({ transport: 'memory', seed, preset: 'swarm', swarm: SWARM });
    [victim, invalid, flooder, honest] = await Promise.all([make('abuse-v'), make('abuse-i'), make('abuse-f'), make('abuse-h')]);
    const frozen = Date.now();
    annV = announcements({ swarm: SWARM, now: () => frozen })({ pubsub: victim.services.pubsub });
    annH = announcements({ swarm: SWARM })({ pubsub: honest.services.pubsub });
    annV.start();
    annH.start();
    // The attackers only need to be subscribed so the victim keeps them as topic peers.
    invalid.services.pubsub.subscribe(topic);
    flooder.services.pubsub.subscribe(topic);
    annV.onAnnouncement((from, a) => {
      if (from === honest.peerId.toString()) fromHonest.push(a);
      if (from === flooder.peerId.toString()) fromFlooder.push(a);
    });
    for (const n of [invalid, flooder, honest]) await n.dial(victim.getMultiaddrs()[0]!);
    await subscribed(victim, [invalid, flooder, honest]);
    await Promise.all([invalid, flooder, honest].map((n) => subscribed(n, [victim])));
  });

  after(async () => {
    annV.stop();
    annH.stop();
    await Promise.all([victim, invalid, flooder, honest].map((n) => n.stop()));
  });

  const countersOf = (peer: MurmurNode): AnnouncementPeerCounters =>
    annV.counters().find((c) => c.peer === peer.peerId.toString()) ?? { peer: peer.peerId.toString(), received: 0, rejected: {} };

  it('graylists a sender of invalid announcements and one that floods valid ones, while an honest peer keeps flowing', async (t) => {
    await annH.publish(announcement(1));
    await heartbeats(victim, () => fromHonest.length === 1);

    const garbage = [
      new TextEncoder().encode('not json'),
      encodeAnnouncement({ ...announcement(2), layoutHash: 'XYZ' }),
      encodeAnnouncement({ ...announcement(2), addresses: ['nope'] }),
      new Uint8Array(4096),
      new TextEncoder().encode('[1,2,3]'),
    ];
    // One burst (published together, so they reach the victim together): each is validated and counted before
    // the victim's cached score of I refreshes. Published one by one, a refresh after the third (−90) cut the rest
    // off, and −90 decays above the line within a second: I was then no longer graylisted when checked.
    await Promise.all([...garbage, ...garbage].map((bytes) => invalid.services.pubsub.publish(topic, bytes)));
    for (let i = 0; i < FLOOD; i++) await flooder.services.pubsub.publish(topic, encodeAnnouncement(announcement(100 + i)));
    await annH.publish(announcement(2));

    // Every message is validated until the sender is graylisted (which may cut a burst short on a slow
    // machine); gossipsub refreshes a cached score once per heartbeat, so wait for both.
    const rejectedTotal = (c: AnnouncementPeerCounters): number => Object.values(c.rejected).reduce((a, b) => a + b, 0);
    const graylisted = (peer: MurmurNode): boolean => scoreOf(victim, peer) < GRAYLIST_THRESHOLD;
    await heartbeats(victim, () => rejectedTotal(countersOf(invalid)) === INVALID || graylisted(invalid));
    await heartbeats(victim, () => rejectedTotal(countersOf(flooder)) + countersOf(flooder).received === FLOOD || graylisted(flooder));
    await heartbeats(victim, () => graylisted(invalid) && graylisted(flooder), 2);
    const i = countersOf(invalid);
    const f = countersOf(flooder);
    // -10 × 3² = -90 is the first count below the line (-10 × 4² with the flooder's +10 of first deliveries).
    assert.equal(i.received, 0);
    assert.ok(rejectedTotal(i) >= 3 && rejectedTotal(i) <= INVALID, JSON.stringify(i));
    for (const reason of Object.keys(i.rejected)) assert.ok(['malformed', 'bad-field', 'bad-address', 'oversized'].includes(reason), reason);
    assert.equal(f.received, ANNOUNCE_BURST);
    assert.deepEqual(Object.keys(f.rejected), ['flood']);
    assert.ok(f.rejected.flood! >= 3 && f.rejected.flood! <= FLOOD - ANNOUNCE_BURST, JSON.stringify(f));
    assert.equal(fromFlooder.length, ANNOUNCE_BURST, 'only the burst reached the listeners');

    const scores = { invalid: scoreOf(victim, invalid), flooder: scoreOf(victim, flooder), honest: scoreOf(victim, honest) };
    t.diagnostic(`scores at the victim: ${JSON.stringify(scores)} (graylisted below ${GRAYLIST_THRESHOLD}); rejections: ${JSON.stringify({ invalid: i.rejected, flooder: f.rejected })}`);
    assert.ok(scores.invalid < GRAYLIST_THRESHOLD && scores.flooder < GRAYLIST_THRESHOLD, JSON.stringify(scores));
    assert.ok(scores.honest >= 0, JSON.stringify(scores));

    // Graylisted: further messages from the attackers are dropped before validation, so nothing is counted.
    const before = { invalid: countersOf(invalid), flooder: countersOf(flooder) };
    for (let i = 0; i < 5; i++) {
      await invalid.services.pubsub.publish(topic, garbage[0]!);
      await flooder.services.pubsub.publish(topic, encodeAnnouncement(announcement(200 + i)));
    }
    await annH.publish(announcement(3));
    await heartbeats(victim, () => fromHonest.length === 3, 2);
    assert.deepEqual({ invalid: countersOf(invalid), flooder: countersOf(flooder) }, before);
    assert.equal(fromFlooder.length, ANNOUNCE_BURST);

    // The honest peer was never limited: all three of its announcements arrived, in order.
    assert.deepEqual(fromHonest.map((a) => a.round), [1, 2, 3]);
    assert.deepEqual(countersOf(honest), { peer: honest.peerId.toString(), received: 3, rejected: {} });
    assert.ok(scoreOf(victim, honest) >= 0);
  });
});
