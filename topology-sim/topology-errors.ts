/** Errors of topology specs, generators and edge-list files. */
import { MurmurError } from '../node/errors.js';

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
