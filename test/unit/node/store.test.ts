import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Key } from 'interface-datastore';
import { Level } from 'level';
import { rngFor } from '../../../node/data/rng.js';
import { modelHash } from '../../../node/model-hash.js';
import { store, StoreError, type RoundCommit, type Store } from '../../../node/store.js';
import { decodeModel, encodeModel } from '../../../node/store/model-record.js';

const dirs: string[] = [];
async function tmpDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'murmur-store-'));
  dirs.push(dir);
  return dir;
}
after(async () => { await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))); });

/** A round's commit with a small deterministic vector: element i = round + i/4 (exact in float32). */
function commitFor(round: number, opts: Partial<RoundCommit> = {}, n = 6): RoundCommit {
  const vector = Float32Array.from({ length: n }, (_, i) => round + i / 4);
  const hash = modelHash(vector);
  return {
    model: { round, age: round * 1.5, layoutHash: 'layout-abc', vector, hash, savedAt: 1_000 * round },
    history: { round, time: 1_000 * round, modelHash: hash, accuracy: round / 100 },
    ...opts,
  };
}

async function started(dataDir: string, checkpoints?: number): Promise<Store> {
  const s = store({ dataDir, ...(checkpoints === undefined ? {} : { checkpoints }) });
  await s.start();
  return s;
}

function isStoreError(code: string, text?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (text !== undefined) assert.match(err.message, text);
    return true;
  };
}

