/**
 * Control API hardening beyond server.test.ts (401s, 0600 files, size limits, the non-loopback refusal) and
 * client.test.ts / inspect.test.ts (the CLI never prints the token): a client dripping header lines is cut
 * off near HEADERS_TIMEOUT_MS, the token is accepted only as a Bearer header, every start issues a new
 * token, and the daemon's configuration binds loopback unless told otherwise.
 */
import '../../../../node/polyfill.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDaemonConfig } from '../../../../node/config.js';
import { createMetrics } from '../../../../node/control/metrics.js';
import { controlServer, HEADERS_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS, type ControlServer } from '../../../../node/control/server.js';
import type { ControlError } from '../../../../node/control/errors.js';
import type { ControlLogger, ControlSource, StatusInfo } from '../../../../node/control/types.js';

const source: ControlSource = {
  status: () => ({ peerId: 'p', round: 1 } as StatusInfo),
  peers: () => [],
  model: () => null,
  history: async () => [],
  trust: () => [],
};
const quiet: ControlLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const make = (dataDir: string, extra: { host?: string; allowNonLoopback?: boolean } = {}): ControlServer =>
  controlServer({ dataDir, ...extra })({ source, metrics: createMetrics(), logger: quiet });

function status(url: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { headers, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

describe('control API hardening', () => {
  let dir: string;
  let server: ControlServer;
  let token: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'murmur-security-'));
    server = make(dir);
    await server.start();
    token = await readFile(join(dir, 'control.token'), 'utf8');
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the token only as "Authorization: Bearer <token>"', async () => {
    assert.equal(await status(server.url!, '/status', { authorization: `Bearer ${token}` }), 200);
    assert.equal(await status(server.url!, `/status?token=${token}`), 401);
    assert.equal(await status(server.url!, `/status?access_token=${token}`), 401);
    assert.equal(await status(server.url!, '/status', { cookie: `token=${token}` }), 401);
    assert.equal(await status(server.url!, '/status', { authorization: token }), 401);
    assert.equal(await status(server.url!, '/status', { authorization: `Bearer ${token} ${token}` }), 401);
    assert.equal(await status(server.url!, '/status', { 'x-murmur-token': token }), 401);
  });

  it(`cuts off a client that drips header lines, within HEADERS_TIMEOUT_MS (${HEADERS_TIMEOUT_MS} ms) plus the check interval`, async () => {
    const { hostname, port } = new URL(server.url!);
    const started = Date.now();
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('error', () => {}); // the server may reset while we write
    socket.write('GET /status HTTP/1.1\r\nHost: x\r\n');
    // One more header line every 500 ms keeps the socket busy, so only the headers deadline can end it.
    const drip = setInterval(() => { if (!socket.destroyed) socket.write('X-Slow: 1\r\n'); }, 500);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    clearInterval(drip);
    const heldMs = Date.now() - started;
    // Before the fix Node checked deadlines every 30 s and the connection lived 31 s; allow for a loaded machine.
    assert.ok(heldMs >= HEADERS_TIMEOUT_MS - 100, `closed after ${heldMs} ms, before the deadline`);
    assert.ok(heldMs < HEADERS_TIMEOUT_MS + 3 * TIMEOUT_CHECK_INTERVAL_MS + 5_000, `connection held ${heldMs} ms`);
  });

  it('issues a new token on every start; the previous one is refused', async () => {
    const other = await mkdtemp(join(tmpdir(), 'murmur-security-'));
    try {
      const first = make(other);
      await first.start();
      const old = await readFile(join(other, 'control.token'), 'utf8');
      await first.stop();
      const second = make(other);
      await second.start();
      try {
        const fresh = await readFile(join(other, 'control.token'), 'utf8');
        assert.notEqual(fresh, old);
        assert.equal(await status(second.url!, '/status', { authorization: `Bearer ${old}` }), 401);
        assert.equal(await status(second.url!, '/status', { authorization: `Bearer ${fresh}` }), 200);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('binds loopback by default, and the daemon config cannot expose it without control.allowNonLoopback', async () => {
    const defaults = await loadDaemonConfig({ env: {} });
    assert.equal(defaults.control.host, '127.0.0.1');
    assert.equal(defaults.control.allowNonLoopback, false);
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const cfg = await loadDaemonConfig({ env: {}, flags: { control: { host } } });
      // As node/daemon.ts builds it.
      const refused = make(dir, { host: cfg.control.host, allowNonLoopback: cfg.control.allowNonLoopback });
      await assert.rejects(refused.start(), (err: ControlError) => err.code === 'ERR_NON_LOOPBACK_BIND' && err.message.includes(host));
      assert.equal(refused.isStarted(), false);
    }
    // The running server's token file was not touched by the refused starts.
    assert.equal(await readFile(join(dir, 'control.token'), 'utf8'), token);
  });
});
