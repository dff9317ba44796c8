import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../../aggregation/layout.js';
import type { ModelSpec } from '../../../node/learner/models.js';
import type { LearnerPool } from '../../../node/learner/pool.js';
import type { TrainOutput } from '../../../node/learner/tasks.js';
import type { Announcement } from '../../../node/network.js';
import { encodeModelFrame } from '../../../protocols/codec.js';
import {
  constantBandwidth, constantLatency, dropProbability, LinkModelError, uniformLatency, VirtualNet, VirtualPool, VirtualScheduler,
  type VirtualNetInit,
} from '../../../topology-sim/virtual-net.js';

const layout = makeLayout([{ name: 'w', shape: [4], role: 'kernel' }]);
const other = makeLayout([{ name: 'w', shape: [5], role: 'kernel' }]);
const SWARM = 'sw';
// 44-byte fixed header + 2 bytes of swarm id = 46, padded to 48, + 4 f32 = 64 bytes.
const FRAME_BYTES = 64;
const frame = (round = 1, step = 0, l = layout): Uint8Array =>
  encodeModelFrame({ kind: 'model', swarm: SWARM, round, step, degree: 1, age: 0 }, l, new Float32Array(l.size).fill(0.5));

/** Drive `s` until `p` settles; returns its outcome. */
async function drive<T>(s: VirtualScheduler, p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  p.then((value) => { out = { ok: true, value }; }, (error: unknown) => { out = { ok: false, error }; });
  await s.run(() => out !== null);
  return out!;
}

async function pair(init: Omit<VirtualNetInit, 'scheduler'> = {}) {
  const scheduler = new VirtualScheduler();
  const net = new VirtualNet({ scheduler, ...init });
  const a = net.join('v0000', { swarm: SWARM, layout });
  const b = net.join('v0001', { swarm: SWARM, layout });
  await a.start();
  await b.start();
  return { scheduler, net, a, b };
}

