/**
 * Shared benchmark helpers (STYLE.md "Benchmarks"): environment header, warm-up + N timed repetitions
 * with median/min/max, and the single closing verdict line.
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { kernelInfo } from '../../aggregation/kernels/wasm.js';

export interface Timing { median: number; min: number; max: number; samples: number[] }

export const jsonMode = process.argv.includes('--json');

/** Median, min and max of a list of numbers. */
export function summarize(samples: number[]): Timing {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, samples };
}

/** Run `fn` once to warm up, then `reps` timed times; times are ms and stop when the awaited work is done. */
export async function timeIt(fn: () => unknown | Promise<unknown>, reps: number, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

function commit(): string {
  try { return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return 'unknown'; }
}

/** The numeric kernels this thread runs (WebAssembly SIMD or scalar JS) and why, as benchmarks print it. */
export function describeKernels(): string {
  const k = kernelInfo();
  return `${k.variant} (${k.reason})`;
}

/** Print the environment block every benchmark starts with (numeric kernels and load average included). */
export function printEnv(extra: Record<string, unknown> = {}): void {
  const env = {
    node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', commit: commit(),
    kernels: describeKernels(), load: os.loadavg().map((x) => x.toFixed(2)).join(' '), ...extra,
  };
  if (!jsonMode) console.log(Object.entries(env).map(([k, v]) => `${k}: ${String(v)}`).join('\n'));
}

export const fmtMs = (t: Timing): string => `median ${t.median.toFixed(2)} ms (min ${t.min.toFixed(2)}, max ${t.max.toFixed(2)})`;

export interface Check { name: string; pass: boolean; figure: string; target: string }

/**
 * Print the checks, then the one verdict line; exit non-zero on failure. With several checks the
 * verdict names the first failing one (or summarises all when every check passed).
 */
export function verdict(checks: Check[], figures: Record<string, unknown> = {}): never {
  const failed = checks.filter((c) => !c.pass);
  if (jsonMode) console.log(JSON.stringify({ figures, checks, pass: failed.length === 0 }));
  else for (const c of checks) console.log(`  ${c.pass ? 'ok  ' : 'FAIL'} ${c.name}: ${c.figure} (target ${c.target})`);
  const line = failed.length === 0
    ? `verdict: PASS ${checks.map((c) => `${c.name} ${c.figure}`).join('; ')} (target ${checks.map((c) => c.target).join('; ')})`
    : `verdict: FAIL ${failed.map((c) => `${c.name} ${c.figure}`).join('; ')} (target ${failed.map((c) => c.target).join('; ')})`;
  console.log(line);
  process.exit(failed.length === 0 ? 0 : 1);
}
