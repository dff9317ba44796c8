/**
 * Murmur daemons as real processes inside the namespaces of a test bed (scripts/lib/netns.ts): the built
 * CLI (`node dist/node/cli/main.js`, made by `npm ci`/`npm run build`), JSON log lines read as they come,
 * and the CLI run inside a daemon's namespace (its control API listens on that namespace's loopback).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  // A CLI process's start is CPU-bound: 60 s was not enough for seven at once at load 46.
  return cliInWithin(bed, d, args, 180_000);
}

/**
 * Keep what a failed test needs to be understood: each daemon's whole log in `<dir>/<name>.log` and its
 * `murmur status` / `murmur peers` views (each view best effort: a stuck daemon must not hide the rest).
 * Returns a digest to print: the files' directory, each daemon's last log lines and its views.
 */
export async function keepEvidence(bed: Testbed, daemons: Readonly<Record<string, NsDaemon>>, dir: string, tailLines = 25): Promise<string> {
  await mkdir(dir, { recursive: true });
  const parts = [`evidence kept in ${dir}`];
  for (const [name, d] of Object.entries(daemons)) {
    await writeFile(join(dir, `${name}.log`), d.proc.stderr.join('\n') + '\n');
    const views: string[] = [];
    for (const view of ['status', 'peers']) {
      const text = await cliInWithin(bed, d, [view], 15_000).catch((err: unknown) => `(murmur ${view} failed: ${(err as Error).message})`);
      await writeFile(join(dir, `${name}.${view}.txt`), text);
      views.push(`--- murmur ${view} (${name}) ---\n${text.trimEnd()}`);
      // The JSON view has what the table leaves out (connection directions, rejection reasons).
      const json = await cliInWithin(bed, d, [view, '--json'], 15_000).catch((err: unknown) => JSON.stringify({ error: (err as Error).message }));
      await writeFile(join(dir, `${name}.${view}.json`), json);
    }
    const exit = d.proc.child.exitCode === null ? 'running' : `exited ${d.proc.child.exitCode}`;
    parts.push(`=== ${name} (${d.ns}, ${exit}): last ${tailLines} log lines ===\n${d.proc.stderr.slice(-tailLines).join('\n')}`, ...views);
  }
  return parts.join('\n');
}

function cliInWithin(bed: Testbed, d: NsDaemon, args: readonly string[], timeoutMs: number): Promise<string> {
  return bed.exec(d.ns, process.execPath, [BUILT_MAIN, ...args, '--data-dir', d.dataDir], { timeoutMs });
}
