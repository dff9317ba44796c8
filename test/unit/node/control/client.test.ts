import '../../../../node/polyfill.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectControl } from '../../../../node/control/client.js';
import { controlServer, type ControlServer } from '../../../../node/control/server.js';
import { createMetrics } from '../../../../node/control/metrics.js';
import type { ControlError } from '../../../../node/control/errors.js';
import type { ControlLogger, ControlSource, StatusInfo } from '../../../../node/control/types.js';

const STATUS: StatusInfo = {
  peerId: '12D3KooWStub', addresses: [], backend: 'cpu', algorithm: 'mean', swarm: 's', round: 1, phase: 'idle',
  accuracy: null, loss: null, modelAge: 0, neighbours: [], connections: 0, uptimeMs: 5, dataDir: '/d', version: '0.1.0',
};

const source: ControlSource = {
  status: () => STATUS,
  peers: () => [],
  model: () => null,
  history: async (q) => [{ round: q.from ?? 0, time: 0, modelHash: 'h' }],
  trust: () => [{ peer: 'a', score: 0.5 }],
};
const quiet: ControlLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A port nothing listens on: bind an ephemeral port, then close it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function assertNoDaemon(dir: string) {
  return (err: ControlError): boolean => {
    assert.equal(err.code, 'ERR_NO_DAEMON');
    assert.ok(err.message.startsWith(`no murmur daemon is running with data dir ${dir} (`), err.message);
    assert.match(err.message, /murmur daemon --data-dir/);
    return true;
  };
}

describe('control client', () => {
  let dir: string;
  let server: ControlServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'murmur-client-'));
    server = controlServer({ dataDir: dir })({ source, metrics: createMetrics(), logger: quiet });
    await server.start();
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips /status, /history and /metrics', async () => {
    const client = await connectControl(dir);
    assert.equal(client.endpoint.url, server.url);
    assert.deepEqual(await client.get('/status'), STATUS);
    assert.deepEqual(await client.get('/history?from=4&limit=2'), [{ round: 4, time: 0, modelHash: 'h' }]);
    assert.match(await client.getText('/metrics'), /# TYPE murmur_engine_round gauge/);
  });

  it('maps server error bodies to their codes', async () => {
    const client = await connectControl(dir);
    await assert.rejects(client.get('/nope'), { name: 'ControlError', code: 'ERR_NOT_FOUND' });
    await assert.rejects(client.get('/history?limit=0'), { code: 'ERR_BAD_REQUEST' });
  });

  it('refuses paths that leave the daemon origin', async () => {
    const client = await connectControl(dir);
    await assert.rejects(client.get('http://example.com/status'), RangeError);
    await assert.rejects(client.get('//example.com/status'), RangeError);
  });

  it('reports ERR_UNAUTHORIZED for a wrong token without printing either token', async () => {
    const tokenPath = join(dir, 'control.token');
    const real = await readFile(tokenPath, 'utf8');
    const wrong = 'a'.repeat(64);
    await writeFile(tokenPath, wrong, { mode: 0o600 });
    try {
      const client = await connectControl(dir);
      await assert.rejects(client.get('/status'), (err: ControlError) => {
        assert.equal(err.code, 'ERR_UNAUTHORIZED');
        assert.ok(!err.message.includes(wrong) && !err.message.includes(real));
        return true;
      });
    } finally {
      await writeFile(tokenPath, real, { mode: 0o600 });
    }
  });

  it('reports ERR_NO_DAEMON for an empty data dir', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'murmur-empty-'));
    try {
      await assert.rejects(connectControl(empty), assertNoDaemon(empty));
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('reports ERR_NO_DAEMON for a stale control.json whose port is closed', async () => {
    const stale = await mkdtemp(join(tmpdir(), 'murmur-stale-'));
    try {
      const port = await closedPort();
      await writeFile(join(stale, 'control.json'), JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: 999999, startedAt: 0 }));
      await writeFile(join(stale, 'control.token'), 'b'.repeat(64));
      await assert.rejects(connectControl(stale), (err: ControlError) => {
        assertNoDaemon(stale)(err);
        assert.match(err.message, /ECONNREFUSED/);
        return true;
      });
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });

  it('reports ERR_NO_DAEMON for malformed control files', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'murmur-bad-'));
    try {
      await writeFile(join(bad, 'control.json'), '{"url": "ftp://x", "pid": 1, "startedAt": 0}');
      await writeFile(join(bad, 'control.token'), 'c'.repeat(64));
      await assert.rejects(connectControl(bad), assertNoDaemon(bad));
      await writeFile(join(bad, 'control.json'), JSON.stringify({ url: server.url, pid: 1, startedAt: 0 }));
      await writeFile(join(bad, 'control.token'), 'not a token');
      await assert.rejects(connectControl(bad), (err: ControlError) => {
        assertNoDaemon(bad)(err);
        assert.ok(!err.message.includes('not a token'));
        return true;
      });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('rejects with AbortError when the caller aborts', async () => {
    await assert.rejects(connectControl(dir, { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
    const client = await connectControl(dir);
    await assert.rejects(client.get('/status', { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
  });
});
