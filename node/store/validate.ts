/**
 * Checks on a {@link RoundCommit} before anything is written: a commit the store would have to "fix"
 * is refused instead, so what is on disk always satisfies verify().
 */
import { StoreError } from './errors.js';
import { MAX_LAYOUT_HASH_BYTES } from './model-record.js';
import { MAX_ROUND, type RoundCommit } from './types.js';

function invalid(message: string): StoreError {
  return new StoreError('ERR_STORE_INVALID', message);
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throw ERR_STORE_INVALID naming the first field that is wrong. The model hash itself is checked on encoding. */
export function validateCommit(commit: RoundCommit): void {
  const { model, history, peers, extra } = commit;
  if (!isPlainObject(model)) throw invalid('commit.model is missing');
  if (!(model.vector instanceof Float32Array)) throw invalid('commit.model.vector must be a Float32Array');
  if (!Number.isInteger(model.round) || model.round < 0 || model.round > MAX_ROUND) {
    throw invalid(`commit.model.round ${String(model.round)} is not an integer in [0, ${MAX_ROUND}]`);
  }
  if (!isFiniteNumber(model.age)) throw invalid(`commit.model.age ${String(model.age)} is not a finite number`);
  if (!isFiniteNumber(model.savedAt)) throw invalid(`commit.model.savedAt ${String(model.savedAt)} is not a finite number (ms since the epoch)`);
  if (typeof model.layoutHash !== 'string' || Buffer.byteLength(model.layoutHash, 'utf8') > MAX_LAYOUT_HASH_BYTES) {
    throw invalid(`commit.model.layoutHash must be a string of at most ${MAX_LAYOUT_HASH_BYTES} UTF-8 bytes`);
  }
  if (typeof model.hash !== 'string') throw invalid('commit.model.hash must be modelHash(vector)');
  if (!isPlainObject(history)) throw invalid('commit.history is missing');
  if (history.round !== model.round) throw invalid(`commit.history.round ${String(history.round)} differs from commit.model.round ${model.round}`);
  if (history.modelHash !== model.hash) throw invalid(`commit.history.modelHash ${String(history.modelHash)} differs from commit.model.hash ${model.hash}`);
  if (!isFiniteNumber(history.time)) throw invalid(`commit.history.time ${String(history.time)} is not a finite number (ms since the epoch)`);
  if (peers !== undefined) {
    if (!Array.isArray(peers)) throw invalid('commit.peers must be an array');
    for (const [i, p] of peers.entries()) {
      if (!isPlainObject(p) || typeof p.id !== 'string' || p.id.length === 0) throw invalid(`commit.peers[${i}].id must be a non-empty string`);
      if (!Array.isArray(p.addresses) || !p.addresses.every((a) => typeof a === 'string')) throw invalid(`commit.peers[${i}].addresses must be an array of strings`);
      if (!isFiniteNumber(p.firstSeen) || !isFiniteNumber(p.lastSeen)) throw invalid(`commit.peers[${i}].firstSeen and lastSeen must be finite numbers (ms since the epoch)`);
    }
  }
  if (extra !== undefined && !isPlainObject(extra)) throw invalid('commit.extra must be a plain object');
}
