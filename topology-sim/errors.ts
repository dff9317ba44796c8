/**
 * Errors of topology-sim/ (STYLE.md "Errors"): subclasses of MurmurError whose `code` crosses boundaries;
 * match on it. The virtual network's own errors are in virtual/errors.ts.
 */
import { MurmurError } from '../node/errors.js';

/** Errors of topology specs, generators and edge-list files. */
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

/** Closed set of metrics error codes. */
export type MetricsErrorCode = 'ERR_METRICS_INPUT' | 'ERR_METRICS_WRITER' | 'ERR_RESULTS_FILE';

/** Invalid metric input, a failed or closed writer, or an unreadable results.jsonl; match on `code`. */
export class MetricsError extends MurmurError {
  static override name = 'MetricsError';
  constructor(code: MetricsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A swarm could not be brought up or run (a share process failed, a remote peer never connected). */
export class SwarmError extends MurmurError {
  static override name = 'SwarmError';
  constructor(code: 'ERR_SWARM_CONNECT' | 'ERR_SHARE_FAILED', message: string) {
    super(code, message);
  }
}

/** An adversary spec does not fit the experiment (e.g. reverse-ranking with an algorithm that sends models). */
export class AdversaryError extends MurmurError {
  static override name = 'AdversaryError';
  constructor(message: string) {
    super('ERR_ADVERSARY', message);
  }
}
