import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAIN } from '../../scripts/lib/daemon-harness.js';

const run = promisify(execFile);

describe('murmur sim', { timeout: 480_000 }, () => {
  it('runs a small sweep, prints the summary table and writes a report with non-empty plots', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-sim-'));
    try {
      const file = join(dir, 'tiny.yaml');
      await writeFile(file, [
        'name: tiny', 'seed: 3', 'peers: 6', 'rounds: 3', 'transport: virtual',
        'topology: { kind: ring }', 'data: { source: digits, trainSize: 600, partition: { scheme: shards, classesPerPeer: 2 } }',
        'model: { arch: logreg, seed: 1 }', 'eval: { testSize: 200 }',
        'runs:', '  - name: dpsgd', '    algorithm: { name: dpsgd }', '  - name: median', '    algorithm: { name: median }',
      ].join('\n'));
      const out = join(dir, 'out');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file, '--out', out, '--workers', '1'], { timeout: 170_000 });
      assert.match(stdout, /dpsgd\s+│ 3/);
      assert.match(stdout, /median\s+│ 3/);
      const results = (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { run: string; round: number });
      assert.deepEqual(results.map((r) => `${r.run}:${r.round}`), ['dpsgd:1', 'dpsgd:2', 'dpsgd:3', 'median:1', 'median:2', 'median:3']);
      const csv = (await readFile(join(out, 'summary.csv'), 'utf8')).trim().split('\n');
      assert.equal(csv.length, 3);
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { versions: Record<string, string>; backend: string };
      assert.ok(config.versions.libp2p && config.backend);
      const html = await readFile(join(out, 'report.html'), 'utf8');
      const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
      assert.ok(svgs.length >= 4, `${svgs.length} plots`);
      for (const svg of svgs) assert.ok(svg.includes('<path') || svg.includes('<line'), 'each plot draws something');
      assert.ok(!/<script/i.test(html), 'the report needs no script');
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  // A memory swarm spread over processes connects each process's peers over memory and the rest over TCP.
  for (const [transport, offset] of [['tcp', 0], ['memory', 100]] as const) it(`spreads a ${transport} swarm over two processes and merges the same results as one process`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-sim-'));
    try {
      const file = join(dir, 'mp.yaml');
      await writeFile(file, [
        'name: mp', 'seed: 2', 'peers: 8', 'rounds: 2', `transport: ${transport}`, 'topology: { kind: regular, degree: 3 }',
        'data: { source: digits, trainSize: 800, partition: { scheme: iid } }', 'model: { arch: logreg, seed: 1 }',
        'eval: { testSize: 200 }', `network: { portBase: ${21000 + offset * 8 + (process.pid % 100) * 8} }`,
      ].join('\n'));
      const read = async (out: string) => (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n')
        .map((l) => JSON.parse(l) as { round: number; honest: { mean: number }; consensusDistance: number; bytesSent: number });
      await run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file, '--out', join(dir, 'one'), '--workers', '1', '--quiet'], { timeout: 120_000 });
      await run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file, '--out', join(dir, 'two'), '--processes', '2', '--quiet'], { timeout: 120_000 });
      const one = await read(join(dir, 'one')), two = await read(join(dir, 'two'));
      assert.deepEqual(two.map((r) => [r.round, r.honest.mean, r.bytesSent]), one.map((r) => [r.round, r.honest.mean, r.bytesSent]));
      two.forEach((r, k) => assert.ok(Math.abs(r.consensusDistance - one[k]!.consensusDistance) <= 1e-9 * Math.max(1, one[k]!.consensusDistance)));
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('gives bit-identical models over the memory and virtual transports for a synchronous experiment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-sim-'));
    try {
      const file = join(dir, 'same.yaml');
      await writeFile(file, [
        'name: same', 'seed: 5', 'peers: 6', 'rounds: 3', 'mode: sync', 'topology: { kind: regular, degree: 3 }',
        'data: { source: digits, trainSize: 600, partition: { scheme: dirichlet, alpha: 0.5 } }', 'model: { arch: logreg, seed: 1 }',
        'eval: { every: 1, fraction: 1, testSize: 200 }',
        // Generous deadlines: on a loaded machine a round over libp2p must not time out (the models would then differ).
        'network: { timeoutMs: 120000, sendTimeoutMs: 120000 }',
      ].join('\n'));
      // Everything that depends only on the models: accuracies and losses of every peer, and the consensus distance.
      const models = async (transport: string) => {
        const out = join(dir, transport);
        await run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file, '--transport', transport, '--out', out, '--workers', '1', '--quiet'], { timeout: 120_000 });
        return (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n')
          .map((l) => { const r = JSON.parse(l) as Record<string, unknown>; return [r.round, r.honest, r.loss, r.consensusDistance]; });
      };
      const memory = await models('memory');
      assert.equal(memory.length, 3);
      assert.deepEqual(await models('virtual'), memory);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('names the problem in a bad experiment file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-sim-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, 'peers: 1\nalgorithm: { name: nope }\n');
      await assert.rejects(run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file]), (e: Error & { stderr: string; code: number }) => {
        assert.match(e.stderr, /peers: Too small|peers:.*2/);
        assert.equal(e.code, 2);
        return true;
      });
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
