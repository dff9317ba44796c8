/**
 * bench-nat: what NAT traversal costs, measured across real NATs built from Linux network namespaces
 * (scripts/lib/netns.ts; needs root or CAP_NET_ADMIN, iproute2 and nftables).
 *
 * Two scenarios against one target peer behind a masquerading NAT that holds a slot on a public relay:
 *   home → home   a dialer behind its own NAT: the connection stays relayed (js-libp2p cannot hole-punch
 *                 TCP between two NATs: libp2p/js-libp2p#2620); times relayed set-up and relayed pushes.
 *   public → home a dialer with a public address: DCUtR replaces the relayed connection by a direct one;
 *                 times relayed set-up, the time until the direct connection, and direct pushes.
 * Pushes are /murmur/model/1.0.0 frames of FRAME_BYTES (a 1M-parameter f32 model), acked by the receiver.
 *
 * Targets: every relayed dial between the homes connects; every relayed connection to a peer with a
 * public address is upgraded to a direct one; direct push throughput beats relayed.
 *
 *   npm run bench -- bench-nat [--reps N] [--json]
 */
import '../node/polyfill.js';
import { fileURLToPath } from 'node:url';
import { natBed, netnsSupport, type NatBed, type NsProcess } from './lib/netns.js';
import { jsonMode, printEnv, summarize, verdict, type Check } from './lib/bench.js';

const NODE_SCRIPT = fileURLToPath(new URL('./lib/nat-bench-node.ts', import.meta.url));
const FRAME_BYTES = 4 * 1024 * 1024;
const repsFlag = process.argv.indexOf('--reps');
const REPS = repsFlag > 0 ? Number(process.argv[repsFlag + 1]) : 5;
/** How long a dialer waits for DCUtR before pushing over the relayed connection, ms. */
const HOME_UPGRADE_WAIT_MS = 3_000;
const PUBLIC_UPGRADE_WAIT_MS = 15_000;
/** How long the public dialer waits for AutoNAT to confirm its address before the first dial, ms. */
const AUTONAT_WAIT_MS = 20_000;

interface Rep { rep: number; relayMs: number; directMs: number | null; kind: string; pushMs: number[]; holePunch: string | null }

const log = (text: string): void => { if (!jsonMode) console.log(text); };

function role(nat: NatBed, ns: string, args: string[]): NsProcess {
  return nat.bed.spawn(ns, process.execPath, ['--import', 'tsx', NODE_SCRIPT, ...args]);
}

/** The JSON lines a role printed so far. */
const lines = (p: NsProcess): Array<Record<string, unknown>> => p.stdout.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });

async function waitFor<T>(p: NsProcess, what: string, pick: (l: Record<string, unknown>) => T | undefined, ms: number): Promise<T> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    for (const l of lines(p)) { const v = pick(l); if (v !== undefined) return v; }
    if (p.child.exitCode !== null) throw new Error(`${what}: the process exited (${p.child.exitCode}):\n${p.stderr.slice(-15).join('\n')}`);
    if (Date.now() > end) throw new Error(`${what}: no answer within ${ms} ms:\n${p.stderr.slice(-15).join('\n')}`);
  }
}

async function scenario(nat: NatBed, ns: string, circuit: string, upgradeWaitMs: number, awaitPublicMs = 0): Promise<Rep[]> {
  const dialer = role(nat, ns, ['dialer', circuit, String(REPS), String(FRAME_BYTES), String(upgradeWaitMs), String(awaitPublicMs)]);
  await waitFor(dialer, 'dialer', (l) => (l.done === true ? true : undefined), 60_000 + awaitPublicMs + REPS * (upgradeWaitMs + 30_000));
  const confirmed = lines(dialer).find((l) => 'publiclyReachable' in l);
  if (confirmed !== undefined) log(`dialer in ${ns}: publicly reachable ${String(confirmed.publiclyReachable)} after ${Number(confirmed.confirmMs).toFixed(0)} ms (AutoNAT)`);
  return lines(dialer).filter((l) => typeof l.rep === 'number') as unknown as Rep[];
}

const mbps = (ms: number): number => FRAME_BYTES / 1e6 / (ms / 1000);
const median = (xs: number[]): number => summarize(xs).median;
const fmt = (xs: number[]): string => { const t = summarize(xs); return `median ${t.median.toFixed(1)} ms (min ${t.min.toFixed(1)}, max ${t.max.toFixed(1)})`; };

