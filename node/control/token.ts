/**
 * The control API's bearer token and the two files that advertise a running daemon, like cookie auth
 * in other daemons (DESIGN.md "Control API and CLI"): whoever can read the data dir may control the
 * daemon, nobody else. Files are written atomically (temp file + rename) with mode 0600 and checked
 * afterwards, so a reader never sees a half-written token and a permissive umask or filesystem is caught.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ControlError } from './errors.js';

/** File holding the bearer token (64 hex digits, no newline), mode 0600. */
export const TOKEN_FILE = 'control.token';
/** File holding {@link ControlEndpoint} as JSON, mode 0600. */
export const ENDPOINT_FILE = 'control.json';
/**
 * File the control server writes when it stops cleanly ({@link LastRun} as JSON): how offline inspection
 * (`murmur status` with no daemon running) knows since when the daemon is stopped.
 */
export const LAST_RUN_FILE = 'last-run.json';
/** Random bytes in a token; 32 bytes = 256 bits, shown as 64 hex digits. */
export const TOKEN_BYTES = 32;
/** Mode of the token and endpoint files: owner read/write only. */
export const SECRET_FILE_MODE = 0o600;

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** Content of control.json: where the daemon listens and who it is. */
export interface ControlEndpoint {
  /** Base URL the CLI should call, e.g. http://127.0.0.1:41234 (always a connectable address). */
  readonly url: string;
  readonly pid: number;
  /** Epoch ms. */
  readonly startedAt: number;
}

/** Content of last-run.json: the last daemon that stopped cleanly. Times are epoch ms. */
export interface LastRun {
  readonly pid: number;
  readonly startedAt: number;
  readonly stoppedAt: number;
}

/** A fresh random token: {@link TOKEN_BYTES} bytes as lowercase hex. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/** True if `text` has the shape of a token; lets readers reject a corrupt file without echoing it. */
export function isTokenShaped(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/**
 * Constant-time token check. Both sides are hashed first so the comparison always runs over two equal
 * 32-byte digests: `timingSafeEqual` needs equal lengths, and comparing raw lengths would leak the
 * token's length through timing.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Write `content` to `path` atomically with mode 0600: exclusive-create a temp file beside it with that
 * mode, write, fsync, rename over the target, then verify the final mode (skipped on Windows, which has
 * no POSIX modes). Throws ControlError ERR_CONTROL_FILE naming the path (never the content).
 */
export async function writeSecretFile(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', SECRET_FILE_MODE);
    try {
      await handle.writeFile(content, 'utf8');
      // The mode passed to open() is filtered by the umask, which can only remove bits; chmod makes the
      // intent explicit in case the file system applies its own defaults.
      await handle.chmod(SECRET_FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ControlError('ERR_CONTROL_FILE', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (process.platform !== 'win32') {
    const mode = (await stat(path)).mode & 0o777;
    if (mode !== SECRET_FILE_MODE) {
      await rm(path, { force: true });
      throw new ControlError(
        'ERR_CONTROL_FILE',
        `${path} has mode ${mode.toString(8)} after writing, expected ${SECRET_FILE_MODE.toString(8)}; ` +
          'use a data dir on a file system that supports POSIX permissions',
      );
    }
  }
}
