/**
 * Read a peer's store while no daemon runs, without changing it (issue 13, "offline inspection").
 *
 * LevelDB has no read-only mode: opening a database takes its LOCK, may replay the write-ahead log into a
 * new table and starts a fresh log, and an open on a missing directory creates an empty database. So the
 * store is never opened in place: `db/` is copied (without its LOCK) into a private temporary directory,
 * the copy is opened with the ordinary {@link store}, and the copy is removed on close. Table files
 * (`*.ldb`, `*.sst`) are immutable once written, so they are hard-linked where the file system allows it
 * (same device) rather than copied: a store with many checkpoints opens in milliseconds, and LevelDB only
 * ever unlinks a table, which leaves the original untouched. The data dir is
 * only read, a daemon starting meanwhile finds its lock free, and a missing data dir is an error naming
 * it rather than a new empty store.
 */
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { NoStoreError } from './errors.js';
import { IDENTITY_FILE } from './identity.js';
import { store } from './level-store.js';
import type { Store } from './types.js';

/** Directory of the LevelDB database inside a data dir (see level-store.ts). */
export const DB_DIR = 'db';
/** LevelDB's lock file: never copied, so the copy opens whoever holds the original's. */
const LOCK_FILE = 'LOCK';

/** A read-only view of a stopped peer's store; close() removes the private copy. */
export interface StoreSnapshot {
  /** The absolute data dir that was read. */
  readonly dataDir: string;
  /** The store opened on the copy. Only read from it: writes would go to the copy and be lost. */
  readonly store: Store;
  /** The peer id of `<dataDir>/peer.key`, or null when there is none. */
  readonly peerId: string | null;
  close(): Promise<void>;
}

/** True when `dataDir` holds a store (a `db/` directory), without creating anything. */
export async function hasStore(dataDir: string): Promise<boolean> {
  try {
    return (await stat(path.join(path.resolve(dataDir), DB_DIR))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Copy `<dataDir>/db` to a private temporary directory and open the copy. Throws NoStoreError
 * (ERR_NO_STORE) naming the directory when there is no store there; StoreError for a corrupt one.
 * Nothing under `dataDir` is created, locked or modified.
 */
export async function openStoreSnapshot(dataDir: string): Promise<StoreSnapshot> {
  const dir = path.resolve(dataDir);
  if (!(await hasStore(dir))) {
    throw new NoStoreError(`${dir} holds no murmur store (no ${DB_DIR}/ directory there): check --data-dir, or start a daemon there first`);
  }
  const tmp = await mkdtemp(path.join(tmpdir(), 'murmur-inspect-'));
  const snapshot = store({ dataDir: tmp, sync: false });
  try {
    await copyDb(path.join(dir, DB_DIR), path.join(tmp, DB_DIR));
    await snapshot.start();
  } catch (err) {
    await snapshot.stop().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const peerId = await readPeerId(dir);
  let closing: Promise<void> | null = null;
  return {
    dataDir: dir,
    store: snapshot,
    peerId,
    close: () => (closing ??= snapshot.stop().finally(() => rm(tmp, { recursive: true, force: true }))),
  };
}

/** Immutable LevelDB table files: linked rather than copied when possible. */
const TABLE_FILE = /\.(ldb|sst)$/;

/** Copy a LevelDB directory (flat) without its LOCK, hard-linking the table files when on the same device. */
async function copyDb(from: string, to: string): Promise<void> {
  await mkdir(to);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name === LOCK_FILE) continue;
    const src = path.join(from, entry.name), dst = path.join(to, entry.name);
    if (TABLE_FILE.test(entry.name)) {
      try { await link(src, dst); continue; } catch { /* another device or no links: copy below */ }
    }
    await copyFile(src, dst);
  }
}

/** The peer id in `<dataDir>/peer.key`, or null if the file is missing or unreadable (it is only shown). */
export async function readPeerId(dataDir: string): Promise<string | null> {
  try {
    const bytes = await readFile(path.join(dataDir, IDENTITY_FILE));
    return peerIdFromPrivateKey(privateKeyFromProtobuf(bytes)).toString();
  } catch {
    return null;
  }
}
