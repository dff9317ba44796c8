/**
 * Persistence of one peer (DESIGN.md "Persistence"): LevelDB under the data directory holding the current
 * model, the last K checkpoints, the history and peer records, one atomic batch per round; the libp2p
 * identity file; and the datastore for libp2p's peer store. Implementation in node/store/.
 */
export { store } from './store/level-store.js';
export { DEFAULT_CHECKPOINTS, MAX_ROUND } from './store/types.js';
export type {
  CheckpointInfo, HistoryEntry, HistoryQuery, PeerRecord, RoundCommit, Store, StoreInit, StoredModel,
} from './store/types.js';
export { IDENTITY_FILE } from './store/identity.js';
export { StoreError, type StoreErrorCode } from './store/errors.js';
