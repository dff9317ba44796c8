/**
 * The LevelDB-backed {@link Store} (DESIGN.md "Persistence"; notes/libp2p-v3.md §5–6).
 *
 * Crash safety rests on one rule: everything a round changes goes into a single LevelDB batch, written
 * with `sync` by default, and `meta/commit` inside that batch is what says a round is committed. LevelDB
 * applies a batch from its write-ahead log all or nothing, so after a SIGKILL or a power cut the store
 * holds either the whole round or none of it. A failed write raises ERR_STORE_WRITE and the in-memory
 * view (last round, checkpoint index) only moves after the batch succeeded.
 *
 * After a failed write the database is reopened before the next commit: LevelDB may have left a torn record
 * at the end of its log (ENOSPC mid-append) and keeps appending after it, and on the next open the replay
 * can drop the records that follow the torn one. Measured on a full tmpfs: ten rounds committed (with sync)
 * after the disk was freed were gone after a restart. Reopening replays the log up to the torn tail and
 * continues in a fresh log, so every round acknowledged after the failure survives.
 */
import path from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import { LevelDatastore } from 'datastore-level';
import type { Datastore } from 'interface-datastore';
import { Level } from 'level';
import { RecordError, StoreError, describeCause, isDiskFull, openError, readError, writeError } from './errors.js';
import { ensureDataDir, loadOrCreateIdentity } from './identity.js';
import {
  KEY_CKPT_INDEX, KEY_COMMIT, KEY_CURRENT, KEY_EXTRA, ckptKey, histKey, jsonBytes, modelKeyOf,
  parseCheckpointIndex, parseCommitMeta, parseJson, peerKey, prefixRange, type CommitMeta,
} from './keys.js';
import { decodeModel, encodeModel } from './model-record.js';
import {
  DEFAULT_CHECKPOINTS, type CheckpointInfo, type HistoryEntry, type HistoryQuery, type PeerRecord, type RoundCommit,
  type Store, type StoreInit, type StoredModel,
} from './types.js';
import { validateCommit } from './validate.js';
import { verifyStore } from './verify.js';

type Db = Level<string, Uint8Array>;
type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

class LevelStore implements Store {
  private readonly dataDir: string;
  private readonly dbDir: string;
  private readonly k: number;
  private readonly sync: boolean;
  private db: Db | null = null;
  private opening: Promise<void> | null = null;
  private closing = false;
  private stopping: Promise<void> | null = null;
  private datastore: Promise<LevelDatastore> | null = null;
  private identity: Promise<PrivateKey> | null = null;
  /** Orders commits; each commit's own promise carries its result to its caller. */
  private queue: Promise<void> = Promise.resolve();
  private lastRound: number | null = null;
  private ckptIndex: CheckpointInfo[] = [];
  /** A batch write failed: reopen the database before writing again (see the file header). */
  private writeFailed = false;
  /** The database was closed to be reopened after a write failure, and the reopen has not succeeded yet. */
  private reopening = false;

  constructor(init: StoreInit) {
    if (typeof init.dataDir !== 'string' || init.dataDir.length === 0) throw new StoreError('ERR_STORE_INVALID', 'StoreInit.dataDir must be a non-empty path');
    const k = init.checkpoints ?? DEFAULT_CHECKPOINTS;
    if (!Number.isInteger(k) || k < 1) throw new StoreError('ERR_STORE_INVALID', `StoreInit.checkpoints ${String(k)} must be an integer ≥ 1`);
    this.dataDir = path.resolve(init.dataDir);
    this.dbDir = path.join(this.dataDir, 'db');
    this.k = k;
    this.sync = init.sync ?? true;
  }

  isStarted(): boolean {
    return this.db !== null && !this.closing;
  }

  async start(): Promise<void> {
    if (this.stopping !== null) await this.stopping;
    if (this.db !== null || this.reopening) return;
    this.opening ??= this.open().finally(() => { this.opening = null; });
    return this.opening;
  }

  private async open(): Promise<void> {
    await ensureDataDir(this.dataDir);
    this.db = await this.openDb();
  }

