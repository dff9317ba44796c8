/**
 * `npm run bench -- <name> [args…]` runs scripts/<name>.ts (name = file name without extension).
 * Kept tiny so each benchmark stays a plain script that can also be run with `node --import tsx`.
 */
import '../node/polyfill.js';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(here).filter((f) => /^(bench|reproduce|fuzz|crash|load|soak)[-\w]*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, ''));
if (!name) {
  console.error(`usage: npm run bench -- <name> [args]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const file = join(here, `${name.replace(/\.ts$/, '')}.ts`);
if (!existsSync(file)) {
  console.error(`no benchmark named "${name}" in scripts/; available: ${available.join(', ')}`);
  process.exit(2);
}
process.argv = [process.argv[0]!, file, ...rest];
await import(pathToFileURL(file).href);
