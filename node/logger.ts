/**
 * The daemon's root logger (STYLE.md "Logging"): pino JSON lines by default, human-readable when stderr is a
 * terminal. Components get children (`logger.child({ component })`); the simulator hands peers a silent one.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable output; default: whether stderr is a TTY. */
  pretty?: boolean;
  /** Base fields on every line (e.g. the peer id). */
  base?: Record<string, unknown>;
}

/** Root logger writing to stderr (stdout is for command results). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const base = { ...options.base };
  const redact = { paths: ['token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' };
  if (options.pretty ?? process.stderr.isTTY) {
    return pino({ level, base, redact }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino({ level, base, redact }, pino.destination({ dest: 2, sync: true }));
}

const SILENT: Logger = pino({ level: 'silent' });

/** A logger that drops everything, for simulated peers and tests (one shared instance: it holds no state). */
export function silentLogger(): Logger {
  return SILENT;
}
