import '../../../../node/polyfill.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlServer, isLoopbackHost, parseHistoryQuery, type ControlServer } from '../../../../node/control/server.js';
import { createMetrics } from '../../../../node/control/metrics.js';
import { ControlError } from '../../../../node/control/errors.js';
import type { ControlLogger, ControlSource, HistoryQuery, StatusInfo } from '../../../../node/control/types.js';

const STATUS: StatusInfo = {
  peerId: '12D3KooWStub', addresses: ['/ip4/127.0.0.1/tcp/4001'], backend: 'cpu', algorithm: 'gossip-age', swarm: 'test',
  round: 7, phase: 'training', accuracy: 0.875, loss: 0.4, modelAge: 12, neighbours: ['a', 'b'], connections: 2,
  uptimeMs: 60_000, dataDir: '/tmp/x', version: '0.1.0',
};

function stubSource(calls: HistoryQuery[] = []): ControlSource {
  return {
    status: () => STATUS,
    peers: () => [{ peer: 'a', connected: true, lastSeen: 1, framesIn: 2, framesOut: 3, bytesIn: 400, bytesOut: 500, rejections: { 'bad-layout': 1 }, sendFailures: 0 }],
    model: () => null,
    history: async (q) => {
      calls.push(q);
      return [{ round: 1, time: 1000, modelHash: 'abcd' }];
    },
    trust: () => { throw new Error('store is on fire at /secret/path'); },
  };
}