describe('VirtualScheduler', () => {
  it('fires equal-time events by owner, then by each owner’s sequence', async () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    const at = (owner: number, ms: number, name: string) => s.schedule(owner, ms, () => log.push(`${name}@${s.now()}`));
    at(2, 5, 'a'); at(0, 5, 'b'); at(2, 5, 'c'); at(1, 3, 'd'); at(0, 5, 'e');
    await s.run(() => log.length === 5);
    // time 3 first; at time 5 owner 0 (b then e, its scheduling order), then owner 2 (a then c)
    assert.deepEqual(log, ['d@3', 'b@5', 'e@5', 'a@5', 'c@5']);
  });

  it('resolves a sleep and aborts a timeout signal at the right virtual time', async () => {
    const s = new VirtualScheduler();
    const clock = s.clock(0);
    let abortedAt = -1;
    const signal = clock.timeout(25);
    signal.addEventListener('abort', () => { abortedAt = clock.now(); });
    const slept = await drive(s, clock.sleep(10).then(() => clock.now()));
    assert.deepEqual(slept, { ok: true, value: 10 });
    assert.equal(signal.aborted, false);
    await s.run(() => signal.aborted);
    assert.equal(abortedAt, 25);
    assert.equal((signal.reason as DOMException).name, 'TimeoutError');
  });

  it('aborts a timeout with its parent and rejects a sleep whose signal aborts', async () => {
    const s = new VirtualScheduler();
    const clock = s.clock(3);
    const parent = new AbortController();
    const t = clock.timeout(1000, parent.signal);
    const sleeping = clock.sleep(50, { signal: parent.signal });
    parent.abort();
    assert.equal(t.aborted, true);
    await assert.rejects(sleeping, { code: 'ERR_ABORTED' });
    assert.equal(s.now(), 0);
  });

  it('does not advance time while deferred work keyed earlier is in flight, yet fires events keyed before it', async () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    let finish!: (v: string) => void;
    const work = new Promise<string>((resolve) => { finish = resolve; });
    s.schedule(2, 10, () => log.push(`timer@${s.now()}`));
    s.defer(1, 0, work, (o) => log.push(`task:${o.ok ? o.value : 'failed'}@${s.now()}`));
    s.schedule(0, 0, () => log.push(`early@${s.now()}`)); // key (0, owner 0) < the task's (0, owner 1)
    const driving = s.run(() => log.length === 3);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['early@0']);
    assert.equal(s.now(), 0);
    assert.equal(s.inFlight, 1);
    finish('done');
    await driving;
    assert.deepEqual(log, ['early@0', 'task:done@0', 'timer@10']);
    assert.equal(s.inFlight, 0);
  });

  it('delivers deferred results in key order whatever order the work finishes in', async () => {
    const s = new VirtualScheduler();
    const log: number[] = [];
    const resolvers: Array<() => void> = [];
    for (const owner of [1, 0]) {
      s.defer(owner, 5, new Promise<void>((r) => resolvers.push(r)), () => log.push(owner));
    }
    const driving = s.run(() => log.length === 2);
    resolvers[0]!(); // owner 1's work finishes first in real time
    await new Promise((r) => setImmediate(r));
    resolvers[1]!();
    await driving;
    assert.deepEqual(log, [0, 1]);
    assert.equal(s.now(), 5);
  });

  it('fires plain equal-time events as one batch, before the promise continuations of the first', async () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    // p1's continuation (a promise hop later) schedules y at the same time, keyed (0, owner 0, seq 1) < p2's key.
    s.schedule(0, 0, () => { log.push('p1'); void Promise.resolve().then(() => s.schedule(0, 0, () => log.push('y'))); });
    s.schedule(1, 0, () => log.push('p2'));
    await s.run(() => log.length === 3);
    // One-by-one with a drain between would give p1, y, p2: the batch is p1 + p2, then y.
    assert.deepEqual(log, ['p1', 'p2', 'y']);
    assert.equal(s.fired, 3);
    assert.equal(s.batches, 2);
  });

  it('fires a deferred result alone, whatever work finished meanwhile: its continuations run before the next event', async () => {
    // Two deferred results at one time; the first one's continuation schedules x, keyed before the second.
    // Whether the second's work finished first or last, x fires between them, so the order never depends on
    // real time (batching ready deferred results would give d0, d1, x when d1's work came first).
    for (const secondFirst of [true, false]) {
      const s = new VirtualScheduler();
      const log: string[] = [];
      let finish0!: () => void, finish1!: () => void;
      s.defer(0, 5, new Promise<void>((r) => { finish0 = r; }), () => {
        log.push('d0');
        void Promise.resolve().then(() => s.schedule(0, 0, () => log.push('x')));
      });
      s.defer(1, 5, new Promise<void>((r) => { finish1 = r; }), () => log.push('d1'));
      const driving = s.run(() => log.length === 3);
      if (secondFirst) { finish1(); await new Promise((r) => setImmediate(r)); finish0(); } else { finish0(); await new Promise((r) => setImmediate(r)); finish1(); }
      await driving;
      assert.deepEqual(log, ['d0', 'x', 'd1'], `second work finished ${secondFirst ? 'first' : 'last'}`);
    }
  });

  it('rejects with a typed error when nothing is queued and the run is not done', async () => {
    const s = new VirtualScheduler();
    await assert.rejects(s.run(() => false), { code: 'ERR_SIMULATION_STALLED' });
  });
});

describe('link models', () => {
  it('rejects a negative latency, an inverted range, a bandwidth ≤ 0 and a drop probability outside [0, 1]', () => {
    for (const build of [
      () => constantLatency(-1), () => constantLatency(NaN), () => uniformLatency(5, 2, 1), () => uniformLatency(-1, 2, 1),
      () => constantBandwidth(0), () => constantBandwidth(-3), () => dropProbability(1.5, 1), () => dropProbability(-0.1, 1),
      () => dropProbability(NaN, 1),
    ]) {
      assert.throws(build, (err: unknown) => err instanceof LinkModelError && err.code === 'ERR_LINK_MODEL');
    }
    assert.doesNotThrow(() => { constantLatency(0); dropProbability(0, 1); dropProbability(1, 1); constantBandwidth(Infinity); });
  });

  it('draws a uniform latency in range, the same for the same (seed, link, message)', () => {
    const m = uniformLatency(5, 20, 7);
    const link = { from: 1, to: 2 };
    const draws = Array.from({ length: 50 }, (_, k) => m.latencyMs(link, k));
    assert.ok(draws.every((d) => d >= 5 && d < 20));
    assert.deepEqual(draws, Array.from({ length: 50 }, (_, k) => uniformLatency(5, 20, 7).latencyMs(link, k)));
    assert.notEqual(m.latencyMs(link, 0), m.latencyMs({ from: 2, to: 1 }, 0));
  });
});