printEnv({ frame: `${FRAME_BYTES} bytes`, reps: REPS, testbed: 'network namespaces, nftables masquerade' });
const support = netnsSupport({ nat: true });
if (!support.ok) {
  verdict([{ name: 'test bed', pass: false, figure: `cannot build namespaces: ${support.reason}`, target: 'network namespaces available' }]);
}
const nat = await natBed({ publicHosts: 1 });
let checks: Check[] = [];
let figures: Record<string, unknown> = {};
try {
  const relay = role(nat, nat.pub, ['relay']);
  const relayId = await waitFor(relay, 'relay', (l) => (typeof l.id === 'string' ? l.id : undefined), 60_000);
  const target = role(nat, nat.homeB, ['target', `/ip4/${nat.pubAddress}/tcp/4001/p2p/${relayId}`]);
  const circuit = await waitFor(target, 'target', (l) => (typeof l.circuit === 'string' ? l.circuit : undefined), 60_000);
  log(`target reachable through the relay at ${circuit}`);

  const home = await scenario(nat, nat.homeA, circuit, HOME_UPGRADE_WAIT_MS);
  const pub = await scenario(nat, nat.publicHosts[0]!.ns, circuit, PUBLIC_UPGRADE_WAIT_MS, AUTONAT_WAIT_MS);
  const relayedPush = home.filter((r) => r.kind === 'relayed').flatMap((r) => r.pushMs);
  const directPush = pub.filter((r) => r.kind !== 'relayed').flatMap((r) => r.pushMs);
  const upgraded = pub.filter((r) => r.directMs !== null);

  log('\nhome → home (both behind NAT)');
  log(`  relayed set-up:        ${fmt(home.map((r) => r.relayMs))}`);
  log(`  connection kinds:      ${home.map((r) => r.kind).join(', ')}`);
  log(`  hole punch:            ${home[0]?.holePunch ?? 'n/a'}`);
  log(`  relayed push:          ${relayedPush.length > 0 ? `${fmt(relayedPush)} = ${mbps(median(relayedPush)).toFixed(1)} MB/s` : 'none'}`);
  log('public → home (dialer has a public address)');
  log(`  relayed set-up:        ${fmt(pub.map((r) => r.relayMs))}`);
  log(`  direct after DCUtR:    ${upgraded.length > 0 ? fmt(upgraded.map((r) => r.directMs!)) : 'never'} (from the start of the relayed dial; ${upgraded.length}/${pub.length} upgraded)`);
  log(`  connection kinds:      ${pub.map((r) => r.kind).join(', ')}`);
  log(`  direct push:           ${directPush.length > 0 ? `${fmt(directPush)} = ${mbps(median(directPush)).toFixed(1)} MB/s` : 'none'}\n`);

  const relayedMBps = relayedPush.length > 0 ? mbps(median(relayedPush)) : 0;
  const directMBps = directPush.length > 0 ? mbps(median(directPush)) : 0;
  figures = {
    homeRelayedSetupMs: summarize(home.map((r) => r.relayMs)), homeKinds: home.map((r) => r.kind), homeHolePunch: home[0]?.holePunch ?? null,
    publicRelayedSetupMs: summarize(pub.map((r) => r.relayMs)), publicDirectMs: upgraded.length > 0 ? summarize(upgraded.map((r) => r.directMs!)) : null,
    publicKinds: pub.map((r) => r.kind), relayedPushMs: relayedPush, directPushMs: directPush, relayedMBps, directMBps, frameBytes: FRAME_BYTES,
  };
  checks = [
    {
      name: 'home↔home through the relay', pass: home.length === REPS && home.every((r) => r.kind === 'relayed'),
      figure: `${home.filter((r) => r.kind === 'relayed').length}/${REPS} connected, set-up ${median(home.map((r) => r.relayMs)).toFixed(0)} ms`,
      target: 'every dial connects through the relay',
    },
    {
      name: 'DCUtR upgrade public→home', pass: pub.length === REPS && upgraded.length === REPS,
      figure: `${upgraded.length}/${REPS} upgraded, direct after ${upgraded.length > 0 ? median(upgraded.map((r) => r.directMs!)).toFixed(0) : '-'} ms`,
      target: 'every relayed connection to a peer with a public address becomes direct',
    },
    {
      name: 'push throughput direct/relayed', pass: directMBps > relayedMBps && relayedMBps > 0,
      figure: `${directMBps.toFixed(1)} / ${relayedMBps.toFixed(1)} MB/s = ${(relayedMBps > 0 ? directMBps / relayedMBps : 0).toFixed(2)}x`,
      target: 'direct > relayed',
    },
  ];
} catch (err) {
  checks = [{ name: 'bench-nat', pass: false, figure: (err as Error).message.split('\n')[0]!, target: 'all scenarios run' }];
} finally {
  await nat.bed.destroy();
}
verdict(checks, figures);