  /** Open LevelDB and load the in-memory view (last round, checkpoint index) from what is on disk. */
  private async openDb(): Promise<Db> {
    const db: Db = new Level<string, Uint8Array>(this.dbDir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw openError(this.dbDir, err);
    }
    try {
      const commit = await db.get(KEY_COMMIT);
      this.lastRound = commit === undefined ? null : parseCommitMeta(this.dbDir, commit).round;
      const index = await db.get(KEY_CKPT_INDEX);
      this.ckptIndex = index === undefined ? [] : parseCheckpointIndex(this.dbDir, index);
    } catch (err) {
      await db.close();
      throw err instanceof StoreError ? err : readError({ dataDir: this.dataDir, dbDir: this.dbDir }, 'meta/', err);
    }
    return db;
  }

  /**
   * Close and reopen the database after a failed write (see the file header). The view is reloaded from
   * disk, which also covers a batch that reported a failure yet reached the log whole. If the reopen fails
   * (the disk is still full), the next commit tries again.
   */
  private async reopenAfterWriteFailure(round: number): Promise<Db> {
    const old = this.db;
    this.db = null;
    this.reopening = true;
    if (old !== null) await old.close().catch(() => undefined); // it is discarded either way
    try {
      this.db = await this.openDb();
    } catch (err) {
      const kept = this.lastRound === null ? 'it holds no committed round' : `it still holds round ${this.lastRound}`;
      const hint = isDiskFull(err) ? ' because the disk is still full' : '';
      throw new StoreError('ERR_STORE_WRITE',
        `cannot commit round ${round} to ${this.dbDir}: reopening the database after the last failed write failed${hint} ` +
        `(${describeCause(err)}); nothing of round ${round} was stored and ${kept}; the next commit tries again`, { cause: err });
    }
    this.reopening = false;
    this.writeFailed = false;
    return this.db;
  }

  async stop(): Promise<void> {
    if (this.opening !== null) await this.opening.catch(() => undefined); // a failed start leaves nothing to close
    this.stopping ??= this.close().finally(() => { this.stopping = null; });
    return this.stopping;
  }

  private async close(): Promise<void> {
    if (this.db === null && !this.reopening) return;
    this.closing = true;
    try {
      await this.queue; // never rejects: see commitRound
      const ds = this.datastore;
      this.datastore = null;
      // A datastore whose open failed has nothing to close; its error already reached libp2pDatastore()'s caller.
      if (ds !== null) await (await ds.catch(() => null))?.close();
      // A commit in the queue may have reopened the database: close the handle that is open now.
      await this.db?.close();
    } finally {
      this.db = null;
      this.closing = false;
      this.reopening = false;
      this.writeFailed = false;
    }
  }

  private requireDb(): Db {
    if (this.reopening && !this.closing) {
      throw new StoreError('ERR_STORE_CLOSED', `the store at ${this.dataDir} is being reopened after a failed write (is the disk full?); the next commit tries again`);
    }
    if (this.db === null || this.closing) {
      throw new StoreError('ERR_STORE_CLOSED', `the store at ${this.dataDir} is not open: call start() first (or it was stopped)`);
    }
    return this.db;
  }

  private async getRaw(key: string): Promise<Uint8Array | undefined> {
    const db = this.requireDb();
    try {
      return await db.get(key);
    } catch (err) {
      throw readError({ dataDir: this.dataDir, dbDir: this.dbDir }, key, err);
    }
  }

  /** Every [key, value] of a range, newest-last unless `reverse`. */
  private async scan(range: { gte?: string; lte?: string; lt?: string; reverse?: boolean; limit?: number }): Promise<Array<[string, Uint8Array]>> {
    const db = this.requireDb();
    const out: Array<[string, Uint8Array]> = [];
    try {
      for await (const entry of db.iterator(range)) out.push(entry);
    } catch (err) {
      throw readError({ dataDir: this.dataDir, dbDir: this.dbDir }, range.gte ?? range.lte ?? '?', err);
    }
    return out;
  }

  private async keysIn(range: { gte: string; lt: string }): Promise<string[]> {
    const db = this.requireDb();
    try {
      return await db.keys(range).all();
    } catch (err) {
      throw readError({ dataDir: this.dataDir, dbDir: this.dbDir }, range.gte, err);
    }
  }

