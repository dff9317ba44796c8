import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rngFor } from '../../../node/data/rng.js';
import {
  barabasiAlbert, buildTopology, checkGraph, circulant, complete, erdosRenyi, graphStats, isConnected,
  parseEdgeList, randomRegular, readEdgeList, ring, torus, torusShape, validateTopologySpec, wattsStrogatz,
  TOPOLOGY_KINDS, type Graph, type TopologySpec,
} from '../../../topology-sim/topologies.js';
import { mixingSpectralGap, mixingSpectrum } from '../../../topology-sim/spectral.js';

const SEED = 20261122;
const rng = (label: string) => rngFor('topologies-test', SEED, label);
const degrees = (g: Graph): number[] => g.map((nb) => nb.length);
const edgeCount = (g: Graph): number => degrees(g).reduce((a, b) => a + b, 0) / 2;

function assertCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    if (pattern) assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('generators', () => {
  it('ring: degree 2 from n = 3, one edge at n = 2, none at n = 1', () => {
    for (const n of [3, 10, 101]) {
      const g = ring(n);
      checkGraph(g);
      assert.ok(degrees(g).every((d) => d === 2), `n = ${n}`);
      assert.deepEqual(g[0], [1, n - 1]);
    }
    assert.deepEqual(ring(2), [[1], [0]]);
    assert.deepEqual(ring(1), [[]]);
  });

  it('torus: degree 4 with wrap, corners of degree 2 without', () => {
    for (const [r, c] of [[3, 3], [4, 5], [10, 10]] as const) {
      const g = torus(r, c);
      checkGraph(g);
      assert.ok(degrees(g).every((d) => d === 4), `${r}×${c}`);
      assert.equal(edgeCount(g), 2 * r * c);
    }
    const grid = torus(3, 4, false);
    checkGraph(grid);
    // 3 rows × 3 horizontal links + 4 columns × 2 vertical links = 9 + 8 = 17 edges.
    assert.equal(edgeCount(grid), 17);
    assert.deepEqual(grid[0], [1, 4]);
    assert.deepEqual(grid[5], [1, 4, 6, 9]);
    assert.deepEqual(torusShape(12), [3, 4]);
    assert.deepEqual(torusShape(13), [1, 13]); // prime: a ring-like 1 × 13 torus
    assert.deepEqual(torusShape(12, undefined, 6), [2, 6]);
  });

  it('random k-regular: every degree is exactly k for several (n, k) with n·k even', () => {
    for (const [n, k] of [[10, 3], [20, 4], [50, 7], [100, 10], [20, 15], [9, 8], [12, 0]] as const) {
      const g = randomRegular(n, k, rng(`reg-${n}-${k}`));
      checkGraph(g);
      assert.ok(degrees(g).every((d) => d === k), `n = ${n}, k = ${k}: ${degrees(g).join(',')}`);
    }
  });

  it('circulant: k-regular and deterministic, odd k uses the antipode', () => {
    const g = circulant(10, 3);
    checkGraph(g);
    assert.deepEqual(g[0], [1, 5, 9]);
    assert.ok(degrees(circulant(12, 6)).every((d) => d === 6));
  });

  it('rejects impossible regular graphs with a typed error', () => {
    assertCode(() => randomRegular(5, 3, rng('x')), 'ERR_TOPOLOGY_SPEC', /n·degree even/);
    assertCode(() => circulant(4, 4), 'ERR_TOPOLOGY_SPEC');
  });

  it('Erdős–Rényi: edge count near p·n(n−1)/2', () => {
    // n = 400, p = 0.05: mean 0.05 · 400·399/2 = 3990, sd = √(79800 · 0.05 · 0.95) ≈ 61.6; allow 4 sd.
    const g = erdosRenyi(400, 0.05, rng('er'));
    checkGraph(g);
    assert.ok(Math.abs(edgeCount(g) - 3990) < 250, `edges ${edgeCount(g)}`);
    assert.equal(edgeCount(erdosRenyi(30, 0, rng('er0'))), 0);
    assert.equal(edgeCount(erdosRenyi(30, 1, rng('er1'))), (30 * 29) / 2);
  });

  it('Erdős–Rényi: connected by redraws or by a spanning ring, and says when redraws fail', () => {
    // p = 0.04 at n = 100 is just under ln(100)/100 ≈ 0.046, so single draws are often disconnected.
    assert.ok(isConnected(erdosRenyi(100, 0.04, rng('retry'), 'retry')));
    const ringed = erdosRenyi(100, 0, rng('ring'), 'ring');
    checkGraph(ringed);
    assert.ok(isConnected(ringed) && degrees(ringed).every((d) => d === 2));
    assertCode(() => erdosRenyi(50, 0, rng('fail'), 'retry'), 'ERR_TOPOLOGY_GENERATION', /ln\(n\)\/n/);
  });

  it('Watts–Strogatz keeps n·k/2 edges for any β; β = 0 is the ring lattice', () => {
    for (const beta of [0, 0.1, 0.5, 1]) {
      const g = wattsStrogatz(60, 6, beta, rng(`ws-${beta}`));
      checkGraph(g);
      assert.equal(edgeCount(g), (60 * 6) / 2, `beta ${beta}`);
    }
    assert.deepEqual(wattsStrogatz(20, 4, 0, rng('ws0')), circulant(20, 4));
    // Dense enough that some nodes become adjacent to everyone: rewiring must skip them, not loop.
    assert.equal(edgeCount(wattsStrogatz(7, 6, 1, rng('full'))), 21);
  });

  it('Barabási–Albert: m(m − 1)/2 + m(n − m) edges (K_m seed), every later node has degree ≥ m', () => {
    for (const [n, m] of [[100, 3], [50, 1], [30, 5]] as const) {
      const g = barabasiAlbert(n, m, rng(`ba-${n}-${m}`));
      checkGraph(g);
      // (100, 3): 3 + 291 = 294; (50, 1): 0 + 49 = 49 (a tree); (30, 5): 10 + 125 = 135.
      assert.equal(edgeCount(g), (m * (m - 1)) / 2 + m * (n - m), `n = ${n}, m = ${m}`);
      assert.ok(degrees(g).slice(m).every((d) => d >= m));
      assert.ok(isConnected(g));
    }
  });

  it('complete graph: n − 1 neighbours each', () => {
    const g = complete(6);
    checkGraph(g);
    assert.deepEqual(g[2], [0, 1, 3, 4, 5]);
    assert.equal(edgeCount(g), 15);
  });
});

