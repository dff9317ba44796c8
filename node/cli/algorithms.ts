/** `murmur algorithms`: the registry's names, what each does, and its hyperparameters with defaults. */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaultRegistry } from '../algorithms/defaults.js';
import { renderRows, type Column } from './render.js';

interface Row { name: string; modes: string; description: string; defaults: Record<string, unknown> }

const columns: Column<Row>[] = [
  { key: 'name', value: (r) => r.name },
  { key: 'modes', value: (r) => r.modes },
  { key: 'description', value: (r) => r.description },
  { key: 'defaults', header: 'hyperparameters (defaults)', value: (r) => r.defaults, format: (v) => Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ') },
];

export function registerAlgorithmsCommand(program: Command): void {
  program.command('algorithms')
    .description('list the aggregation algorithms and their hyperparameters')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const registry = defaultRegistry();
      const rows = registry.list().map((name): Row => {
        const d = registry.get(name);
        return { name, modes: d.modes.join(', '), description: d.description, defaults: (d.params as z.ZodType<Record<string, unknown>>).parse({}) };
      });
      process.stdout.write(renderRows(rows, columns, { json: !!o.json }));
    });
}
