import '../../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { makeLayout } from '../../../aggregation/layout.js';
import { encodeModelFrame } from '../../../protocols/codec.js';
import { MODEL_PROTOCOL, MODEL_STREAM_PROTOCOL } from '../../../protocols/constants.js';
import { Receiver } from '../../../protocols/receiver.js';
import { createMurmurNode, keyFromSeed } from '../../../protocols/libp2p.js';
import type { MurmurNode } from '../../../protocols/libp2p.js';
import { modelExchange } from '../../../protocols/model-exchange.js';
import type { InboundEvent, ModelExchange } from '../../../protocols/model-exchange.js';

const SWARM = 'test-swarm';
const layout = makeLayout([{ name: 'w', shape: [4, 3], role: 'kernel' }, { name: 'b', shape: [3], role: 'bias' }]);
const RECEIVER_MAX_FRAME_BYTES = 1024;
const RECEIVER_INBOUND_TIMEOUT_MS = 500;

/** The one receive path (receiver.ts) for our layout and swarm. */
const receivePath = (): Receiver => new Receiver({ layout, swarm: SWARM });

function frame(round: number, step: number, fill: number): Uint8Array {
  return encodeModelFrame({ kind: 'model', swarm: SWARM, round, step, degree: 1, age: 0 }, layout, new Float32Array(layout.size).fill(fill));
}

/** Resolves with the receiver's next inbound outcome (events are queued, so none is missed). */
function eventQueue(): { push(e: InboundEvent): void; next(): Promise<InboundEvent> } {
  const queued: InboundEvent[] = [];
  const waiting: ((e: InboundEvent) => void)[] = [];
  return {
    push: (e) => { const w = waiting.shift(); if (w) w(e); else queued.push(e); },
    next: () => { const e = queued.shift(); return e ? Promise.resolve(e) : new Promise((r) => waiting.push(r)); },
  };
}

const components = (node: MurmurNode) => ({
  registrar: node,
  connectionManager: { openStream: node.dialProtocol.bind(node) },
});