describe('VirtualNetwork', () => {
  it('delivers at latency + bytes / bandwidth and counts the traffic on both sides', async () => {
    const { scheduler, a, b } = await pair({ latency: constantLatency(10), bandwidth: constantBandwidth(8) });
    const f = frame();
    assert.equal(f.byteLength, FRAME_BYTES);
    const collected = b.collect(1, 0, ['v0000'], { signal: scheduler.clock(1).timeout(1000) });
    const sent = await drive(scheduler, a.sendBytes('v0001', f).then(() => scheduler.now()));
    // 10 ms latency + 64 bytes / 8 bytes per ms = 18 ms
    assert.deepEqual(sent, { ok: true, value: 18 });
    const got = await collected;
    assert.deepEqual(got.map((r) => [r.from, r.bytes, r.round]), [['v0000', FRAME_BYTES, 1]]);
    assert.deepEqual(a.traffic().map((t) => [t.peer, t.framesOut, t.bytesOut, t.sendFailures, t.lastSeen]), [['v0001', 1, FRAME_BYTES, 0, 18]]);
    assert.deepEqual(b.traffic().map((t) => [t.peer, t.framesIn, t.bytesIn, t.connected]), [['v0000', 1, FRAME_BYTES, true]]);
  });

  it('counts a dropped message as a send failure and rejects the send at the send timeout', async () => {
    const { scheduler, a, b } = await pair({ drop: dropProbability(1, 3), sendTimeoutMs: 100 });
    const out = await drive(scheduler, a.sendBytes('v0001', frame()));
    assert.equal(out.ok, false);
    assert.equal((out as { error: { code: string } }).error.code, 'ERR_SEND_TIMEOUT');
    assert.equal(scheduler.now(), 100);
    assert.equal(a.traffic()[0]!.sendFailures, 1);
    assert.equal(b.traffic().length, 0, 'the receiver never saw it');
  });

  it('rejects a malformed frame with its codec reason, on both sides', async () => {
    const { scheduler, a, b } = await pair();
    const foreign = await drive(scheduler, a.sendBytes('v0001', frame(1, 0, other)));
    assert.equal((foreign as { error: { code: string; reason: string } }).error.code, 'ERR_REMOTE_REJECTED');
    assert.equal((foreign as { error: { reason: string } }).error.reason, 'foreign-layout');
    const garbage = frame();
    garbage[0] = 0x00; // breaks the 'MRMF' magic
    await drive(scheduler, a.sendBytes('v0001', garbage));
    await drive(scheduler, a.sendBytes('v0001', new Uint8Array(10)));
    assert.deepEqual(b.traffic()[0]!.rejections, { 'foreign-layout': 1, 'bad-magic': 1, truncated: 1 });
    assert.equal(b.traffic()[0]!.framesIn, 0);
    assert.equal(a.traffic()[0]!.sendFailures, 3);
    assert.deepEqual(a.rejectedByRemote(), { v0001: { 'foreign-layout': 1, 'bad-magic': 1, truncated: 1 } });
  });

  it('refuses a second frame of the same sender, round and step as a duplicate', async () => {
    const { scheduler, a, b } = await pair();
    await drive(scheduler, a.sendBytes('v0001', frame(2, 0)));
    const second = await drive(scheduler, a.sendBytes('v0001', frame(2, 0)));
    assert.equal((second as { error: { reason: string } }).error.reason, 'duplicate');
    assert.deepEqual(b.traffic()[0]!.rejections, { duplicate: 1 });
  });

  it('fails sends to an offline peer after the latency and counts them', async () => {
    const { scheduler, net, a } = await pair({ latency: constantLatency(7) });
    net.setOnline('v0001', false);
    const out = await drive(scheduler, a.sendBytes('v0001', frame()));
    assert.equal((out as { error: { code: string } }).error.code, 'ERR_PEER_UNREACHABLE');
    assert.equal(scheduler.now(), 7);
    assert.equal(a.traffic()[0]!.sendFailures, 1);
  });

  it('settles every send by its send timeout, a slow unreachable peer included (it says so: sendTimeoutMs)', async () => {
    const { scheduler, net, a } = await pair({ latency: constantLatency(500), sendTimeoutMs: 100 });
    assert.equal(a.sendTimeoutMs, 100);
    net.setOnline('v0001', false);
    const out = await drive(scheduler, a.sendBytes('v0001', frame()));
    assert.equal((out as { error: { code: string } }).error.code, 'ERR_SEND_TIMEOUT');
    assert.equal(scheduler.now(), 100);
  });

  it('rejects the sends in flight with AbortError when the network stops', async () => {
    const { scheduler, a } = await pair({ latency: constantLatency(50) });
    const sends = [a.sendBytes('v0001', frame(1)), a.sendBytes('v0001', frame(2))];
    await a.stop();
    for (const s of sends) await assert.rejects(s, { code: 'ERR_ABORTED' });
    assert.equal(a.traffic()[0]!.sendFailures, 2);
    while (await scheduler.step()) { /* the cancelled deliveries never fire */ }
    assert.equal(scheduler.now(), 0);
  });

  it('rejects a send with AbortError when its signal aborts first', async () => {
    const { scheduler, a } = await pair({ latency: constantLatency(50) });
    const out = await drive(scheduler, a.sendBytes('v0001', frame(), { signal: scheduler.clock(0).timeout(20) }));
    assert.equal((out as { error: { code: string } }).error.code, 'ERR_ABORTED');
    assert.equal(scheduler.now(), 20);
  });

  it('pings in twice the latency and hands frames to onFrame listeners in asynchronous mode', async () => {
    const { scheduler, a, b } = await pair({ latency: constantLatency(6) });
    assert.deepEqual(await drive(scheduler, a.ping('v0001')), { ok: true, value: 12 });
    const seen: string[] = [];
    const off = b.onFrame((r) => seen.push(`${r.from}:${r.round}`));
    await drive(scheduler, a.sendBytes('v0001', frame(4)));
    off();
    assert.deepEqual(seen, ['v0000:4']);
  });

  it('delivers a valid announcement to every other online peer and refuses an invalid one', async () => {
    const { scheduler, net, a, b } = await pair();
    const c = net.join('v0002', { swarm: SWARM, layout });
    await c.start();
    const got: string[] = [];
    b.onAnnouncement((from, m) => got.push(`b<${from}:${m.round}`));
    c.onAnnouncement((from, m) => got.push(`c<${from}:${m.round}`));
    const msg: Announcement = { swarm: SWARM, round: 3, degree: 2, age: 1, algorithm: 'dpsgd', layoutHash: layout.hash, addresses: [] };
    await a.announce(msg);
    await scheduler.run(() => got.length === 2);
    assert.deepEqual(got, ['b<v0000:3', 'c<v0000:3']);
    await assert.rejects(a.announce({ ...msg, degree: -1 }), { code: 'ERR_INVALID_ANNOUNCEMENT' });
  });
});

