import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { encodeModelFrame } from '../../protocols/codec.js';
import { MODEL_PROTOCOL } from '../../protocols/constants.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';
import { libp2pNetwork, type Libp2pNetwork } from '../../protocols/libp2p-network.js';
import { endlessPrefix, endlessPrefixBeforeNegotiation } from '../../scripts/lib/hostile.js';

const EIGHT_MIB = 8 * 1024 * 1024;
const layout = makeLayout([{ name: 'w', shape: [4, 3], role: 'kernel' }, { name: 'b', shape: [3], role: 'bias' }]);

describe('hostile streams against a receiver over loopback TCP', { timeout: 120_000 }, () => {
  let receiver: MurmurNode;
  let network: Libp2pNetwork;
  let honest: MurmurNode;
  let honestNet: Libp2pNetwork;
  before(async () => {
    receiver = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], graylist: { strikes: 3 } });
    network = libp2pNetwork({ node: receiver, swarm: 's', layout });
    await network.start();
    honest = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] });
    honestNet = libp2pNetwork({ node: honest, swarm: 's', layout });
    await honestNet.start();
    await honest.dial(receiver.getMultiaddrs()[0]!);
  });
  after(async () => { await honestNet.stop(); await network.stop(); });

  const strikes = () => receiver.services.graylist.strikeCounts();

  it('resets a model stream whose length prefix never ends after reading a few bytes, counts it oversized and strikes the sender', async () => {
    const attacker = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] });
    try {
      const out = await endlessPrefix(attacker, receiver.getMultiaddrs()[0]!, MODEL_PROTOCOL, EIGHT_MIB);
      assert.equal(out.outcome, 'reset');
      // Only what yamux's window let through before the reset, not the 8 MiB.
      assert.ok(out.bytesSent < EIGHT_MIB / 4, `the stream took ${out.bytesSent} bytes before it ended`);
      const t = network.traffic().find((p) => p.peer === attacker.peerId.toString());
      assert.equal(t?.rejections.oversized, 1);
      assert.equal(strikes()['endless-length-prefix'], 1);
    } finally { await attacker.stop(); }
  });

  it('resets a stream that sends an endless prefix before protocol negotiation, and strikes the sender', async () => {
    const attacker = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] });
    try {
      const out = await endlessPrefixBeforeNegotiation(attacker, receiver.getMultiaddrs()[0]!, EIGHT_MIB);
      assert.equal(out.outcome, 'reset');
      assert.ok(out.bytesSent < EIGHT_MIB / 4, `the stream took ${out.bytesSent} bytes before it ended`);
      assert.equal(strikes()['negotiation-garbage'], 1);
      assert.equal(receiver.services.graylist.isListed(attacker.peerId.toString()), false, 'one strike is no ban');
    } finally { await attacker.stop(); }
  });

  it('graylists a peer at its third strike: its connection is closed and it cannot connect again', async () => {
    const attacker = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] });
    const target = receiver.getMultiaddrs()[0]!;
    try {
      for (let i = 0; i < 3; i++) await endlessPrefixBeforeNegotiation(attacker, target, 64 * 1024);
      assert.equal(receiver.services.graylist.isListed(attacker.peerId.toString()), true);
      await assert.rejects(attacker.dialProtocol(target, MODEL_PROTOCOL), 'a graylisted peer cannot open a stream');
      assert.equal(receiver.getConnections(attacker.peerId).length, 0);
    } finally { await attacker.stop(); }
  });

  it('leaves honest peers alone: a ping and a model frame still go through', async () => {
    await honest.services.ping.ping(receiver.peerId);
    const frame = encodeModelFrame({ kind: 'model', swarm: 's', round: 1, step: 0, degree: 1, age: 0 }, layout, new Float32Array(layout.size).fill(0.5));
    await honestNet.sendBytes(receiver.peerId.toString(), frame);
    const got = await network.collect(1, 0, [honest.peerId.toString()]);
    assert.equal(got.length, 1);
    assert.equal(receiver.services.graylist.isListed(honest.peerId.toString()), false);
  });
});
