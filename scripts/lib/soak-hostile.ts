/**
 * The hostile peer of a soak run: from the harness process, it keeps hitting live daemons with malformed
 * frames and endless length prefixes (on /murmur/model and before protocol negotiation), and takes a new
 * identity whenever a daemon has graylisted the current one, as a real attacker would.
 */
import { rngFor } from '../../node/data/rng.js';
import { MODEL_PROTOCOL } from '../../protocols/constants.js';
import { createMurmurNode, type MurmurNode } from '../../protocols/libp2p.js';
import { multiaddr } from '@multiformats/multiaddr';
import { endlessPrefix, endlessPrefixBeforeNegotiation } from './hostile.js';

export interface HostileReport {
  attacks: number;
  /** Attacks that reached a daemon, by kind. */
  byKind: Record<'malformed' | 'endless-prefix' | 'raw-prefix', number>;
  /** Attacks refused before they began (dial denied: the identity was graylisted), and identities used. */
  refused: number;
  identities: number;
}

const FLOOD_BYTES = 1024 * 1024;

/** Attack one of `targets()` (multiaddrs with /p2p) every 0.5–2 s until `signal` aborts. */
export async function runHostilePeer(targets: () => string[], seed: number, signal: AbortSignal): Promise<HostileReport> {
  const rng = rngFor('soak-hostile', seed);
  const report: HostileReport = { attacks: 0, byKind: { malformed: 0, 'endless-prefix': 0, 'raw-prefix': 0 }, refused: 0, identities: 0 };
  let node: MurmurNode | null = null;
  const fresh = async (): Promise<MurmurNode> => {
    await node?.stop();
    report.identities++;
    node = await createMurmurNode({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], preset: 'device' });
    return node;
  };
  let attacker = await fresh();
  try {
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, 500 + rng.int(1500)));
      const live = targets();
      if (live.length === 0 || signal.aborted) continue;
      const target = multiaddr(live[rng.int(live.length)]!);
      const kind = (['malformed', 'endless-prefix', 'raw-prefix'] as const)[rng.int(3)]!;
      report.attacks++;
      try {
        if (kind === 'malformed') {
          const stream = await attacker.dialProtocol(target, MODEL_PROTOCOL);
          const garbage = Uint8Array.from({ length: 2000 }, () => rng.int(256));
          // A well-formed length prefix (2000), then 2000 bytes no codec accepts.
          stream.send(Uint8Array.of(0xd0, 0x0f));
          stream.send(garbage);
          await stream.close().catch(() => {});
        } else if (kind === 'endless-prefix') {
          await endlessPrefix(attacker, target, MODEL_PROTOCOL, FLOOD_BYTES);
        } else {
          await endlessPrefixBeforeNegotiation(attacker, target, FLOOD_BYTES);
        }
        report.byKind[kind]++;
      } catch {
        // Refused at the door (graylisted, or the daemon is restarting): come back as someone else.
        report.refused++;
        attacker = await fresh();
      }
    }
  } finally {
    await (node as MurmurNode | null)?.stop();
  }
  return report;
}
