/**
 * libp2p's component logger for simulated swarm nodes: when no debug output is asked for (DEBUG unset, the
 * variable @libp2p/logger reads), one shared disabled logger instead of @libp2p/logger's. Theirs builds two
 * or three `debug` instances for every logger and every `newScope` (libp2p makes several per connection, per
 * stream and per noise handshake), and each instance asks `tty.isatty(stderr)`: ~5% of a 500-peer bring-up's
 * main thread, all for loggers that print nothing (protocols/docs/exchange-tuning.md §15). With DEBUG set the
 * swarm gets @libp2p/logger's, so `DEBUG=libp2p:*` still works.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';

function nothing(): void {}

/** A logger that is off, with off error and trace loggers, whose scopes are itself. */
export const disabledLogger: Logger = Object.assign(function disabled(): void {}, {
  enabled: false,
  error: Object.assign(nothing.bind(null), { enabled: false }),
  trace: Object.assign(nothing.bind(null), { enabled: false }),
  newScope: (): Logger => disabledLogger,
});

/** Whether @libp2p/logger would print anything: it reads the namespaces from DEBUG at load. */
export function debugRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.DEBUG ?? '').trim() !== '';
}

/** The disabled logger for every component unless DEBUG asks for output (then @libp2p/logger's). */
export function swarmLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger {
  return debugRequested(env) ? defaultLogger() : { forComponent: () => disabledLogger };
}
