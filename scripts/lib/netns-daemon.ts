/**
 * Murmur daemons as real processes inside the namespaces of a test bed (scripts/lib/netns.ts): the built
 * CLI (`node dist/node/cli/main.js`, made by `npm ci`/`npm run build`), JSON log lines read as they come,
 * and the CLI run inside a daemon's namespace (its control API listens on that namespace's loopback).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NsProcess, Testbed } from './netns.js';

/** The built CLI the daemons run. */
export const BUILT_MAIN = fileURLToPath(new URL('../../dist/node/cli/main.js', import.meta.url));

/** Throws, naming the fix, when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` (npm ci builds it too)`);
}

/** A daemon started in a namespace. */
export interface NsDaemon {
  readonly ns: string;
  readonly dataDir: string;
  readonly proc: NsProcess;
}

/** Start `murmur daemon --data-dir <dataDir> …args` inside `ns`. */
export function daemonIn(bed: Testbed, ns: string, dataDir: string, args: readonly string[]): NsDaemon {
  const proc = bed.spawn(ns, process.execPath, [BUILT_MAIN, 'daemon', '--data-dir', dataDir, ...args], { ...process.env, MURMUR_DATA_DIR: '' });
  return { ns, dataDir, proc };
}

/** The daemon's JSON log lines so far (pino on stderr). */
export function logLines(d: NsDaemon): Array<Record<string, unknown>> {
  return d.proc.stderr.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
}

/**
 * Wait until `find` returns a value for the daemon's log (checked every 200 ms), or fail after `ms` with the
 * last log lines; a daemon that exits ends the wait at once.
 */
export async function waitForLog<T>(d: NsDaemon, what: string, find: (lines: Array<Record<string, unknown>>) => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = find(logLines(d));
    if (v !== undefined) return v;
    const tail = () => d.proc.stderr.slice(-12).join('\n');
    if (d.proc.child.exitCode !== null) throw new Error(`daemon in ${d.ns} exited (${d.proc.child.exitCode}) while waiting for ${what}:\n${tail()}`);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (daemon in ${d.ns}):\n${tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The peer id a started daemon logged ("murmur daemon running"). */
export function peerIdOf(lines: Array<Record<string, unknown>>): string | undefined {
  const running = lines.find((l) => l.msg === 'murmur daemon running');
  return typeof running?.peerId === 'string' ? running.peerId : undefined;
}

/** Run `murmur <args> --data-dir <the daemon's>` inside its namespace; returns stdout. */
export async function cliIn(bed: Testbed, d: NsDaemon, args: readonly string[]): Promise<string> {
  return bed.exec(d.ns, process.execPath, [BUILT_MAIN, ...args, '--data-dir', d.dataDir], { timeoutMs: 60_000 });
}