describe('buildTopology', () => {
  const specs: TopologySpec[] = [
    { kind: 'ring' }, { kind: 'torus' }, { kind: 'torus', rows: 4, wrap: false }, { kind: 'regular', degree: 4 },
    { kind: 'regular', degree: 3, circulant: true }, { kind: 'erdos-renyi', p: 0.2, connected: true },
    { kind: 'watts-strogatz', k: 4, beta: 0.3 }, { kind: 'barabasi-albert', m: 2 }, { kind: 'complete' },
  ];

  it('gives valid undirected loop-free graphs, the same for the same seed', () => {
    for (const spec of specs) {
      const g = buildTopology(spec, 24, SEED);
      checkGraph(g);
      assert.equal(g.length, 24);
      assert.deepEqual(buildTopology(spec, 24, SEED), g, JSON.stringify(spec));
    }
  });

  it('gives different random graphs for different seeds', () => {
    for (const spec of specs.filter((s) => ['regular', 'erdos-renyi', 'watts-strogatz', 'barabasi-albert'].includes(s.kind) && !('circulant' in s))) {
      assert.notDeepEqual(buildTopology(spec, 24, 1), buildTopology(spec, 24, 2), JSON.stringify(spec));
    }
  });

  it('reads an edge list relative to baseDir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'murmur-topo-'));
    try {
      writeFileSync(join(dir, 'g.txt'), '# a path\n0 1\n1 2 # middle\n\n2 3\n');
      const g = buildTopology({ kind: 'edges', path: 'g.txt' }, 5, SEED, { baseDir: dir });
      assert.deepEqual(g, [[1], [0, 2], [1, 3], [2], []]);
      assertCode(() => buildTopology({ kind: 'edges', path: 'g.txt' }, 3, SEED, { baseDir: dir }), 'ERR_EDGE_LIST', /g\.txt:5: node id 3 is out of range/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('validateTopologySpec', () => {
  it('lists the known kinds for an unknown kind', () => {
    assertCode(() => validateTopologySpec({ kind: 'hypercube' }), 'ERR_TOPOLOGY_SPEC', /unknown kind "hypercube".*known kinds: ring \| torus/);
    assertCode(() => validateTopologySpec('ring'), 'ERR_TOPOLOGY_SPEC', /must be an object/);
    assert.equal(TOPOLOGY_KINDS.length, 8);
  });

  it('reports every problem, including those that depend on n', () => {
    try {
      validateTopologySpec({ kind: 'regular', degree: 3, extra: 1 }, 5);
      assert.fail('should throw');
    } catch (e) {
      const problems = (e as { problems: string[] }).problems;
      assert.equal(problems.length, 2, problems.join(' | '));
      assert.match(problems[0]!, /no key 'extra'/);
      assert.match(problems[1]!, /degree 3 is impossible with n = 5/);
    }
    assertCode(() => validateTopologySpec({ kind: 'torus', rows: 3, cols: 4 }, 10), 'ERR_TOPOLOGY_SPEC', /3 × 4 = 12, but n = 10/);
    assertCode(() => validateTopologySpec({ kind: 'watts-strogatz', k: 3, beta: 2 }), 'ERR_TOPOLOGY_SPEC', /even integer.*beta in \[0, 1\]/);
    assertCode(() => validateTopologySpec({ kind: 'erdos-renyi', p: 0.1, connected: 'yes' }), 'ERR_TOPOLOGY_SPEC', /connected must be/);
  });

  it('returns a clean copy of a valid spec', () => {
    assert.deepEqual(validateTopologySpec({ kind: 'erdos-renyi', p: 0.1 }, 10), { kind: 'erdos-renyi', p: 0.1 });
  });
});

describe('parseEdgeList', () => {
  it('parses comments, blank lines and duplicate edges', () => {
    // "1 0" repeats "0 1"; without n the node count is the largest id + 1 = 4.
    assert.deepEqual(parseEdgeList('# header\n0 1\n1 0\n\t2   3  \r\n0 3\n'), [[1, 3], [0], [3], [0, 2]]);
    assert.deepEqual(parseEdgeList('', 'empty.txt', 2), [[], []]);
  });

  it('names file:line in every error', () => {
    assertCode(() => parseEdgeList('0 1\n1 2 7\n', 'g.txt'), 'ERR_EDGE_LIST', /^g\.txt:2: expected "u v"/);
    assertCode(() => parseEdgeList('0 1\n\n# c\na b\n', 'g.txt'), 'ERR_EDGE_LIST', /^g\.txt:4:/);
    assertCode(() => parseEdgeList('0 -1\n', 'g.txt'), 'ERR_EDGE_LIST', /^g\.txt:1:/);
    assertCode(() => parseEdgeList('0 1\n2 2\n', 'g.txt'), 'ERR_EDGE_LIST', /^g\.txt:2: self loop/);
    assertCode(() => parseEdgeList('0 5000000\n', 'g.txt'), 'ERR_EDGE_LIST', /^g\.txt:1: node id 5000000 is too large/);
    assertCode(() => parseEdgeList('0 9\n', 'g.txt', 4), 'ERR_EDGE_LIST', /^g\.txt:1: node id 9 is out of range: .*n = 4/);
    assertCode(() => readEdgeList('/nonexistent/murmur-edges.txt'), 'ERR_EDGE_LIST', /^\/nonexistent\/murmur-edges\.txt: cannot read/);
  });
});

describe('graphStats and isConnected', () => {
  it('counts degrees, components and the diameter', () => {
    assert.deepEqual(graphStats(ring(10)), { nodes: 10, edges: 10, minDegree: 2, meanDegree: 2, maxDegree: 2, components: 1, diameter: 5 });
    // 4 × 5 torus: the farthest node is 2 rows and 2 columns away.
    assert.equal(graphStats(torus(4, 5)).diameter, 4);
    assert.equal(graphStats(complete(7)).diameter, 1);
    // Two separate edges and an isolated node: 3 components, no diameter.
    const split = [[1], [0], [3], [2], []];
    assert.deepEqual(graphStats(split), { nodes: 5, edges: 2, minDegree: 0, meanDegree: 0.8, maxDegree: 1, components: 3, diameter: null });
    assert.equal(isConnected(split), false);
    assert.equal(isConnected(ring(5)), true);
    assert.equal(isConnected([]), true);
  });

  it('checkGraph rejects directed, unsorted and looped lists', () => {
    assertCode(() => checkGraph([[1], []]), 'ERR_TOPOLOGY_GRAPH', /no reverse/);
    assertCode(() => checkGraph([[2, 1], [0], [0]]), 'ERR_TOPOLOGY_GRAPH', /ascending/);
    assertCode(() => checkGraph([[0]]), 'ERR_TOPOLOGY_GRAPH', /itself/);
  });
});

describe('mixingSpectralGap', () => {
  /** Ring MH weights are all 1/3 (degree 2): W = (I + P + Pᵀ)/3, eigenvalues 1/3 + (2/3)·cos(2πk/n). */
  function ringGap(n: number): number {
    const lambda2 = 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI) / n);
    const lambdaMin = 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI * Math.floor(n / 2)) / n); // −1/3 for even n
    return 1 - Math.max(Math.abs(lambda2), Math.abs(lambdaMin));
  }

  it('is 1 for the complete graph (every weight 1/n, W = 11ᵀ/n)', () => {
    for (const n of [2, 5, 40]) assert.ok(Math.abs(mixingSpectralGap(complete(n)) - 1) < 1e-12, `n = ${n}`);
    assert.ok(Math.abs(mixingSpectralGap(complete(300), { method: 'lanczos' }) - 1) < 1e-12);
    assert.equal(mixingSpectralGap([[]]), 1);
  });

  it('matches the ring closed form with the dense and the Lanczos solver', () => {
    // n = 4: λ2 = 1/3 + 0 and λmin = −1/3, gap 2/3; n = 12: λ2 = 1/3 + (2/3)·(√3/2) ≈ 0.9107, gap ≈ 0.0893.
    assert.ok(Math.abs(mixingSpectralGap(ring(4)) - 2 / 3) < 1e-12);
    for (const n of [5, 12, 51, 200]) {
      assert.ok(Math.abs(mixingSpectralGap(ring(n), { method: 'dense' }) - ringGap(n)) < 1e-12, `dense n = ${n}`);
    }
    const s = mixingSpectrum(ring(300), { method: 'lanczos' });
    assert.ok(s.converged, JSON.stringify(s));
    assert.ok(Math.abs(s.gap - ringGap(300)) < 1e-10, `lanczos ${s.gap} vs ${ringGap(300)}`);
    assert.ok(Math.abs(s.lambdaMin - -1 / 3) < 1e-10);
  });

  it('agrees between solvers on a random 6-regular graph of 1000 nodes', () => {
    const g = randomRegular(1000, 6, rng('gap'));
    const lanczos = mixingSpectrum(g);
    assert.equal(lanczos.method, 'lanczos');
    assert.ok(lanczos.converged);
    const dense = mixingSpectrum(g, { method: 'dense' });
    assert.ok(Math.abs(lanczos.gap - dense.gap) < 1e-9, `${lanczos.gap} vs ${dense.gap}`);
    assert.ok(dense.gap > 0.1 && dense.gap < 0.5);
  });

  it('is exactly 0 for a disconnected graph', () => {
    assert.equal(mixingSpectralGap([[1], [0], [3], [2]]), 0);
    assert.equal(mixingSpectralGap(torus(20, 20, false).concat([[]]) as Graph, { method: 'lanczos' }), 0);
  });
});
