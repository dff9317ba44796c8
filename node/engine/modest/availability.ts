/**
 * MoDeST's availability check (ALGORITHMS.md §3.1, the authors' `PingPeersRequestCache`): walk the sample
 * order and keep `count` pings in flight; a peer that answers is taken, a silent one (timeout or error) makes
 * room for the next candidate. Ourselves count as available without a ping.
 */
import type { Clock } from '../../clock.js';
import { PeerBusyError } from '../../errors.js';
import type { EngineContext } from '../context.js';
import { FailedProbes } from './watch.js';

/**
 * The first `count` peers of `order` that answer `ping` (resolving true), returned in order. With fewer
 * live candidates than `count`, returns every one that answered. `ping` carries its own timeout; a
 * rejection counts as silence.
 */
export function firstAvailable(order: readonly string[], count: number, self: string, ping: (peer: string) => Promise<boolean>): Promise<string[]> {
  const alive = new Array<boolean>(order.length).fill(false);
  let found = 0, inFlight = 0, next = 0;
  return new Promise<string[]>((resolve) => {
    const settle = (): void => {
      if (inFlight === 0 && (found >= count || next >= order.length)) resolve(order.filter((_, k) => alive[k]).slice(0, count));
    };
    const launch = (): void => {
      while (found + inFlight < count && next < order.length) {
        const k = next++;
        if (order[k] === self) { alive[k] = true; found++; continue; }
        inFlight++;
        const done = (ok: boolean): void => {
          inFlight--;
          if (ok) { alive[k] = true; found++; }
          launch();
        };
        ping(order[k]!).then(done, () => done(false));
      }
      settle();
    };
    launch();
  });
}

/** Availability pings of one engine: at most one in flight per peer (libp2p allows one outbound ping stream a connection). */
export class PeerPings {
  private readonly inFlight = new Map<string, Promise<boolean>>();

  /** `onAnswer` runs for every peer that answered (an activity update, §3.3). */
  constructor(private readonly ctx: Pick<EngineContext, 'network' | 'clock' | 'logger'>, private readonly timeoutMs: number,
    private readonly signal: AbortSignal, private readonly onAnswer: (peer: string) => void) {}

  /** Is `peer` there? Resolves false on no answer within the ping timeout or any ping error but PeerBusyError (connected, busy). */
  ping(peer: string): Promise<boolean> {
    const { ctx } = this;
    let p = this.inFlight.get(peer);
    if (p === undefined) {
      p = ctx.network.ping(peer, { signal: ctx.clock.timeout(this.timeoutMs, this.signal) })
        .then(() => { this.onAnswer(peer); return true; }, (err: unknown) => {
          // Connected but too busy to take the ping stream: there, so not a reason to replace it.
          if (err instanceof PeerBusyError) {
            ctx.logger.debug({ peer, err: err.message }, 'availability ping not taken by a connected peer; counted as there');
            return true;
          }
          ctx.logger.debug({ peer, err: (err as Error)?.message }, 'no answer to the availability ping');
          return false;
        })
        .finally(() => this.inFlight.delete(peer));
      this.inFlight.set(peer, p);
    }
    return p;
  }
}

/**
 * While an aggregation waits, probe the sampled trainers whose model is still missing every `everyMs`; call
 * `onGone` with every one found gone so far (watch.ts GONE_AFTER_FAILED_PROBES unanswered probes in a row) (ours, for the §3.2 quorum: a trainer that crashed after it got
 * the average would make the aggregator wait out its whole timeout). Ends when `signal` aborts.
 */
export async function probeMissing(clock: Clock, everyMs: number, signal: AbortSignal, missing: () => readonly string[],
  alive: (peer: string) => Promise<boolean>, onGone: (gone: readonly string[]) => void): Promise<void> {
  const gone = new Set<string>();
  const failed = new FailedProbes();
  try {
    for (;;) {
      await clock.sleep(everyMs, { signal });
      const ask = missing().filter((p) => !gone.has(p));
      const answers = await Promise.all(ask.map((p) => alive(p)));
      signal.throwIfAborted();
      const found = ask.filter((p, i) => failed.count(p, answers[i]!));
      if (found.length === 0) continue;
      for (const p of found) gone.add(p);
      onGone([...gone]);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
