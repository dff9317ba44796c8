/**
 * Errors of the control API: the server's start-up refusals, the client's connection failures and the
 * HTTP error bodies mapped back to codes. The code crosses the HTTP boundary in `{ success: false, code,
 * message }` bodies and the CLI's `--json` output; match on it, never on the message (STYLE.md "Errors").
 */
import { MurmurError } from '../errors.js';

/** Closed set of control error codes. */
export type ControlErrorCode =
  /** No control.json / control.token in the data dir, or nothing answers at the recorded address. */
  | 'ERR_NO_DAEMON'
  /** The daemon refused the bearer token (401). */
  | 'ERR_UNAUTHORIZED'
  /** The server was asked to bind a non-loopback host without `allowNonLoopback`. */
  | 'ERR_NON_LOOPBACK_BIND'
  /** The token or control.json file could not be written with mode 0600, or is malformed. */
  | 'ERR_CONTROL_FILE'
  /** The daemon did not answer within the client's timeout. */
  | 'ERR_CONTROL_TIMEOUT'
  /** The daemon answered something the client cannot use (bad JSON, oversized, unexpected status). */
  | 'ERR_CONTROL_RESPONSE'
  /** Server-side answers, carried back to the client by code. */
  | 'ERR_BAD_REQUEST'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_INTERNAL';

/** Every {@link ControlErrorCode}; the client uses it to accept only known codes from a response body. */
export const CONTROL_ERROR_CODES: readonly ControlErrorCode[] = [
  'ERR_NO_DAEMON', 'ERR_UNAUTHORIZED', 'ERR_NON_LOOPBACK_BIND', 'ERR_CONTROL_FILE', 'ERR_CONTROL_TIMEOUT',
  'ERR_CONTROL_RESPONSE', 'ERR_BAD_REQUEST', 'ERR_NOT_FOUND', 'ERR_METHOD_NOT_ALLOWED', 'ERR_PAYLOAD_TOO_LARGE',
  'ERR_INTERNAL',
];

/** A control API failure; `code` says which. The message never contains the bearer token. */
export class ControlError extends MurmurError {
  static override name = 'ControlError';
  declare readonly code: ControlErrorCode;
  constructor(code: ControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The ERR_NO_DAEMON error with the message the CLI shows, naming the data dir and how to start a daemon. */
export function noDaemonError(dataDir: string, why: string, cause?: unknown): ControlError {
  return new ControlError(
    'ERR_NO_DAEMON',
    `no murmur daemon is running with data dir ${dataDir} (${why}); start one with ` +
      `\`murmur daemon --data-dir ${dataDir}\`, or pass the --data-dir of a running daemon`,
    cause === undefined ? undefined : { cause },
  );
}
