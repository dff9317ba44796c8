import '../../../../node/polyfill.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { makeLayout } from '../../../../aggregation/layout.js';
import { DEFAULT_DATA_DIR, defaultDataDir, registerInspectCommands } from '../../../../node/cli/inspect.js';
import { controlServer, type ControlServer } from '../../../../node/control/server.js';
import { createMetrics } from '../../../../node/control/metrics.js';
import { describeModel, type ControlLogger, type ControlSource, type HistoryQuery, type ModelInfo, type PeerInfo, type StatusInfo } from '../../../../node/control/types.js';

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const STATUS: StatusInfo = {
  peerId: '12D3KooWStubPeer', addresses: ['/ip4/127.0.0.1/tcp/4001'], backend: 'wasm', algorithm: 'gossip-age', swarm: 'demo',
  round: 42, phase: 'exchanging', accuracy: 0.9125, loss: 0.31, modelAge: 17, neighbours: ['peer-a', 'peer-b'], connections: 2,
  uptimeMs: 303_000, dataDir: '/var/lib/murmur', version: '0.1.0', extra: { viewSize: 8, role: 'aggregator' },
};
// Layout: w 2x2 = [1, 2, 3, 4], b 2 = [0, 0].
const LAYOUT = makeLayout([{ name: 'w', shape: [2, 2], role: 'kernel' }, { name: 'b', shape: [2], role: 'bias' }]);
const MODEL: ModelInfo = describeModel(LAYOUT, new Float32Array([1, 2, 3, 4, 0, 0]), { round: 42, age: 17 });

function source(state: { model: ModelInfo | null; history: HistoryQuery[] }): ControlSource {
  return {
    status: () => STATUS,
    peers: (): PeerInfo[] => [
      { peer: 'peer-b', connected: false, lastSeen: NOW - 5_000, framesIn: 1, framesOut: 0, bytesIn: 2048, bytesOut: 0, rejections: {}, sendFailures: 3 },
      { peer: 'peer-a', connected: true, lastSeen: NOW - 1_000, framesIn: 10, framesOut: 12, bytesIn: 1_048_576, bytesOut: 512, rejections: { 'bad-layout': 2 }, sendFailures: 0, trust: 0.75 },
    ],
    model: () => state.model,
    history: async (q) => {
      state.history.push(q);
      return [{ round: 41, time: NOW - 60_000, modelHash: 'aaaa', accuracy: 0.9, loss: 0.3, bytesOut: 1024 }];
    },
    trust: () => [{ peer: 'peer-a', score: 0.25 }, { peer: 'peer-b', score: 0.75, details: { rejections: 2 } }],
  };
}

const quiet: ControlLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Run { stdout: string; stderr: string; exitCode: number | undefined }

/** Run one CLI invocation on a fresh program (commander keeps option values between parses). */
async function murmur(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let exitCode: number | undefined;
  const program = new Command('murmur').exitOverride().configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  registerInspectCommands(program, { env, stdout: (t) => out.push(t), stderr: (t) => err.push(t), setExitCode: (c) => { exitCode = c; }, now: () => NOW, sleep: async () => {} });
  await program.parseAsync(args, { from: 'user' });
  return { stdout: out.join(''), stderr: err.join(''), exitCode };
}

