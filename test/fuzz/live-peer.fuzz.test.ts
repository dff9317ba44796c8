/**
 * The CI subset of scripts/fuzz-peer.ts: 1,000 of the same seeded frames (valid, truncated, oversized, wrong
 * lengths, another layout, NaN/±Inf, unknown encodings, another swarm, garbage, mutations) pushed over TCP
 * to a live receiver: the daemon's network stack (Libp2pNetwork: stream cap, codec, inbox) behind the
 * daemon's control API, whose /peers is what `murmur peers` prints. The receiver must refuse every invalid
 * frame for the reason the codec gives locally, accept the valid ones, count each refusal by reason, and
 * keep working. The script runs 10,000 frames against a spawned `murmur daemon`. Last, backpressure: a
 * peer with DEFAULT_MAX_INBOUND_STREAMS frames in flight gets 'busy' for one more, counted like the rest.
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Multiaddr } from '@multiformats/multiaddr';
import { makeLayout } from '../../aggregation/layout.js';
import { connectControl } from '../../node/control/client.js';
import { createMetrics } from '../../node/control/metrics.js';
import { controlServer, type ControlServer } from '../../node/control/server.js';
import type { ControlSource, PeerInfo, StatusInfo } from '../../node/control/types.js';
import { encodeModelFrame } from '../../protocols/codec.js';
import { DEFAULT_MAX_INBOUND_STREAMS, MODEL_PROTOCOL } from '../../protocols/constants.js';
import { createMurmurNode } from '../../protocols/libp2p.js';
import { largestFrameBytes, libp2pNetwork, type Libp2pNetwork } from '../../protocols/libp2p-network.js';
import { compareWithReceiver, FUZZ_KINDS, fuzzCases, fuzzPeer, fuzzSender, type FuzzTarget } from '../../scripts/fuzz-peer.js';

const SWARM = 'fuzz';
const SEED = 7;
const COUNT = 1000;
// An MLP 20-8-4: 20·8 + 8 + 8·4 + 4 = 204 parameters.
const layout = makeLayout([
  { name: 'dense/kernel', shape: [20, 8], role: 'kernel' }, { name: 'dense/bias', shape: [8], role: 'bias' },
  { name: 'out/kernel', shape: [8, 4], role: 'kernel' }, { name: 'out/bias', shape: [4], role: 'bias' },
]);

describe('fuzzing a live peer over /murmur/model/1.0.0', { timeout: 120_000 }, () => {
  let dir: string;
  let receiver: Libp2pNetwork;
  let control: ControlServer;
  let sender: Awaited<ReturnType<typeof fuzzSender>>;
  let receiverAddress: Multiaddr;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'murmur-live-fuzz-'));
    const node = await createMurmurNode({ transport: 'tcp', preset: 'swarm', seed: 'live-fuzz-receiver', listen: ['/ip4/127.0.0.1/tcp/0'] });
    // A 32 KiB inbox (about 35 frames of this model): the valid frames fill it, so 'inbox-full' is exercised too.
    receiver = libp2pNetwork({ node, swarm: SWARM, layout, inboxMaxBytes: 32 * 1024, inboundTimeoutMs: 10_000 });
    await receiver.start();
    // The daemon's /peers (node/daemon-control.ts) is network.traffic(); the rest is not under test.
    const source: ControlSource = {
      status: () => ({ peerId: receiver.selfId } as StatusInfo),
      peers: () => receiver.traffic().map((t): PeerInfo => ({ ...t })),
      model: () => null,
      history: async () => [],
      trust: () => [],
    };
    control = controlServer({ dataDir: dir })({ source, metrics: createMetrics(), logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await control.start();
    sender = await fuzzSender(SEED, { maxOutboundStreams: 4 * DEFAULT_MAX_INBOUND_STREAMS });
    receiverAddress = node.getMultiaddrs()[0]!;
    await sender.node.dial(receiverAddress);
  });

  after(async () => {
    await sender.stop();
    await control.stop();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`refuses every invalid frame of ${COUNT} for the codec's reason and counts each one in /peers`, async (t) => {
    const target: FuzzTarget = { layout, swarm: SWARM, maxFrameBytes: largestFrameBytes(layout) };
    const cases = fuzzCases(target, SEED);
    const to = sender.node.getConnections()[0]!.remotePeer;
    const tally = await fuzzPeer((bytes) => sender.exchange.send(to, bytes), cases, { count: COUNT });
    t.diagnostic(`seed ${SEED}: ${JSON.stringify(tally.outcomes)}`);

    assert.equal(tally.cases, COUNT);
    assert.equal(tally.invalidAccepted, 0, `seed ${SEED}: ${JSON.stringify(tally.examples)}`);
    assert.equal(tally.mismatches, 0, `seed ${SEED}: ${JSON.stringify(tally.examples)}`);
    assert.deepEqual(Object.keys(tally.byKind).sort(), [...FUZZ_KINDS].sort(), 'every kind of case was generated');
    assert.equal(Object.keys(tally.outcomes).filter((o) => o.startsWith('failure:')).length, 0, 'every frame got a reply');
    // The reasons the issue names all occur: truncated, oversized, wrong length and layout, NaN/Inf, unknown encoding.
    for (const reason of ['truncated', 'oversized', 'wrong-length', 'foreign-layout', 'non-finite', 'unknown-encoding', 'foreign-swarm', 'bad-magic', 'accepted', 'inbox-full']) {
      assert.ok((tally.outcomes[reason] ?? 0) > 0, `no ${reason} among ${JSON.stringify(tally.outcomes)}`);
    }

    const client = await connectControl(dir);
    const row = (await client.get<PeerInfo[]>('/peers')).find((p) => p.peer === sender.node.peerId.toString());
    assert.deepEqual(compareWithReceiver(tally, row), []);

    // Still working: a fresh valid frame for a live round is accepted and collectable.
    const fresh = encodeModelFrame({ kind: 'model', swarm: SWARM, round: 3, step: 0, degree: 1, age: 1 }, layout, new Float32Array(layout.size).fill(0.5));
    receiver.discardBefore(1); // frees the inbox of the fuzz's round-0 frames
    await sender.exchange.send(to, fresh);
    const got = await receiver.collect(3, 0, [sender.node.peerId.toString()], { signal: AbortSignal.timeout(10_000) });
    assert.deepEqual(got.map((f) => f.values?.[0]), [0.5]);
  });

  it(`answers 'busy' to a peer that already has ${DEFAULT_MAX_INBOUND_STREAMS} frames in flight, counts it, and serves it again after`, async (t) => {
    // A 1.0.0 sender: each frame takes a stream and a receiver slot (a 1.1.0 sender's kept stream holds one
    // slot for all its frames, so it is not refused while it keeps it).
    const sender = await fuzzSender(`${SEED}-busy`, { maxOutboundStreams: 4 * DEFAULT_MAX_INBOUND_STREAMS, streamProtocol: null });
    t.after(() => sender.stop());
    await sender.node.dial(receiverAddress);
    const to = sender.node.getConnections()[0]!.remotePeer;
    const me = sender.node.peerId.toString();
    const client = await connectControl(dir);
    const before = (await client.get<PeerInfo[]>('/peers')).find((p) => p.peer === me)!;
    // Streams that announce a 100-byte frame and send nothing more: each holds a slot until it ends.
    const held = await Promise.all(Array.from({ length: DEFAULT_MAX_INBOUND_STREAMS }, async () => {
      const stream = await sender.node.dialProtocol(to, MODEL_PROTOCOL);
      stream.send(Uint8Array.of(100));
      return stream;
    }));
    // The slots are taken once the receiver's handler runs for each held stream; until then a push may still
    // get in (a fresh round each time, dropped at once so the inbox never fills).
    let refusal: unknown = null;
    for (let round = 1000; round < 1050 && refusal === null; round++) {
      const frame = encodeModelFrame({ kind: 'model', swarm: SWARM, round, step: 0, degree: 1, age: 1 }, layout, new Float32Array(layout.size));
      await sender.exchange.send(to, frame).then(() => receiver.discardBefore(round + 1), (err: unknown) => { refusal = err; });
    }
    assert.equal((refusal as { reason?: string } | null)?.reason, 'busy', String(refusal));
    for (const stream of held) stream.abort(new Error('done'));
    const after = await waitForRow(client, me, (r) => (r.rejections.aborted ?? 0) >= (before.rejections.aborted ?? 0) + DEFAULT_MAX_INBOUND_STREAMS);
    assert.equal(after.rejections.busy, (before.rejections.busy ?? 0) + 1);
    await sender.exchange.send(to, encodeModelFrame({ kind: 'model', swarm: SWARM, round: 2000, step: 0, degree: 1, age: 1 }, layout, new Float32Array(layout.size)));
  });
});

/** Poll /peers until the row of `peer` satisfies `ok` (the receiver counts aborted streams asynchronously). */
async function waitForRow(client: Awaited<ReturnType<typeof connectControl>>, peer: string, ok: (row: PeerInfo) => boolean): Promise<PeerInfo> {
  for (let i = 0; ; i++) {
    const row = (await client.get<PeerInfo[]>('/peers')).find((p) => p.peer === peer);
    if (row !== undefined && ok(row)) return row;
    if (i === 100) throw new Error(`row of ${peer} never matched: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
