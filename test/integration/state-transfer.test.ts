import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../aggregation/layout.js';
import { systemClock } from '../../node/clock.js';
import { commitAdoptedState, joinSwarm } from '../../node/join.js';
import { store as createStore } from '../../node/store.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../node/logger.js';
import { lpStream } from '@libp2p/utils';
import { pino } from 'pino';
import { encodeModelFrame } from '../../protocols/codec.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';
import { largestFrameBytes } from '../../protocols/libp2p-network.js';
import { StateTransferError } from '../../protocols/errors.js';
import { STATE_PROTOCOL } from '../../protocols/state-transfer.js';

const layout = makeLayout([{ name: 'w', shape: [4, 3], role: 'kernel' }, { name: 'b', shape: [3], role: 'bias' }]);
const other = makeLayout([{ name: 'w', shape: [5, 3], role: 'kernel' }, { name: 'b', shape: [3], role: 'bias' }]);
const vector = Float32Array.from({ length: layout.size }, (_, i) => i / 7);
const state = (l = layout) => ({ swarm: 'st', layout: l, maxFrameBytes: largestFrameBytes(l), timeoutMs: 5_000 });
const node = (l = layout) => createMurmurNode({ transport: 'memory', preset: 'swarm', swarm: 'st', state: state(l) });

describe('state transfer over /murmur/state/1.0.0 (memory transport)', { timeout: 60_000 }, () => {
  let joiner: MurmurNode, holder: MurmurNode, empty: MurmurNode, liar: MurmurNode, foreign: MurmurNode;
  before(async () => {
    [joiner, holder, empty, liar, foreign] = await Promise.all([node(), node(), node(), createMurmurNode({ transport: 'memory', preset: 'swarm', swarm: 'st' }), node(other)]);
    holder.services.state!.serve(() => ({ vector, round: 42, age: 900 }));
    foreign.services.state!.serve(() => ({ vector: new Float32Array(other.size).fill(1), round: 42, age: 900 }));
    // A responder whose claimed hash is not the hash of the values it sends.
    await liar.handle(STATE_PROTOCOL, async (stream) => {
      const frame = encodeModelFrame({ kind: 'model', swarm: 'st', round: 42, step: 0, degree: 0, age: 1 }, layout, vector, { extension: new Uint8Array(8).fill(7) });
      await lpStream(stream).write(frame);
      await stream.close();
    });
    for (const n of [holder, empty, liar, foreign]) await joiner.dial(n.getMultiaddrs()[0]!);
  });
  after(() => Promise.all([joiner, holder, empty, liar, foreign].map((n) => n.stop())));

  it("delivers the neighbour's model, round and age, with its hash checked", async () => {
    const got = await joiner.services.state!.request(holder.peerId);
    assert.ok(got);
    assert.deepEqual([...got.vector], [...vector]);
    assert.equal(got.round, 42);
    assert.equal(got.age, 900);
  });

  it('answers null when the neighbour has no state to give', async () => {
    assert.equal(await joiner.services.state!.request(empty.peerId), null);
  });

  it('rejects a state whose model hash differs from the one claimed', async () => {
    await assert.rejects(joiner.services.state!.request(liar.peerId), (err: unknown) => err instanceof StateTransferError && err.reason === 'hash-mismatch');
  });

  it('rejects a state of another layout', async () => {
    await assert.rejects(joiner.services.state!.request(foreign.peerId), (err: unknown) => err instanceof StateTransferError && err.reason === 'invalid');
  });

  it('a fresh joiner skips neighbours that fail and adopts the state of the next one, most advanced first', async () => {
    const finished: Record<string, number> = { [liar.peerId.toString()]: 43, [holder.peerId.toString()]: 42, [empty.peerId.toString()]: 10 };
    const progress = { swarmRound: () => 43, finished: (p: string) => finished[p], onAnnouncement: () => () => {} };
    const outcome = await joinSwarm({ round: 0, fresh: true }, progress, { waitMs: 100, settleMs: 0 }, {
      neighbours: () => Object.keys(finished),
      requestState: (p, o) => joiner.services.state!.request(holder.peerId.toString() === p ? holder.peerId : p === liar.peerId.toString() ? liar.peerId : empty.peerId, o),
      clock: systemClock, logger: silentLogger(),
    }, new AbortController().signal);
    assert.equal(outcome.from, holder.peerId.toString());
    assert.equal(outcome.state?.round, 42);
    assert.equal(outcome.swarmRound, 43);
  });
});

