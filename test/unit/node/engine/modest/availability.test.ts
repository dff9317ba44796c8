import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError, PeerBusyError } from '../../../../../node/errors.js';
import { silentLogger } from '../../../../../node/logger.js';
import { PeerPings } from '../../../../../node/engine/modest/availability.js';
import type { Clock } from '../../../../../node/clock.js';

/** PeerPings over a network whose ping answers per peer as `outcome` says. */
function pingsWith(outcome: Record<string, () => Promise<number>>): { pings: PeerPings; answered: string[] } {
  const answered: string[] = [];
  const signal = new AbortController().signal;
  const clock = { timeout: () => signal } as unknown as Clock;
  const network = { ping: (peer: string) => outcome[peer]!() };
  const ctx = { network, clock, logger: silentLogger() } as unknown as ConstructorParameters<typeof PeerPings>[0];
  return { pings: new PeerPings(ctx, 2_000, signal, (p) => answered.push(p)), answered };
}

describe('MoDeST availability pings', () => {
  it('count a connected peer too busy to take the ping as there, and a silent or unreachable one as not', async () => {
    const { pings, answered } = pingsWith({
      up: async () => 3,
      busy: async () => { throw new PeerBusyError('busy', 'StreamStateError: stream closed'); },
      gone: async () => { throw Object.assign(new Error('peer gone is unreachable'), { code: 'ERR_PEER_UNREACHABLE' }); },
      silent: async () => { throw new AbortError('timed out'); },
    });
    assert.deepEqual(await Promise.all(['up', 'busy', 'gone', 'silent'].map((p) => pings.ping(p))), [true, true, false, false]);
    // Only an answer is activity (§3.3): a busy peer is not marked active.
    assert.deepEqual(answered, ['up']);
  });
});
