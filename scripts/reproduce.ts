/**
 * reproduce: runs the experiment file of each paper claim (topology-sim/experiments/) and prints a verdict per
 * claim (issue "Reproduce the papers' headline results"). Usage: `npm run bench -- reproduce [claim…]
 * [--out dir]`, claims: vv, dfedsam, modest, bristle, frl (default all). Each claim's report.html lands in
 * <out>/<claim>/. Targets are the issue's, fixed; a claim that does not reproduce is reported as FAIL.
 */
import '../node/polyfill.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../topology-sim/experiment.js';
import type { RoundRecord } from '../topology-sim/metrics.js';
import { simulate } from '../topology-sim/simulate.js';
import { printEnv, verdict, type Check } from './lib/bench.js';

type Runs = Map<string, RoundRecord[]>;
interface Claim { id: string; file: string; judge: (runs: Runs) => Check[] }

const final = (runs: Runs, name: string) => runs.get(name)?.at(-1)?.honest.mean ?? NaN;
const roundsTo = (runs: Runs, name: string, t: number) => runs.get(name)?.find((r) => r.honest.mean >= t)?.round ?? null;
const meanCd = (runs: Runs, name: string) => { const r = runs.get(name) ?? []; return r.reduce((s, x) => s + x.consensusDistance, 0) / Math.max(1, r.length); };
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const bytesTo = (runs: Runs, name: string, t: number) => runs.get(name)?.find((r) => r.honest.mean >= t)?.bytesSent ?? null;

const claims: Claim[] = [
  {
    id: 'vv', file: 'tian-2024-variance-correction.yaml',
    judge: (runs) => {
      const rounds = runs.get('plain-averaging')?.length ?? 0;
      const withVv = roundsTo(runs, 'variance-corrected', 0.85), without = roundsTo(runs, 'plain-averaging', 0.85);
      // "Never within the run" counts as rounds + 1, which favours the uncorrected run.
      const ratio = withVv === null ? Infinity : withVv / (without ?? rounds + 1);
      return [{ name: 'VV rounds to 85%', pass: ratio <= 0.5, figure: `${withVv ?? 'never'} vs ${without ?? `never in ${rounds}`} (ratio ${ratio.toFixed(2)})`, target: 'ratio ≤ 0.5' }];
    },
  },
  {
    id: 'dfedsam', file: 'shi-2023-dfedsam.yaml',
    judge: (runs) => {
      const q4 = final(runs, 'dfedsam-mgs-q4'), q1 = final(runs, 'dfedsam-q1'), d = final(runs, 'dpsgd');
      const c4 = meanCd(runs, 'dfedsam-mgs-q4'), c1 = meanCd(runs, 'dfedsam-q1');
      return [
        { name: 'DFedSAM accuracy order', pass: q4 >= q1 && q1 >= d, figure: `Q=4 ${pct(q4)}, Q=1 ${pct(q1)}, D-PSGD ${pct(d)}`, target: 'Q=4 ≥ Q=1 ≥ D-PSGD' },
        { name: 'DFedSAM consensus distance', pass: c4 < c1, figure: `mean over rounds Q=4 ${c4.toExponential(2)}, Q=1 ${c1.toExponential(2)}`, target: 'falls as Q grows' },
      ];
    },
  },
  {
    id: 'modest', file: 'devos-2023-modest.yaml',
    judge: (runs) => {
      const m = bytesTo(runs, 'modest', 0.85), d = bytesTo(runs, 'dpsgd', 0.85);
      const ok = final(runs, 'modest'), failed = final(runs, 'modest-80pct-unresponsive');
      return [
        { name: 'MoDeST bytes to 85%', pass: m !== null && d !== null && m <= d / 3, figure: `${m === null ? 'never' : (m / 1e6).toFixed(1) + ' MB'} vs D-PSGD ${d === null ? 'never' : (d / 1e6).toFixed(1) + ' MB'}`, target: '≤ 1/3 of D-PSGD' },
        { name: 'MoDeST with 80% unresponsive', pass: Number.isFinite(failed) && ok - failed <= 0.03, figure: `${pct(failed)} vs ${pct(ok)} without failures`, target: 'within 3 points' },
      ];
    },
  },
  {
    id: 'bristle', file: 'verbraeken-2021-bristle.yaml',
    judge: (runs) => [
      { name: 'Bristle under noise', pass: final(runs, 'bristle-noise') >= 0.9, figure: pct(final(runs, 'bristle-noise')), target: '≥ 90%' },
      { name: 'averaging under noise', pass: final(runs, 'averaging-noise') < 0.5, figure: pct(final(runs, 'averaging-noise')), target: '< 50%' },
      { name: 'Bristle under label flipping', pass: final(runs, 'bristle-label-flip') >= 0.9, figure: `${pct(final(runs, 'bristle-label-flip'))} (averaging ${pct(final(runs, 'averaging-label-flip'))})`, target: '≥ 90%' },
    ],
  },
  {
    id: 'frl', file: 'mozaffari-2023-frl.yaml',
    judge: (runs) => {
      const clean = final(runs, 'frl-no-attack'), attacked = final(runs, 'frl-reverse-ranking');
      return [{ name: 'FRL under reverse ranking', pass: clean - attacked <= 0.03, figure: `${pct(attacked)} vs ${pct(clean)} (averaging: ${pct(final(runs, 'averaging-no-attack'))} clean, ${pct(final(runs, 'averaging-poisoned'))} poisoned)`, target: 'loss ≤ 3 points' }];
    },
  },
];

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1]! : join('runs', 'reproduce');
const wanted = args.filter((a, i) => !a.startsWith('--') && (outIdx < 0 || i !== outIdx + 1));
const selected = wanted.length ? claims.filter((c) => wanted.includes(c.id)) : claims;
const unknown = wanted.filter((w) => !claims.some((c) => c.id === w));
if (unknown.length) { console.error(`unknown claim(s) ${unknown.join(', ')}; known: ${claims.map((c) => c.id).join(', ')}`); process.exit(2); }

const dir = fileURLToPath(new URL('../topology-sim/experiments/', import.meta.url));
printEnv({ claims: selected.map((c) => c.id).join(', '), output: out });
const checks: Check[] = [];
for (const claim of selected) {
  const file = join(dir, claim.file);
  if (!existsSync(file)) { checks.push({ name: claim.id, pass: false, figure: `missing ${claim.file}`, target: 'an experiment file' }); continue; }
  const { base, runs, raw } = await loadExperiment(file);
  const t0 = Date.now();
  const res = await simulate({ file, name: base.name, runs, raw, outDir: join(out, claim.id), onInfo: (l) => console.log(`  [${claim.id}] ${l}`) });
  const byRun: Runs = new Map();
  for (const [name, r] of res.results) byRun.set(name, r.records);
  const cs = claim.judge(byRun);
  for (const c of cs) console.log(`${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.figure} (target ${c.target})`);
  console.log(`  ${claim.id}: ${((Date.now() - t0) / 60000).toFixed(1)} min; report ${join(out, claim.id, 'report.html')}`);
  checks.push(...cs);
}
verdict(checks);
