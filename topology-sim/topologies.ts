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
import { metropolisHastingsMatrix, symmetricEigenvalues } from '../aggregation/mixing.js';
import { MurmurError } from '../node/errors.js';
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
export type TopologyErrorCode =
  | 'ERR_TOPOLOGY_SPEC'        // the spec (or n) is invalid; `problems` lists every problem
  | 'ERR_TOPOLOGY_GENERATION'  // a random construction ran out of attempts
  | 'ERR_TOPOLOGY_GRAPH'       // a graph is not undirected, sorted and loop-free
  | 'ERR_EDGE_LIST';           // an edge-list file cannot be read or parsed

/** Raised for invalid specs, impossible parameters and failed constructions; match on `code`. */
export class TopologyError extends MurmurError {
  static override name = 'TopologyError';
  constructor(code: TopologyErrorCode, message: string, readonly problems: readonly string[] = []) {
    super(code, message);
  }
}

/** An edge-list file problem, located as `file:line: problem` (line is 1-based, undefined for the whole file). */
export class EdgeListError extends TopologyError {
  static override name = 'EdgeListError';
  constructor(readonly file: string, readonly line: number | undefined, readonly problem: string) {
    super('ERR_EDGE_LIST', `${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
  }
}

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
/** `graphStats` computes the diameter (all-pairs BFS) only up to this many nodes. */
export const DIAMETER_MAX_NODES = 2000;

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

/**
 * Check that a graph is undirected, sorted, loop-free, with ids in range and no repeats.
 * @throws TopologyError ERR_TOPOLOGY_GRAPH naming the first offending node
 */
export function checkGraph(graph: readonly (readonly number[])[]): void {
  const n = graph.length;
  const bad = (msg: string): never => { throw new TopologyError('ERR_TOPOLOGY_GRAPH', `invalid graph: ${msg}`); };
  graph.forEach((nb, i) => nb.forEach((j, k) => {
    if (!Number.isInteger(j) || j < 0 || j >= n) bad(`node ${i} lists ${j}; ids are integers in [0, ${n})`);
    if (j === i) bad(`node ${i} lists itself`);
    if (k > 0 && j <= nb[k - 1]!) bad(`node ${i}'s neighbours are not strictly ascending at ${j}`);
  }));
  graph.forEach((nb, i) => nb.forEach((j) => { if (!sortedHas(graph[j]!, i)) bad(`edge ${i}→${j} has no reverse`); }));
}

