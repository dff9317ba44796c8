/**
 * How fast are the aggregation rules? Times every rule of aggregation/ on seeded float32 data at
 * n = 100 updates × d = 100k and n = 10 × d = 1M (median of 5 runs after one warm-up), plus Bristle's
 * integrator (10 peers, 10 classes, 128 features) and the FRL vote (25 rankings × 100k edges).
 *
 * Targets (issue 15): at 100 × 100k every rule byzfl has (mean, median, trimmed mean f = 10, Krum, multi-Krum,
 * centered clipping) takes no longer than byzfl's, measured in the same run right before ours through
 * ../shared/anchors (byzfl_bench.py: 100 × 100k standard normals, f = 10; mean of 3 calls after a warm-up). If
 * the anchors are not set up, the figures of the same-run measurement stand in, with a warning. The
 * variance-corrected mean ≤ 3× our mean on the same inputs; Bristle integration ≤ 50 ms; FRL vote ≤ 50 ms.
 * Prints which kernels ran (WebAssembly SIMD or scalar JS, and why). `--js` runs the scalar JS versions.
 * The inputs live in kernel memory (`kernelVectors`), as byzfl's live in one numpy array; the mean is also
 * timed on copies in ordinary JS arrays (staged per call), for comparison, outside the verdict.
 *
 * Run: npm run bench -- bench-aggregators [--json] [--js]
 */
import '../node/polyfill.js';
import { fmtMs, jsonMode, printEnv, timeIt, verdict, type Check, type Timing } from './lib/bench.js';
import { rngFor } from '../node/data/rng.js';
import { makeLayout, type Layout } from '../aggregation/layout.js';
import { mean, weightedMean } from '../aggregation/mean.js';
import { krum, multiKrum } from '../aggregation/krum.js';
import { centeredClipping, coordinateMedian, trimmedMean } from '../aggregation/robust.js';
import { varianceCorrectedMean } from '../aggregation/variance-corrected.js';
import { integrate, prioritise, type BristlePeer } from '../aggregation/bristle.js';
import { sortedInitialValues, voteRankings } from '../aggregation/frl.js';
import { kernelVectors, useWasmKernels } from '../aggregation/kernels/wasm.js';
import { anchor, fallbackWarning } from './lib/anchors.js';

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

/**
 * The inputs, in kernel memory when the kernels run (`kernelVectors`), as byzfl's are one numpy array in numpy's
 * memory: a peer decodes received models into such buffers, and the rules read them in place.
 */
function updates(n: number, d: number): Float32Array[] {
  const rng = rngFor('bench-aggregators', SEED, n, d);
  return kernelVectors(n, d).map((v) => {
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

if (process.argv.includes('--js')) useWasmKernels(false, 'scalar JS requested with --js');
/** byzfl's rule names by ours, and the figures of the same-run measurement (fallback only). */
const BYZFL: Record<string, { key: string; fallback: number }> = {
  mean: { key: 'Average_ms', fallback: 3.5 }, median: { key: 'Median_ms', fallback: 168 }, trimmed: { key: 'TrMean_ms', fallback: 52.8 },
  krum: { key: 'Krum_ms', fallback: 425 }, multiKrum: { key: 'MultiKrum_ms', fallback: 425 }, clipping: { key: 'CenteredClipping_ms', fallback: 24.6 },
};
const ref = anchor('byzfl', ['100', '100000', '10']);
const byzfl: Record<string, number> = {};
for (const [ours, { key, fallback }] of Object.entries(BYZFL)) byzfl[ours] = ref.ok && typeof ref.result[key] === 'number' ? ref.result[key] as number : fallback;
printEnv({ reps: REPS, seed: SEED,
  byzfl: ref.ok ? `same run, ${ref.seconds.toFixed(0)} s: ${JSON.stringify(ref.result)}` : 'not run' });
if (!ref.ok && !jsonMode) console.log(fallbackWarning('byzfl', ref.reason, 'for issue 15 (byzfl on this machine kind)'));
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
  // For comparison only: the same inputs as ordinary arrays on the JS heap (staged into kernel memory per call).
  const onHeap = vs.map((v) => v.slice());
  report(config, 'mean (inputs on JS heap)', await timeIt(() => mean(onHeap, out), REPS));
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
const refLabel = ref.ok ? 'byzfl same run' : 'byzfl fixed, see warning';
if (!jsonMode) {
  console.log(`\n100x100000 against byzfl (${refLabel}):`);
  for (const name of Object.keys(BYZFL)) {
    console.log(`  ${name.padEnd(10)} ours ${big[name]!.median.toFixed(1).padStart(7)} ms  byzfl ${byzfl[name]!.toFixed(1).padStart(7)} ms  ratio ${(big[name]!.median / byzfl[name]!).toFixed(2)}×`);
  }
}
figures.byzfl = { ...byzfl, sameRun: ref.ok ? 1 : 0 };
const checks: Check[] = [
  ...Object.keys(BYZFL).map((name) => ({
    name: `${name} 100x100k / byzfl`, pass: big[name]!.median <= byzfl[name]!,
    figure: `${ms(big[name]!)} vs ${byzfl[name]!.toFixed(1)} ms (${(big[name]!.median / byzfl[name]!).toFixed(2)}×)`, target: `≤ 1× byzfl (${refLabel})`,
  })),
  { name: 'variance-corrected / mean', pass: ratio <= 3, figure: `${ratio.toFixed(2)}×`, target: '≤ 3×' },
  { name: 'bristle integrate', pass: bristle.median <= 50, figure: ms(bristle), target: '≤ 50 ms' },
  { name: 'frl vote 25x100k', pass: vote.median <= 50, figure: ms(vote), target: '≤ 50 ms' },
];
if (!jsonMode) console.log('');
verdict(checks, figures);
