import { MurmurError } from '../errors.js';

/**
 * Why a store operation failed. Callers (the peer, the CLI's `--json`, the control API) match on these.
 * - `ERR_STORE_CORRUPT`: a stored record or the key file fails its checksum or cannot be decoded.
 * - `ERR_STORE_WRITE`: a write failed (full disk, I/O error, injected fault); nothing of it was applied.
 * - `ERR_STORE_READ`: a read failed for a reason other than corruption.
 * - `ERR_STORE_OPEN`: the database could not be opened (permissions, bad path).
 * - `ERR_STORE_CLOSED`: the store was used before start() or after stop().
 * - `ERR_STORE_LOCKED`: another process (or another Store in this one) holds the LevelDB lock.
 * - `ERR_STORE_INVALID`: the caller passed a record the store refuses (bad round, hash mismatch, not JSON).
 * - `ERR_ROUND_ORDER`: a commit's round is not greater than the last committed round.
 */
export type StoreErrorCode =
  | 'ERR_STORE_CORRUPT'
  | 'ERR_STORE_WRITE'
  | 'ERR_STORE_READ'
  | 'ERR_STORE_OPEN'
  | 'ERR_STORE_CLOSED'
  | 'ERR_STORE_LOCKED'
  | 'ERR_STORE_INVALID'
  | 'ERR_ROUND_ORDER';

/** Every error node/store.ts raises on purpose; `code` says which of {@link StoreErrorCode}. */
export class StoreError extends MurmurError {
  static override name = 'StoreError';
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A short "why" for an underlying error, for messages: its code (if any) and message. */
export function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const inner = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${inner}`;
  }
  return String(err);
}

/** True when an error (or its cause chain) says the disk is full. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ENOSPC' || /no space left/i.test(e.message)) return true;
  }
  return false;
}

/** Why a record did not decode; the store turns it into ERR_STORE_CORRUPT naming the key. */
export class RecordError extends Error {
  static override name = 'RecordError';
}

/** The data dir holds no store: nothing was ever run there, or the path is wrong. */
export class NoStoreError extends MurmurError {
  static override name = 'NoStoreError';
  declare readonly code: 'ERR_NO_STORE';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NO_STORE', message, options);
  }
}

// What LevelDB reported, turned into StoreErrors that say what to do.

/** Where a store lives, for its messages. */
export interface StoreWhere { dataDir: string; dbDir: string }

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** LevelDB reports the reason an open failed in `cause` (classic-level). */
function openFailureCode(err: unknown): string | undefined {
  return errorCode((err as { cause?: unknown } | null)?.cause) ?? errorCode(err);
}

/** Why the database at `dir` did not open: locked by another daemon, corrupt, or another reason. */
export function openError(dir: string, err: unknown): StoreError {
  const code = openFailureCode(err);
  if (code === 'LEVEL_LOCKED') {
    return new StoreError('ERR_STORE_LOCKED',
      `the database ${dir} is locked by another process (or another Store in this one): a murmur daemon may already be ` +
      'running with this data directory; stop it or choose another data directory', { cause: err });
  }
  if (code === 'LEVEL_CORRUPTION') {
    return new StoreError('ERR_STORE_CORRUPT', `the database ${dir} is corrupt: ${describeCause(err)}`, { cause: err });
  }
  return new StoreError('ERR_STORE_OPEN', `cannot open the database ${dir}: ${describeCause(err)}`, { cause: err });
}

/** A failed read of `key`. */
export function readError(where: StoreWhere, key: string, err: unknown): StoreError {
  const code = errorCode(err);
  if (code === 'LEVEL_CORRUPTION') return new StoreError('ERR_STORE_CORRUPT', `reading ${key} in ${where.dbDir}: ${describeCause(err)}`, { cause: err });
  if (code === 'LEVEL_DATABASE_NOT_OPEN') return new StoreError('ERR_STORE_CLOSED', `the store at ${where.dataDir} was closed while reading ${key}`, { cause: err });
  return new StoreError('ERR_STORE_READ', `cannot read ${key} in ${where.dbDir}: ${describeCause(err)}`, { cause: err });
}

/** A failed commit of `round`: nothing of it was stored; says what the store still holds. */
export function writeError(where: StoreWhere & { lastRound: number | null }, round: number, err: unknown): StoreError {
  if (errorCode(err) === 'LEVEL_DATABASE_NOT_OPEN') {
    return new StoreError('ERR_STORE_CLOSED', `the store at ${where.dataDir} was closed while committing round ${round}`, { cause: err });
  }
  const kept = where.lastRound === null ? 'it holds no committed round' : `it still holds round ${where.lastRound}`;
  const hint = isDiskFull(err) ? ' because the disk is full (free space; the next commit reopens the database and retries)' : '';
  return new StoreError('ERR_STORE_WRITE',
    `cannot commit round ${round} to ${where.dbDir}${hint}: ${describeCause(err)}; nothing of round ${round} was stored and ${kept}`, { cause: err });
}
