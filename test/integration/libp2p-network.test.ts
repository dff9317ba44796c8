import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { makeLayout } from '../../aggregation/layout.js';
import { encodeModelFrame } from '../../protocols/codec.js';
import { createMurmurNode } from '../../protocols/libp2p.js';
import type { AnySwarmNode } from '../../protocols/libp2p.js';
import { libp2pNetwork } from '../../protocols/libp2p-network.js';
import type { Libp2pNetwork } from '../../protocols/libp2p-network.js';

const SWARM = 'integration';
const PEERS = 4;
const ROUNDS = 2;
const STEPS = 2;
const layout = makeLayout([{ name: 'dense/kernel', shape: [32, 10], role: 'kernel' }, { name: 'dense/bias', shape: [10], role: 'bias' }]);

/** Parameters peer `i` sends in (round, step): every element is i + 10·round + 100·step, exact in f32. */
const fillOf = (i: number, round: number, step: number): number => i + 10 * round + 100 * step;

/** Resolves once `net` holds a connection to each of the other PEERS − 1 peers. */
function connectedToAll(node: AnySwarmNode, net: Libp2pNetwork): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (net.connectedPeers().length < PEERS - 1) return;
      node.removeEventListener('peer:connect', check);
      resolve();
    };
    node.addEventListener('peer:connect', check);
    check();
  });
}

// The simulator's swarms of engines that never announce build their nodes without gossipsub and identify.
for (const [transport, announcements] of [['tcp', true], ['memory', true], ['memory', false]] as const) {
  describe(`libp2p network: ${PEERS} peers over ${transport}${announcements ? '' : ', without announcements'}`, () => {
    const nodes: AnySwarmNode[] = [];
    const nets: Libp2pNetwork[] = [];

    before(async () => {
      for (let i = 0; i < PEERS; i++) {
        const node = await createMurmurNode({
          transport, seed: `net-${transport}-${i}`, preset: 'swarm', swarm: SWARM, announcements,
          ...(transport === 'tcp' ? { listen: ['/ip4/127.0.0.1/tcp/0'] } : {}),
        });
        const net = libp2pNetwork({ node, swarm: SWARM, layout, sendTimeoutMs: 10_000 });
        await net.start();
        nodes.push(node);
        nets.push(net);
      }
      // Full mesh: peer i dials every j > i; the listening end registers its side a moment later.
      const meshed = nets.map((net, i) => connectedToAll(nodes[i]!, net));
      for (let i = 0; i < PEERS; i++) {
        for (let j = i + 1; j < PEERS; j++) await nodes[i]!.dial(nodes[j]!.getMultiaddrs()[0]!);
      }
      await Promise.all(meshed);
    });

    after(async () => {
      await Promise.all(nets.map((n) => n.stop()));
    });

    it('exchanges frames for each (round, step) through collect and counts every frame on both ends', async () => {
      const ids = nets.map((n) => n.selfId);
      for (const net of nets) assert.deepEqual(net.connectedPeers(), ids.filter((id) => id !== net.selfId).sort());
      for (let round = 1; round <= ROUNDS; round++) {
        for (let step = 0; step < STEPS; step++) {
          const received = await Promise.all(nets.map(async (net, i) => {
            const others = ids.filter((id) => id !== net.selfId);
            const bytes = encodeModelFrame({ kind: 'model', swarm: SWARM, round, step, degree: others.length, age: round },
              layout, new Float32Array(layout.size).fill(fillOf(i, round, step)));
            const [got] = await Promise.all([
              net.collect(round, step, others, { signal: AbortSignal.timeout(20_000) }),
              Promise.all(others.map((to) => net.sendBytes(to, bytes))),
            ]);
            return got;
          }));
          received.forEach((got, i) => {
            const others = ids.filter((id) => id !== ids[i]).sort();
            assert.deepEqual(got.map((f) => f.from), others, `peer ${i} got every neighbour, sorted`);
            for (const f of got) {
              const sender = ids.indexOf(f.from);
              assert.deepEqual({ round: f.round, step: f.step }, { round, step });
              assert.equal(f.values![0], fillOf(sender, round, step));
              assert.equal(f.values![layout.size - 1], fillOf(sender, round, step));
            }
          });
        }
        for (const net of nets) net.discardBefore(round + 1);
      }
      // Every frame sent was received: for each ordered pair, sender's framesOut = receiver's framesIn.
      let total = 0;
      for (const a of nets) {
        for (const b of nets) {
          if (a === b) continue;
          const out = a.traffic().find((t) => t.peer === b.selfId)!;
          const inn = b.traffic().find((t) => t.peer === a.selfId)!;
          assert.equal(out.framesOut, ROUNDS * STEPS);
          assert.equal(inn.framesIn, out.framesOut);
          assert.equal(inn.bytesIn, out.bytesOut);
          assert.deepEqual(inn.rejections, {});
          assert.equal(out.sendFailures, 0);
          assert.ok(out.connected);
          total += inn.framesIn;
        }
      }
      assert.equal(total, PEERS * (PEERS - 1) * ROUNDS * STEPS); // 4 · 3 · 2 · 2 = 48
    });

    it('pings a neighbour and refuses a malformed peer id with a typed error', async () => {
      const rtt = await nets[0]!.ping(nets[1]!.selfId);
      assert.ok(rtt >= 0);
      await assert.rejects(nets[0]!.sendBytes('not-a-peer-id', new Uint8Array(1)), { code: 'ERR_INVALID_PEER_ID' });
    });

    it('tells a connected peer whose ping stream could not run (busy) from one it cannot reach', async () => {
      const ping = nodes[0]!.services.ping;
      const real = ping.ping.bind(ping);
      const failWith = (name: string) => { ping.ping = async () => { throw Object.assign(new Error('stream closed'), { name }); }; };
      try {
        for (const name of ['StreamStateError', 'StreamResetError', 'TooManyOutboundProtocolStreamsError']) {
          failWith(name);
          await assert.rejects(nets[0]!.ping(nets[1]!.selfId), { code: 'ERR_PEER_BUSY' }, name);
        }
        failWith('DialError');
        await assert.rejects(nets[0]!.ping(nets[1]!.selfId), { code: 'ERR_PEER_UNREACHABLE' });
        // Without a connection a refused stream proves nothing: unreachable.
        failWith('StreamStateError');
        const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
        await assert.rejects(nets[0]!.ping(stranger), { code: 'ERR_PEER_UNREACHABLE' });
      } finally { ping.ping = real; }
    });

    if (!announcements) {
      it('runs neither gossipsub nor identify; announce() says why it cannot, and no announcement arrives', async () => {
        assert.equal(nodes[0]!.services.pubsub, undefined);
        assert.equal(nodes[0]!.services.identify, undefined);
        const off = nets[1]!.onAnnouncement(() => assert.fail('no announcement can arrive without gossipsub'));
        await assert.rejects(nets[0]!.announce({ swarm: SWARM, round: 1, degree: 3, age: 1, algorithm: 'gossip-learning', layoutHash: layout.hash, addresses: [] }),
          { code: 'ERR_ANNOUNCEMENTS_OFF' });
        off();
        assert.deepEqual(nets[0]!.announcementCounters(), []);
      });
    }
  });
}
