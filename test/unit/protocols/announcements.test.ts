import '../../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Announcement } from '../../../node/network.js';
import { announcements, decodeAnnouncement, encodeAnnouncement } from '../../../protocols/announcements.js';
import type { Announcements } from '../../../protocols/announcements.js';
import { announceTopic, MAX_ANNOUNCEMENT_BYTES } from '../../../protocols/constants.js';
import { createMurmurNode } from '../../../protocols/libp2p.js';
import type { MurmurNode } from '../../../protocols/libp2p.js';

const SWARM = 'ann-swarm';
const valid: Announcement = {
  swarm: SWARM, round: 7, degree: 4, age: 12.5, algorithm: 'gossip-age', layoutHash: '0123456789abcdef',
  addresses: ['/ip4/127.0.0.1/tcp/4001', '/memory/peer-a'],
};
const utf8 = new TextEncoder();
const withField = (patch: Record<string, unknown>): Uint8Array => utf8.encode(JSON.stringify({ ...valid, ...patch }));
const reasonOf = (bytes: Uint8Array): string => {
  const r = decodeAnnouncement(bytes, SWARM);
  return r.ok ? 'ok' : r.reason;
};

describe('decodeAnnouncement', () => {
  it('round-trips a valid announcement', () => {
    const r = decodeAnnouncement(encodeAnnouncement(valid), SWARM);
    assert.ok(r.ok);
    assert.deepEqual(r.announcement, valid);
  });

  it('rejects oversized and malformed input before looking at fields', () => {
    assert.equal(reasonOf(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1).fill(0x20)), 'oversized');
    assert.equal(reasonOf(new Uint8Array(MAX_ANNOUNCEMENT_BYTES).fill(0x20)), 'malformed'); // at the limit: size passes, JSON fails
    assert.equal(reasonOf(utf8.encode('{"swarm":')), 'malformed');
    assert.equal(reasonOf(Uint8Array.of(0x22, 0xff, 0x22)), 'malformed'); // "\xff" is not UTF-8
    assert.equal(reasonOf(utf8.encode('[1,2]')), 'malformed');
    assert.equal(reasonOf(utf8.encode('null')), 'malformed');
  });

  it('rejects missing, unknown, mistyped and out-of-range fields as bad-field', () => {
    const { age: _age, ...noAge } = valid;
    assert.equal(reasonOf(utf8.encode(JSON.stringify(noAge))), 'bad-field');
    assert.equal(reasonOf(withField({ extra: 1 })), 'bad-field');
    assert.equal(reasonOf(withField({ swarm: '' })), 'bad-field');
    assert.equal(reasonOf(withField({ round: -1 })), 'bad-field');
    assert.equal(reasonOf(withField({ round: 2 ** 32 })), 'bad-field'); // one past the u32 limit
    assert.equal(reasonOf(withField({ round: 2 ** 32 - 1 })), 'ok');
    assert.equal(reasonOf(withField({ degree: 1.5 })), 'bad-field');
    assert.equal(reasonOf(withField({ degree: '4' })), 'bad-field');
    assert.equal(reasonOf(withField({ age: -0.1 })), 'bad-field');
    assert.equal(reasonOf(withField({ algorithm: 'Gossip Age' })), 'bad-field');
    assert.equal(reasonOf(withField({ layoutHash: '0123' })), 'bad-field');
    assert.equal(reasonOf(withField({ addresses: '/ip4/1.2.3.4/tcp/1' })), 'bad-field');
  });

  it('rejects more than 16 addresses or one that is not a multiaddr as bad-address', () => {
    const addr = '/ip4/10.0.0.1/tcp/1';
    assert.equal(reasonOf(withField({ addresses: new Array(16).fill(addr) })), 'ok');
    assert.equal(reasonOf(withField({ addresses: new Array(17).fill(addr) })), 'bad-address');
    assert.equal(reasonOf(withField({ addresses: ['not a multiaddr'] })), 'bad-address');
    assert.equal(reasonOf(withField({ addresses: [42] })), 'bad-address');
  });

  it('flags another swarm as foreign-swarm', () => {
    assert.equal(reasonOf(withField({ swarm: 'other' })), 'foreign-swarm');
  });
});