/** Logger that keeps every line as JSON text so tests can assert what was (not) logged. */
function recordingLogger(lines: string[]): ControlLogger {
  const put = (obj: object, msg?: string): void => { lines.push(JSON.stringify({ ...obj, msg }, (_k, v: unknown) => (v instanceof Error ? v.message : v))); };
  return { debug: put, info: put, warn: put, error: put };
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(url: string, path: string, init: { token?: string; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const req = request(new URL(path, url), { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Send raw bytes and return the status code of the answer (for requests a well-behaved client won't build). */
function rawStatus(url: string, text: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = '';
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m !== null) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without a status line: ${JSON.stringify(data)}`)));
    socket.write(text);
  });
}

describe('control server', () => {
  let dir: string;
  let server: ControlServer;
  let token: string;
  const logs: string[] = [];
  const historyCalls: HistoryQuery[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'murmur-control-'));
    const metrics = createMetrics();
    metrics.onFrame('in', 1234);
    server = controlServer({ dataDir: dir })({ source: stubSource(historyCalls), metrics, logger: recordingLogger(logs) });
    await server.start();
    token = await readFile(join(dir, 'control.token'), 'utf8');
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a 64-hex-digit token and control.json, both with mode 0600', async () => {
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal((await stat(join(dir, 'control.token'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'control.json'))).mode & 0o777, 0o600);
    const endpoint = JSON.parse(await readFile(join(dir, 'control.json'), 'utf8')) as { url: string; pid: number; startedAt: number };
    assert.equal(endpoint.url, server.url);
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(endpoint.pid, process.pid);
  });

  it('answers 401 with a JSON error when the token is missing', async () => {
    const res = await get(server.url!, '/status');
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.body), { success: false, code: 'ERR_UNAUTHORIZED', message: 'missing or invalid bearer token' });
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="murmur"');
  });

  it('answers 401 for a wrong token, a token prefix and a non-Bearer scheme', async () => {
    assert.equal((await get(server.url!, '/status', { token: 'f'.repeat(64) })).status, 401);
    assert.equal((await get(server.url!, '/status', { token: token.slice(0, 63) })).status, 401);
    assert.equal((await get(server.url!, '/status', { token: `${token}0` })).status, 401);
    const basic = await rawStatus(server.url!, `GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${token}\r\n\r\n`);
    assert.equal(basic, 401);
  });

  it('answers 401 before revealing 404 or 405', async () => {
    assert.equal((await get(server.url!, '/nope')).status, 401);
    assert.equal((await get(server.url!, '/status', { method: 'POST' })).status, 401);
  });

  it('serves the source JSON with the right token', async () => {
    const res = await get(server.url!, '/status', { token });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), STATUS);
    assert.deepEqual(JSON.parse((await get(server.url!, '/peers', { token })).body), stubSource().peers());
  });

  it('serves /model as JSON null before a model exists', async () => {
    const res = await get(server.url!, '/model', { token });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'null');
  });

  it('passes validated /history queries to the source, with defaults', async () => {
    historyCalls.length = 0;
    assert.equal((await get(server.url!, '/history?from=3&limit=10', { token })).status, 200);
    assert.equal((await get(server.url!, '/history', { token })).status, 200);
    assert.deepEqual(historyCalls, [{ from: 3, limit: 10 }, { from: 0, limit: 100 }]);
  });

  it('answers 400 ERR_BAD_REQUEST for an invalid /history query', async () => {
    for (const q of ['limit=0', 'limit=1001', 'from=-1', 'from=1.5', 'from=abc', 'from=1&from=2', 'round=3']) {
      const res = await get(server.url!, `/history?${q}`, { token });
      assert.equal(res.status, 400, q);
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'ERR_BAD_REQUEST', q);
    }
  });

  it('serves Prometheus text on /metrics', async () => {
    const res = await get(server.url!, '/metrics', { token });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^murmur_network_received_bytes_total 1234$/m);
  });

  it('answers 405 for methods other than GET, with an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await get(server.url!, '/status', { token, method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, 'GET, HEAD');
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'ERR_METHOD_NOT_ALLOWED');
    }
  });

  it('answers 404 JSON for an unknown path', async () => {
    const res = await get(server.url!, '/secrets', { token });
    assert.equal(res.status, 404);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'ERR_NOT_FOUND');
  });

  it('rejects a request body over the limit (413) and oversized headers (431)', async () => {
    // 16 KiB + 1 byte declared: one past DEFAULT_BODY_LIMIT_BYTES.
    const body = await rawStatus(server.url!, `GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${16 * 1024 + 1}\r\n\r\n`);
    assert.equal(body, 413);
    const chunked = await rawStatus(server.url!, `GET /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    assert.equal(chunked, 413);
    // 9 KiB of header value exceeds MAX_HEADER_BYTES = 8 KiB.
    const headers = await rawStatus(server.url!, `GET /status HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(9 * 1024)}\r\n\r\n`);
    assert.equal(headers, 431);
  });

  it('hides an untyped source error behind ERR_INTERNAL and logs it', async () => {
    const res = await get(server.url!, '/trust', { token });
    assert.equal(res.status, 500);
    assert.deepEqual(JSON.parse(res.body), { success: false, code: 'ERR_INTERNAL', message: 'internal error (see the daemon log)' });
    assert.ok(logs.some((l) => l.includes('store is on fire')));
  });

  it('never logs the token', () => {
    assert.ok(logs.length > 0);
    assert.ok(logs.every((l) => !l.includes(token)));
  });
});

describe('control server lifecycle', () => {
  const quiet = recordingLogger([]);

  it('refuses a non-loopback host unless allowNonLoopback, naming the host and the option', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-control-'));
    try {
      const refused = controlServer({ dataDir: dir, host: '0.0.0.0' })({ source: stubSource(), metrics: createMetrics(), logger: quiet });
      await assert.rejects(refused.start(), (err: ControlError) => {
        assert.equal(err.code, 'ERR_NON_LOOPBACK_BIND');
        assert.match(err.message, /"0\.0\.0\.0"/);
        assert.match(err.message, /allowNonLoopback/);
        return true;
      });
      assert.equal(refused.isStarted(), false);
      await assert.rejects(readFile(join(dir, 'control.token')), { code: 'ENOENT' });

      const allowed = controlServer({ dataDir: dir, host: '0.0.0.0', allowNonLoopback: true })({ source: stubSource(), metrics: createMetrics(), logger: quiet });
      await allowed.start();
      try {
        // A wildcard bind is advertised through loopback.
        assert.match(allowed.url!, /^http:\/\/127\.0\.0\.1:\d+$/);
      } finally {
        await allowed.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes control.token and control.json on stop; start and stop are idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-control-'));
    try {
      const server = controlServer({ dataDir: dir })({ source: stubSource(), metrics: createMetrics(), logger: quiet });
      await server.start();
      const url = server.url;
      await server.start();
      assert.equal(server.url, url);
      await server.stop();
      await server.stop();
      assert.equal(server.isStarted(), false);
      await assert.rejects(stat(join(dir, 'control.token')), { code: 'ENOENT' });
      await assert.rejects(stat(join(dir, 'control.json')), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('classifies loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', 'example.com', '']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('parses /history queries', () => {
    assert.deepEqual(parseHistoryQuery(''), { from: 0, limit: 100 });
    assert.deepEqual(parseHistoryQuery('from=5'), { from: 5, limit: 100 });
    assert.deepEqual(parseHistoryQuery('limit=1000'), { from: 0, limit: 1000 });
    assert.throws(() => parseHistoryQuery('limit=1001'), { code: 'ERR_BAD_REQUEST' });
    assert.throws(() => parseHistoryQuery('from='), { code: 'ERR_BAD_REQUEST' });
  });
});