describe('inspect commands', () => {
  let dir: string;
  let server: ControlServer;
  let token: string;
  const state: { model: ModelInfo | null; history: HistoryQuery[] } = { model: null, history: [] };
  const outputs: string[] = [];

  /** Run and remember every output, so the last test can check none of them contains the token. */
  async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
    const r = await murmur(args, env);
    outputs.push(r.stdout, r.stderr);
    return r;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'murmur-inspect-'));
    server = controlServer({ dataDir: dir })({ source: source(state), metrics: createMetrics(), logger: quiet });
    await server.start();
    token = await readFile(join(dir, 'control.token'), 'utf8');
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('status prints a key/value table', async () => {
    const r = await run(['status', '--data-dir', dir]);
    assert.equal(r.exitCode, undefined);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /│ peer id\s+│ 12D3KooWStubPeer\s+│/);
    assert.match(r.stdout, /│ accuracy\s+│ 91\.25%\s+│/); // 0.9125 × 100
    assert.match(r.stdout, /│ uptime\s+│ 5m 03s\s+│/); // 303 s
    assert.match(r.stdout, /│ neighbours\s+│ peer-a\s+│\n│\s+│ peer-b\s+│/);
    assert.match(r.stdout, /│ engine state\s+│ role=aggregator, viewSize=8\s+│/);
    assert.match(r.stdout, /│ daemon\s+│ running\s+│/);
    assert.match(r.stdout, /│ control API\s+│ http:\/\/127\.0\.0\.1:\d+ \(bearer token in control\.token\)/);
    assert.match(r.stdout, /│ metrics\s+│ http:\/\/127\.0\.0\.1:\d+\/metrics/);
    assert.match(r.stdout, /│ model age\s+│ 17 samples trained/);
  });

  it('status --json prints the daemon status unchanged, plus where its API and metrics are', async () => {
    const r = await run(['status', '--data-dir', dir, '--json']);
    const { state, controlUrl, metricsUrl, tokenFile, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(rest, STATUS);
    assert.equal(state, 'running');
    assert.equal(metricsUrl, `${String(controlUrl)}/metrics`);
    assert.equal(tokenFile, join(dir, 'control.token'));
  });

  it('status --watch redraws in place, --count times', async () => {
    const r = await run(['status', '--data-dir', dir, '--watch', '--count', '3']);
    assert.equal(r.exitCode, undefined, r.stderr);
    assert.equal(r.stdout.split('\x1b[H\x1b[J').length, 4);
    assert.equal(r.stdout.match(/│ peer id\s+│ 12D3KooWStubPeer/g)?.length, 3);
    const both = await run(['status', '--data-dir', dir, '--watch', '--json']);
    assert.equal(both.exitCode, 2);
  });

  it('reads the data dir from MURMUR_DATA_DIR when --data-dir is absent', async () => {
    const r = await run(['status', '--json'], { MURMUR_DATA_DIR: dir });
    assert.equal((JSON.parse(r.stdout) as StatusInfo).peerId, STATUS.peerId);
    assert.equal(defaultDataDir({}), DEFAULT_DATA_DIR);
    assert.equal(defaultDataDir({ MURMUR_DATA_DIR: '' }), DEFAULT_DATA_DIR);
  });

  it('peers prints rows sorted by peer with human units; JSON keeps raw numbers', async () => {
    const table = await run(['peers', '--data-dir', dir]);
    const a = table.stdout.indexOf('peer-a');
    const b = table.stdout.indexOf('peer-b');
    assert.ok(a > 0 && b > a);
    // 1048576 B = 1.0 MiB; last seen 1000 ms before NOW = "1.0 s ago".
    assert.match(table.stdout, /│ peer-a │ yes  │ 1\.0 s ago │ 1\.0 MiB \(10\) │ 512 B \(12\)\s+│ 2\s+│ 0\s+│ 0\.75  │/);
    const wide = await run(['peers', '--data-dir', dir, '--wide']);
    assert.match(wide.stdout, /│ peer-a │ yes\s+│ -\s+│ 2026-07-01T11:59:59Z \(1\.0 s ago\) │ 10\s+│ 12\s+│ 1\.0 MiB\s+│ 512 B\s+│ bad-layout=2 │ 0\s+│ 0\.75\s+│/);
    const json = JSON.parse((await run(['peers', '--data-dir', dir, '--json'])).stdout) as { peer: string; bytesIn: number }[];
    assert.deepEqual(json.map((p) => [p.peer, p.bytesIn]), [['peer-a', 1_048_576], ['peer-b', 2048]]);
  });

  it('model says so when there is no model yet, and prints null in JSON', async () => {
    state.model = null;
    assert.equal((await run(['model', '--data-dir', dir])).stdout, 'no model yet: the daemon has not built or loaded its model\n');
    assert.equal((await run(['model', '--data-dir', dir, '--json'])).stdout, 'null\n');
  });

  it('model prints the summary and per-tensor norms', async () => {
    state.model = MODEL;
    const r = await run(['model', '--data-dir', dir]);
    assert.match(r.stdout, new RegExp(`│ layout hash │ ${LAYOUT.hash}\\s+│`));
    // w = [1, 2, 3, 4]: L2 = √30 = 5.477, mean = 2.5, std = √1.25 = 1.118.
    assert.match(r.stdout, /│ w\s+│ kernel │ 2x2\s+│ 5\.477 │ 2\.5\s+│ 1\.118 │/);
    assert.match(r.stdout, /│ b\s+│ bias\s+│ 2\s+│ 0\s+│ 0\s+│ 0\s+│/);
    const json = JSON.parse((await run(['model', '--data-dir', dir, '--json'])).stdout) as ModelInfo;
    assert.deepEqual(json, JSON.parse(JSON.stringify(MODEL)));
  });

  it('history passes --from and --limit; the table shows the main columns, --wide the rest', async () => {
    state.history.length = 0;
    const r = await run(['history', '--data-dir', dir, '--from', '40', '--limit', '5']);
    assert.deepEqual(state.history, [{ from: 40, limit: 5 }]);
    assert.match(r.stdout, /│ round │ time\s+│ accuracy │ loss │ recv\/exp │ sent\s+│ duration │/);
    assert.match(r.stdout, /│ 41\s+│ 2026-07-01T11:59:00Z │ 90\.00%\s+│ 0\.3\s+│ -\s+│ 1\.0 KiB │ -\s+│/);
    const wide = await run(['history', '--data-dir', dir, '--wide']);
    assert.match(wide.stdout, /│ model hash │/);
    assert.match(wide.stdout, /│ aaaa\s+│/);
  });

  it('history rejects a bad --limit with ERR_CONFIG (JSON on stdout, exit 2)', async () => {
    const r = await run(['history', '--data-dir', dir, '--limit', '0', '--json']);
    assert.equal(r.exitCode, 2);
    assert.deepEqual(JSON.parse(r.stdout), { success: false, code: 'ERR_CONFIG', message: '--limit must be an integer in 1..1000, got "0"' });
  });

  it('trust lists scores highest first', async () => {
    const r = await run(['trust', '--data-dir', dir]);
    assert.ok(r.stdout.indexOf('peer-b') < r.stdout.indexOf('peer-a'));
    assert.match(r.stdout, /│ peer-b │ 0\.75\s+│ rejections=2 │/);
  });

  it('says clearly that no daemon runs at an empty data dir (exit 3)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'murmur-none-'));
    try {
      const text = await run(['status', '--data-dir', empty]);
      assert.equal(text.exitCode, 3);
      assert.equal(text.stdout, '');
      assert.match(text.stderr, new RegExp(`^error: no murmur daemon is running with data dir ${empty} \\(no control\\.json there, and no store either\\); start one with`));
      assert.equal(text.stderr.split('\n').length, 2); // one line + the trailing newline
      const json = await run(['peers', '--data-dir', empty, '--json']);
      assert.equal(json.exitCode, 3);
      assert.equal((JSON.parse(json.stdout) as { code: string }).code, 'ERR_NO_DAEMON');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('never prints the token', () => {
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.ok(outputs.length > 10);
    for (const o of outputs) assert.ok(!o.includes(token));
  });
});
