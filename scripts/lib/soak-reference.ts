/**
 * The yardstick of a soak run: the same swarm (peers, data split, model, training, algorithm) simulated in
 * lockstep on the virtual network with `murmur sim`, so each live daemon's accuracy can be compared with the
 * simulation's mean accuracy at the round the daemon reached.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAIN } from './daemon-harness.js';
import type { SoakAlgorithm } from './soak-run.js';

const run = promisify(execFile);

export interface ReferenceSpec {
  peers: number; rounds: number; algorithm: SoakAlgorithm; evalSize: number; workDir: string;
  /** The daemons' algorithm parameters (soak-plan.ts soakAlgorithmParams). */
  params?: Record<string, number>;
}

/** Mean honest test accuracy by round (index = round), from a lockstep virtual simulation. */
export async function lockstepAccuracy(spec: ReferenceSpec): Promise<number[]> {
  const dir = join(spec.workDir, `reference-${spec.algorithm}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'experiment.yaml');
  // What `murmur daemon --peers N --peer-index i --model mlp --hidden 32` trains, on a complete graph (the
  // daemons dial every member they hear of); every peer evaluated on the same evalSize test digits.
  await writeFile(file, [
    'name: soak-reference', 'seed: 1', `peers: ${spec.peers}`, `rounds: ${spec.rounds}`, 'transport: virtual', 'mode: sync',
    'topology: { kind: complete }', 'data: { source: digits, seed: 1, partition: { scheme: iid } }',
    'model: { arch: mlp, hidden: [32], seed: 1 }', 'train: { lr: 0.05, batchSize: 32, epochs: 1 }',
    `algorithm: { ${[`name: ${spec.algorithm}`, ...Object.entries(spec.params ?? {}).map(([k, v]) => `${k}: ${v}`)].join(', ')} }`, `eval: { every: 1, fraction: 1, testSize: ${spec.evalSize} }`, '',
  ].join('\n'));
  await run(process.execPath, ['--import', 'tsx', MAIN, 'sim', file, '--out', join(dir, 'out')], { timeout: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const records = (await readFile(join(dir, 'out', 'results.jsonl'), 'utf8')).split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { round: number; honest?: { mean?: number } });
  const byRound: number[] = [];
  for (const r of records) if (typeof r.honest?.mean === 'number') byRound[r.round] = r.honest.mean;
  return byRound;
}