  private decodeAt(key: string, bytes: Uint8Array): StoredModel {
    try {
      return decodeModel(bytes);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      throw new StoreError('ERR_STORE_CORRUPT',
        `the model record ${key} in ${this.dbDir} is corrupt (${err.message}); run verify() and fall back to a checkpoint`, { cause: err });
    }
  }

  private async commitMeta(): Promise<CommitMeta | null> {
    const bytes = await this.getRaw(KEY_COMMIT);
    return bytes === undefined ? null : parseCommitMeta(this.dbDir, bytes);
  }

  async loadOrCreateIdentity(): Promise<PrivateKey> {
    // One creation at a time in this process; a failure is not cached, so a retry after freeing space works.
    this.identity ??= loadOrCreateIdentity(this.dataDir).catch((err: unknown) => { this.identity = null; throw err; });
    return this.identity;
  }

  async libp2pDatastore(): Promise<Datastore> {
    this.requireDb();
    this.datastore ??= this.openDatastore().catch((err: unknown) => { this.datastore = null; throw err; });
    return this.datastore;
  }

  private async openDatastore(): Promise<LevelDatastore> {
    const dir = path.join(this.dataDir, 'p2p');
    // Opened here rather than by LevelDatastore.open(), which flattens the error and hides a held lock.
    const level = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await level.open({ createIfMissing: true });
    } catch (err) {
      throw openError(dir, err);
    }
    const ds = new LevelDatastore(level);
    await ds.open();
    return ds;
  }

  async current(): Promise<StoredModel | null> {
    const meta = await this.commitMeta();
    if (meta === null) return null;
    const key = modelKeyOf(meta);
    const bytes = await this.getRaw(key);
    if (bytes === undefined) {
      throw new StoreError('ERR_STORE_CORRUPT', `${KEY_COMMIT} in ${this.dbDir} says round ${meta.round} is committed, but its model ${key} is missing`);
    }
    const model = this.decodeAt(key, bytes);
    if (model.round !== meta.round || model.hash !== meta.modelHash) {
      throw new StoreError('ERR_STORE_CORRUPT',
        `the model ${key} in ${this.dbDir} is round ${model.round} hash ${model.hash}; ${KEY_COMMIT} says round ${meta.round} hash ${meta.modelHash}`);
    }
    return model;
  }

  async checkpoint(round: number): Promise<StoredModel | null> {
    if (!Number.isInteger(round) || round < 0) return null;
    const key = ckptKey(round);
    const bytes = await this.getRaw(key);
    if (bytes === undefined) return null;
    const model = this.decodeAt(key, bytes);
    if (model.round !== round) throw new StoreError('ERR_STORE_CORRUPT', `the model record ${key} in ${this.dbDir} holds round ${model.round}`);
    return model;
  }

  async checkpoints(): Promise<CheckpointInfo[]> {
    this.requireDb();
    return this.ckptIndex.map((c) => ({ ...c }));
  }

  async history(opts: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const { from, limit, reverse = false } = opts;
    if (from !== undefined && (!Number.isInteger(from) || from < 0)) throw new StoreError('ERR_STORE_INVALID', `history: from ${from} must be an integer ≥ 0`);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new StoreError('ERR_STORE_INVALID', `history: limit ${limit} must be an integer ≥ 0`);
    if (limit === 0) return [];
    const all = prefixRange('hist');
    const range = reverse
      ? { gte: all.gte, ...(from === undefined ? { lt: all.lt } : { lte: histKey(from) }) }
      : { gte: from === undefined ? all.gte : histKey(from), lt: all.lt };
    const rows = await this.scan({ ...range, reverse, ...(limit === undefined ? {} : { limit }) });
    return rows.map(([key, value]) => parseJson<HistoryEntry>(this.dbDir, key, value));
  }

  async peers(): Promise<PeerRecord[]> {
    const rows = await this.scan(prefixRange('peer'));
    return rows.map(([key, value]) => parseJson<PeerRecord>(this.dbDir, key, value));
  }

  async extra(): Promise<Record<string, unknown> | null> {
    const bytes = await this.getRaw(KEY_EXTRA);
    return bytes === undefined ? null : parseJson<Record<string, unknown>>(this.dbDir, KEY_EXTRA, bytes);
  }

  async lastCommittedRound(): Promise<number | null> {
    this.requireDb();
    return this.lastRound;
  }

  commitRound(commit: RoundCommit): Promise<void> {
    // A store waiting to be reopened after a failed write still takes commits: they retry the reopen.
    if (!this.reopening || this.closing) {
      try {
        this.requireDb();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    // stop() waits for the queue before closing, so the database stays open for every commit accepted here.
    const run = this.queue.then(() => this.commitNow(commit));
    // The queue only orders commits; each caller sees its own outcome through `run`.
    this.queue = run.then(() => undefined, () => undefined);
    return run;
  }

  private async commitNow(commit: RoundCommit): Promise<void> {
    validateCommit(commit);
    // Not requireDb(): a commit accepted before stop() still runs while the store is closing.
    const db = this.writeFailed ? await this.reopenAfterWriteFailure(commit.model.round) : this.db;
    if (db === null) throw new StoreError('ERR_STORE_CLOSED', `the store at ${this.dataDir} was closed before round ${commit.model.round} was committed`);
    const { model, history } = commit;
    if (this.lastRound !== null && model.round <= this.lastRound) {
      throw new StoreError('ERR_ROUND_ORDER',
        `cannot commit round ${model.round} to ${this.dbDir}: the last committed round is ${this.lastRound}; rounds must increase`);
    }
    const encoded = encodeModel(model);
    if (encoded.hash !== model.hash) {
      throw new StoreError('ERR_STORE_INVALID', `commit.model.hash ${model.hash} is not modelHash(vector) = ${encoded.hash}`);
    }
    const ops: Op[] = [];
    let index = this.ckptIndex;
    const checkpointed = commit.checkpoint ?? true;
    if (checkpointed) {
      // The checkpoint doubles as the current model, so a round's weights are written once, not twice.
      ops.push({ type: 'put', key: ckptKey(model.round), value: encoded.bytes }, { type: 'del', key: KEY_CURRENT });
      index = [...index, { round: model.round, hash: encoded.hash, savedAt: model.savedAt }];
      while (index.length > this.k) ops.push({ type: 'del', key: ckptKey(index.shift()!.round) });
      ops.push({ type: 'put', key: KEY_CKPT_INDEX, value: jsonBytes('the checkpoint index', index) });
    } else {
      ops.push({ type: 'put', key: KEY_CURRENT, value: encoded.bytes });
    }
    ops.push({ type: 'put', key: histKey(model.round), value: jsonBytes('commit.history', history) });
    for (const [i, p] of (commit.peers ?? []).entries()) ops.push({ type: 'put', key: peerKey(p.id), value: jsonBytes(`commit.peers[${i}]`, p) });
    if (commit.extra !== undefined) ops.push({ type: 'put', key: KEY_EXTRA, value: jsonBytes('commit.extra', commit.extra) });
    const meta: CommitMeta = { round: model.round, modelHash: encoded.hash, time: history.time, modelKey: checkpointed ? 'ckpt' : 'current' };
    ops.push({ type: 'put', key: KEY_COMMIT, value: jsonBytes('the commit record', meta) });
    try {
      await db.batch(ops, { sync: this.sync });
    } catch (err) {
      const error = writeError({ dataDir: this.dataDir, dbDir: this.dbDir, lastRound: this.lastRound }, model.round, err);
      if (error.code === 'ERR_STORE_WRITE') this.writeFailed = true;
      throw error;
    }
    this.lastRound = model.round;
    this.ckptIndex = index;
  }

  async verify(): Promise<string[]> {
    this.requireDb();
    return verifyStore({
      where: this.dbDir,
      getRaw: (key) => this.getRaw(key),
      scan: (range) => this.scan(range),
      keys: (range) => this.keysIn(range),
      decodeAt: (key, bytes) => this.decodeAt(key, bytes),
    });
  }
}

/**
 * The peer's LevelDB store under `init.dataDir`. Acquires nothing until start(). Throws ERR_STORE_INVALID
 * for a bad `init`.
 */
export function store(init: StoreInit): Store {
  return new LevelStore(init);
}
