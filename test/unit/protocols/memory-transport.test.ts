import '../../../node/polyfill.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { deadline } from '../../../node/deadline.js';
import { checkNodeOptions, createMurmurNode, type AnySwarmNode } from '../../../protocols/libp2p.js';

const ECHO = '/test/echo/1.0.0';

/** Read exactly `n` bytes from `stream`. */
async function readBytes(it: AsyncIterator<Uint8Array | Uint8ArrayList>, n: number): Promise<Uint8Array> {
  const got = new Uint8ArrayList();
  while (got.byteLength < n) {
    const r = await it.next();
    if (r.done === true) throw new Error(`stream ended after ${got.byteLength} of ${n} bytes`);
    got.append(r.value);
  }
  return got.subarray();
}

describe('batched memory transport (simulated swarms)', () => {
  let a: AnySwarmNode, b: AnySwarmNode;

  before(async () => {
    a = await createMurmurNode({ transport: 'memory', seed: 'batched-a', preset: 'swarm', announcements: false });
    b = await createMurmurNode({ transport: 'memory', seed: 'batched-b', preset: 'swarm', announcements: false });
    await b.handle(ECHO, async (stream: Stream) => {
      for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain();
      await stream.close();
    });
    await a.dial(b.getMultiaddrs()[0]!, { signal: deadline(30_000) });
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('carries 1 MB through noise and yamux and back, every byte in order', async () => {
    const sent = new Uint8Array(1 << 20);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 2654435761) >>> 24; // a fixed pattern no chunking preserves by accident
    const stream = await a.dialProtocol(b.peerId, ECHO, { signal: deadline(30_000) });
    const it = stream[Symbol.asyncIterator]();
    if (!stream.send(sent)) await stream.onDrain();
    const back = await readBytes(it, sent.length);
    await stream.close();
    assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(sent)), 0);
  });

  it('yields to the event loop at every hop: a ping-pong of 200 round trips lets an immediate run between hops', async () => {
    const stream = await a.dialProtocol(b.peerId, ECHO, { signal: deadline(30_000) });
    const it = stream[Symbol.asyncIterator]();
    let ticks = 0;
    let ticking = true;
    const tick = (): void => { ticks++; if (ticking) setImmediate(tick); };
    setImmediate(tick);
    const roundTrips = 200;
    try {
      for (let i = 0; i < roundTrips; i++) {
        stream.send(Uint8Array.of(i & 0xff));
        assert.equal((await readBytes(it, 1))[0], i & 0xff);
      }
    } finally {
      ticking = false;
    }
    await stream.close();
    // Each hop is delivered on a later turn of the loop, so the ticker runs at least once per round trip; a
    // transport that delivered in the same microtask chain would leave it at 0 or 1.
    assert.ok(ticks >= roundTrips, `${ticks} event-loop turns for ${roundTrips} round trips`);
  });

  it('closes both ends of a connection when one end hangs up', async () => {
    const gone = new Promise<void>((resolve) => b.addEventListener('peer:disconnect', () => resolve(), { once: true }));
    await a.hangUp(b.peerId);
    await Promise.race([gone, new Promise((_, reject) => deadline(20_000).addEventListener('abort', () => reject(new Error('the other end never saw the connection close'))))]);
    assert.equal(b.getConnections(a.peerId).length, 0);
  });
});

describe('batched memory transport: addresses', () => {
  it("frees a stopped node's address: a dial to it fails, and a node with the same key listens there again", async () => {
    const a = await createMurmurNode({ transport: 'memory', seed: 'edge-a', preset: 'swarm', announcements: false });
    let b = await createMurmurNode({ transport: 'memory', seed: 'edge-b', preset: 'swarm', announcements: false });
    try {
      const addr = b.getMultiaddrs()[0]!;
      await b.stop();
      await assert.rejects(a.dial(addr, { signal: deadline(30_000) }), (e: Error) => e.name !== 'AbortError' && e.name !== 'TimeoutError');
      b = await createMurmurNode({ transport: 'memory', seed: 'edge-b', preset: 'swarm', announcements: false });
      assert.equal(b.getMultiaddrs()[0]!.toString(), addr.toString());
      await a.dial(b.getMultiaddrs()[0]!, { signal: deadline(30_000) });
      assert.equal(a.getConnections(b.peerId).length, 1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('gives a tcp swarm node the memory transport too (alsoMemory): it listens on both and is reached over either', async () => {
    const tcpAndMemory = (seed: string) => createMurmurNode({ transport: 'tcp', seed, preset: 'swarm', announcements: false, alsoMemory: true });
    const [x, y, z] = await Promise.all([tcpAndMemory('both-x'), tcpAndMemory('both-y'), tcpAndMemory('both-z')]);
    try {
      const kinds = (n: AnySwarmNode) => n.getMultiaddrs().map((m) => m.getComponents()[0]!.name === 'memory' ? 'memory' : 'tcp').sort();
      assert.deepEqual(kinds(y), ['memory', 'tcp']);
      const byKind = (n: AnySwarmNode, memory: boolean) => n.getMultiaddrs().find((m) => (m.getComponents()[0]!.name === 'memory') === memory)!;
      const overMemory = await x.dial(byKind(y, true), { signal: deadline(30_000) });
      const overTcp = await x.dial(byKind(z, false), { signal: deadline(30_000) });
      assert.equal(overMemory.remoteAddr.getComponents()[0]!.name, 'memory');
      assert.ok(overTcp.remoteAddr.getComponents().some((c) => c.name === 'tcp'));
    } finally {
      await Promise.all([x.stop(), y.stop(), z.stop()]);
    }
  });

  it('refuses alsoMemory outside a tcp swarm node', () => {
    assert.match(checkNodeOptions({ transport: 'tcp', alsoMemory: true }).join('; '), /alsoMemory/);
    assert.match(checkNodeOptions({ transport: 'memory', preset: 'swarm', alsoMemory: true }).join('; '), /alsoMemory/);
    assert.deepEqual(checkNodeOptions({ transport: 'tcp', preset: 'swarm', alsoMemory: true }), []);
  });
});
