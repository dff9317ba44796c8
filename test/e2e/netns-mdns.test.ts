/**
 * Two daemons on one bridged LAN segment with `--mdns` and no bootstrap address find each other
 * (scripts/lib/netns.ts builds the namespaces). Skipped, saying why, where network namespaces cannot be
 * made (not root, no CAP_NET_ADMIN, no iproute2).
 */
import '../../node/polyfill.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lanBed, netnsSupport, type Testbed } from '../../scripts/lib/netns.js';
import { cliIn, daemonIn, peerIdOf, requireBuiltCli, waitForLog, type NsDaemon } from '../../scripts/lib/netns-daemon.js';
import type { StatusInfo } from '../../node/control/types.js';

const support = netnsSupport();

const args = (i: number, address: string) => [
  '--mdns', '--listen', `/ip4/${address}/tcp/0`, '--swarm', 'mdns-test', '--peers', '2', '--peer-index', String(i), '--model', 'logreg',
  '--set', 'data.source=synthetic', '--set', 'data.size=400', '--set', 'data.featureCount=16', '--set', 'data.evalSize=100',
  '--set', 'workers=1', '--set', 'rounds.minRoundMs=300', '--set', 'rounds.timeoutMs=5000', '--set', 'network.announceEveryMs=1000',
  '--log-level', 'info',
];

describe('mDNS on one LAN segment (network namespaces)', { timeout: 180_000 }, () => {
  let bed: Testbed | null = null;
  let root = '';
  after(async () => {
    await bed?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('two daemons with --mdns and no bootstrap find each other', { skip: support.ok ? false : `network namespaces unavailable: ${support.reason}` }, async (t) => {
    requireBuiltCli();
    const t0 = Date.now();
    const lan = await lanBed(2);
    bed = lan.bed;
    root = await mkdtemp(join(tmpdir(), 'murmur-mdns-'));
    const daemons: NsDaemon[] = lan.hosts.map((ns, i) => daemonIn(lan.bed, ns, join(root, `peer${i}`), args(i, lan.addresses[i]!)));
    const ids = await Promise.all(daemons.map((d, i) => waitForLog(d, `daemon ${i} to start`, peerIdOf, 90_000)));
    const started = Date.now();
    // Found: the other is a neighbour and a round completed with its frame (only mDNS could have named it).
    await Promise.all(daemons.map((d) => waitForLog(d, 'a full round with the other peer', (lines) =>
      lines.find((l) => l.msg === 'round finished' && l.expected === 1 && l.received === 1), 90_000)));
    const found = Date.now();
    const statuses = await Promise.all(daemons.map(async (d) => JSON.parse(await cliIn(lan.bed, d, ['status', '--json'])) as StatusInfo));
    statuses.forEach((s, i) => {
      const other = ids[1 - i]!;
      assert.deepEqual(s.neighbours, [other]);
      const c = s.reachability!.connections.find((x) => x.peer === other);
      assert.equal(c?.kind, 'direct');
      assert.match(c!.address, new RegExp(`^/ip4/${lan.addresses[1 - i]!.replace(/\./g, '\\.')}/tcp/`));
    });
    t.diagnostic(`timing: test bed + daemons ${started - t0} ms, found each other after ${found - started} ms, total ${Date.now() - t0} ms`);
  });
});
