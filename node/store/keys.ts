/**
 * The LevelDB key scheme and value helpers. Keys are `<prefix>/<name>`; rounds are zero-padded to 10
 * digits (the u32 maximum has 10) so that LevelDB's byte order is numeric order.
 *
 *   model/current      model record of the last commit, only when that round was not checkpointed
 *   ckpt/<round>       model record of a checkpointed round (the last K)
 *   hist/<round>       history entry (JSON)
 *   peer/<id>          peer record (JSON)
 *   meta/commit        {@link CommitMeta} (JSON): written last in every round batch
 *   meta/ckpts         the checkpoint index, {@link CheckpointInfo}[] oldest first (JSON)
 *   meta/extra         the commit's `extra` (JSON)
 */
import { StoreError, describeCause } from './errors.js';
import type { CheckpointInfo } from './types.js';

export const KEY_CURRENT = 'model/current';
export const KEY_COMMIT = 'meta/commit';
export const KEY_CKPT_INDEX = 'meta/ckpts';
export const KEY_EXTRA = 'meta/extra';

const ROUND_DIGITS = 10;

/** `ckpt/0000000042` for round 42. */
export const ckptKey = (round: number): string => `ckpt/${String(round).padStart(ROUND_DIGITS, '0')}`;
/** `hist/0000000042` for round 42. */
export const histKey = (round: number): string => `hist/${String(round).padStart(ROUND_DIGITS, '0')}`;
/** `peer/<id>`. */
export const peerKey = (id: string): string => `peer/${id}`;

/** The key range holding every key of `prefix` ('0' is the byte after '/'). */
export function prefixRange(prefix: 'ckpt' | 'hist' | 'peer'): { gte: string; lt: string } {
  return { gte: `${prefix}/`, lt: `${prefix}0` };
}

/** The round a `ckpt/` or `hist/` key names, or NaN. */
export function roundOfKey(key: string): number {
  const digits = key.slice(key.indexOf('/') + 1);
  return /^\d{10}$/.test(digits) ? Number(digits) : Number.NaN;
}

/**
 * The commit record: which round is committed, its model's hash and where that model lives. Written in
 * the same batch as everything else, so it is the one place that says what "committed" means.
 */
export interface CommitMeta {
  round: number;
  modelHash: string;
  /** ms since the epoch (the history entry's time). */
  time: number;
  /** 'ckpt': the model is `ckpt/<round>` (stored once); 'current': it is `model/current`. */
  modelKey: 'ckpt' | 'current';
}

/** The key of the committed model. */
export function modelKeyOf(meta: CommitMeta): string {
  return meta.modelKey === 'ckpt' ? ckptKey(meta.round) : KEY_CURRENT;
}

/** JSON to bytes; a value JSON cannot hold (BigInt, a cycle) is the caller's mistake: ERR_STORE_INVALID. */
export function jsonBytes(what: string, value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new StoreError('ERR_STORE_INVALID', `${what} is not JSON-serialisable: ${describeCause(err)}`, { cause: err });
  }
  if (text === undefined) throw new StoreError('ERR_STORE_INVALID', `${what} is not JSON-serialisable (got ${typeof value})`);
  return Buffer.from(text, 'utf8');
}

/** Bytes to JSON; unparsable bytes mean the record is damaged: ERR_STORE_CORRUPT naming the key. */
export function parseJson<T>(where: string, key: string, bytes: Uint8Array): T {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
  } catch (err) {
    throw new StoreError('ERR_STORE_CORRUPT', `the record ${key} in ${where} is not valid JSON: ${describeCause(err)}`, { cause: err });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse and shape-check meta/commit. */
export function parseCommitMeta(where: string, bytes: Uint8Array): CommitMeta {
  const v = parseJson<unknown>(where, KEY_COMMIT, bytes);
  if (!isObject(v) || !Number.isInteger(v['round']) || typeof v['modelHash'] !== 'string' || (v['modelKey'] !== 'ckpt' && v['modelKey'] !== 'current')) {
    throw new StoreError('ERR_STORE_CORRUPT', `the record ${KEY_COMMIT} in ${where} has an unexpected shape`);
  }
  return v as unknown as CommitMeta;
}

/** Parse and shape-check meta/ckpts. */
export function parseCheckpointIndex(where: string, bytes: Uint8Array): CheckpointInfo[] {
  const v = parseJson<unknown>(where, KEY_CKPT_INDEX, bytes);
  if (!Array.isArray(v) || !v.every((c) => isObject(c) && Number.isInteger(c['round']) && typeof c['hash'] === 'string')) {
    throw new StoreError('ERR_STORE_CORRUPT', `the record ${KEY_CKPT_INDEX} in ${where} has an unexpected shape`);
  }
  return v as CheckpointInfo[];
}
