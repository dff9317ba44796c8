/**
 * The libp2p identity file `<dataDir>/peer.key`: the private key as libp2p protobuf, mode 0600
 * (notes/libp2p-v3.md §5). An identity is the peer id its neighbours know, so it is never replaced
 * silently: a corrupt file is an error naming it, and creation cannot overwrite a file another
 * process created at the same moment.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { StoreError, describeCause, isDiskFull } from './errors.js';

/** File name of the identity inside the data directory. */
export const IDENTITY_FILE = 'peer.key';

/** Create `dir` (and parents) with mode 0700 if missing; an existing directory keeps its mode. */
export async function ensureDataDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError('ERR_STORE_OPEN', `cannot create the data directory ${dir}: ${describeCause(err)}`, { cause: err });
  }
}

/** fsync a directory so a rename or link inside it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

async function readIdentity(file: string): Promise<PrivateKey | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoreError('ERR_STORE_READ', `cannot read the identity file ${file}: ${describeCause(err)}`, { cause: err });
  }
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new StoreError('ERR_STORE_CORRUPT',
      `the identity file ${file} is corrupt (${bytes.length} bytes; ${describeCause(err)}); restore it from a backup, ` +
      'or move it away to create a new identity (the peer id will change)', { cause: err });
  }
  // The key must not be readable by others (DESIGN.md "Persistence"); tighten a copied or restored file.
  const st = await fs.stat(file);
  if ((st.mode & 0o077) !== 0) await fs.chmod(file, 0o600);
  return key;
}

/**
 * Write `bytes` to `file` without ever exposing a partial file or replacing an existing one: write a unique
 * temporary file (mode 0600), fsync it, hard-link it to the final name (fails with EEXIST if the name is
 * taken), fsync the directory, remove the temporary name. Returns false if `file` already existed.
 */
async function writeExclusive(file: string, bytes: Uint8Array): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    await syncDir(path.dirname(file));
    return true;
  } catch (err) {
    const hint = isDiskFull(err) ? ' (the disk is full: free space and restart)' : '';
    throw new StoreError('ERR_STORE_WRITE', `cannot write the identity file ${file}${hint}: ${describeCause(err)}`, { cause: err });
  } finally {
    // Best effort: a leftover temporary file has a unique name and never shadows the identity.
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Load the identity from `<dataDir>/peer.key`, or create an Ed25519 key there on first use. If another
 * process creates it concurrently, both end up with the one that reached the disk first.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  await ensureDataDir(dataDir);
  const file = path.join(dataDir, IDENTITY_FILE);
  const existing = await readIdentity(file);
  if (existing !== null) return existing;
  const key = await generateKeyPair('Ed25519');
  if (await writeExclusive(file, privateKeyToProtobuf(key))) return key;
  const winner = await readIdentity(file);
  if (winner === null) throw new StoreError('ERR_STORE_READ', `the identity file ${file} vanished while it was being created`);
  return winner;
}
