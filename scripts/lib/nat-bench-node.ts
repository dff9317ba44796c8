/**
 * One role of bench-nat, run inside a namespace of the NAT test bed (scripts/lib/netns.ts) as
 * `node --import tsx scripts/lib/nat-bench-node.ts <role> [args]`. Prints one JSON line per result on
 * stdout and runs until killed (relay, target) or until done (dialer).
 *
 *   relay                   a relay with limits raised for model pushes; prints {"ready", "id"}
 *   target <relay address>  holds a slot on the relay, accepts model frames (relayed ones too); prints {"ready", "circuit"}
 *   dialer <circuit> <reps> <frameBytes> <upgradeWaitMs> [awaitPublicMs]
 *                           per rep: dial the target through the relay (set-up time), wait up to
 *                           upgradeWaitMs for DCUtR to replace it by a direct connection, time frame pushes
 *                           over the connection left, hang up; prints {"rep", …} per rep and {"done"}. With
 *                           awaitPublicMs, first connect to the relay and wait for AutoNAT to confirm a public address.
 */
import '../../node/polyfill.js';
import type { Connection } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { createMurmurNode } from '../../protocols/libp2p.js';
import { modelExchange } from '../../protocols/model-exchange.js';
import { NatLog, ReachabilityMonitor } from '../../protocols/reachability.js';
import { fixedReceiver } from '../../protocols/receiver.js';

const SWARM = 'bench-nat';
const RELAY_DATA_LIMIT_BYTES = 1 << 30;
const RELAY_DURATION_LIMIT_MS = 30 * 60 * 1000;
const PUSHES = 3;

const print = (o: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const limited = (c: Connection): boolean => c.limits !== undefined || c.remoteAddr.toString().includes('/p2p-circuit');

const [role, ...args] = process.argv.slice(2);
const natLog = new NatLog();

if (role === 'relay') {
  const node = await createMurmurNode({
    listen: ['/ip4/0.0.0.0/tcp/4001'], seed: 'bench-relay', swarm: SWARM, logger: natLog.logger,
    reachability: { relayServer: { dataLimitBytes: RELAY_DATA_LIMIT_BYTES, durationLimitMs: RELAY_DURATION_LIMIT_MS } },
  });
  print({ ready: true, id: node.peerId.toString() });
} else if (role === 'target') {
  // No DHT on the target and dialers: its routing-table upkeep would redial a hung-up dialer between reps.
  const node = await createMurmurNode({ listen: ['/ip4/0.0.0.0/tcp/0'], seed: 'bench-target', swarm: SWARM, logger: natLog.logger, reachability: { dht: false } });
  // Times raw transfer: every frame is accepted unread (no codec), nothing is kept.
  const ex = modelExchange({
    receiver: fixedReceiver('accepted'), maxFrameBytes: 1 << 28, runOnLimitedConnection: true,
  })({ registrar: node, connectionManager: { openStream: (peer, protocol, options) => node.dialProtocol(peer, protocol, options) } });
  await ex.start();
  await node.dial(multiaddr(args[0]!));
  for (;;) {
    const circuit = node.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit') && !m.toString().startsWith('/ip4/127.'));
    if (circuit !== undefined) { print({ ready: true, circuit: circuit.toString() }); break; }
    await sleep(100);
  }
} else if (role === 'dialer') {
  const [circuit, repsText, frameText, waitText, publicText] = args;
  const reps = Number(repsText);
  const frame = new Uint8Array(Number(frameText)).fill(7);
  const upgradeWaitMs = Number(waitText);
  const node = await createMurmurNode({ listen: ['/ip4/0.0.0.0/tcp/0'], seed: `bench-dialer-${process.pid}`, swarm: SWARM, logger: natLog.logger, reachability: { dht: false } });
  const monitor = new ReachabilityMonitor({ node, natLog, allowRelayedModels: true });
  monitor.start();
  const target = multiaddr(circuit!);
  const targetId = [...target.getComponents()].reverse().find((c) => c.name === 'p2p')!.value!;
  // Pushes go over one chosen connection, so each kind is timed on its own.
  let via: Connection | null = null;
  const ex = modelExchange({ receiver: fixedReceiver({ reason: 'truncated', detail: 'dialer accepts nothing' }), runOnLimitedConnection: true })({
    registrar: node, connectionManager: { openStream: (_peer, protocol, options) => via!.newStream(protocol, options) },
  });
  await ex.start();
  // A peer with a public address has it confirmed by AutoNAT (through the relay, its first contact) before
  // peers learn it; until then identify only shows its private ones and DCUtR has nothing to dial.
  const awaitPublicMs = Number(publicText ?? 0);
  if (awaitPublicMs > 0) {
    await node.dial(multiaddr(circuit!.split('/p2p-circuit')[0]!));
    const t0 = performance.now();
    while (!monitor.snapshot().publiclyReachable && performance.now() - t0 < awaitPublicMs) await sleep(50);
    print({ publiclyReachable: monitor.snapshot().publiclyReachable, confirmMs: performance.now() - t0 });
  }
  const push = async (conn: Connection): Promise<number[]> => {
    via = conn;
    await ex.send(conn.remotePeer, frame); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const t0 = performance.now();
      await ex.send(conn.remotePeer, frame);
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  for (let rep = 0; rep < reps; rep++) {
    // Each rep starts unconnected, so the dial below opens a new relayed connection.
    for (let i = 0; i < 100; i++) {
      const existing = node.getConnections().find((c) => c.remotePeer.toString() === targetId);
      if (existing === undefined) break;
      await node.hangUp(existing.remotePeer);
      await sleep(50);
    }
    const t0 = performance.now();
    const relayed = await node.dial(target);
    const relayMs = performance.now() - t0;
    if (!limited(relayed)) throw new Error(`rep ${rep}: the dial returned a direct connection (${relayed.remoteAddr.toString()}), not a new relayed one`);
    // DCUtR replaces the relayed connection when it can (and then closes it): wait for that, then push
    // over whichever connection is left, so a push never races the relayed connection's closing.
    let direct: Connection | undefined;
    let directMs: number | null = null;
    for (const end = performance.now() + upgradeWaitMs; performance.now() < end; await sleep(20)) {
      direct = node.getConnections().find((c) => c.remotePeer.toString() === targetId && c.status === 'open' && !limited(c));
      if (direct !== undefined) { directMs = performance.now() - t0; break; }
    }
    const pushMs = await push(direct ?? relayed);
    // Read after the pushes: the upgrade is complete once DCUtR has closed the relayed connection.
    const row = monitor.connections().find((c) => c.peer === targetId);
    print({ rep, relayMs, directMs, kind: direct !== undefined ? row?.kind ?? 'direct' : 'relayed', pushMs, holePunch: row?.holePunch ?? null });
    await node.hangUp(relayed.remotePeer);
  }
  print({ done: true });
  await ex.stop();
  monitor.stop();
  await node.stop();
  process.exit(0);
} else {
  process.stderr.write('usage: nat-bench-node.ts relay | target <relay address> | dialer <circuit> <reps> <frameBytes> <upgradeWaitMs> [awaitPublicMs]\n');
  process.exit(2);
}
