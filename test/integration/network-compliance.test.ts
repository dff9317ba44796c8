/**
 * One compliance suite for the network seam (node/network.ts), run against every implementation, in the
 * spirit of js-libp2p's transport compliance tests (STYLE.md §1.6): the libp2p network over the memory
 * transport and the virtual network. Each implementation provides three started peers of one swarm (a and b
 * share a layout, c has another) and a way to let its time pass; the tests only use the `Network` interface.
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { deadline } from '../../node/deadline.js';
import type { Network, OutgoingFrame, PeerTraffic } from '../../node/network.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';
import { libp2pNetwork } from '../../protocols/libp2p-network.js';
import { VirtualNet, VirtualScheduler } from '../../topology-sim/virtual-net.js';

const SWARM = 'compliance';
const LAYOUT = makeLayout([{ name: 'w', shape: [6, 4], role: 'kernel' }, { name: 'b', shape: [4], role: 'bias' }]);
const OTHER_LAYOUT = makeLayout([{ name: 'w', shape: [5], role: 'kernel' }]);

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface NetworksUnderTest {
  /** a and b use LAYOUT, c uses OTHER_LAYOUT; all three are started and may reach each other. */
  readonly a: Network;
  readonly b: Network;
  readonly c: Network;
  /** Let the implementation's time pass until `p` settles. */
  settle<T>(p: Promise<T>): Promise<Outcome<T>>;
  /** A deadline `ms` from now in the implementation's time, as the peer `owner` sees it. */
  deadline(owner: 'a' | 'b' | 'c', ms: number): AbortSignal;
  close(): Promise<void>;
}

const settleReal = async <T>(p: Promise<T>): Promise<Outcome<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

async function libp2pMemory(): Promise<NetworksUnderTest> {
  const nodes: MurmurNode[] = [];
  const nets: Network[] = [];
  for (const [name, layout] of [['a', LAYOUT], ['b', LAYOUT], ['c', OTHER_LAYOUT]] as const) {
    const node = await createMurmurNode({ transport: 'memory', seed: `compliance-${name}`, preset: 'swarm', swarm: SWARM });
    const net = libp2pNetwork({ node, swarm: SWARM, layout, sendTimeoutMs: 10_000 });
    await net.start();
    nodes.push(node);
    nets.push(net);
  }
  await nodes[0]!.dial(nodes[1]!.getMultiaddrs()[0]!);
  await nodes[0]!.dial(nodes[2]!.getMultiaddrs()[0]!);
  return {
    a: nets[0]!, b: nets[1]!, c: nets[2]!,
    settle: settleReal,
    deadline: (_owner, ms) => deadline(ms),
    close: async () => { await Promise.all(nets.map((n) => n.stop())); },
  };
}

async function virtual(): Promise<NetworksUnderTest> {
  const scheduler = new VirtualScheduler();
  const net = new VirtualNet({ scheduler });
  const a = net.join('v0000', { swarm: SWARM, layout: LAYOUT });
  const b = net.join('v0001', { swarm: SWARM, layout: LAYOUT });
  const c = net.join('v0002', { swarm: SWARM, layout: OTHER_LAYOUT });
  for (const n of [a, b, c]) await n.start();
  net.connect('v0000', 'v0001');
  net.connect('v0000', 'v0002');
  const owners = { a: 0, b: 1, c: 2 } as const;
  return {
    a, b, c,
    settle: async <T>(p: Promise<T>): Promise<Outcome<T>> => {
      let out: Outcome<T> | null = null;
      p.then((value) => { out = { ok: true, value }; }, (error: unknown) => { out = { ok: false, error }; });
      await scheduler.run(() => out !== null);
      return out!;
    },
    deadline: (owner, ms) => scheduler.clock(owners[owner]).timeout(ms),
    close: async () => { for (const n of [a, b, c]) await n.stop(); },
  };
}

/** A model frame of LAYOUT whose values all equal `fill`. */
const model = (round: number, step: number, fill: number, layout = LAYOUT): OutgoingFrame =>
  ({ kind: 'model', round, step, degree: 3, age: 7, values: new Float32Array(layout.size).fill(fill), encoding: 'f32' });

const rowOf = (net: Network, peer: string): PeerTraffic | undefined => net.traffic().find((t) => t.peer === peer);

