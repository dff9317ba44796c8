/**
 * Communication graphs for the simulator (DESIGN.md "topology-sim"): seeded generators, a JSON-able
 * `TopologySpec` with validation, an edge-list file parser, graph statistics and the spectral gap of the
 * Metropolis–Hastings mixing matrix (ALGORITHMS.md §2.1), which predicts how fast gossip averaging mixes.
 *
 * A `Graph` is neighbour lists: `graph[i]` holds i's neighbours, sorted ascending, no self loops, no
 * repeats, and j ∈ graph[i] ⇔ i ∈ graph[j]. Every generator takes its randomness from an `Rng`;
 * `buildTopology` derives it from (seed, kind), so the same seed always gives the same graph.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isConnected } from './graph-stats.js';
import { EdgeListError, TopologyError } from './errors.js';
import { rngFor, type Rng } from '../node/data/rng.js';

/** Undirected simple graph as sorted neighbour lists (see the module comment). */
export type Graph = number[][];

/** A JSON-able description of a topology; n and the seed come from the experiment. */
export type TopologySpec =
  | { kind: 'ring' }
  /** rows × cols = n; a missing side is n / the other, both missing = the most square factorisation. wrap defaults to true. */
  | { kind: 'torus'; rows?: number; cols?: number; wrap?: boolean }
  /** Random d-regular graph (pairing model), or the circulant i ~ i ± 1..d/2 (+ i + n/2 if d is odd) when `circulant`. */
  | { kind: 'regular'; degree: number; circulant?: boolean }
  /** G(n, p). connected: true | 'retry' redraws until connected; 'ring' adds a ring through a random node order. */
  | { kind: 'erdos-renyi'; p: number; connected?: boolean | 'retry' | 'ring' }
  | { kind: 'watts-strogatz'; k: number; beta: number }
  | { kind: 'barabasi-albert'; m: number }
  | { kind: 'complete' }
  /** Edge-list file, relative paths resolved against `BuildOptions.baseDir` (default: the working directory). */
  | { kind: 'edges'; path: string };

/** Kind names of TopologySpec. */
export type TopologyKind = TopologySpec['kind'];

/** Closed set of topology error codes. */

/** Keys each kind accepts besides `kind`. */
const KIND_KEYS: Record<TopologyKind, readonly string[]> = {
  ring: [], torus: ['rows', 'cols', 'wrap'], regular: ['degree', 'circulant'], 'erdos-renyi': ['p', 'connected'],
  'watts-strogatz': ['k', 'beta'], 'barabasi-albert': ['m'], complete: [], edges: ['path'],
};

/** Known kinds, in the order error messages list them. */
export const TOPOLOGY_KINDS = Object.keys(KIND_KEYS) as TopologyKind[];

const KIND_HELP = 'known kinds: ring | torus {rows?, cols?, wrap?} | regular {degree, circulant?} | erdos-renyi {p, connected?: '
  + 'true|"retry"|"ring"} | watts-strogatz {k even, beta} | barabasi-albert {m} | complete | edges {path}';

/** Fresh G(n, p) draws `connected: 'retry'` tries before giving up (p far below ln(n)/n will not connect). */
export const ER_CONNECT_ATTEMPTS = 100;
/** Restarts of the random-regular pairing before giving up (one restart is already rare). */
export const REGULAR_MAX_RESTARTS = 100;
/** Edge-list ids must stay below this, so a typo cannot make the parser allocate a billion nodes. */
export const EDGE_LIST_MAX_NODES = 1_000_000;

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isProb = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;

/**
 * Check a spec's shape, and with `n` also the constraints that depend on n (degree < n, n·degree even,
 * rows × cols = n…). Returns a clean copy holding only the known keys.
 * @throws TopologyError ERR_TOPOLOGY_SPEC listing every problem and the known kinds
 */
