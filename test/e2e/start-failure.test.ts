import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAIN } from '../../scripts/lib/daemon-harness.js';

const run = promisify(execFile);

/** Run `murmur daemon` expecting it to fail; its exit code and stderr. */
async function failingDaemon(dataDir: string, port: number, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['--import', 'tsx', MAIN, 'daemon', '--data-dir', dataDir, '--listen', `/ip4/127.0.0.1/tcp/${port}`,
    '--model', 'logreg', '--set', 'workers=1', '--log-level', 'error', ...(json ? ['--json'] : [])];
  try {
    await run(process.execPath, args, { timeout: 120_000, env: { ...process.env, MURMUR_DATA_DIR: '' } });
    return { code: 0, stdout: '', stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a daemon whose port is taken', { timeout: 240_000 }, () => {
  let root = '';
  let server: Server;
  let port = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'murmur-e2e-port-'));
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('says so in one line, without libp2p internals, and creates no data dir', async () => {
    const dataDir = join(root, 'new-peer');
    const r = await failingDaemon(dataDir, port);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${port} \\(port already in use\\); .*--listen`));
    assert.doesNotMatch(r.stderr, /faultTolerance|    at /);
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
  });

  it('leaves an existing empty data dir empty (no peer.key, no db/)', async () => {
    const dataDir = join(root, 'empty');
    await mkdir(dataDir);
    const r = await failingDaemon(dataDir, port);
    assert.notEqual(r.code, 0);
    assert.deepEqual(await readdir(dataDir), []);
  });
});
