import '../../../../node/polyfill.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerInspectCommands } from '../../../../node/cli/inspect.js';
import { lockHolder, type StoppedStatus } from '../../../../node/cli/inspect-source.js';
import { modelHash } from '../../../../node/model-hash.js';
import { store } from '../../../../node/store.js';
import { openStoreSnapshot } from '../../../../node/store/read-only.js';

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
// logreg on 4 features, 2 classes: kernel 4x2 + bias 2 = 10 parameters.
const SPEC = { arch: 'logreg', inputShape: [4], classes: 2, seed: 1 };

interface Run { stdout: string; stderr: string; exitCode: number | undefined }

async function murmur(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let exitCode: number | undefined;
  const program = new Command('murmur').exitOverride();
  registerInspectCommands(program, { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t), setExitCode: (c) => { exitCode = c; }, now: () => NOW });
  await program.parseAsync(args, { from: 'user' });
  return { stdout: out.join(''), stderr: err.join(''), exitCode };
}

/** Every file under `dir` with its size and mtime, to show that inspection changed nothing. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const st = await stat(join(dir, name));
    out.push(`${name} ${st.isFile() ? st.size : 'dir'} ${st.mtimeMs}`);
  }
  return out;
}

describe('inspecting a stopped peer from its store', () => {
  let root: string;
  let dataDir: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'murmur-offline-'));
    dataDir = join(root, 'peer');
    const st = store({ dataDir, sync: false });
    await st.start();
    for (let round = 1; round <= 3; round++) {
      const vector = new Float32Array(10).fill(round);
      const hash = modelHash(vector);
      const time = NOW - (4 - round) * 60_000;
      await st.commitRound({
        model: { round, age: 100 * round, layoutHash: 'x', vector, hash, savedAt: time },
        history: {
          round, time, modelHash: hash, accuracy: 0.5 + round / 10, loss: 1 / round, received: 2, expected: 2, timedOut: false,
          bytesOut: 2048 * round, samples: 100, phaseMs: { train: 100, exchange: 200, aggregate: 10, evaluate: 20 },
        },
        peers: [{ id: '12D3KooWPeerNumberOneWithALongIdentifier', addresses: [], firstSeen: time, lastSeen: time, framesIn: round, framesOut: round, bytesIn: 1024, bytesOut: 1024, trust: { score: 0.5 } }],
        extra: { model: SPEC, algorithm: 'gossip-age', swarm: 'demo' },
      });
    }
    await st.stop();
    // Open it once more: LevelDB replays its log into a table file, so inspection meets a .ldb (hard-linked, not copied).
    const again = store({ dataDir, sync: false });
    await again.start();
    await again.stop();
    assert.ok((await readdir(join(dataDir, 'db'))).some((f) => f.endsWith('.ldb')), 'the fixture store has a table file');
    await writeFile(join(dataDir, 'last-run.json'), JSON.stringify({ pid: 1, startedAt: NOW - 600_000, stoppedAt: NOW - 30_000 }));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('history reads the store when no daemon runs, and leaves every file as it was', async () => {
    const before = await listing(dataDir);
    const r = await murmur(['history', '--data-dir', dataDir]);
    assert.equal(r.exitCode, undefined, r.stderr);
    assert.match(r.stdout, /│ round │ time\s+│ accuracy │ loss\s+│ recv\/exp │ sent\s+│ duration │/);
    assert.match(r.stdout, /│ 3\s+│ 2026-07-01T11:59:00Z │ 80\.00%\s+│ 0\.3333 │ 2\/2\s+│ 6\.0 KiB │ 330 ms\s+│/);
    const json = JSON.parse((await murmur(['history', '--data-dir', dataDir, '--json', '--from', '2'])).stdout) as Array<{ round: number }>;
    assert.deepEqual(json.map((h) => h.round), [2, 3]);
    assert.deepEqual(await listing(dataDir), before);
  });

  it('status says the daemon is stopped and since when, with the last committed round', async () => {
    const r = await murmur(['status', '--data-dir', dataDir]);
    assert.equal(r.exitCode, undefined, r.stderr);
    assert.match(r.stdout, /│ daemon\s+│ stopped since 2026-07-01T11:59:30Z \(30\.0 s ago\)/);
    assert.match(r.stdout, /│ last round\s+│ 3\s+│/);
    assert.match(r.stdout, /│ model age\s+│ 300 samples trained/);
    const json = JSON.parse((await murmur(['status', '--data-dir', dataDir, '--json'])).stdout) as StoppedStatus;
    assert.equal(json.state, 'stopped');
    assert.equal(json.stoppedAt, NOW - 30_000);
    assert.equal(json.round, 3);
    assert.deepEqual(json.checkpoints, [1, 2, 3]);
  });

  it('status says a daemon that left control.json behind did not stop cleanly', async () => {
    const endpoint = join(dataDir, 'control.json');
    await writeFile(endpoint, JSON.stringify({ url: 'http://127.0.0.1:1', pid: 4242, startedAt: NOW - 90_000 }));
    try {
      const r = await murmur(['status', '--data-dir', dataDir]);
      assert.match(r.stdout, /not running: pid 4242 \(started 2026-07-01T11:58:30Z/);
    } finally {
      await rm(endpoint);
    }
  });

  it('peers, trust and model answer from the store', async () => {
    const peers = await murmur(['peers', '--data-dir', dataDir]);
    assert.match(peers.stdout, /│ 12D3KooWPe…tifier │ no\s+│ 1m 00s ago │ 1\.0 KiB \(3\) │/);
    const trust = JSON.parse((await murmur(['trust', '--data-dir', dataDir, '--json'])).stdout) as unknown;
    assert.deepEqual(trust, [{ peer: '12D3KooWPeerNumberOneWithALongIdentifier', score: 0.5 }]);
    const model = JSON.parse((await murmur(['model', '--data-dir', dataDir, '--json'])).stdout) as { round: number; parameters: number; age: number };
    assert.deepEqual([model.round, model.parameters, model.age], [3, 10, 300]);
  });

  it('finds the process holding the store (a daemon starting up), and no one once it is closed', { skip: process.platform !== 'linux' ? 'needs /proc' : false }, async () => {
    const lock = join(dataDir, 'db', 'LOCK');
    const st = store({ dataDir, sync: false });
    await st.start();
    try {
      assert.equal(await lockHolder(lock, null), process.pid);
    } finally {
      await st.stop();
    }
    assert.equal(await lockHolder(lock, null), null);
  });

  it('a data dir that does not exist is an error naming it, and is not created', async () => {
    const missing = join(root, 'does-not-exist');
    const r = await murmur(['history', '--data-dir', missing]);
    assert.equal(r.exitCode, 3);
    assert.match(r.stderr, /no murmur daemon is running with data dir .*does-not-exist \(no control\.json there, and no store either\)/);
    await assert.rejects(stat(missing), { code: 'ENOENT' });
    await assert.rejects(openStoreSnapshot(missing), { code: 'ERR_NO_STORE' });
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });
});
