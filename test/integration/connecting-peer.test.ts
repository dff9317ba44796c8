/**
 * The lost frame of issue 16 (protocols/docs/exchange-tuning.md §12): when peer A dials peer B, A's dial
 * resolves before B holds the connection. A send from B to A in that window found neither a connection nor
 * an address and failed at once, while A, already connected, waited its whole round timeout for the frame.
 * These tests put B's send in that window deterministically: B sends first (nothing to reach A by), A dials
 * B only once B's first dial attempt has failed.
 */
import '../../node/polyfill.js';
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { deadline } from '../../node/deadline.js';
import { encodeModelFrame } from '../../protocols/codec.js';
import { createMurmurNode, type AnySwarmNode } from '../../protocols/libp2p.js';
import { libp2pNetwork, type Libp2pNetwork } from '../../protocols/libp2p-network.js';

const SWARM = 'connecting';
const layout = makeLayout([{ name: 'dense/kernel', shape: [4, 3], role: 'kernel' }, { name: 'dense/bias', shape: [3], role: 'bias' }]);
const frameOf = (round: number): Uint8Array =>
  encodeModelFrame({ kind: 'model', swarm: SWARM, round, step: 0, degree: 1, age: round }, layout, new Float32Array(layout.size).fill(round));

/** Rejections of `node`'s dial attempts, by error name, in order. */
function watchDialFailures(node: AnySwarmNode): { first: Promise<string>; names: string[] } {
  const first = Promise.withResolvers<string>();
  const names: string[] = [];
  const dialProtocol = node.dialProtocol.bind(node);
  node.dialProtocol = (async (...args: Parameters<typeof dialProtocol>) => {
    try {
      return await dialProtocol(...args);
    } catch (err) {
      names.push((err as Error).name);
      first.resolve((err as Error).name);
      throw err;
    }
  }) as typeof node.dialProtocol;
  return { first: first.promise, names };
}

describe('a send to a neighbour whose connection to us is still being set up (memory transport)', () => {
  const nets: Libp2pNetwork[] = [];

  async function peer(name: string): Promise<{ node: AnySwarmNode; net: Libp2pNetwork }> {
    // The simulator's nodes: no identify, so no peer learns another's address from a connection.
    const node = await createMurmurNode({ transport: 'memory', seed: `connecting-${name}`, preset: 'swarm', swarm: SWARM, announcements: false });
    const net = libp2pNetwork({ node, swarm: SWARM, layout, sendTimeoutMs: 120_000 });
    await net.start();
    nets.push(net);
    return { node, net };
  }

  afterEach(async () => {
    await Promise.all(nets.splice(0).map((n) => n.stop()));
  });

  it('waits for the connection and delivers the frame (it failed at once, and the receiver waited out its round)', async () => {
    const a = await peer('a');
    const b = await peer('b');
    const dials = watchDialFailures(b.node);
    const sending = b.net.sendBytes(a.net.selfId, frameOf(1));
    sending.catch(() => {});
    assert.equal(await dials.first, 'NoValidAddressesError', 'B has neither a connection to A nor an address of it');
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    assert.equal(await sending, frameOf(1).byteLength, 'the send resolves once A has accepted the frame');
    const got = await a.net.collect(1, 0, [b.net.selfId], { signal: deadline(30_000) });
    assert.deepEqual(got.map((f) => f.from), [b.net.selfId]);
    assert.deepEqual(dials.names, ['NoValidAddressesError'], 'one failed attempt, then the stream on A\'s connection');
    assert.equal(b.net.traffic().find((t) => t.peer === a.net.selfId)?.sendFailures, 0);
  });

  it('waits for a neighbour that was connected and re-dials (a dropped connection), and delivers', async () => {
    const a = await peer('a');
    const b = await peer('b');
    const left = new Promise<void>((resolve) => { b.node.addEventListener('peer:disconnect', () => resolve(), { once: true }); });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    assert.equal(await b.net.sendBytes(a.net.selfId, frameOf(1)), frameOf(1).byteLength);
    await a.node.hangUp(b.node.peerId);
    await left;
    const dials = watchDialFailures(b.node);
    const sending = b.net.sendBytes(a.net.selfId, frameOf(2));
    sending.catch(() => {});
    assert.equal(await dials.first, 'NoValidAddressesError', 'B has neither a connection to A nor an address of it');
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    assert.equal(await sending, frameOf(2).byteLength, 'the send resolves once A has accepted the frame');
    const got = await a.net.collect(2, 0, [b.net.selfId], { signal: deadline(30_000) });
    assert.deepEqual(got.map((f) => f.from), [b.net.selfId]);
  });

  it('fails after a short grace, not the send deadline, for a neighbour that left and stays away, saying so', { timeout: 60_000 }, async () => {
    const a = await peer('a');
    const b = await peer('b');
    const left = new Promise<void>((resolve) => {
      b.node.addEventListener('peer:disconnect', () => resolve(), { once: true });
    });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    assert.equal(await b.net.sendBytes(a.net.selfId, frameOf(1)), frameOf(1).byteLength);
    await a.net.stop();
    await left;
    // Its send deadline is 120 s: waiting that long for a peer that is gone would outlast this test's timeout.
    await assert.rejects(b.net.sendBytes(a.net.selfId, frameOf(2)), { name: 'PeerUnreachableError', message: /disconnected and has not come back/ });
  });

  it('fails after a short grace for a peer that never connected and has no address (e.g. known from an announcement)', { timeout: 60_000 }, async () => {
    const a = await peer('a');
    const b = await peer('b');
    await assert.rejects(b.net.sendBytes(a.net.selfId, frameOf(1)), { name: 'PeerUnreachableError', message: /did not connect within/ });
  });
});

describe('the kept stream to a neighbour is opened when it connects (memory transport)', () => {
  const nets: Libp2pNetwork[] = [];
  afterEach(async () => {
    await Promise.all(nets.splice(0).map((n) => n.stop()));
  });

  it('so the first frame to it opens no stream', async () => {
    const make = async (name: string) => {
      const node = await createMurmurNode({ transport: 'memory', seed: `kept-${name}`, preset: 'swarm', swarm: SWARM, announcements: false });
      const net = libp2pNetwork({ node, swarm: SWARM, layout, sendTimeoutMs: 30_000 });
      await net.start();
      nets.push(net);
      return { node, net };
    };
    const a = await make('a');
    const b = await make('b');
    // Every stream B opens, and whether B had started sending then.
    const opened: Array<{ duringSend: boolean; done: Promise<unknown> }> = [];
    let sending = false;
    const dialProtocol = b.node.dialProtocol.bind(b.node);
    b.node.dialProtocol = ((...args: Parameters<typeof dialProtocol>) => {
      const done = dialProtocol(...args);
      opened.push({ duringSend: sending, done: done.catch(() => {}) });
      return done;
    }) as typeof b.node.dialProtocol;
    // B's own listener runs after the network's: by then B has begun opening its stream to A.
    const connected = new Promise<void>((resolve) => { b.node.addEventListener('peer:connect', () => resolve(), { once: true }); });
    await a.node.dial(b.node.getMultiaddrs()[0]!);
    await connected;
    await Promise.all(opened.map((o) => o.done));
    sending = true;
    assert.equal(await b.net.sendBytes(a.net.selfId, frameOf(1)), frameOf(1).byteLength);
    assert.deepEqual(opened.map((o) => o.duringSend), [false], 'one stream, opened at connect time; the frame went on it');
    const got = await a.net.collect(1, 0, [b.net.selfId], { signal: deadline(30_000) });
    assert.deepEqual(got.map((f) => f.from), [b.net.selfId]);
  });
});
