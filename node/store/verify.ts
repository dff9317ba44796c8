/**
 * Store.verify(): read everything back and list what is inconsistent. Each check runs even when an
 * earlier one failed, so one damaged record does not hide another; models are read one at a time, so
 * memory stays at one model whatever K is.
 */
import { StoreError } from './errors.js';
import {
  KEY_CKPT_INDEX, KEY_COMMIT, KEY_CURRENT, KEY_EXTRA, ckptKey, modelKeyOf, parseCheckpointIndex, parseCommitMeta, parseJson,
  prefixRange, roundOfKey, type CommitMeta,
} from './keys.js';
import type { CheckpointInfo, HistoryEntry, StoredModel } from './types.js';

/** What verify needs from the store; every method may throw StoreError. */
export interface VerifyAccess {
  /** The database directory, for messages. */
  where: string;
  getRaw(key: string): Promise<Uint8Array | undefined>;
  scan(range: { gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }): Promise<Array<[string, Uint8Array]>>;
  keys(range: { gte: string; lt: string }): Promise<string[]>;
  /** Decode a model record; ERR_STORE_CORRUPT naming the key on a bad checksum. */
  decodeAt(key: string, bytes: Uint8Array): StoredModel;
}

/** Run `check`; a StoreError becomes a problem (ERR_STORE_CLOSED still throws: the question has no answer). */
async function attempt<T>(problems: string[], check: () => Promise<T>): Promise<T | undefined> {
  try {
    return await check();
  } catch (err) {
    if (!(err instanceof StoreError) || err.code === 'ERR_STORE_CLOSED') throw err;
    problems.push(err.message);
    return undefined;
  }
}

async function readModel(a: VerifyAccess, key: string): Promise<StoredModel | null> {
  const bytes = await a.getRaw(key);
  return bytes === undefined ? null : a.decodeAt(key, bytes);
}

async function checkCheckpoints(a: VerifyAccess, problems: string[]): Promise<number> {
  const indexBytes = await attempt(problems, () => a.getRaw(KEY_CKPT_INDEX));
  const index = indexBytes === undefined ? [] : (await attempt(problems, async () => parseCheckpointIndex(a.where, indexBytes))) ?? [];
  const byRound = new Map<number, CheckpointInfo>(index.map((c) => [c.round, c]));
  const keys = (await attempt(problems, () => a.keys(prefixRange('ckpt')))) ?? [];
  for (const key of keys) {
    const round = roundOfKey(key);
    const listed = byRound.get(round);
    byRound.delete(round);
    if (listed === undefined) problems.push(`the checkpoint ${key} in ${a.where} is missing from ${KEY_CKPT_INDEX}`);
    const model = await attempt(problems, () => readModel(a, key));
    if (model === undefined || model === null) continue;
    if (model.round !== round) problems.push(`the model record ${key} in ${a.where} holds round ${model.round}`);
    if (listed !== undefined && listed.hash !== model.hash) {
      problems.push(`${KEY_CKPT_INDEX} in ${a.where} lists round ${round} with hash ${listed.hash}; the record's hash is ${model.hash}`);
    }
  }
  for (const c of byRound.values()) problems.push(`${KEY_CKPT_INDEX} in ${a.where} lists round ${c.round}, whose checkpoint ${ckptKey(c.round)} is missing`);
  return keys.length;
}

async function checkCommitted(a: VerifyAccess, problems: string[], meta: CommitMeta): Promise<void> {
  const key = modelKeyOf(meta);
  const model = await attempt(problems, () => readModel(a, key));
  if (model === null) problems.push(`${KEY_COMMIT} in ${a.where} says round ${meta.round} is committed, but its model ${key} is missing`);
  else if (model !== undefined && (model.round !== meta.round || model.hash !== meta.modelHash)) {
    problems.push(`the model ${key} in ${a.where} is round ${model.round} hash ${model.hash}; ${KEY_COMMIT} says round ${meta.round} hash ${meta.modelHash}`);
  }
  const rows = (await attempt(problems, () => a.scan({ ...prefixRange('hist'), reverse: true, limit: 1 }))) ?? [];
  const [latest] = rows;
  if (latest === undefined) {
    problems.push(`${a.where} has a committed round ${meta.round} but no history`);
    return;
  }
  const entry = await attempt(problems, async () => parseJson<HistoryEntry>(a.where, latest[0], latest[1]));
  if (entry === undefined) return;
  if (entry.round !== meta.round) problems.push(`the latest history entry in ${a.where} is round ${entry.round}; the committed round is ${meta.round}`);
  if (entry.modelHash !== meta.modelHash) problems.push(`the latest history entry in ${a.where} records model ${String(entry.modelHash)}; the committed model is ${meta.modelHash}`);
}

/** List every inconsistency of the store behind `a`; empty means healthy. */
export async function verifyStore(a: VerifyAccess): Promise<string[]> {
  const problems: string[] = [];
  const metaBytes = await attempt(problems, () => a.getRaw(KEY_COMMIT));
  const meta = metaBytes === undefined ? undefined : await attempt(problems, async () => parseCommitMeta(a.where, metaBytes));
  const checkpoints = await checkCheckpoints(a, problems);
  if (meta !== undefined) await checkCommitted(a, problems, meta);
  else if (metaBytes === undefined) {
    const history = (await attempt(problems, () => a.keys(prefixRange('hist')))) ?? [];
    const current = await attempt(problems, () => a.getRaw(KEY_CURRENT));
    if (checkpoints > 0 || history.length > 0 || current !== undefined) problems.push(`${a.where} holds models or history but no ${KEY_COMMIT} record`);
  }
  for (const [key, value] of (await attempt(problems, () => a.scan(prefixRange('peer')))) ?? []) {
    await attempt(problems, async () => parseJson(a.where, key, value));
  }
  const extra = await attempt(problems, () => a.getRaw(KEY_EXTRA));
  if (extra !== undefined) await attempt(problems, async () => parseJson(a.where, KEY_EXTRA, extra));
  return problems;
}
