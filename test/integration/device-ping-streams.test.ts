import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { makeLayout } from '../../aggregation/layout.js';
import { createMurmurNode, type AnySwarmNode } from '../../protocols/libp2p.js';
import { libp2pNetwork, type Libp2pNetwork } from '../../protocols/libp2p-network.js';

const SWARM = 'it-ping-streams';
const PING = '/ipfs/ping/1.0.0';
/**
 * Ping streams to one peer that are not closed yet: a stream counts against the limit until both ends closed
 * it, and a peer busy for B seconds leaves about B of MoDeST's 1 s probes open (protocols/libp2p.ts).
 */
const OPEN = 20;

describe('device preset: pings to a busy peer are not refused by the ping stream limit', { timeout: 60_000 }, () => {
  const nodes: AnySwarmNode[] = [];
  const nets: Libp2pNetwork[] = [];
  const held: Stream[] = [];

  before(async () => {
    const layout = makeLayout([{ name: 'w', shape: [3], role: 'kernel' }]);
    for (let i = 0; i < 2; i++) {
      const node = await createMurmurNode({ transport: 'memory', seed: `ping-streams-${i}`, preset: 'device', swarm: SWARM });
      const net = libp2pNetwork({ node, swarm: SWARM, layout, sendTimeoutMs: 10_000 });
      await net.start();
      nodes.push(node);
      nets.push(net);
    }
    await nodes[0]!.dial(nodes[1]!.getMultiaddrs()[0]!);
  });

  after(async () => {
    for (const s of held) s.abort(new Error('test over'));
    await Promise.all(nets.map((n) => n.stop()));
  });

  it(`takes a ping while ${OPEN} earlier ping streams to the same peer are still open (its outbound and their inbound count)`, async () => {
    const conn = nodes[0]!.getConnections(nodes[1]!.peerId)[0]!;
    // Opened and never closed: the far end's handler waits for them, as it would for a busy peer's.
    for (let k = 0; k < OPEN; k++) held.push(await conn.newStream(PING, { runOnLimitedConnection: true }));
    assert.ok(await nets[0]!.ping(nets[1]!.selfId) >= 0, 'one more ping stream was opened and answered');
  });
});