function complianceSuite(name: string, setup: () => Promise<NetworksUnderTest>): void {
  describe(`network compliance: ${name}`, () => {
    let t: NetworksUnderTest;
    before(async () => { t = await setup(); });
    after(async () => { await t.close(); });

    it('delivers a sent frame to collect with its sender, meta, values and encoded size', async () => {
      const sent = await t.settle(t.a.send(t.b.selfId, model(1, 0, 0.5)));
      assert.ok(sent.ok, String(!sent.ok && sent.error));
      const got = await t.settle(t.b.collect(1, 0, [t.a.selfId], { signal: t.deadline('b', 5_000) }));
      assert.ok(got.ok);
      assert.equal(got.value.length, 1);
      const f = got.value[0]!;
      assert.deepEqual({ from: f.from, kind: f.kind, round: f.round, step: f.step, degree: f.degree, age: f.age, bytes: f.bytes },
        { from: t.a.selfId, kind: 'model', round: 1, step: 0, degree: 3, age: 7, bytes: sent.value });
      assert.deepEqual([...f.values!], new Array(LAYOUT.size).fill(0.5));
      assert.equal(f.view, null);
    });

    it('resolves collect at the deadline with what arrived; a missing sender is not waited for', async () => {
      assert.ok((await t.settle(t.a.send(t.b.selfId, model(2, 0, 1)))).ok);
      const got = await t.settle(t.b.collect(2, 0, [t.a.selfId, t.c.selfId], { signal: t.deadline('b', 200) }));
      assert.ok(got.ok);
      assert.deepEqual(got.value.map((f) => f.from), [t.a.selfId]);
    });

    it('discards buffered frames of earlier rounds and refuses later ones as stale, counted by reason', async () => {
      assert.ok((await t.settle(t.a.send(t.b.selfId, model(3, 0, 1)))).ok);
      t.b.discardBefore(4);
      const got = await t.settle(t.b.collect(3, 0, [t.a.selfId], { signal: t.deadline('b', 100) }));
      assert.deepEqual(got.ok && got.value, []);
      const late = await t.settle(t.a.send(t.b.selfId, model(3, 1, 1)));
      assert.equal(late.ok, false);
      assert.deepEqual(!late.ok && { code: (late.error as { code?: string }).code, reason: (late.error as { reason?: string }).reason },
        { code: 'ERR_REMOTE_REJECTED', reason: 'stale' });
      assert.equal(rowOf(t.b, t.a.selfId)?.rejections.stale, 1);
    });

    it('refuses a duplicate for the same round and step, keeping the first', async () => {
      assert.ok((await t.settle(t.a.send(t.b.selfId, model(5, 0, 1)))).ok);
      const second = await t.settle(t.a.send(t.b.selfId, model(5, 0, 2)));
      assert.equal(!second.ok && (second.error as { reason?: string }).reason, 'duplicate');
      const got = await t.settle(t.b.collect(5, 0, [t.a.selfId], { signal: t.deadline('b', 5_000) }));
      assert.deepEqual(got.ok && got.value.map((f) => f.values![0]), [1]);
      assert.equal(rowOf(t.b, t.a.selfId)?.rejections.duplicate, 1);
    });

    it('refuses a frame of another layout as foreign-layout, counted at the receiver and as a send failure', async () => {
      const before = rowOf(t.a, t.c.selfId)?.sendFailures ?? 0;
      const out = await t.settle(t.a.send(t.c.selfId, model(1, 0, 1)));
      assert.equal(out.ok, false);
      assert.deepEqual(!out.ok && { code: (out.error as { code?: string }).code, reason: (out.error as { reason?: string }).reason },
        { code: 'ERR_REMOTE_REJECTED', reason: 'foreign-layout' });
      assert.equal(rowOf(t.c, t.a.selfId)?.rejections['foreign-layout'], 1);
      assert.equal(rowOf(t.a, t.c.selfId)?.sendFailures, before + 1);
    });

    it('counts accepted frames and their bytes on both sides', async () => {
      const out0 = rowOf(t.a, t.b.selfId)!;
      const in0 = rowOf(t.b, t.a.selfId)!;
      const sent = await t.settle(t.a.send(t.b.selfId, model(6, 0, 1)));
      assert.ok(sent.ok);
      const out1 = rowOf(t.a, t.b.selfId)!;
      const in1 = rowOf(t.b, t.a.selfId)!;
      assert.deepEqual([out1.framesOut - out0.framesOut, out1.bytesOut - out0.bytesOut], [1, sent.value]);
      assert.deepEqual([in1.framesIn - in0.framesIn, in1.bytesIn - in0.bytesIn], [1, sent.value]);
      assert.ok(in1.lastSeen > 0 && out1.lastSeen > 0);
      assert.equal(in1.connected, true);
    });

    it('hands frames to onFrame listeners instead of the inbox while one is registered', async () => {
      const seen: string[] = [];
      const off = t.b.onFrame((f) => seen.push(`${f.from}:${f.round}`));
      assert.ok((await t.settle(t.a.send(t.b.selfId, model(7, 0, 1)))).ok);
      off();
      assert.deepEqual(seen, [`${t.a.selfId}:7`]);
      const got = await t.settle(t.b.collect(7, 0, [], { signal: t.deadline('b', 50) }));
      assert.deepEqual(got.ok && got.value, []);
    });

    it('carries the sender\'s membership view with the frame', async () => {
      const frame: OutgoingFrame = { ...model(8, 0, 0.25), view: new Map([[t.a.selfId, { lastActive: 8, index: 0, status: 'join' as const }]]) };
      assert.ok((await t.settle(t.a.send(t.b.selfId, frame))).ok);
      const got = await t.settle(t.b.collect(8, 0, [t.a.selfId], { signal: t.deadline('b', 5_000) }));
      assert.deepEqual(got.ok && got.value[0]!.view, [[t.a.selfId, { lastActive: 8, index: 0, status: 'join' }]]);
    });
  });
}

complianceSuite('libp2p over the memory transport', libp2pMemory);
complianceSuite('virtual network', virtual);