export function validateTopologySpec(spec: unknown, n?: number): TopologySpec {
  const problems: string[] = [];
  const fail = (): never => { throw new TopologyError('ERR_TOPOLOGY_SPEC', `invalid topology: ${problems.join('; ')} (${KIND_HELP})`, problems); };
  if (n !== undefined && !isInt(n, 1)) problems.push(`n must be an integer ≥ 1, got ${n}`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.push(`spec must be an object like {"kind":"ring"}, got ${JSON.stringify(spec)}`);
    return fail();
  }
  const s = spec as Record<string, unknown>;
  const kind = s.kind as TopologyKind;
  if (typeof kind !== 'string' || !Object.hasOwn(KIND_KEYS, kind)) {
    problems.push(`unknown kind ${JSON.stringify(s.kind)}`);
    return fail();
  }
  for (const key of Object.keys(s)) {
    if (key !== 'kind' && !KIND_KEYS[kind].includes(key)) problems.push(`'${kind}' has no key '${key}' (allowed: ${KIND_KEYS[kind].join(', ') || 'none'})`);
  }
  const N = n !== undefined && isInt(n, 1) ? n : undefined;
  const optBool = (key: string): void => { if (s[key] !== undefined && typeof s[key] !== 'boolean') problems.push(`${key} must be true or false, got ${JSON.stringify(s[key])}`); };
  switch (kind) {
    case 'torus': {
      const { rows, cols } = s;
      for (const [key, v] of [['rows', rows], ['cols', cols]] as const) if (v !== undefined && !isInt(v, 1)) problems.push(`${key} must be an integer ≥ 1, got ${JSON.stringify(v)}`);
      optBool('wrap');
      if (N !== undefined && isInt(rows, 1) && isInt(cols, 1) && rows * cols !== N) problems.push(`rows × cols = ${rows} × ${cols} = ${rows * cols}, but n = ${N}`);
      for (const v of [rows, cols]) if (N !== undefined && isInt(v, 1) && (rows === undefined || cols === undefined) && N % v !== 0) problems.push(`a torus side of ${v} does not divide n = ${N}`);
      break;
    }
    case 'regular': {
      if (!isInt(s.degree, 0)) problems.push(`'regular' needs degree, an integer ≥ 0, got ${JSON.stringify(s.degree)}`);
      else if (N !== undefined && (s.degree >= N || (N * s.degree) % 2 !== 0)) problems.push(`degree ${s.degree} is impossible with n = ${N}: need degree < n and n·degree even`);
      optBool('circulant');
      break;
    }
    case 'erdos-renyi':
      if (!isProb(s.p)) problems.push(`'erdos-renyi' needs p in [0, 1], got ${JSON.stringify(s.p)}`);
      if (s.connected !== undefined && typeof s.connected !== 'boolean' && s.connected !== 'retry' && s.connected !== 'ring') {
        problems.push(`connected must be true, false, "retry" or "ring", got ${JSON.stringify(s.connected)}`);
      }
      break;
    case 'watts-strogatz':
      if (!isInt(s.k, 2) || s.k % 2 !== 0) problems.push(`'watts-strogatz' needs k, an even integer ≥ 2, got ${JSON.stringify(s.k)}`);
      else if (N !== undefined && s.k >= N) problems.push(`k = ${s.k} needs n > k, got n = ${N}`);
      if (!isProb(s.beta)) problems.push(`'watts-strogatz' needs beta in [0, 1], got ${JSON.stringify(s.beta)}`);
      break;
    case 'barabasi-albert':
      if (!isInt(s.m, 1)) problems.push(`'barabasi-albert' needs m, an integer ≥ 1, got ${JSON.stringify(s.m)}`);
      else if (N !== undefined && s.m >= N) problems.push(`m = ${s.m} needs n > m, got n = ${N}`);
      break;
    case 'edges':
      if (typeof s.path !== 'string' || s.path === '') problems.push(`'edges' needs path, a non-empty string, got ${JSON.stringify(s.path)}`);
      break;
    default:
      break;
  }
  if (problems.length > 0) fail();
  const copy: Record<string, unknown> = { kind };
  for (const key of KIND_KEYS[kind]) if (s[key] !== undefined) copy[key] = s[key];
  return copy as TopologySpec;
}

/** Options of `buildTopology`. */
export interface BuildOptions {
  /** Directory that relative edge-list paths are resolved against (e.g. the experiment file's folder). */
  baseDir?: string;
}

/**
 * Build the graph a spec describes on n nodes, with randomness from `rngFor('topology', seed, kind)`.
 * @throws TopologyError ERR_TOPOLOGY_SPEC, ERR_TOPOLOGY_GENERATION; EdgeListError
 */
