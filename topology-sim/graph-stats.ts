/** Checks and statistics of undirected graphs given as sorted neighbour lists. */
import { TopologyError } from './errors.js';

/** `graphStats` computes the diameter (all-pairs BFS) only up to this many nodes. */
export const DIAMETER_MAX_NODES = 2000;

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

