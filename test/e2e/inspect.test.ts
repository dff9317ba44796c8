import '../../node/polyfill.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, spawnDaemon, waitFor, type DaemonProcess } from '../../scripts/lib/daemon-harness.js';
import { MAX_HISTORY_LIMIT } from '../../node/control/server.js';

interface History { round: number; accuracy: number | null; modelHash: string }
interface Status { state: 'running' | 'stopped'; round: number | null; stoppedAt?: number | null; controlUrl?: string; modelHash?: string | null }

/**
 * The whole history, page by page: `murmur history` shows 100 rounds by default, and how many rounds the daemon
 * runs before the test stops it depends on the machine's load (the report in between takes seconds to minutes).
 */
async function wholeHistory(dataDir: string): Promise<History[]> {
  const all: History[] = [];
  for (;;) {
    const page = await cli<History[]>(['history', '--data-dir', dataDir, '--from', String((all.at(-1)?.round ?? -1) + 1), '--limit', String(MAX_HISTORY_LIMIT)]);
    all.push(...page);
    if (page.length < MAX_HISTORY_LIMIT) return all;
  }
}

describe('inspecting a daemon while it runs and after it stopped', { timeout: 240_000 }, () => {
  let root = '';
  let daemon: DaemonProcess | null = null;
  after(async () => {
    if (daemon && daemon.child.exitCode === null) { daemon.child.kill('SIGKILL'); await daemon.exited; }
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('status, history and report answer from the API while running, and from the store once stopped', async () => {
    root = await mkdtemp(join(tmpdir(), 'murmur-e2e-inspect-'));
    const dataDir = join(root, 'peer');
    daemon = spawnDaemon(dataDir, [
      '--listen', '/ip4/127.0.0.1/tcp/0', '--peers', '3', '--peer-index', '0', '--model', 'mlp', '--hidden', '16',
      '--set', 'workers=1', '--set', 'rounds.minRoundMs=500', '--set', 'data.evalSize=200', '--log-level', 'warn',
    ]);
    const running = await waitFor('two committed rounds', async () => {
      const h = await cli<History[]>(['history', '--data-dir', dataDir]);
      return h.length >= 2 ? h : null;
    }, 180_000);
    assert.ok(running.every((h) => typeof h.modelHash === 'string'));
    const liveReport = join(root, 'live.html');
    const wrote = await cli<{ rounds: number }>(['report', '--data-dir', dataDir, '--out', liveReport]);
    assert.ok(wrote.rounds >= 2);
    assert.match(await readFile(liveReport, 'utf8'), /<figure id="accuracy">[\s\S]*<svg/);
    const live = await cli<Status>(['status', '--data-dir', dataDir]);
    assert.equal(live.state, 'running');
    assert.match(live.controlUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);

    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
    const stopped = await cli<Status>(['status', '--data-dir', dataDir]);
    assert.equal(stopped.state, 'stopped');
    assert.ok(typeof stopped.stoppedAt === 'number' && stopped.stoppedAt <= Date.now());
    const history = await wholeHistory(dataDir);
    assert.ok(history.length >= running.length);
    assert.deepEqual(history.slice(0, running.length).map((h) => h.modelHash), running.map((h) => h.modelHash));
    assert.equal(stopped.round, history.at(-1)!.round);
    const stoppedReport = join(root, 'stopped.html');
    assert.equal((await cli<{ rounds: number }>(['report', '--data-dir', dataDir, '--out', stoppedReport])).rounds, history.length);
    const html = await readFile(stoppedReport, 'utf8');
    for (const id of ['accuracy', 'loss', 'bytes', 'neighbours', 'duration']) assert.match(html, new RegExp(`<figure id="${id}">[\\s\\S]*?<svg`));
    assert.match(html, /<th>daemon<\/th><td>stopped<\/td>/);

    // Nothing is created where only reading was asked for.
    const missing = join(root, 'does-not-exist');
    await assert.rejects(cli(['history', '--data-dir', missing]));
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });
});
