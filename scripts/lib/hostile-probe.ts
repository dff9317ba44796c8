/**
 * Measure what a hostile stream costs a receiver running our model exchange: ping RTTs to the receiver
 * while a flood runs, how long the flood's stream lives, and the receiver's RSS growth. Both peers run in
 * this process, as separate libp2p nodes over loopback TCP (the receiver's event loop is the one that
 * stalls; the pinger shares it, so a ping delay measures exactly that stall).
 */
import { makeLayout } from '../../aggregation/layout.js';
import { MODEL_PROTOCOL } from '../../protocols/constants.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';
import { libp2pNetwork } from '../../protocols/libp2p-network.js';
import { endlessPrefix, endlessPrefixBeforeNegotiation, type FloodOutcome } from './hostile.js';

/** What one probe measured. */
export interface HostileProbe extends FloodOutcome {
  /** Ping RTTs (ms) taken every 10 ms while the flood ran, and the worst one. */
  readonly pings: number[];
  readonly maxPingMs: number;
  /** Receiver-side RSS growth over the flood, MB (whole process: both peers share it). */
  readonly rssGrowthMb: number;
  /** The receiver's counted inbound rejections by reason. */
  readonly rejections: Record<string, number>;
}

/** Run one flood of `bytes` against a fresh receiver, 'protocol' (after negotiation) or 'raw' (before it). */
export async function probeHostileStream(kind: 'protocol' | 'raw', bytes: number): Promise<HostileProbe> {
  const layout = makeLayout([{ name: 'w', shape: [784, 10], role: 'kernel' }, { name: 'b', shape: [10], role: 'bias' }]);
  const receiverNode = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], preset: 'device' });
  const network = libp2pNetwork({ node: receiverNode, swarm: 'probe', layout });
  await network.start();
  const attacker = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], preset: 'device' });
  const pinger: MurmurNode = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], preset: 'device' });
  try {
    const target = receiverNode.getMultiaddrs()[0]!;
    await pinger.services.ping.ping(target);
    await attacker.dial(target);
    const pings: number[] = [];
    let flooding = true;
    const pingLoop = (async () => {
      while (flooding) {
        const t0 = performance.now();
        try { await pinger.services.ping.ping(target); pings.push(performance.now() - t0); } catch { /* stream still closing */ }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const outcome = kind === 'protocol'
      ? await endlessPrefix(attacker, target, MODEL_PROTOCOL, bytes)
      : await endlessPrefixBeforeNegotiation(attacker, target, bytes);
    const rss1 = process.memoryUsage().rss;
    flooding = false;
    await pingLoop;
    const rejections: Record<string, number> = {};
    for (const t of network.traffic()) for (const [r, n] of Object.entries(t.rejections)) rejections[r] = (rejections[r] ?? 0) + n;
    return { ...outcome, pings, maxPingMs: Math.max(0, ...pings), rssGrowthMb: (rss1 - rss0) / 1e6, rejections };
  } finally {
    await Promise.all([attacker.stop(), pinger.stop(), network.stop()]);
  }
}
