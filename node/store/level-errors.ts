/** The LevelDB store's errors: what LevelDB reported, turned into StoreErrors that say what to do. */
import { StoreError, describeCause, isDiskFull } from '../store-errors.js';

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
