/**
 * The daemon's start-up failure path (issue 13): a failed start says what went wrong in our words, and
 * leaves the data dir as it found it. libp2p reports a port in use as a multi-line message with a stack
 * trace and advice about `transportManager.faultTolerance`, which is not a setting of ours; and by the time
 * it listens, the store and the identity file already exist, so a failed first start used to leave
 * `peer.key`, `db/` and `p2p/` behind.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListenError } from './errors.js';

const LISTEN_FAILURE = /(\/\S+): Error: listen (E[A-Z]+)/g;

/**
 * A typed error for libp2p's "failed to be listened on" error, naming each address and the fix; any other
 * error unchanged.
 */
export function explainStartError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : '';
  const failures = [...message.matchAll(LISTEN_FAILURE)].map((m) => ({ address: m[1]!, code: m[2]! }));
  if (failures.length === 0) return err;
  const inUse = failures.every((f) => f.code === 'EADDRINUSE');
  const what = failures.map((f) => `${f.address} (${f.code === 'EADDRINUSE' ? 'port already in use' : f.code === 'EADDRNOTAVAIL' ? 'no such local address' : f.code === 'EACCES' ? 'permission denied' : f.code})`).join(', ');
  const fix = inUse
    ? 'another murmur daemon or program holds the port: stop it, or choose another port with --listen (tcp/0 picks a free one)'
    : 'check the address with --listen (tcp/0 picks a free port)';
  return new ListenError(inUse ? 'ERR_ADDRESS_IN_USE' : 'ERR_LISTEN', `cannot listen on ${what}; ${fix}`, { cause: err });
}

/** What a daemon start creates in its data dir; a failed start removes the ones that were not there before. */
const CREATED_BY_START = ['db', 'p2p', 'peer.key', 'control.token', 'control.json'] as const;

/** A record of what the data dir held before start; `undo()` removes what the failed start added. */
export interface StartFootprint {
  undo(): Promise<void>;
}

/** Note which of the daemon's files exist in `dataDir` now (call before the store opens). */
export async function recordStartFootprint(dataDir: string): Promise<StartFootprint> {
  const dir = path.resolve(dataDir);
  const exists = async (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
  const dirExisted = await exists(dir);
  const existed = new Set<string>();
  for (const name of CREATED_BY_START) if (await exists(path.join(dir, name))) existed.add(name);
  return {
    async undo() {
      if (!dirExisted) {
        await rm(dir, { recursive: true, force: true });
        return;
      }
      for (const name of CREATED_BY_START) if (!existed.has(name)) await rm(path.join(dir, name), { recursive: true, force: true });
    },
  };
}

/**
 * One full garbage collection once the daemon is up. Start-up leaves garbage a quiet daemon may hold for a
 * long time: the whole dataset the device's share was copied from (31 MB of digits in a SharedArrayBuffer,
 * freed only by a full collection) and the parsing and module-loading leftovers. A steady daemon allocates
 * little, so V8 runs no full collection for minutes; this returns ~50–60 MB at once. `gc` is reached the
 * documented way for a running process: enable the flag, then take the function from a fresh context.
 */
export function collectStartupGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  gc?.();
}
