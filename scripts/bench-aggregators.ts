/**
 * How fast are the aggregation rules? Times every rule of aggregation/ on seeded float32 data at
 * n = 100 updates × d = 100k and n = 10 × d = 1M (median of 5 runs after one warm-up), plus Bristle's
 * integrator (10 peers, 10 classes, 128 features) and the FRL vote (25 rankings × 100k edges).
 * Targets (fixed; numpy's times on the reference machine): median ≤ 170 ms, trimmed mean ≤ 39 ms and
 * Krum ≤ 459 ms at 100 × 100k; the variance-corrected mean ≤ 3× the plain mean on the same inputs;
 * Bristle integration ≤ 50 ms; FRL vote ≤ 50 ms.
 *
 * Run: npm run bench -- bench-aggregators [--json]
 */
import '../node/polyfill.js';
import { fmtMs, jsonMode, printEnv, timeIt, verdict, type Check, type Timing } from './lib/bench.js';
import { rngFor } from '../node/data/rng.js';
import { makeLayout, type Layout } from '../aggregation/layout.js';
import { mean, weightedMean } from '../aggregation/mean.js';
import { centeredClipping, coordinateMedian, krum, multiKrum, trimmedMean } from '../aggregation/robust.js';
import { varianceCorrectedMean } from '../aggregation/variance-corrected.js';
import { integrate, prioritise, type BristlePeer } from '../aggregation/bristle.js';
import { sortedInitialValues, voteRankings } from '../aggregation/frl.js';

const REPS = 5;
const SEED = 20261122;

/** A few tensors of a small CNN, scaled so the layout holds exactly d parameters. */
function layoutOf(d: number): Layout {
  const wide = d === 1_000_000;
  return makeLayout(wide
    ? [
      { name: 'conv1/kernel', shape: [25, 32], role: 'kernel' }, { name: 'conv1/bias', shape: [32], role: 'bias' },
      { name: 'conv2/kernel', shape: [800, 640], role: 'kernel' }, { name: 'conv2/bias', shape: [640], role: 'bias' },
      { name: 'dense/kernel', shape: [48650, 10], role: 'kernel' }, { name: 'dense/bias', shape: [28], role: 'bias' },
    ]
    : [
      { name: 'conv1/kernel', shape: [25, 32], role: 'kernel' }, { name: 'conv1/bias', shape: [32], role: 'bias' },
      { name: 'conv2/kernel', shape: [800, 64], role: 'kernel' }, { name: 'conv2/bias', shape: [64], role: 'bias' },
      { name: 'dense/kernel', shape: [4790, 10], role: 'kernel' }, { name: 'dense/bias', shape: [4], role: 'bias' },
    ]);
}

function updates(n: number, d: number): Float32Array[] {
  const rng = rngFor('bench-aggregators', SEED, n, d);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(d);
    for (let i = 0; i < d; i++) v[i] = 0.05 * rng.normal();
    return v;
  });
}

const figures: Record<string, Record<string, number>> = {};
function report(config: string, name: string, t: Timing): Timing {
  (figures[config] ??= {})[name] = t.median;
  if (!jsonMode) console.log(`  ${name.padEnd(26)} ${fmtMs(t)}`);
  return t;
}

printEnv({ reps: REPS, seed: SEED });
const results: Record<string, Record<string, Timing>> = {};
for (const [n, d] of [[100, 100_000], [10, 1_000_000]] as const) {
  const config = `${n}x${d}`;
  if (!jsonMode) console.log(`\n${config} (n updates × d parameters, float32)`);
  const vs = updates(n, d);
  const layout = layoutOf(d);
  const weights = vs.map((_, i) => 1 + (i % 7));
  const f = n / 10;
  const out = new Float32Array(d);
  const r: Record<string, Timing> = (results[config] = {});
  r.mean = report(config, 'mean', await timeIt(() => mean(vs, out), REPS));
  r.weightedMean = report(config, 'weighted mean', await timeIt(() => weightedMean(vs, weights, out), REPS));
  r.median = report(config, 'median', await timeIt(() => coordinateMedian(vs, out), REPS));
  r.trimmed = report(config, `trimmed mean (f=${f})`, await timeIt(() => trimmedMean(vs, f, out), REPS));
  r.krum = report(config, `krum (f=${f})`, await timeIt(() => krum(vs, f), REPS));
  r.multiKrum = report(config, `multi-krum (f=${f}, m=${n - f})`, await timeIt(() => multiKrum(vs, f, n - f, out), REPS));
  r.clipping = report(config, 'centered clipping (τ=1)', await timeIt(() => centeredClipping(vs[0]!, vs, 1, 1, out), REPS));
  r.vv = report(config, 'variance-corrected mean', await timeIt(() => varianceCorrectedMean(layout, vs[0]!, vs, {}, out), REPS));
}

// Bristle: 10 peers, 10 classes, 128 features (the output kernel of a frozen feature extractor).
const features = 128, classes = 10;
const brng = rngFor('bench-bristle', SEED);
const kernel = (): Float32Array => Float32Array.from({ length: features * classes }, () => 0.1 * brng.normal());
const f1 = (): number[] => Array.from({ length: classes }, () => brng.next());
const peers: BristlePeer[] = Array.from({ length: 10 }, (_, j) => ({ id: `peer-${j}`, W: kernel(), f1: f1(), overlap: 1 + (j % 5) }));
const own = kernel(), ownF1 = f1();
if (!jsonMode) console.log('\nBristle (10 peers, 10 classes, 128 features) and FRL (25 rankings × 100k edges)');
const bristle = report('bristle', 'bristle integrate', await timeIt(() => integrate({ features, classes, own, ownF1, familiar: [0, 2, 3, 5, 7], peers }), REPS));
report('bristle', 'bristle prioritise', await timeIt(() => prioritise(own, peers.map((p) => ({ id: p.id, vector: p.W })), {}, brng.uniform), REPS));

const edges = 100_000;
const frng = rngFor('bench-frl', SEED);
const V = sortedInitialValues(Float32Array.from({ length: edges }, () => frng.normal()));
const rankings = Array.from({ length: 25 }, () => frng.shuffleTyped(Uint32Array.from({ length: edges }, (_, i) => i)));
const scores = new Float32Array(edges);
const vote = report('frl', 'frl vote', await timeIt(() => voteRankings(rankings, V, scores), REPS));

const big = results['100x100000']!;
const ratio = big.vv!.median / big.mean!.median;
const ms = (t: Timing): string => `${t.median.toFixed(1)} ms`;
const checks: Check[] = [
  { name: 'median 100x100k', pass: big.median!.median <= 170, figure: ms(big.median!), target: '≤ 170 ms' },
  { name: 'trimmed mean 100x100k', pass: big.trimmed!.median <= 39, figure: ms(big.trimmed!), target: '≤ 39 ms' },
  { name: 'krum 100x100k', pass: big.krum!.median <= 459, figure: ms(big.krum!), target: '≤ 459 ms' },
  { name: 'variance-corrected / mean', pass: ratio <= 3, figure: `${ratio.toFixed(2)}×`, target: '≤ 3×' },
  { name: 'bristle integrate', pass: bristle.median <= 50, figure: ms(bristle), target: '≤ 50 ms' },
  { name: 'frl vote 25x100k', pass: vote.median <= 50, figure: ms(vote), target: '≤ 50 ms' },
];
if (!jsonMode) console.log('');
verdict(checks, figures);
