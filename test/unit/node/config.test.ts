import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDaemonConfig, mergeDeep, setPath } from '../../../node/config.js';
import { flagsToConfig } from '../../../node/cli/daemon.js';

describe('daemon configuration', () => {
  it('fills defaults and applies defaults < file < env < flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-cfg-'));
    try {
      const file = join(dir, 'c.yaml');
      await writeFile(file, 'dataDir: /from/file\ntrain: { lr: 0.2 }\nlog: { level: debug }\n');
      const cfg = await loadDaemonConfig({ file, env: { MURMUR_DATA_DIR: '/from/env', MURMUR_LOG_LEVEL: 'warn' }, flags: flagsToConfig({ dataDir: '/from/flag' }) });
      assert.equal(cfg.dataDir, '/from/flag');
      assert.equal(cfg.log.level, 'warn');
      assert.equal(cfg.train.lr, 0.2);
      assert.equal(cfg.train.batchSize, 32);
      assert.equal(cfg.algorithm.name, 'dpsgd');
      assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.train));
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('reports every problem with its key path, including unknown keys', async () => {
    await assert.rejects(loadDaemonConfig({ flags: { train: { lr: -1, bogus: 1 }, network: { listen: ['not-an-addr'] }, rounds: { mode: 'sideways' } } }), (e: Error & { code?: string; problems?: string[] }) => {
      assert.equal(e.code, 'ERR_CONFIG');
      const text = e.problems!.join('\n');
      assert.match(text, /train\.lr/);
      assert.match(text, /train: unknown key bogus/);
      assert.match(text, /network\.listen\.0: must be a multiaddr/);
      assert.match(text, /rounds\.mode/);
      return true;
    });
  });

  it('reads the NAT keys: --relay, --announce and --upnp flags, relay limits and the relayed-models switch', async () => {
    const defaults = await loadDaemonConfig({ flags: {} });
    assert.deepEqual(defaults.network.relay, { serve: false, allowModels: false });
    assert.equal(defaults.network.dht, true);
    assert.equal(defaults.network.upnp, false);
    assert.deepEqual(defaults.network.announce, []);
    const flags = flagsToConfig({ relay: true, upnp: true, announce: ['/ip4/203.0.113.7/tcp/4001'], set: ['network.relay.dataLimitBytes=1048576', 'network.relay.allowModels=true'] });
    const cfg = await loadDaemonConfig({ flags });
    assert.equal(cfg.network.relay.serve, true);
    assert.equal(cfg.network.relay.allowModels, true);
    assert.equal(cfg.network.relay.dataLimitBytes, 1_048_576);
    assert.equal(cfg.network.upnp, true);
    assert.deepEqual(cfg.network.announce, ['/ip4/203.0.113.7/tcp/4001']);
    await assert.rejects(loadDaemonConfig({ flags: { network: { relay: { reservations: 9, durationLimitMs: 5, bogus: 1 } } } }), (e: Error & { problems?: string[] }) => {
      const text = e.problems!.join('\n');
      assert.match(text, /network\.relay\.reservations/);
      assert.match(text, /network\.relay\.durationLimitMs/);
      assert.match(text, /network\.relay: unknown key bogus/);
      return true;
    });
  });

  it('suggests the key meant for an unknown one: a typo at its level, or the same name in another section', async () => {
    const err = await loadDaemonConfig({ env: {}, flags: { rounds: { timeotMs: 5 }, timeoutMs: 3, network: { lisen: [] }, zzzzzzzz: 1 } }).then(() => null, (e: unknown) => e as { problems: string[] });
    assert.ok(err);
    assert.ok(err.problems.includes('rounds: unknown key timeotMs (did you mean rounds.timeoutMs?)'), err.problems.join('\n'));
    assert.ok(err.problems.includes('(root): unknown keys timeoutMs, zzzzzzzz (did you mean rounds.timeoutMs?)'), err.problems.join('\n'));
    assert.ok(err.problems.includes('network: unknown key lisen (did you mean network.listen?)'), err.problems.join('\n'));
  });

  it('names the file when it cannot be parsed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-cfg-'));
    try {
      const file = join(dir, 'bad.json');
      await writeFile(file, '{ "dataDir": ');
      await assert.rejects(loadDaemonConfig({ file }), new RegExp(`config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`));
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('merges deeply but replaces objects whose discriminator changes', () => {
    assert.deepEqual(mergeDeep({ a: { x: 1, y: 2 } }, { a: { y: 3 } }), { a: { x: 1, y: 3 } });
    assert.deepEqual(mergeDeep({ algorithm: { name: 'krum', f: 2 } }, { algorithm: { name: 'median' } }), { algorithm: { name: 'median' } });
    const o: Record<string, unknown> = {};
    setPath(o, 'rounds.max', '5');
    setPath(o, 'swarm', 'abc');
    assert.deepEqual(o, { rounds: { max: 5 }, swarm: 'abc' });
    assert.throws(() => setPath(o, 'a..b', '1'), /not a key path/);
  });
});