// createMurmurNode's own checks live here until protocols/libp2p.ts gets its own test file.
describe('createMurmurNode options', () => {
  it('derives the same peer id from the same seed, and different ones from different seeds', async () => {
    const id = async (seed: string): Promise<string> => peerIdFromPrivateKey(await keyFromSeed(seed)).toString();
    assert.equal(await id('peer-1'), await id('peer-1'));
    assert.notEqual(await id('peer-1'), await id('peer-2'));
  });

  it('refuses contradictory options at build time, listing every problem', async () => {
    await assert.rejects(
      createMurmurNode({ transport: 'memory', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: true, seed: 'x', privateKey: await keyFromSeed('y'), start: false }),
      (err: Error & { code?: string; problems?: string[] }) => {
        assert.equal(err.code, 'ERR_INVALID_NODE_OPTIONS');
        assert.equal(err.problems?.length, 3); // seed + privateKey, mdns on memory, a /tcp listen address on memory
        return true;
      },
    );
    await assert.rejects(createMurmurNode({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'], start: false }), /must end in \/p2p/);
    await assert.rejects(createMurmurNode({ listen: ['not-a-multiaddr'], start: false }), { name: 'InvalidNodeOptionsError' });
    // Only a simulated swarm may go without gossipsub: a device must announce.
    await assert.rejects(createMurmurNode({ transport: 'memory', announcements: false, start: false }), /announcements: false is for the 'swarm' preset/);
  });
});

describe('model exchange over two memory-transport nodes', () => {
  let a: MurmurNode;
  let b: MurmurNode;
  let sender: ModelExchange;
  let receiver: ModelExchange;
  const inbox = receivePath();
  const events = eventQueue();

  before(async () => {
    a = await createMurmurNode({ transport: 'memory', seed: 'exchange-a', preset: 'swarm' });
    b = await createMurmurNode({ transport: 'memory', seed: 'exchange-b', preset: 'swarm' });
    sender = modelExchange({ receiver: receivePath(), sendTimeoutMs: 5_000 })(components(a));
    receiver = modelExchange({
      receiver: inbox, maxFrameBytes: RECEIVER_MAX_FRAME_BYTES, inboundTimeoutMs: RECEIVER_INBOUND_TIMEOUT_MS,
      onInbound: (e) => events.push(e),
    })(components(b));
    await sender.start();
    await receiver.start();
    await a.dial(b.getMultiaddrs()[0]!);
  });

  after(async () => {
    await sender.stop();
    await receiver.stop();
    await a.stop();
    await b.stop();
  });

  it('delivers a frame into the receiver inbox and counts it on both sides', async () => {
    const bytes = frame(1, 0, 0.5);
    await sender.send(b.peerId, bytes);
    assert.deepEqual(await events.next(), { from: a.peerId.toString(), outcome: 'accepted', bytes: bytes.byteLength });
    const got = await inbox.collect(1, 0, [a.peerId.toString()]);
    assert.equal(got.frames.length, 1);
    assert.deepEqual([...got.frames[0]!.values!], new Array(layout.size).fill(0.5));
    const out = sender.countersOf(b.peerId.toString());
    const inn = receiver.countersOf(a.peerId.toString());
    assert.equal(out.framesOut, 1);
    assert.equal(out.bytesOut, bytes.byteLength);
    assert.equal(inn.framesIn, 1);
    assert.equal(inn.bytesIn, bytes.byteLength);
    assert.ok(out.lastSeen > 0 && inn.lastSeen > 0);
  });

  it('rejects a malformed frame with its reason, counts it, and keeps working', async () => {
    const garbage = new Uint8Array(100).fill(7);
    await assert.rejects(sender.send(b.peerId, garbage), { code: 'ERR_REMOTE_REJECTED', reason: 'bad-magic' });
    assert.equal((await events.next()).outcome, 'bad-magic');
    await sender.send(b.peerId, frame(2, 0, 1));
    assert.equal((await events.next()).outcome, 'accepted');
    assert.equal(receiver.countersOf(a.peerId.toString()).rejectedIn['bad-magic'], 1);
    assert.equal(sender.countersOf(b.peerId.toString()).rejectedByRemote['bad-magic'], 1);
  });

  it('answers oversized to a frame over the receiver limit without reading it, and keeps working', async () => {
    const big = new Uint8Array(RECEIVER_MAX_FRAME_BYTES + 1);
    const huge = new Uint8Array(4 * 1024 * 1024); // well past the limit: the receiver resets mid-write, the reason still arrives
    await assert.rejects(sender.send(b.peerId, huge), { code: "ERR_REMOTE_REJECTED", reason: "oversized" });
    assert.equal((await events.next()).outcome, "oversized");
    await assert.rejects(sender.send(b.peerId, big), { code: 'ERR_REMOTE_REJECTED', reason: 'oversized' });
    assert.deepEqual(await events.next(), { from: a.peerId.toString(), outcome: 'oversized', bytes: 0 });
    await sender.send(b.peerId, frame(3, 0, 1));
    assert.equal((await events.next()).outcome, 'accepted');
    assert.equal(receiver.countersOf(a.peerId.toString()).rejectedIn.oversized, 2);
  });

  it('answers duplicate to a second frame for the same round and step', async () => {
    await sender.send(b.peerId, frame(4, 1, 1));
    assert.equal((await events.next()).outcome, 'accepted');
    await assert.rejects(sender.send(b.peerId, frame(4, 1, 2)), { reason: 'duplicate' });
    assert.equal((await events.next()).outcome, 'duplicate');
  });

  it('cuts off a stalled sender at the inbound deadline and counts it', async () => {
    const stream = await a.dialProtocol(b.peerId, MODEL_PROTOCOL);
    const closed = new Promise((resolve) => stream.addEventListener('close', resolve, { once: true }));
    stream.send(Uint8Array.of(100, 1, 2, 3)); // announces 100 bytes, sends 3, then stalls
    assert.deepEqual(await events.next(), { from: a.peerId.toString(), outcome: 'stalled', bytes: 0 });
    await closed;
    assert.equal(receiver.countersOf(a.peerId.toString()).rejectedIn.stalled, 1);
  });

  it('counts a stream aborted mid-frame', async () => {
    const stream = await a.dialProtocol(b.peerId, MODEL_PROTOCOL);
    stream.send(Uint8Array.of(100, 1, 2, 3));
    stream.abort(new Error('sender gave up'));
    assert.equal((await events.next()).outcome, 'aborted');
  });

  it('fails a send to an unreachable peer with a typed error within its timeout', async () => {
    const nobody = peerIdFromPrivateKey(await keyFromSeed('nobody'));
    await a.peerStore.merge(nobody, { multiaddrs: [multiaddr(`/memory/${nobody.toString()}`)] });
    const t0 = performance.now();
    await assert.rejects(sender.send(nobody, frame(5, 0, 1)), { code: 'ERR_PEER_UNREACHABLE' });
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(sender.countersOf(nobody.toString()).sendFailures, 1);
  });

  it('fails with a send timeout when the receiver never replies', async () => {
    const STALL = '/murmur-test/stall/1.0.0';
    await b.handle(STALL, () => {}); // accepts the stream, never reads or replies
    const impatient = modelExchange({ receiver: receivePath(), protocol: STALL, sendTimeoutMs: 300 })(components(a));
    await impatient.start();
    try {
      await assert.rejects(impatient.send(b.peerId, frame(7, 0, 1)), { code: 'ERR_SEND_TIMEOUT' });
    } finally {
      await impatient.stop();
      await b.unhandle(STALL);
    }
  });

  it('rejects with AbortError when the caller aborts', async () => {
    await assert.rejects(sender.send(b.peerId, frame(6, 0, 1), { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
  });
});

describe('model exchange /murmur/model/1.1.0: many frames per stream, negotiated beside 1.0.0', () => {
  /** Only the idle test closes streams for idling; elsewhere a loaded machine must not close them between sends. */
  const SHORT_IDLE_MS = 300;
  let a: MurmurNode;
  let b: MurmurNode;
  const opened: string[] = [];
  /** Components of `node` whose openStream records the protocol each new stream negotiated. */
  const counting = (node: MurmurNode) => ({
    registrar: node,
    connectionManager: {
      openStream: async (...args: Parameters<MurmurNode['dialProtocol']>) => {
        const stream = await node.dialProtocol(...args);
        opened.push(stream.protocol ?? '');
        return stream;
      },
    },
  });

  before(async () => {
    a = await createMurmurNode({ transport: 'memory', seed: 'stream-a', preset: 'swarm' });
    b = await createMurmurNode({ transport: 'memory', seed: 'stream-b', preset: 'swarm' });
    await a.dial(b.getMultiaddrs()[0]!);
  });

  after(async () => {
    await a.stop();
    await b.stop();
  });

  /** A sender on `a` and a receiver on `b` with the given protocol choices; stopped by the returned function. */
  async function pair(senderInit: { streamProtocol?: null } = {}, receiverInit: { streamProtocol?: null; inboundIdleMs?: number } = {}) {
    opened.length = 0;
    const inbox = receivePath();
    const events = eventQueue();
    const sender = modelExchange({ receiver: receivePath(), sendTimeoutMs: 5_000, ...senderInit })(counting(a));
    const receiver = modelExchange({
      receiver: inbox, maxFrameBytes: RECEIVER_MAX_FRAME_BYTES, inboundTimeoutMs: RECEIVER_INBOUND_TIMEOUT_MS,
      onInbound: (e) => events.push(e), ...receiverInit,
    })(components(b));
    await sender.start();
    await receiver.start();
    return { sender, receiver, inbox, events, stop: async () => { await sender.stop(); await receiver.stop(); } };
  }

  it('carries many frames on one kept stream, each answered and counted', async () => {
    const p = await pair();
    try {
      for (let round = 1; round <= 5; round++) await p.sender.send(b.peerId, frame(round, 0, round));
      assert.deepEqual(opened, [MODEL_STREAM_PROTOCOL], 'one stream, negotiated as 1.1.0');
      for (let round = 1; round <= 5; round++) {
        assert.equal((await p.events.next()).outcome, 'accepted');
        const got = await p.inbox.collect(round, 0, [a.peerId.toString()]);
        assert.deepEqual([...got.frames[0]!.values!], new Array(layout.size).fill(round));
      }
      assert.equal(p.sender.countersOf(b.peerId.toString()).framesOut, 5);
      assert.equal(p.receiver.countersOf(a.peerId.toString()).framesIn, 5);
    } finally {
      await p.stop();
    }
  });

  it('answers refusals on the kept stream and goes on; after an oversized frame the next send opens a new stream', async () => {
    const p = await pair();
    try {
      await p.sender.send(b.peerId, frame(1, 0, 1));
      await assert.rejects(p.sender.send(b.peerId, frame(1, 0, 2)), { reason: 'duplicate' });
      await assert.rejects(p.sender.send(b.peerId, new Uint8Array(50).fill(7)), { reason: 'bad-magic' });
      await p.sender.send(b.peerId, frame(2, 0, 1));
      assert.equal(opened.length, 1, 'refused frames do not end the stream');
      await assert.rejects(p.sender.send(b.peerId, new Uint8Array(RECEIVER_MAX_FRAME_BYTES + 1)), { reason: 'oversized' });
      await p.sender.send(b.peerId, frame(3, 0, 1));
      assert.equal(opened.length, 2, 'an oversized frame resets the stream; the next send opens another');
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push((await p.events.next()).outcome);
      assert.deepEqual(outcomes, ['accepted', 'duplicate', 'bad-magic', 'accepted', 'oversized', 'accepted']);
      assert.deepEqual(p.receiver.countersOf(a.peerId.toString()).rejectedIn, { duplicate: 1, 'bad-magic': 1, oversized: 1 });
    } finally {
      await p.stop();
    }
  });

  // Both directions of interop with a 1.0.0-only peer: one stream per frame, every frame counted.
  for (const [name, senderOptions, receiverOptions] of [
    ['sends to a peer that speaks only 1.0.0, one stream per frame', {}, { streamProtocol: null }],
    ['receives from a peer that speaks only 1.0.0', { streamProtocol: null }, {}],
  ] as const) {
    it(name, async () => {
      const p = await pair(senderOptions, receiverOptions);
      try {
        await p.sender.send(b.peerId, frame(1, 0, 1));
        await p.sender.send(b.peerId, frame(2, 0, 1));
        assert.deepEqual(opened, [MODEL_PROTOCOL, MODEL_PROTOCOL]);
        assert.equal(p.receiver.countersOf(a.peerId.toString()).framesIn, 2);
      } finally {
        await p.stop();
      }
    });
  }

  it('cuts off a frame that stalls on a kept stream and counts it stalled', async () => {
    const p = await pair();
    try {
      const stream = await a.dialProtocol(b.peerId, MODEL_STREAM_PROTOCOL);
      const lp = lpStream(stream);
      await lp.write(frame(1, 0, 1));
      assert.deepEqual([...(await lp.read()).subarray()], [0], 'the first frame is accepted');
      const closed = new Promise((resolve) => stream.addEventListener('close', resolve, { once: true }));
      stream.send(Uint8Array.of(100, 1, 2, 3)); // announces 100 bytes, sends 3, then stalls
      assert.equal((await p.events.next()).outcome, 'accepted');
      assert.deepEqual(await p.events.next(), { from: a.peerId.toString(), outcome: 'stalled', bytes: 0 });
      await closed;
    } finally {
      await p.stop();
    }
  });

  it('refuses an endless length prefix on a kept stream at once, after a good frame', async () => {
    const p = await pair();
    try {
      const stream = await a.dialProtocol(b.peerId, MODEL_STREAM_PROTOCOL);
      const lp = lpStream(stream);
      await lp.write(frame(1, 0, 1));
      assert.deepEqual([...(await lp.read()).subarray()], [0]);
      const closed = new Promise((resolve) => stream.addEventListener('close', resolve, { once: true }));
      stream.send(new Uint8Array(64).fill(0xff)); // a prefix that never ends
      assert.equal((await p.events.next()).outcome, 'accepted');
      assert.deepEqual(await p.events.next(), { from: a.peerId.toString(), outcome: 'oversized', bytes: 0 });
      await closed;
    } finally {
      await p.stop();
    }
  });

  it('closes a stream that stays idle, uncounted, and the next send opens a new one', async () => {
    const p = await pair({}, { inboundIdleMs: SHORT_IDLE_MS });
    try {
      await p.sender.send(b.peerId, frame(1, 0, 1));
      const kept = a.getConnections(b.peerId).flatMap((c) => c.streams).find((s) => s.protocol === MODEL_STREAM_PROTOCOL)!;
      if (kept.remoteWriteStatus === 'writable') await new Promise((resolve) => kept.addEventListener('remoteCloseWrite', resolve, { once: true }));
      await p.sender.send(b.peerId, frame(2, 0, 1));
      assert.equal(opened.length, 2);
      assert.deepEqual(p.receiver.countersOf(a.peerId.toString()).rejectedIn, {});
      assert.equal(p.receiver.countersOf(a.peerId.toString()).framesIn, 2);
    } finally {
      await p.stop();
    }
  });
});
