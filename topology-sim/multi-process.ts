/**
 * A swarm over several OS processes (issue "Topology simulator", item 12): each process hosts the peers
 * i ≡ share (mod K) on fixed TCP addresses and writes one partial record per round; the partials are merged
 * into one report. `murmur sim --processes K` spawns the K shares on this machine; on several machines each is
 * started by hand with `--share s/K --partials FILE` (and `network.hosts` in the experiment), then
 * `murmur sim-merge FILE… --out DIR` merges them.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../node/errors.js';
import type { RoundRecord } from './metrics.js';
import { combinePartials, decodePartial, type RoundPartial } from './round-partial.js';
import { SwarmError } from './errors.js';

/** Group partials by run and round and combine each group (in run order, then round order). */
export function mergePartials(partials: readonly RoundPartial[], runs: readonly string[], shares: number): RoundRecord[] {
  const records: RoundRecord[] = [];
  for (const run of runs) {
    const byRound = new Map<number, RoundPartial[]>();
    for (const p of partials) if (p.run === run) byRound.set(p.round, [...(byRound.get(p.round) ?? []), p]);
    let previous: RoundRecord | undefined;
    for (const round of [...byRound.keys()].sort((a, b) => a - b)) {
      const parts = byRound.get(round)!;
      // A round some share never finished (interrupted, crashed) is left out rather than reported from part of the swarm.
      if (parts.length < shares) continue;
      previous = combinePartials(parts, previous);
      records.push(previous);
    }
  }
  return records;
}

export async function readPartials(files: readonly string[]): Promise<RoundPartial[]> {
  const out: RoundPartial[] = [];
  for (const f of files) {
    let text: string;
    try { text = await readFile(f, 'utf8'); } catch (err) { throw new ConfigError(`cannot read partial results ${f}: ${(err as Error).message}`); }
    text.split('\n').forEach((line, k) => {
      if (!line.trim()) return;
      try { out.push(decodePartial(line)); } catch { throw new ConfigError(`${f}:${k + 1}: not a partial round record`); }
    });
  }
  return out;
}

/**
 * Spawn K share processes of `murmur sim` on this machine, wait for all, and return their partial files. The
 * resolved experiment goes to `<outDir>/shares/experiment.json` so every share simulates exactly the same thing.
 */
export async function runShares(o: { raw: unknown; outDir: string; processes: number; backend?: string; signal?: AbortSignal; onInfo?: (l: string) => void }): Promise<string[]> {
  const dir = join(o.outDir, 'shares');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'experiment.json');
  await writeFile(file, JSON.stringify(o.raw));
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../node/cli/main.ts' : '../node/cli/main.js', import.meta.url));
  const execArgv = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const workers = Math.max(1, Math.floor(availableParallelism() / o.processes));
  const files = Array.from({ length: o.processes }, (_, s) => join(dir, `share-${s}.jsonl`));
  const children = files.map((partials, s) => spawn(process.execPath, [...execArgv, main, 'sim', file, '--share', `${s}/${o.processes}`,
    '--partials', partials, '--workers', String(workers), '--quiet', ...(o.backend ? ['--backend', o.backend] : [])],
  { stdio: ['ignore', 'ignore', 'pipe'] }));
  const stop = () => { for (const c of children) c.kill('SIGINT'); };
  o.signal?.addEventListener('abort', stop, { once: true });
  const failures: string[] = [];
  const codes = await Promise.all(children.map((c, s) => new Promise<number | null>((resolve) => {
    let err = '';
    c.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    c.once('exit', (code) => {
      if (code !== 0 && !o.signal?.aborted) {
        failures.push(`share ${s} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
        // The other shares would wait for this one's peers until their connect timeout: stop them now.
        for (const other of children) if (other !== c && other.exitCode === null) other.kill('SIGTERM');
      }
      resolve(code);
    });
  })));
  o.signal?.removeEventListener('abort', stop);
  if (!o.signal?.aborted && codes.some((c) => c !== 0)) throw new SwarmError('ERR_SHARE_FAILED', `share processes failed:\n  ${failures.join('\n  ')}`);
  return files;
}
