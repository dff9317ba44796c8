/**
 * Graceful degradation of `murmur daemon` (issue 7): one daemon, three faults in turn.
 * 1. Its only bootstrap peer is unreachable: it says so at warn, keeps running alone and answers `murmur status`.
 * 2. A neighbour vanishes in the middle of sending a frame: the half frame is counted ('aborted' in
 *    `murmur peers`), the neighbour leaves the neighbour list with a log line, and rounds go on.
 * 3. The data dir's disk fills up: each round that cannot be committed is logged (naming the full disk),
 *    the daemon keeps training and answering; once space is freed, commits resume; after a kill -9 the
 *    store is consistent and holds every round that was reported committed.
 * The full disk is a real 16 MiB tmpfs when the test may mount one (root on Linux); otherwise a preload
 * makes the store's LevelDB batch fail with ENOSPC while a marker file exists.
 */
import '../../node/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { makeLayout } from '../../aggregation/layout.js';
import { connectControl, type ControlClient } from '../../node/control/client.js';
import type { ModelInfo, PeerInfo } from '../../node/control/types.js';
import { store } from '../../node/store.js';
import { announcements } from '../../protocols/announcements.js';
import { encodeModelFrame } from '../../protocols/codec.js';
import { announceTopic, MODEL_PROTOCOL } from '../../protocols/constants.js';
import { createMurmurNode } from '../../protocols/libp2p.js';
import { cli, logEntries, spawnDaemon, waitFor, type DaemonProcess } from '../../scripts/lib/daemon-harness.js';

const run = promisify(execFile);
const SWARM = 'degrade';
const COMMIT_FAILED = 'could not commit the round; continuing without it';

interface Status { peerId: string; addresses: string[]; round: number; neighbours: string[] }
type Entry = Record<string, unknown> & { msg?: string; round?: number; err?: { message?: string } };

/** A TCP port nothing listens on: bind an ephemeral port, then close it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Unsigned LEB128, the length prefix of lpStream. */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Uint8Array.from(out);
}

/** A way to fill and free the data dir's disk. */
interface Disk { dataDir: string; nodeArgs: string[]; kind: string; fill(): Promise<void>; free(): Promise<void>; cleanup(): Promise<void> }

/** A real tiny tmpfs if we may mount one, else an injected ENOSPC on the store's LevelDB batch. */
async function makeDisk(root: string): Promise<Disk> {
  const mountPoint = join(root, 'disk');
  await mkdir(mountPoint);
  const filler = join(mountPoint, 'filler');
  if (process.platform === 'linux' && process.getuid?.() === 0) {
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mountPoint]);
      return {
        dataDir: join(mountPoint, 'data'), nodeArgs: [], kind: 'a 16 MiB tmpfs',
        // Fill to the last page, then give back 24 KiB: less than one round's batch (the f32 model alone is
        // 51 KB), so LevelDB's next log append is torn half-way, the case that used to lose later rounds.
        fill: async () => {
          const f = await open(filler, 'w');
          let size = 0;
          try {
            for (const chunk = Buffer.alloc(1 << 16); ;) size += (await f.write(chunk)).bytesWritten;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          } finally {
            await f.truncate(Math.max(0, size - 24 * 1024));
            await f.close();
          }
        },
        free: () => rm(filler, { force: true }),
        cleanup: async () => { await run('umount', ['-l', mountPoint]).catch(() => undefined); },
      };
    } catch {
      // Not allowed to mount here: fall through to the injected fault.
    }
  }
  const marker = join(root, 'disk-full');
  const preload = join(root, 'enospc.mjs');
  await writeFile(preload, [
    `import { existsSync } from 'node:fs';`,
    `import { Level } from ${JSON.stringify(import.meta.resolve('level'))};`,
    `const batch = Level.prototype.batch;`,
    `Level.prototype.batch = function (...args) {`,
    `  if (Array.isArray(args[0]) && String(this.location).endsWith('/db') && existsSync(${JSON.stringify(marker)})) {`,
    `    return Promise.reject(Object.assign(new Error('IO error: ' + this.location + '/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }));`,
    `  }`,
    `  return batch.apply(this, args);`,
    `};`,
  ].join('\n'));
  return {
    dataDir: join(root, 'data'), nodeArgs: ['--import', preload], kind: 'an injected ENOSPC',
    fill: () => writeFile(marker, ''), free: () => rm(marker, { force: true }), cleanup: async () => undefined,
  };
}