describe('joinSwarm decides from the announced rounds', () => {
  const progress = (finished: Record<string, number>) => {
    const values = Object.values(finished).map((f) => f + 1).sort((a, b) => a - b);
    return { swarmRound: () => values[Math.floor(values.length / 2)] ?? 0, finished: (p: string) => finished[p], onAnnouncement: () => () => {} };
  };
  const run = (own: { round: number; fresh: boolean }, finished: Record<string, number>) => {
    const asked: string[] = [];
    return joinSwarm(own, progress(finished), { waitMs: 50, settleMs: 0, farBehindRounds: 5 }, {
      neighbours: () => Object.keys(finished),
      requestState: async (p) => { asked.push(p); return { vector, round: finished[p]!, age: 1 }; },
      clock: systemClock, logger: silentLogger(),
    }, new AbortController().signal).then((o) => ({ ...o, asked }));
  };

  it('a restarted peer a few rounds behind keeps its own model (it lands on the swarm round)', async () => {
    const o = await run({ round: 30, fresh: false }, { a: 33, b: 34 });
    assert.deepEqual(o.asked, []);
    assert.equal(o.state, null);
    assert.equal(o.swarmRound, 35);
  });

  it('a peer far behind fetches the state of the most advanced neighbour', async () => {
    const o = await run({ round: 10, fresh: false }, { a: 33, b: 34 });
    assert.deepEqual(o.asked, ['b']);
    assert.equal(o.state?.round, 34);
  });

  it('an adopted state is committed as the current model before the first round (a kill -9 then resumes from it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-join-'));
    const st = createStore({ dataDir: dir });
    await st.start();
    try {
      const persist = commitAdoptedState(st, layout.hash, { swarm: 'st' });
      const o = await joinSwarm({ round: 0, fresh: true }, progress({ a: 33, b: 34 }), { waitMs: 50, settleMs: 0 }, {
        neighbours: () => ['a', 'b'], requestState: async (p) => ({ vector, round: p === 'b' ? 34 : 33, age: 7 }),
        clock: systemClock, logger: silentLogger(), persist,
      }, new AbortController().signal);
      assert.equal(o.state?.round, 34);
      const current = await st.current();
      assert.equal(current?.round, 34);
      assert.equal(current?.age, 7);
      assert.deepEqual(current?.vector, vector);
      const [entry] = await st.history({ reverse: true, limit: 1 });
      assert.equal(entry?.adoptedFrom, 'b');
      assert.equal(entry?.modelHash, current?.hash);
      assert.deepEqual(await st.verify(), []);
    } finally {
      await st.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a commit of the adopted state that fails (full disk) warns and the state is still adopted', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push((JSON.parse(line) as { msg: string }).msg); } });
    const o = await joinSwarm({ round: 0, fresh: true }, progress({ b: 34 }), { waitMs: 50, settleMs: 0 }, {
      neighbours: () => ['b'], requestState: async () => ({ vector, round: 34, age: 1 }),
      clock: systemClock, logger, persist: async () => { throw new Error('the disk is full'); },
    }, new AbortController().signal);
    assert.equal(o.from, 'b');
    assert.equal(o.state?.round, 34);
    assert.deepEqual(warnings, ['join: could not commit the adopted model; its first round will']);
  });

  it('the first peer of a swarm (nobody announces) waits at most waitMs and keeps its state', async () => {
    const t0 = Date.now();
    const o = await run({ round: 0, fresh: true }, {});
    assert.equal(o.heard, 0);
    assert.equal(o.state, null);
    assert.ok(Date.now() - t0 < 5_000);
  });
});
