/** The project's root, version and the versions of the packages whose behaviour results depend on. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding Murmuration's package.json (works from sources and from dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'murmuration') return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

function versionOf(file: string): string {
  try { return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version; } catch { return 'unknown'; }
}

export function packageVersion(): string { return versionOf(join(packageRoot(), 'package.json')); }

/** Versions of Node and the dependencies that shape results (recorded with every simulation). */
export function dependencyVersions(): Record<string, string> {
  const root = packageRoot();
  const out: Record<string, string> = { murmuration: packageVersion(), node: process.version };
  for (const name of ['libp2p', '@libp2p/gossipsub', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'vega', 'vega-lite']) {
    out[name] = versionOf(join(root, 'node_modules', name, 'package.json'));
  }
  return out;
}
