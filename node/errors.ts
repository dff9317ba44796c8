/**
 * Base of every error Murmuration throws on purpose. `code` is what crosses boundaries (CLI `--json`,
 * the control API, exit codes); match on it, never on the message text (STYLE.md "Errors").
 */
export class MurmurError extends Error {
  static override name = 'MurmurError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value, a CLI flag or a user file is invalid. */
export class ConfigError extends MurmurError {
  static override name = 'ConfigError';
  constructor(message: string, readonly problems: string[] = []) {
    super('ERR_CONFIG', message);
  }
}

/** Raised when an operation was aborted through its AbortSignal. */
export class AbortError extends MurmurError {
  static override name = 'AbortError';
  constructor(message = 'the operation was aborted') {
    super('ERR_ABORTED', message);
  }
}

/** The peer's model was made for another architecture than the one configured. */
export class PeerStateError extends MurmurError {
  static override name = 'PeerStateError';
  constructor(message: string) { super('ERR_PEER_STATE', message); }
}

/**
 * A ping reached a connected peer but could not run: a stream limit on either side, or the peer closed or
 * reset the stream. The peer is there (a gone peer has no connection, and its dial fails), only busy.
 */
export class PeerBusyError extends MurmurError {
  static override name = 'PeerBusyError';
  constructor(readonly peer: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_PEER_BUSY', `peer ${peer} is connected but did not take the ping: ${detail}`, options);
  }
}

/** A registry (algorithms, engines) was given a second entry under a name it already holds. */
export class DuplicateEntryError extends MurmurError {
  static override name = 'DuplicateEntryError';
  constructor(readonly registry: string, readonly entry: string) {
    super('ERR_DUPLICATE_ENTRY', `${registry} "${entry}" is already registered; pick another name`);
  }
}

/** The daemon could not listen on a configured address. */
export class ListenError extends MurmurError {
  static override name = 'ListenError';
  declare readonly code: 'ERR_ADDRESS_IN_USE' | 'ERR_LISTEN';
  constructor(code: 'ERR_ADDRESS_IN_USE' | 'ERR_LISTEN', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
