/** Memory of another process from Linux /proc (the daemons our harnesses start). */
import { readFile } from 'node:fs/promises';

/** Resident set size now (VmRSS) and at its peak (VmHWM), bytes; rejects when the process is gone. */
export async function processMemory(pid: number): Promise<{ now: number; peak: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}