/** Resolves once `node` sees `peer` subscribed to `topic`. */
async function subscribed(node: MurmurNode, peer: MurmurNode, topic: string): Promise<void> {
  const pubsub = node.services.pubsub;
  const seen = (): boolean => pubsub.getSubscribers(topic).some((p) => p.equals(peer.peerId));
  if (seen()) return;
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (!seen()) return;
      pubsub.removeEventListener('subscription-change', check);
      resolve();
    };
    pubsub.addEventListener('subscription-change', check);
  });
}

/** Resolves after `count` gossipsub heartbeats of `node` for which `until` held (count 0: as soon as it holds). */
async function heartbeats(node: MurmurNode, until: () => boolean, count = 1): Promise<void> {
  const pubsub = node.services.pubsub;
  await new Promise<void>((resolve) => {
    let left = count;
    const beat = (): void => {
      if (!until() || --left > 0) return;
      pubsub.removeEventListener('gossipsub:heartbeat', beat);
      resolve();
    };
    pubsub.addEventListener('gossipsub:heartbeat', beat);
  });
}

describe('announcements between two nodes', () => {
  let a: MurmurNode;
  let b: MurmurNode;
  let annA: Announcements;
  let annB: Announcements;
  const topic = announceTopic(SWARM);

  before(async () => {
    a = await createMurmurNode({ transport: 'memory', seed: 'ann-a', preset: 'swarm', swarm: SWARM });
    b = await createMurmurNode({ transport: 'memory', seed: 'ann-b', preset: 'swarm', swarm: SWARM });
    annA = announcements({ swarm: SWARM })({ pubsub: a.services.pubsub });
    annB = announcements({ swarm: SWARM })({ pubsub: b.services.pubsub });
    annA.start();
    annB.start();
    await a.dial(b.getMultiaddrs()[0]!);
    await Promise.all([subscribed(a, b, topic), subscribed(b, a, topic)]);
  });

  after(async () => {
    annA.stop();
    annB.stop();
    await a.stop();
    await b.stop();
  });

  it('refuses to publish an invalid announcement of our own', async () => {
    await assert.rejects(annA.publish({ ...valid, layoutHash: 'nope' }), { code: 'ERR_INVALID_ANNOUNCEMENT', reason: 'bad-field' });
    await assert.rejects(annA.publish({ ...valid, swarm: 'other' }), { reason: 'foreign-swarm' });
  });

  it('delivers a valid announcement, ignores another swarm, and penalises invalid ones below a score of 0', async () => {
    const got: [string, Announcement][] = [];
    const arrived = new Promise<void>((resolve) => annB.onAnnouncement((from, m) => { got.push([from, m]); resolve(); }));
    // Another swarm on our topic: ignored (not delivered, not penalised).
    await a.services.pubsub.publish(topic, encodeAnnouncement({ ...valid, swarm: 'other' }));
    assert.equal(await annA.publish(valid), 1);
    await arrived;
    assert.deepEqual(got, [[a.peerId.toString(), valid]]);

    const pubsubB = b.services.pubsub as unknown as { getScore(peer: string): number };
    const invalid = [utf8.encode('garbage'), withField({ round: -1 }), withField({ addresses: ['nope'] })];
    for (const bytes of invalid) await a.services.pubsub.publish(topic, bytes);
    const rejected = (): number => {
      const c = annB.counters().find((x) => x.peer === a.peerId.toString());
      return (c?.rejected.malformed ?? 0) + (c?.rejected['bad-field'] ?? 0) + (c?.rejected['bad-address'] ?? 0);
    };
    // Gossipsub caches a score for one heartbeat interval: two heartbeats after the rejections it is fresh.
    await heartbeats(b, () => rejected() === 3, 2);
    const counters = annB.counters().find((x) => x.peer === a.peerId.toString())!;
    assert.deepEqual(counters.rejected, { 'foreign-swarm': 1, malformed: 1, 'bad-field': 1, 'bad-address': 1 });
    assert.equal(counters.received, 1);
    assert.equal(got.length, 1);
    const score = pubsubB.getScore(a.peerId.toString());
    assert.ok(score < 0, `score of the sender is ${score}, expected < 0`);
  });
});