function sortedHas(list: readonly number[], x: number): boolean {
  let lo = 0, hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, v = list[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

/**
 * BFS from `source`; fills `dist` (−1 = unreached) and returns [reached count, eccentricity]. Stops as soon
 * as every node is reached, so dense graphs cost O(n) per source instead of O(edges).
 */
function bfs(graph: readonly (readonly number[])[], source: number, dist: Int32Array, queue: Int32Array): [number, number] {
  dist.fill(-1);
  dist[source] = 0;
  queue[0] = source;
  let head = 0, tail = 1, ecc = 0;
  const n = graph.length;
  while (head < tail && tail < n) {
    const u = queue[head++]!;
    for (const v of graph[u]!) {
      if (dist[v] !== -1) continue;
      dist[v] = dist[u]! + 1;
      ecc = dist[v]!;
      queue[tail++] = v;
      if (tail === n) break;
    }
  }
  return [tail, ecc];
}

/** True when every node can reach every other (the empty and one-node graphs are connected). */
export function isConnected(graph: readonly (readonly number[])[]): boolean {
  const n = graph.length;
  return n <= 1 || bfs(graph, 0, new Int32Array(n), new Int32Array(n))[0] === n;
}

/** Summary of a graph; `diameter` is null when the graph is disconnected or has more than DIAMETER_MAX_NODES nodes. */
export interface GraphStats {
  nodes: number;
  edges: number;
  minDegree: number;
  meanDegree: number;
  maxDegree: number;
  components: number;
  diameter: number | null;
}

/** Node, edge and degree counts, connected components, and the diameter (BFS from every node) when defined. */
export function graphStats(graph: readonly (readonly number[])[]): GraphStats {
  const n = graph.length;
  const degrees = graph.map((nb) => nb.length);
  const sumDeg = degrees.reduce((a, b) => a + b, 0);
  const dist = new Int32Array(n), queue = new Int32Array(n);
  const seen = new Uint8Array(n);
  let components = 0;
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    components++;
    bfs(graph, s, dist, queue);
    for (let v = 0; v < n; v++) if (dist[v]! >= 0) seen[v] = 1;
  }
  let diameter: number | null = null;
  if (components === 1 && n <= DIAMETER_MAX_NODES) {
    diameter = 0;
    for (let s = 0; s < n; s++) diameter = Math.max(diameter, bfs(graph, s, dist, queue)[1]);
  }
  return {
    nodes: n, edges: sumDeg / 2, components, diameter,
    minDegree: degrees.reduce((a, b) => Math.min(a, b), n === 0 ? 0 : Infinity),
    maxDegree: degrees.reduce((a, b) => Math.max(a, b), 0), meanDegree: n === 0 ? 0 : sumDeg / n,
  };
}

/** How `mixingSpectrum` finds eigenvalues: dense QL (exact, O(n³)), sparse Lanczos, or 'auto' (see DENSE_SPECTRUM_MAX_NODES). */
export type SpectrumMethod = 'auto' | 'dense' | 'lanczos';

/** Options of `mixingSpectrum`; defaults are the LANCZOS_* constants. */
export interface SpectrumOptions {
  method?: SpectrumMethod;
  /** Lanczos steps at most (capped at n − 1, where Lanczos is exact). */
  maxIterations?: number;
  /** Lanczos stops when both extreme Ritz pairs have residual ‖Wy − θy‖ ≤ this (bounds their eigenvalue error). */
  tolerance?: number;
}

/**
 * Extremes of the Metropolis–Hastings matrix W's spectrum on the space orthogonal to the uniform vector
 * (whose eigenvalue 1 is deflated): `lambda2` the largest, `lambdaMin` the smallest (both 0 when n = 1),
 * `gap` = 1 − max(|lambda2|, |lambdaMin|) (0 when disconnected, exactly). With Lanczos, `converged` false
 * means the iteration cap was hit: the Ritz values lie inside the spectrum, so the gap is then an upper bound.
 */
export interface MixingSpectrum {
  gap: number;
  lambda2: number;
  lambdaMin: number;
  method: 'dense' | 'lanczos';
  iterations: number;
  converged: boolean;
}

/** 'auto' uses the dense solver up to this many nodes (≈ 25 ms at 256). */
export const DENSE_SPECTRUM_MAX_NODES = 256;
/** 'auto' falls back to the dense solver when Lanczos did not converge, up to this many nodes (≈ 0.8 s at 1000, 7 s at 2048). */
export const DENSE_FALLBACK_MAX_NODES = 2048;
/**
 * Default Lanczos step cap. Measured here: random regular, ER, BA, WS (β = 0.1) and 50 × 50 tori converge in
 * 110–230 steps at n = 1000–5000 (0.1–0.7 s); rings need ~n steps.
 */
export const LANCZOS_MAX_ITERATIONS = 500;
/**
 * Default residual tolerance of the Lanczos Ritz pairs. The eigenvalue error is at most the residual and in
 * practice its square over the spectral spacing: at 1e-8 the gaps matched the dense solver to ~1e-15.
 */
export const LANCZOS_TOLERANCE = 1e-8;

/**
 * Spectrum summary of the graph's Metropolis–Hastings mixing matrix (aggregation/mixing.ts). 'auto': the
 * dense solver up to DENSE_SPECTRUM_MAX_NODES; above, Lanczos with full reorthogonalisation on the sparse
 * W (O(n·k²) for k steps, deterministic start vector), falling back to dense when it has not converged
 * and n ≤ DENSE_FALLBACK_MAX_NODES (slow mixers such as long rings need ~n Lanczos steps).
 * @throws TopologyError ERR_TOPOLOGY_GRAPH (not a valid graph)
 */
export function mixingSpectrum(graph: Graph, options: SpectrumOptions = {}): MixingSpectrum {
  checkGraph(graph);
  const n = graph.length;
  const method = options.method ?? 'auto';
  let res: MixingSpectrum;
  if (n <= 1) res = { gap: 1, lambda2: 0, lambdaMin: 0, method: 'dense', iterations: 0, converged: true };
  else if (method === 'dense' || (method === 'auto' && n <= DENSE_SPECTRUM_MAX_NODES)) res = denseSpectrum(graph);
  else {
    res = lanczosSpectrum(graph, Math.min(n - 1, options.maxIterations ?? LANCZOS_MAX_ITERATIONS), options.tolerance ?? LANCZOS_TOLERANCE);
    if (method === 'auto' && !res.converged && n <= DENSE_FALLBACK_MAX_NODES) res = denseSpectrum(graph);
  }
  if (!isConnected(graph)) return { ...res, gap: 0, lambda2: 1 };
  return res;
}

/** Spectral gap 1 − max(|λ2|, |λmin|) of the graph's Metropolis–Hastings matrix; see `mixingSpectrum`. */
export function mixingSpectralGap(graph: Graph, options: SpectrumOptions = {}): number {
  return mixingSpectrum(graph, options).gap;
}

function summary(lambda2: number, lambdaMin: number, method: 'dense' | 'lanczos', iterations: number, converged: boolean): MixingSpectrum {
  const gap = Math.min(1, Math.max(0, 1 - Math.max(Math.abs(lambda2), Math.abs(lambdaMin))));
  return { gap, lambda2, lambdaMin, method, iterations, converged };
}

function denseSpectrum(graph: Graph): MixingSpectrum {
  const n = graph.length;
  const ev = Array.from(symmetricEigenvalues(metropolisHastingsMatrix(graph, 'neighbours'), n)).sort((a, b) => b - a);
  return summary(ev[1]!, ev[n - 1]!, 'dense', 0, true);
}

function lanczosSpectrum(graph: Graph, maxSteps: number, tolerance: number): MixingSpectrum {
  const n = graph.length;
  // Sparse W in CSR form with the Metropolis–Hastings weights.
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + graph[i]!.length;
  const cols = new Int32Array(offsets[n]!), weights = new Float64Array(offsets[n]!), self = new Float64Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    graph[i]!.forEach((j, k) => {
      const w = 1 / (1 + Math.max(graph[i]!.length, graph[j]!.length));
      cols[offsets[i]! + k] = j; weights[offsets[i]! + k] = w; self[i]! -= w;
    });
  }
  const deflate = (x: Float64Array): void => { let m = 0; for (let i = 0; i < n; i++) m += x[i]!; m /= n; for (let i = 0; i < n; i++) x[i]! -= m; };
  const dot = (x: Float64Array, y: Float64Array): number => { let s = 0; for (let i = 0; i < n; i++) s += x[i]! * y[i]!; return s; };
  const rng = rngFor('mixing-spectrum', n);
  let q = Float64Array.from({ length: n }, () => rng.normal());
  deflate(q);
  const q0norm = Math.sqrt(dot(q, q));
  for (let i = 0; i < n; i++) q[i]! /= q0norm;
  const Q: Float64Array[] = [q];
  const alpha: number[] = [], beta: number[] = [];
  let extremes: [number, number] = [0, 0];
  let converged = false;
  for (let j = 0; j < maxSteps; j++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = self[i]! * q[i]!;
      for (let e = offsets[i]!; e < offsets[i + 1]!; e++) s += weights[e]! * q[cols[e]!]!;
      w[i] = s;
    }
    alpha.push(dot(w, q));
    // Full reorthogonalisation, twice ("twice is enough"), plus re-deflation of the uniform direction.
    for (let pass = 0; pass < 2; pass++) {
      deflate(w);
      for (const v of Q) { const c = dot(w, v); for (let i = 0; i < n; i++) w[i]! -= c * v[i]!; }
    }
    const b = Math.sqrt(dot(w, w));
    extremes = [tridiagonalEigenvalue(alpha, beta, alpha.length - 1), tridiagonalEigenvalue(alpha, beta, 0)];
    if (b <= 1e-12) { converged = true; break; } // invariant subspace: the Ritz values are exact
    if ((j + 1) % 5 === 0 || j + 1 === maxSteps) {
      if (extremes.every((theta) => ritzResidual(alpha, beta, theta, b) <= tolerance)) { converged = true; break; }
    }
    beta.push(b);
    q = w.map((x) => x / b);
    Q.push(q);
  }
  return summary(extremes[0], extremes[1], 'lanczos', alpha.length, converged);
}

