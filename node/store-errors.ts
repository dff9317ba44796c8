import { MurmurError } from './errors.js';

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