describe('murmur daemon under faults', { timeout: 240_000 }, () => {
  let root = '';
  let disk: Disk;
  let daemon: DaemonProcess;
  let bootstrapAddress = '';
  let token = '';
  let client: ControlClient | undefined;
  const entries = (): Entry[] => logEntries(daemon) as Entry[];
  /** Polls go through the control client `murmur status` uses, in process; each check also runs the real CLI once. */
  const status = async (): Promise<Status> => (client ??= await connectControl(disk.dataDir)).get<Status>('/status');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'murmur-degrade-'));
    disk = await makeDisk(root);
    const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    bootstrapAddress = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${absent.toString()}`;
    daemon = spawnDaemon(disk.dataDir, [
      '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', bootstrapAddress, '--swarm', SWARM, '--model', 'mlp', '--hidden', '16',
      '--set', 'workers=1', '--set', 'rounds.minRoundMs=300', '--set', 'rounds.timeoutMs=2000', '--set', 'data.evalSize=200',
      '--set', 'network.announceEveryMs=500', '--log-level', 'info',
    ], { nodeArgs: disk.nodeArgs });
  });

  after(async () => {
    if (daemon !== undefined && daemon.child.exitCode === null) { daemon.child.kill('SIGKILL'); await daemon.exited; }
    await disk?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('keeps running alone when its bootstrap peer is unreachable, and says which one and why', async () => {
    const warned = await waitFor('the unreachable-bootstrap warning', async () =>
      entries().find((e) => e.msg?.startsWith('bootstrap peer unreachable') === true), 90_000, 250);
    assert.equal(warned.level, 40);
    assert.equal(warned.address, bootstrapAddress);
    assert.match(String(warned.reason), /ECONNREFUSED|refused|dial/i);
    await waitFor('rounds without any peer', async () => (await status()).round >= 2, 60_000, 250);
    const s = await cli<Status>(['status', '--data-dir', disk.dataDir]);
    assert.ok(s.round >= 2);
    token = await readFile(join(disk.dataDir, 'control.token'), 'utf8');
    assert.deepEqual(s.neighbours, []);
    assert.equal(daemon.child.exitCode, null);
  });

  it('counts a half-sent frame from a neighbour that vanishes, drops the neighbour and goes on', async () => {
    const model = await cli<ModelInfo>(['model', '--data-dir', disk.dataDir]);
    const layout = makeLayout(model.tensors.map((t) => ({ name: t.name, shape: t.shape, role: t.role })));
    const s0 = await status();
    const node = await createMurmurNode({ transport: 'tcp', preset: 'swarm', seed: 'degrade-neighbour', listen: ['/ip4/127.0.0.1/tcp/0'], swarm: SWARM });
    const ann = announcements({ swarm: SWARM })({ pubsub: node.services.pubsub });
    ann.start();
    const me = node.peerId.toString();
    try {
      await node.dial(multiaddr(s0.addresses.find((a) => a.includes('/tcp/'))!));
      const daemonId = peerIdFromString(s0.peerId);
      await waitFor('the daemon to join the announcement topic', async () =>
        node.services.pubsub.getSubscribers(announceTopic(SWARM)).some((p) => p.equals(daemonId)), 30_000, 100);
      // Announce with the daemon's layout until it counts us as a neighbour.
      await waitFor('the daemon to take us as a neighbour', async () => {
        await ann.publish({ swarm: SWARM, round: s0.round, degree: 1, age: 0, algorithm: 'dpsgd', layoutHash: layout.hash, addresses: [] });
        return (await status()).neighbours.includes(me);
      }, 60_000, 500);

      // Half of a valid frame, then the whole node disappears without closing anything.
      const frame = encodeModelFrame({ kind: 'model', swarm: SWARM, round: s0.round + 1, step: 0, degree: 1, age: 1 }, layout, new Float32Array(layout.size));
      const stream = await node.dialProtocol(daemonId, MODEL_PROTOCOL);
      stream.send(varint(frame.length));
      stream.send(frame.subarray(0, frame.length >> 1));
      for (const c of node.getConnections()) c.abort(new Error('the neighbour vanished'));
    } finally {
      ann.stop();
      await node.stop();
    }

    const counted = (peers: PeerInfo[]): PeerInfo | null => {
      const r = peers.find((p) => p.peer === me);
      return r !== undefined && (r.rejections.aborted ?? 0) + (r.rejections.stalled ?? 0) > 0 ? r : null;
    };
    await waitFor('the half frame to be counted', async () => counted(await client!.get<PeerInfo[]>('/peers')), 60_000, 250);
    const row = counted(await cli<PeerInfo[]>(['peers', '--data-dir', disk.dataDir]))!;
    assert.ok(row !== null, 'murmur peers shows the aborted frame');
    assert.equal(row.framesIn, 0);
    assert.equal(row.connected, false);
    const gone = entries().find((e) => e.msg === 'neighbour disconnected; rounds continue without it');
    assert.equal(gone?.peer, me);
    const s1 = await waitFor('rounds without the vanished neighbour', async () => {
      const x = await status();
      return x.round >= s0.round + 3 && !x.neighbours.includes(me) ? x : null;
    }, 60_000, 250);
    assert.deepEqual(s1.neighbours, []);
    assert.equal(daemon.child.exitCode, null);
  });

  it('logs every round it cannot commit on a full disk, keeps going, and loses nothing committed', async (t) => {
    t.diagnostic(`disk: ${disk.kind}`);
    // The last round the log says was committed, not the status round: that one can be a round whose commit is
    // still under way, which the full disk would then fail (failed.round equal to it).
    const committedBefore = Math.max(0, ...entries().filter((e) => e.msg === 'round finished').map((e) => Number(e.round)));
    await disk.fill();
    const failed = await waitFor('a commit failure', async () => entries().find((e) => e.msg === COMMIT_FAILED), 60_000, 250);
    assert.equal(failed.level, 50);
    assert.match(String(failed.err?.message), /disk is full/);
    assert.ok(Number(failed.round) > committedBefore);
    // Still training and answering while nothing can be stored.
    await waitFor('two more rounds on the full disk', async () => (await status()).round >= Number(failed.round) + 2, 60_000, 250);
    const during = await cli<Status>(['status', '--data-dir', disk.dataDir]);
    assert.ok(during.round >= Number(failed.round) + 2);
    await disk.free();
    // Commits resume: two rounds finished without a commit failure after the last failure.
    const resumed = await waitFor('commits to resume', async () => {
      const log = entries();
      const lastFailure = Math.max(...log.filter((e) => e.msg === COMMIT_FAILED).map((e) => Number(e.round)));
      const ok = log.filter((e) => e.msg === 'round finished' && Number(e.round) > lastFailure);
      return ok.length >= 2 ? ok[ok.length - 1]! : null;
    }, 60_000, 250);
    assert.ok(Number(resumed.round) > during.round - 1);

    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const log = entries();
    const failedRounds = new Set(log.filter((e) => e.msg === COMMIT_FAILED).map((e) => Number(e.round)));
    const acknowledged = log.filter((e) => e.msg === 'round finished' && !failedRounds.has(Number(e.round))).map((e) => Number(e.round));
    const st = store({ dataDir: disk.dataDir });
    await st.start();
    try {
      assert.deepEqual(await st.verify(), []);
      const history = new Set((await st.history()).map((h) => h.round));
      assert.deepEqual(acknowledged.filter((r) => !history.has(r)), [], 'every round logged as committed is in the store');
      assert.deepEqual([...failedRounds].filter((r) => history.has(r)), [], 'no round that failed to commit is in the store');
      const last = await st.lastCommittedRound();
      assert.ok(last !== null && last >= Math.max(...acknowledged));
      const [latest] = await st.history({ reverse: true, limit: 1 });
      assert.equal((await st.current())?.hash, latest?.modelHash);
      t.diagnostic(`${failedRounds.size} rounds not committed while full, ${acknowledged.length} committed, last ${last}`);
    } finally {
      await st.stop();
    }
  });

  it('never wrote the control token to its log', () => {
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.ok(daemon.log.length > 0);
    assert.ok(daemon.log.every((line) => !line.includes(token)));
  });
});
