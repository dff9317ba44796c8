/**
 * The round engine is a plug-in (DESIGN.md seam 3): the Peer builds the one its algorithm's registry entry
 * names (registry.ts) and runs it; it knows no engine by name. Synchronous rounds, asynchronous gossip and
 * MoDeST are the three engines.
 */
import type { EngineContext } from './context.js';

export { defaultEngine, type EngineChoice } from './choice.js';

/** A running round engine. */
export interface Engine {
  /** Run until the last round or until `signal` aborts (then it rejects with the abort reason or returns). */
  run(signal: AbortSignal): Promise<void>;
  /** Leave the swarm gracefully before the Peer stops (engines with membership, e.g. MoDeST's LEAVE). */
  leave?(): Promise<void>;
  /** Engine-specific state for `murmur status` (e.g. MoDeST's view size and sample). */
  status?(): Record<string, unknown>;
}

/** Builds an engine for one peer. */
export type EngineFactory = (ctx: EngineContext, options: unknown) => Engine;