/** Flip one byte of a stored value through a raw LevelDB handle (the store must be stopped). */
async function flipByte(dataDir: string, key: string, offsetFromEnd: number): Promise<void> {
  const raw = new Level<string, Uint8Array>(path.join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await raw.open();
  const value = await raw.get(key);
  assert.ok(value !== undefined, `${key} exists`);
  const copy = Uint8Array.from(value);
  const at = offsetFromEnd >= 0 ? copy.length - 1 - offsetFromEnd : -offsetFromEnd - 1;
  copy[at]! ^= 0x01;
  await raw.put(key, copy);
  await raw.close();
}

describe('store: model record', () => {
  it('round-trips a record and views or copies the payload depending on alignment', () => {
    const vector = new Float32Array([1.5, -2, 3.25]);
    const { bytes, hash } = encodeModel({ round: 7, age: 2.5, layoutHash: 'abc', vector, savedAt: 123 });
    assert.equal(hash, modelHash(vector));
    // header 68 bytes + 3 bytes of 'abc' = 71, padded to 72; payload 3 × 4 = 12 → 84 bytes
    assert.equal(bytes.length, 84);
    const m = decodeModel(bytes);
    assert.deepEqual([m.round, m.age, m.layoutHash, m.savedAt, m.hash], [7, 2.5, 'abc', 123, hash]);
    assert.deepEqual(Array.from(m.vector), [1.5, -2, 3.25]);
    assert.equal(m.vector.buffer, bytes.buffer, 'aligned: a view, no copy');
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const u = decodeModel(shifted.subarray(1));
    assert.notEqual(u.vector.buffer, shifted.buffer, 'unaligned: a copy');
    assert.deepEqual(Array.from(u.vector), [1.5, -2, 3.25]);
    // LevelDB returns Buffers, whose slice() is a view: decoding must neither alias nor modify them.
    const pool = Buffer.alloc(bytes.length + 1);
    pool.set(bytes, 1);
    const before = Buffer.from(pool);
    const fromBuffer = decodeModel(pool.subarray(1));
    assert.deepEqual(pool, before);
    fromBuffer.vector[0] = 99;
    assert.deepEqual(pool, before, 'unaligned Buffer: a copy');
  });
});

describe('store', () => {
  it('persists the identity across stop/start with file mode 0600 in a 0700 data dir', async () => {
    const dataDir = path.join(await tmpDir(), 'nested', 'data');
    const a = await started(dataDir);
    const id1 = peerIdFromPrivateKey(await a.loadOrCreateIdentity()).toString();
    assert.equal(id1, peerIdFromPrivateKey(await a.loadOrCreateIdentity()).toString());
    await a.stop();
    const b = await started(dataDir);
    assert.equal(peerIdFromPrivateKey(await b.loadOrCreateIdentity()).toString(), id1);
    await b.stop();
    assert.equal((await fs.stat(path.join(dataDir, 'peer.key'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(dataDir)).mode & 0o777, 0o700);
    assert.deepEqual((await fs.readdir(dataDir)).filter((f) => f.endsWith('.tmp')), []);
  });

  it('refuses a corrupt identity file, naming it, and leaves it in place', async () => {
    const dataDir = await tmpDir();
    const file = path.join(dataDir, 'peer.key');
    await fs.writeFile(file, Uint8Array.of(8, 1, 18, 3, 1, 2), { mode: 0o600 });
    const s = store({ dataDir });
    await assert.rejects(s.loadOrCreateIdentity(), isStoreError('ERR_STORE_CORRUPT', new RegExp(file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))));
    assert.deepEqual(Array.from(await fs.readFile(file)), [8, 1, 18, 3, 1, 2]);
  });

  it('reopens at the last committed round with the model its history records', async () => {
    const dataDir = await tmpDir();
    const a = await started(dataDir);
    assert.equal(await a.current(), null);
    assert.equal(await a.lastCommittedRound(), null);
    assert.deepEqual(await a.verify(), []);
    const peer = { id: 'QmPeer', addresses: ['/ip4/127.0.0.1/tcp/1'], firstSeen: 1, lastSeen: 2, trust: { score: 0.5 } };
    await a.commitRound(commitFor(1, { peers: [peer], extra: { mu: 0.1 } }));
    await a.commitRound(commitFor(2, { peers: [{ ...peer, lastSeen: 3 }] }));
    await a.stop();
    const b = await started(dataDir);
    assert.equal(await b.lastCommittedRound(), 2);
    const cur = await b.current();
    assert.ok(cur !== null);
    // round 2, i/4 steps: [2, 2.25, 2.5, 2.75, 3, 3.25]; age = 2 × 1.5 = 3
    assert.deepEqual(Array.from(cur.vector), [2, 2.25, 2.5, 2.75, 3, 3.25]);
    assert.deepEqual([cur.round, cur.age, cur.layoutHash, cur.savedAt], [2, 3, 'layout-abc', 2000]);
    const hist = await b.history();
    assert.deepEqual(hist.map((h) => h.round), [1, 2]);
    assert.equal(cur.hash, hist[1]!.modelHash);
    assert.equal(cur.hash, modelHash(cur.vector));
    assert.deepEqual((await b.history({ reverse: true, limit: 1 })).map((h) => h.round), [2]);
    assert.deepEqual((await b.history({ from: 2 })).map((h) => h.round), [2]);
    assert.deepEqual((await b.history({ from: 1, reverse: true })).map((h) => h.round), [1]);
    assert.deepEqual(await b.peers(), [{ ...peer, lastSeen: 3 }]);
    assert.deepEqual(await b.extra(), { mu: 0.1 }, 'a commit without extra keeps the previous one');
    assert.deepEqual(await b.verify(), []);
    await b.stop();
  });

  it('keeps only the last K checkpoints and stores an unchecked round as model/current', async () => {
    const dataDir = await tmpDir();
    const s = await started(dataDir, 3);
    for (let r = 1; r <= 5; r++) await s.commitRound(commitFor(r));
    assert.deepEqual((await s.checkpoints()).map((c) => c.round), [3, 4, 5]);
    assert.equal(await s.checkpoint(1), null);
    assert.equal(await s.checkpoint(2), null);
    assert.equal((await s.checkpoint(4))?.hash, modelHash(commitFor(4).model.vector));
    await s.commitRound(commitFor(6, { checkpoint: false }));
    assert.deepEqual((await s.checkpoints()).map((c) => c.round), [3, 4, 5]);
    assert.equal((await s.current())?.round, 6);
    await s.stop();
    const raw = new Level<string, Uint8Array>(path.join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.open();
    assert.deepEqual(await raw.keys({ gte: 'ckpt/', lt: 'ckpt0' }).all(), ['ckpt/0000000003', 'ckpt/0000000004', 'ckpt/0000000005']);
    assert.ok((await raw.get('model/current')) !== undefined);
    await raw.close();
    const again = await started(dataDir, 3);
    await again.commitRound(commitFor(7));
    assert.deepEqual((await again.checkpoints()).map((c) => c.round), [4, 5, 7]);
    assert.equal((await again.current())?.round, 7);
    assert.deepEqual(await again.verify(), []);
    await again.stop();
  });

  it('enforces round order and refuses inconsistent commits', async () => {
    const s = await started(await tmpDir());
    await s.commitRound(commitFor(5));
    await assert.rejects(s.commitRound(commitFor(5)), isStoreError('ERR_ROUND_ORDER', /round 5 .* last committed round is 5/));
    await assert.rejects(s.commitRound(commitFor(4)), isStoreError('ERR_ROUND_ORDER'));
    const wrongHash = commitFor(6);
    wrongHash.model.hash = wrongHash.history.modelHash = '0000000000000000';
    await assert.rejects(s.commitRound(wrongHash), isStoreError('ERR_STORE_INVALID', /is not modelHash/));
    const otherRound = commitFor(6);
    otherRound.history.round = 7;
    await assert.rejects(s.commitRound(otherRound), isStoreError('ERR_STORE_INVALID', /history.round 7/));
    await assert.rejects(s.commitRound(commitFor(6, { extra: { n: 1n } })), isStoreError('ERR_STORE_INVALID', /JSON/));
    await s.commitRound(commitFor(6));
    assert.equal(await s.lastCommittedRound(), 6);
    await s.stop();
  });

  it('detects a corrupted payload and a corrupted header by checksum', async () => {
    const dataDir = await tmpDir();
    const a = await started(dataDir);
    for (let r = 1; r <= 3; r++) await a.commitRound(commitFor(r));
    await a.stop();
    await flipByte(dataDir, 'ckpt/0000000003', 0); // last payload byte of the current model
    await flipByte(dataDir, 'ckpt/0000000002', -9); // byte 8: the round field of the header
    const b = await started(dataDir);
    await assert.rejects(b.current(), isStoreError('ERR_STORE_CORRUPT', /ckpt\/0000000003 .*payload checksum/));
    await assert.rejects(b.checkpoint(2), isStoreError('ERR_STORE_CORRUPT', /ckpt\/0000000002 .*header checksum/));
    assert.equal((await b.checkpoint(1))?.round, 1);
    const problems = await b.verify();
    assert.equal(problems.length, 3, problems.join('\n')); // ckpt 2, ckpt 3, and the committed model (ckpt 3) again
    assert.ok(problems.some((p) => p.includes('ckpt/0000000002')));
    assert.ok(problems.filter((p) => p.includes('ckpt/0000000003')).length === 2);
    await b.stop();
  });

  it('raises ERR_STORE_WRITE on a failed batch and keeps the previous state', async (t) => {
    const dataDir = await tmpDir();
    const s = await started(dataDir);
    await s.commitRound(commitFor(1, { extra: { v: 1 } }));
    const enospc = Object.assign(new Error('IO error: /x/000005.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    const batch = t.mock.method(Level.prototype, 'batch', async () => { throw enospc; });
    await assert.rejects(s.commitRound(commitFor(2, { extra: { v: 2 } })),
      isStoreError('ERR_STORE_WRITE', new RegExp(`round 2 to .*${path.basename(dataDir)}.*disk is full.*still holds round 1`)));
    batch.mock.restore();
    assert.equal(await s.lastCommittedRound(), 1);
    assert.equal((await s.current())?.round, 1);
    assert.deepEqual(await s.extra(), { v: 1 });
    assert.deepEqual((await s.history()).map((h) => h.round), [1]);
    assert.deepEqual((await s.checkpoints()).map((c) => c.round), [1]);
    await s.commitRound(commitFor(2));
    assert.deepEqual(await s.verify(), []);
    await s.stop();
  });

  it('refuses a second open of the same data dir with ERR_STORE_LOCKED', async () => {
    const dataDir = await tmpDir();
    const a = await started(dataDir);
    const b = store({ dataDir });
    await assert.rejects(b.start(), isStoreError('ERR_STORE_LOCKED', /daemon may already be running/));
    assert.equal(b.isStarted(), false);
    await a.stop();
    await b.start();
    await b.stop();
  });

  it('is Startable: closed before start and after stop, idempotent both ways', async () => {
    const dataDir = await tmpDir();
    const s = store({ dataDir });
    await assert.rejects(s.current(), isStoreError('ERR_STORE_CLOSED'));
    await Promise.all([s.start(), s.start()]);
    assert.equal(s.isStarted(), true);
    const pending = s.commitRound(commitFor(1));
    await Promise.all([s.stop(), s.stop()]);
    await pending; // accepted before stop(): stop waited for it
    assert.equal(s.isStarted(), false);
    await assert.rejects(s.commitRound(commitFor(2)), isStoreError('ERR_STORE_CLOSED'));
    await s.start();
    assert.equal(await s.lastCommittedRound(), 1);
    await s.stop();
  });

  it('gives libp2p a persistent datastore under <dataDir>/p2p, closed by stop()', async () => {
    const dataDir = await tmpDir();
    const a = await started(dataDir);
    const ds = await a.libp2pDatastore();
    assert.equal(await a.libp2pDatastore(), ds);
    await ds.put(new Key('/peers/x'), Uint8Array.of(1, 2, 3));
    await a.stop();
    const b = await started(dataDir);
    assert.deepEqual(Array.from(await (await b.libp2pDatastore()).get(new Key('/peers/x'))), [1, 2, 3]);
    await b.stop();
    await fs.access(path.join(dataDir, 'p2p'));
  });

  it('survives SIGKILL at seeded moments: verify() is empty and current == last history hash', async () => {
    const dataDir = await tmpDir();
    const fixture = fileURLToPath(new URL('../../fixtures/store-crash-child.ts', import.meta.url));
    const seed = 20240607;
    const rng = rngFor('store-crash-test', seed);
    let last = -1;
    for (let kill = 0; kill < 5; kill++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, `${seed}-${kill}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const killAfter = 1 + rng.int(6); // commits seen before the kill
      const delayMs = rng.int(12); // then a little more, so the kill lands anywhere in the next round
      let reported = -1, ready: number | null = null, seen = 0, buf = '';
      const killed = new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const [word, n] = buf.slice(0, nl).split(' ');
            buf = buf.slice(nl + 1);
            if (word === 'ready') ready = Number(n);
            if (word !== 'committed') continue;
            reported = Number(n);
            if (++seen === killAfter) setTimeout(() => { child.kill('SIGKILL'); resolve(); }, delayMs);
          }
        });
        void exited.then(() => resolve());
      });
      await killed;
      assert.equal(await exited, 'SIGKILL', `seed ${seed} kill ${kill}: the child died on its own:\n${stderr}`);
      assert.equal(ready, last, `seed ${seed} kill ${kill}: the child resumed at the last committed round`);
      const s = await started(dataDir, 3);
      assert.deepEqual(await s.verify(), [], `seed ${seed} kill ${kill}`);
      const round = await s.lastCommittedRound();
      assert.ok(round !== null && round >= reported, `seed ${seed} kill ${kill}: committed ${String(round)} < reported ${reported}`);
      const cur = await s.current();
      const [latest] = await s.history({ reverse: true, limit: 1 });
      assert.equal(cur?.round, round);
      assert.equal(cur?.hash, latest?.modelHash);
      assert.equal(cur?.hash, modelHash(cur!.vector));
      assert.ok((await s.checkpoints()).length <= 3);
      last = round;
      await s.stop();
    }
  });

  it('refuses to open a data dir another process holds', async () => {
    const dataDir = await tmpDir();
    const fixture = fileURLToPath(new URL('../../fixtures/store-crash-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, 'lock'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    try {
      await assert.rejects(started(dataDir), isStoreError('ERR_STORE_LOCKED', new RegExp(path.basename(dataDir))));
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
