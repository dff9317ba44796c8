/**
 * Reference tools measured in the same run (STYLE.md "Benchmarks"; ../shared/anchors/README.md): a benchmark
 * whose target is relative to gossipy or byzfl runs the tool through the anchors' `run` script right before its
 * own measurement. Where the anchors are not set up (no script, setup.sh never run, the tool fails), `anchor`
 * returns null with the reason, and the benchmark falls back to the figure measured when its target was set,
 * saying so in a warning.
 *
 * The script is ../shared/anchors/run relative to the repository root, or MURMUR_ANCHORS_RUN.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with a package.json (scripts/lib, or dist/scripts/lib). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const ROOT = repositoryRoot();
const RUN = process.env.MURMUR_ANCHORS_RUN ?? join(ROOT, '..', 'shared', 'anchors', 'run');

export type AnchorResult = { ok: true; result: Record<string, unknown>; seconds: number } | { ok: false; reason: string };

/** Run `tool` (gossipy | byzfl) with `args` from the repository root; its last stdout line is its JSON result. */
export function anchor(tool: 'gossipy' | 'byzfl', args: readonly string[], timeoutMs = 15 * 60_000): AnchorResult {
  if (!existsSync(RUN)) return { ok: false, reason: `no anchors script at ${RUN} (set MURMUR_ANCHORS_RUN)` };
  const t0 = performance.now();
  const r = spawnSync(RUN, [tool, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error) return { ok: false, reason: `${tool}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${tool} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return { ok: true, result: JSON.parse(line) as Record<string, unknown>, seconds };
  } catch {
    return { ok: false, reason: `${tool} printed no JSON result: ${line.slice(0, 200)}` };
  }
}

/** The warning a benchmark prints when it falls back to a fixed reference figure. */
export function fallbackWarning(tool: string, reason: string, when: string): string {
  return `WARNING: ${tool} could not run in this benchmark (${reason}); comparing with the fixed figures measured ${when} instead. `
    + 'On a shared machine these are not a same-run reference: run ../shared/anchors/setup.sh once.';
}
