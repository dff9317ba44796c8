/** `murmur algorithms`: the registry's names, what each does, and its hyperparameters with defaults. */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaultRegistry } from '../algorithms/defaults.js';
import { renderRows, type Column } from './render.js';

export interface AlgorithmRow { name: string; modes: string; description: string; defaults: Record<string, unknown> }

const columns: Column<AlgorithmRow>[] = [
  { key: 'name', value: (r) => r.name },
  { key: 'modes', value: (r) => r.modes },
  { key: 'description', value: (r) => r.description },
  { key: 'defaults', header: 'hyperparameters (defaults)', value: (r) => r.defaults, format: (v) => Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ') },
];

/** The table (or JSON) of `murmur algorithms`; exported for the width test. */
export function renderAlgorithms(rows: readonly AlgorithmRow[], options: { json: boolean; maxWidth?: number }): string {
  return renderRows(rows, columns, options);
}

/** The registry's rows, as `murmur algorithms` shows them. */
export function algorithmRows(): AlgorithmRow[] {
  const registry = defaultRegistry();
  return registry.list().map((name): AlgorithmRow => {
    const d = registry.get(name);
    return { name, modes: d.modes.join(', '), description: d.description, defaults: (d.params as z.ZodType<Record<string, unknown>>).parse({}) };
  });
}

export function registerAlgorithmsCommand(program: Command): void {
  program.command('algorithms')
    .description('list the aggregation algorithms and their hyperparameters')
    .option('--json', 'print JSON')
    .option('--wide', 'do not wrap to 100 columns')
    .action((o: { json?: boolean; wide?: boolean }) => {
      const rows = algorithmRows();
      process.stdout.write(renderAlgorithms(rows, { json: !!o.json, maxWidth: o.wide === true ? Infinity : undefined }));
    });
}
