/**
 * A libp2p component logger that logs nothing and allocates nothing per component, connection or stream:
 * for simulated swarms of hundreds of nodes in one process when no `DEBUG` namespace is set. libp2p's default
 * logger (@libp2p/logger) builds three `debug` functions per component and again per scope (`newScope`, one per
 * connection, muxer and stream), which are then live as long as those are: about 10 kB of the ~58 kB of heap
 * per connection end, i.e. ~40 MB of the ~250 MB a 500-peer, 8-regular swarm keeps alive and every
 * mark-compact walks (protocols/docs/exchange-tuning.md §16).
 */
import type { ComponentLogger, Logger } from '@libp2p/interface';

const silent = Object.assign((() => {}) as (formatter: unknown, ...args: unknown[]) => void, {
  error: (): void => {},
  trace: (): void => {},
  enabled: false,
  newScope: (): Logger => silent,
}) satisfies Logger;

/** A ComponentLogger whose every logger is one shared no-op. */
export const quietLogger: ComponentLogger = { forComponent: () => silent };

/** quietLogger unless the environment asks for libp2p's debug output (`DEBUG` set). */
export function swarmLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  return env.DEBUG === undefined || env.DEBUG === '' ? quietLogger : undefined;
}