export function buildTopology(spec: TopologySpec, n: number, seed: number | string, options: BuildOptions = {}): Graph {
  const s = validateTopologySpec(spec, n);
  const rng = rngFor('topology', seed, s.kind);
  switch (s.kind) {
    case 'ring': return ring(n);
    case 'torus': {
      const [rows, cols] = torusShape(n, s.rows, s.cols);
      return torus(rows, cols, s.wrap ?? true);
    }
    case 'regular': return s.circulant === true ? circulant(n, s.degree) : randomRegular(n, s.degree, rng);
    case 'erdos-renyi': return erdosRenyi(n, s.p, rng, s.connected === true ? 'retry' : s.connected === false ? undefined : s.connected);
    case 'watts-strogatz': return wattsStrogatz(n, s.k, s.beta, rng);
    case 'barabasi-albert': return barabasiAlbert(n, s.m, rng);
    case 'complete': return complete(n);
    case 'edges': return readEdgeList(isAbsolute(s.path) ? s.path : resolve(options.baseDir ?? '.', s.path), n);
  }
}

/** Neighbour sets → sorted lists. */
function toGraph(adj: readonly Set<number>[]): Graph {
  return adj.map((s) => Array.from(s).sort((a, b) => a - b));
}

function emptyAdj(n: number): Set<number>[] {
  return Array.from({ length: n }, () => new Set<number>());
}

function link(adj: Set<number>[], u: number, v: number): void {
  if (u === v) return;
  adj[u]!.add(v);
  adj[v]!.add(u);
}

function requireParams(ok: boolean, message: string): void {
  if (!ok) throw new TopologyError('ERR_TOPOLOGY_SPEC', message, [message]);
}

/** Cycle 0–1–…–(n−1)–0: degree 2 for n ≥ 3 (n = 2 is one edge, n = 1 no edge). */
export function ring(n: number): Graph {
  requireParams(isInt(n, 1), `ring: n must be an integer ≥ 1, got ${n}`);
  const adj = emptyAdj(n);
  for (let i = 0; i < n; i++) link(adj, i, (i + 1) % n);
  return toGraph(adj);
}

/** The torus side lengths: the given ones, else the most square factorisation (rows = largest divisor ≤ √n). */
export function torusShape(n: number, rows?: number, cols?: number): [number, number] {
  if (rows !== undefined && cols !== undefined) return [rows, cols];
  if (rows !== undefined) return [rows, n / rows];
  if (cols !== undefined) return [n / cols, cols];
  let r = Math.floor(Math.sqrt(n));
  while (n % r !== 0) r--;
  return [r, n / r];
}

/**
 * rows × cols grid, node r·cols + c linked to its right and lower neighbours; with `wrap` (a torus) the
 * last column/row links back to the first, giving degree 4 when rows, cols ≥ 3 (a side of 2 adds no
 * second edge, a side of 1 none).
 */
export function torus(rows: number, cols: number, wrap = true): Graph {
  requireParams(isInt(rows, 1) && isInt(cols, 1), `torus: rows and cols must be integers ≥ 1, got ${rows} × ${cols}`);
  const adj = emptyAdj(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (c + 1 < cols || wrap) link(adj, i, r * cols + ((c + 1) % cols));
      if (r + 1 < rows || wrap) link(adj, i, ((r + 1) % rows) * cols + c);
    }
  }
  return toGraph(adj);
}

/** Complete graph K_n. */
export function complete(n: number): Graph {
  requireParams(isInt(n, 1), `complete: n must be an integer ≥ 1, got ${n}`);
  return Array.from({ length: n }, (_, i) => Array.from({ length: n - 1 }, (_, k) => (k < i ? k : k + 1)));
}

function checkRegular(n: number, d: number): void {
  requireParams(isInt(n, 1) && isInt(d, 0) && d < n && (n * d) % 2 === 0, `regular: degree ${d} is impossible with n = ${n}: need 0 ≤ degree < n and n·degree even`);
}

/** Deterministic circulant d-regular graph: i ~ i ± 1..⌊d/2⌋ (mod n), plus i ~ i + n/2 when d is odd (n is then even). */
export function circulant(n: number, d: number): Graph {
  checkRegular(n, d);
  const adj = emptyAdj(n);
  for (let i = 0; i < n; i++) {
    for (let j = 1; j <= Math.floor(d / 2); j++) link(adj, i, (i + j) % n);
    if (d % 2 === 1) link(adj, i, (i + n / 2) % n);
  }
  return toGraph(adj);
}

/**
 * Random d-regular graph by the pairing (configuration) model, drawing stub pairs one at a time and
 * redrawing pairs that would make a loop or a repeated edge (Steger & Wormald 1999, asymptotically
 * uniform); when no valid pair is left it restarts. Above d = (n − 1)/2 it draws the complement of an
 * (n − 1 − d)-regular graph, where pairing is easy.
 * @throws TopologyError ERR_TOPOLOGY_SPEC (impossible n, d), ERR_TOPOLOGY_GENERATION (REGULAR_MAX_RESTARTS reached)
 */