describe('VirtualPool', () => {
  it('returns the real result at now + cost, cost = ms per sample × planned samples', async () => {
    const s = new VirtualScheduler();
    const inner: LearnerPool = {
      train: async (task) => ({ weights: task.weights, result: { loss: 1, steps: 1, samples: task.indices.length } }) as TrainOutput,
      evaluate: async () => ({ accuracy: 0.5, loss: 2 }) as Awaited<ReturnType<LearnerPool['evaluate']>>,
    };
    const pool = new VirtualPool(inner, s, 0, { trainMsPerSample: 0.5, evaluateMsPerSample: 0.1 });
    const spec: ModelSpec = { arch: 'logreg', inputShape: [4], classes: 2, seed: 1 };
    const task = { spec, weights: new Float32Array(2), dataset: { id: 'x', parts: {} as never } };
    const trained = await drive(s, pool.train({ ...task, indices: new Uint32Array(10), options: { seed: 1, epochs: 2 } }).then(() => s.now()));
    // 10 indices × 2 epochs × 0.5 ms = 10 ms
    assert.deepEqual(trained, { ok: true, value: 10 });
    const evaluated = await drive(s, pool.evaluate({ ...task, indices: new Uint32Array(30) }).then(() => s.now()));
    // + 30 samples × 0.1 ms = 3 ms
    assert.deepEqual(evaluated, { ok: true, value: 13 });
    assert.throws(() => new VirtualPool(inner, s, 0, { trainMsPerSample: -1 }), { code: 'ERR_LINK_MODEL' });
  });
});
