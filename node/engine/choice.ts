/** Which engine runs an algorithm: named by its registry entry (node/algorithms/types.ts), built by registry.ts. */

/** Which engine runs an algorithm and with what engine options (from the registry entry). */
export interface EngineChoice {
  /** A key of the engine registry: 'sync-rounds', 'async-gossip' or 'modest'. */
  readonly name: string;
  /** Options the engine validates itself (MoDeST's sampling settings, asynchronous gossip's behaviour). */
  readonly options?: unknown;
}

/** The engine of a mode when the registry entry names none. */
export function defaultEngine(mode: 'sync' | 'async'): EngineChoice {
  return { name: mode === 'sync' ? 'sync-rounds' : 'async-gossip' };
}
