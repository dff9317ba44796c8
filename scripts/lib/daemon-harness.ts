/** Start `murmur daemon` child processes and drive the CLI against them. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeLayout, type Layout } from '../../aggregation/layout.js';
import { connectControl, type ControlClient } from '../../node/control/client.js';
import type { ModelInfo, StatusInfo } from '../../node/control/types.js';

const run = promisify(execFile);
export const MAIN = fileURLToPath(new URL('../../node/cli/main.ts', import.meta.url));

export interface DaemonProcess { child: ChildProcess; dataDir: string; log: string[]; exited: Promise<number | null> }

/**
 * Spawn a daemon; its stderr (JSON log lines) is collected in `log`. `nodeArgs` go to node before the
 * entry point (e.g. `--import` of a fault-injecting preload).
 */
export function spawnDaemon(dataDir: string, args: string[], options: { nodeArgs?: string[] } = {}): DaemonProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', MAIN, 'daemon', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MURMUR_DATA_DIR: '' },
  });
  const log: string[] = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    log.push(...lines);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, dataDir, log, exited };
}

/** Run `murmur <args> --json` and parse stdout. */
export async function cli<T = unknown>(args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args, '--json'], { timeout: 60_000 });
  return JSON.parse(stdout) as T;
}

/** Poll `fn` until it returns a truthy value or `deadlineMs` passes (then throw with the last error). */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, deadlineMs = 90_000, everyMs = 500): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { last = err; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function logEntries(d: DaemonProcess): Array<Record<string, unknown>> {
  return d.log.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
}

/**
 * Wait until a spawned daemon serves its control API and its model, then rebuild its layout. A daemon that
 * exits while starting ends the wait at once with its last log lines.
 */
export async function startedDaemon(daemon: DaemonProcess): Promise<{ client: ControlClient; model: ModelInfo; status: StatusInfo; layout: Layout }> {
  const died = daemon.exited.then((code) => { throw new Error(`the daemon exited (${String(code)}) while starting:\n${daemon.log.slice(-10).join('\n')}`); });
  died.catch(() => undefined);
  const client: ControlClient = await Promise.race([waitFor('the daemon’s control API', () => connectControl(daemon.dataDir), 120_000), died]);
  const model = await waitFor('the daemon’s model', () => client.get<ModelInfo | null>('/model'), 60_000);
  const status = await client.get<StatusInfo>('/status');
  const layout = makeLayout(model.tensors.map((t) => ({ name: t.name, shape: t.shape, role: t.role })));
  if (layout.hash !== model.layoutHash) throw new Error(`rebuilt layout ${layout.hash} differs from the daemon's ${model.layoutHash}`);
  return { client, model, status, layout };
}