export function randomRegular(n: number, d: number, rng: Rng): Graph {
  checkRegular(n, d);
  if (2 * d > n - 1) {
    const co = randomRegular(n, n - 1 - d, rng);
    return co.map((nb, i) => {
      const skip = new Set(nb);
      const out: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i && !skip.has(j)) out.push(j);
      return out;
    });
  }
  for (let attempt = 0; attempt < REGULAR_MAX_RESTARTS; attempt++) {
    const adj = emptyAdj(n);
    const stubs: number[] = [];
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) stubs.push(i);
    const valid = (a: number, b: number): boolean => a !== b && stubs[a] !== stubs[b] && !adj[stubs[a]!]!.has(stubs[b]!);
    let stuck = false;
    while (stubs.length > 0 && !stuck) {
      let pair: [number, number] | undefined;
      for (let t = 0; t < 50 && pair === undefined; t++) {
        const a = rng.int(stubs.length), b = rng.int(stubs.length);
        if (valid(a, b)) pair = [a, b];
      }
      if (pair === undefined) {
        // Random draws keep failing: list every valid pair left (only happens near the end, few stubs).
        const options: [number, number][] = [];
        for (let a = 0; a < stubs.length; a++) for (let b = a + 1; b < stubs.length; b++) if (valid(a, b)) options.push([a, b]);
        if (options.length === 0) { stuck = true; break; }
        pair = options[rng.int(options.length)]!;
      }
      const [a, b] = pair;
      link(adj, stubs[a]!, stubs[b]!);
      for (const idx of a > b ? [a, b] : [b, a]) { stubs[idx] = stubs[stubs.length - 1]!; stubs.pop(); }
    }
    if (!stuck) return toGraph(adj);
  }
  throw new TopologyError('ERR_TOPOLOGY_GENERATION', `regular: no simple ${d}-regular graph on ${n} nodes after ${REGULAR_MAX_RESTARTS} restarts; use circulant: true`);
}

/**
 * Erdős–Rényi G(n, p) by geometric edge skipping (Batagelj & Brandes 2005: O(n + m) draws).
 * `connected`: 'retry' redraws up to ER_CONNECT_ATTEMPTS times (the result is G(n, p) conditioned on
 * being connected); 'ring' draws once and adds the edges of a ring through a random node order (≤ n
 * extra edges, so the degree rises by up to 2); undefined returns the draw as is.
 * @throws TopologyError ERR_TOPOLOGY_GENERATION when 'retry' never connects (p well below ln(n)/n)
 */
export function erdosRenyi(n: number, p: number, rng: Rng, connected?: 'retry' | 'ring'): Graph {
  requireParams(isInt(n, 1) && isProb(p), `erdos-renyi: need an integer n ≥ 1 and p in [0, 1], got n = ${n}, p = ${p}`);
  const draw = (): Set<number>[] => {
    const adj = emptyAdj(n);
    if (p >= 1) { for (let v = 1; v < n; v++) for (let w = 0; w < v; w++) link(adj, v, w); return adj; }
    if (p <= 0) return adj;
    const lp = Math.log(1 - p);
    for (let v = 1, w = -1; v < n;) {
      w += 1 + Math.floor(Math.log(1 - rng.next()) / lp);
      while (w >= v && v < n) { w -= v; v++; }
      if (v < n) link(adj, v, w);
    }
    return adj;
  };
  if (connected === 'ring') {
    const adj = draw();
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    if (n > 1) for (let i = 0; i < n; i++) link(adj, order[i]!, order[(i + 1) % n]!);
    return toGraph(adj);
  }
  for (let attempt = 0; attempt < (connected === 'retry' ? ER_CONNECT_ATTEMPTS : 1); attempt++) {
    const g = toGraph(draw());
    if (connected === undefined || isConnected(g)) return g;
  }
  throw new TopologyError('ERR_TOPOLOGY_GENERATION', `erdos-renyi: G(${n}, ${p}) was disconnected in ${ER_CONNECT_ATTEMPTS} draws; `
    + `raise p above ln(n)/n ≈ ${(Math.log(n) / n).toPrecision(3)} or use connected: "ring"`);
}

/**
 * Watts–Strogatz small world: ring lattice i ~ i ± 1..k/2, then for j = 1..k/2 and each node u, with
 * probability β the edge (u, u + j) is replaced by (u, w), w uniform among nodes not yet linked to u (as
 * NetworkX's watts_strogatz_graph). Every rewiring removes one edge and adds one: n·k/2 edges always.
 */