/** k-th smallest eigenvalue (0-based) of the symmetric tridiagonal T (diagonal alpha, off-diagonal beta) by Sturm bisection. */
function tridiagonalEigenvalue(alpha: readonly number[], beta: readonly number[], k: number): number {
  const m = alpha.length;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < m; i++) {
    const r = Math.abs(beta[i - 1] ?? 0) + Math.abs(i < m - 1 ? beta[i]! : 0);
    lo = Math.min(lo, alpha[i]! - r); hi = Math.max(hi, alpha[i]! + r);
  }
  const below = (x: number): number => {
    let count = 0, d = 1;
    for (let i = 0; i < m; i++) {
      d = alpha[i]! - x - (i > 0 ? beta[i - 1]! ** 2 / d : 0);
      if (Math.abs(d) < 1e-300) d = -1e-300;
      if (d < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 2 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi), 1e-300); it++) {
    const mid = (lo + hi) / 2;
    if (below(mid) <= k) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Residual ‖W y − θ y‖ = bNext·|s_m| of the Ritz pair of θ, where s is T's eigenvector for θ, found by
 * inverse iteration with a partial-pivoting tridiagonal LU (as LAPACK dgttrf/dgtts2).
 */
function ritzResidual(alpha: readonly number[], beta: readonly number[], theta: number, bNext: number): number {
  const m = alpha.length;
  if (m === 1) return bNext;
  const d = Float64Array.from(alpha, (a) => a - theta), dl = Float64Array.from(beta), du = Float64Array.from(beta);
  const du2 = new Float64Array(m), swapped = new Uint8Array(m);
  const tiny = 1e-14 * (Math.abs(theta) + 1);
  for (let i = 0; i < m - 1; i++) {
    if (Math.abs(d[i]!) >= Math.abs(dl[i]!)) {
      if (d[i] === 0) d[i] = tiny;
      const f = dl[i]! / d[i]!;
      dl[i] = f; d[i + 1]! -= f * du[i]!;
    } else {
      const f = d[i]! / dl[i]!;
      d[i] = dl[i]!; dl[i] = f;
      const t = du[i]!; du[i] = d[i + 1]!; d[i + 1] = t - f * d[i + 1]!;
      if (i < m - 2) { du2[i] = du[i + 1]!; du[i + 1] = -f * du[i + 1]!; }
      swapped[i] = 1;
    }
  }
  if (d[m - 1] === 0) d[m - 1] = tiny;
  const x = new Float64Array(m).fill(1);
  for (let it = 0; it < 3; it++) {
    for (let i = 0; i < m - 1; i++) {
      if (swapped[i]) { const t = x[i]!; x[i] = x[i + 1]!; x[i + 1] = t - dl[i]! * x[i]!; } else x[i + 1]! -= dl[i]! * x[i]!;
    }
    x[m - 1]! /= d[m - 1]!;
    x[m - 2] = (x[m - 2]! - du[m - 2]! * x[m - 1]!) / d[m - 2]!;
    for (let i = m - 3; i >= 0; i--) x[i] = (x[i]! - du[i]! * x[i + 1]! - du2[i]! * x[i + 2]!) / d[i]!;
    let norm = 0;
    for (let i = 0; i < m; i++) norm += x[i]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) x[i]! /= norm;
  }
  const r = bNext * Math.abs(x[m - 1]!);
  return Number.isFinite(r) ? r : Infinity;
}