export function wattsStrogatz(n: number, k: number, beta: number, rng: Rng): Graph {
  requireParams(isInt(k, 2) && k % 2 === 0 && isInt(n, k + 1) && isProb(beta), `watts-strogatz: need even k ≥ 2, n > k and beta in [0, 1], got n = ${n}, k = ${k}, beta = ${beta}`);
  const adj = emptyAdj(n);
  for (let i = 0; i < n; i++) for (let j = 1; j <= k / 2; j++) link(adj, i, (i + j) % n);
  for (let j = 1; j <= k / 2; j++) {
    for (let u = 0; u < n; u++) {
      if (!(rng.next() < beta) || adj[u]!.size >= n - 1) continue;
      const v = (u + j) % n;
      let w = rng.int(n);
      while (w === u || adj[u]!.has(w)) w = rng.int(n);
      adj[u]!.delete(v); adj[v]!.delete(u);
      link(adj, u, w);
    }
  }
  return toGraph(adj);
}

/**
 * Barabási–Albert preferential attachment. Variant: the seed is the complete graph K_m, then each node
 * t = m..n−1 links to m distinct earlier nodes drawn with probability ∝ degree (uniformly while all
 * degrees are 0, i.e. the first step of m = 1). Edges: m(m − 1)/2 + m(n − m) (NetworkX starts from a
 * star instead: m(n − m) edges).
 */
export function barabasiAlbert(n: number, m: number, rng: Rng): Graph {
  requireParams(isInt(m, 1) && isInt(n, m + 1), `barabasi-albert: need an integer m ≥ 1 and n > m, got n = ${n}, m = ${m}`);
  const adj = emptyAdj(n);
  const ends: number[] = []; // every edge endpoint once: a uniform pick from it is a degree-proportional pick
  for (let u = 0; u < m; u++) for (let v = u + 1; v < m; v++) { link(adj, u, v); ends.push(u, v); }
  for (let t = m; t < n; t++) {
    const targets = new Set<number>();
    while (targets.size < m) targets.add(ends.length === 0 ? rng.int(t) : ends[rng.int(ends.length)]!);
    for (const v of targets) { link(adj, t, v); ends.push(t, v); }
  }
  return toGraph(adj);
}

/**
 * Parse an edge list: one edge "u v" per line (0-based integer ids, any whitespace), '#' starts a comment,
 * blank lines are skipped, an edge listed twice (in either direction) counts once. With `n` every id must
 * be < n (unlisted nodes are isolated); without it n = largest id + 1.
 * @throws EdgeListError naming file:line (malformed line, id out of range, self loop)
 */
export function parseEdgeList(text: string, file = '<edges>', n?: number): Graph {
  const edges: [number, number][] = [];
  let maxId = -1;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const tokens = line.split(/\s+/);
    if (tokens.length !== 2 || !tokens.every((t) => /^\d+$/.test(t))) {
      throw new EdgeListError(file, index + 1, `expected "u v" (two non-negative integer ids), got ${JSON.stringify(raw.trim())}`);
    }
    const [u, v] = tokens.map(Number) as [number, number];
    if (u === v) throw new EdgeListError(file, index + 1, `self loop ${u}–${v}; a node is never its own neighbour`);
    for (const id of [u, v]) {
      if (n !== undefined && id >= n) throw new EdgeListError(file, index + 1, `node id ${id} is out of range: the experiment has n = ${n} nodes (ids 0..${n - 1})`);
      if (id >= EDGE_LIST_MAX_NODES) throw new EdgeListError(file, index + 1, `node id ${id} is too large (ids are 0-based, below ${EDGE_LIST_MAX_NODES})`);
    }
    maxId = Math.max(maxId, u, v);
    edges.push([u, v]);
  });
  const adj = emptyAdj(n ?? maxId + 1);
  for (const [u, v] of edges) link(adj, u, v);
  return toGraph(adj);
}

/** Read and parse an edge-list file (see `parseEdgeList`). @throws EdgeListError */
export function readEdgeList(path: string, n?: number): Graph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EdgeListError(path, undefined, `cannot read the edge list: ${(err as Error).message}`);
  }
  return parseEdgeList(text, path, n);
}

export { checkGraph, graphStats, isConnected, DIAMETER_MAX_NODES, type GraphStats } from './graph-stats.js';
export { TopologyError, EdgeListError, type TopologyErrorCode } from './errors.js';
