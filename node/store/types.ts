import type { PrivateKey } from '@libp2p/interface';
import type { Datastore } from 'interface-datastore';

/** How many checkpoints are kept when {@link StoreInit.checkpoints} is not given. */
export const DEFAULT_CHECKPOINTS = 5;

/** Largest round a model record can hold (its header stores the round as an unsigned 32-bit integer). */
export const MAX_ROUND = 0xffff_ffff;

/** A model as stored: the flat parameter vector plus what a restart needs to resume with it. */
export interface StoredModel {
  /** The round whose aggregation produced this model. */
  round: number;
  /** Model age (gossip-age algorithms) or sample count; any finite number. */
  age: number;
  /** `Layout.hash` of the vector's layout (at most 255 UTF-8 bytes). */
  layoutHash: string;
  /**
   * The parameters. On read this may be a view into the buffer LevelDB returned (no copy when aligned),
   * so use `byteOffset`/`byteLength` rather than `vector.buffer` alone.
   */
  vector: Float32Array;
  /** `modelHash(vector)` from node/model-hash.ts; commitRound checks it. */
  hash: string;
  /** When the model was saved, ms since the epoch (the caller's clock, so a simulation stays deterministic). */
  savedAt: number;
}

/** One round of the metrics history, JSON, written by the engine (accuracy, loss, bytes, phase times…). */
export interface HistoryEntry {
  round: number;
  /** ms since the epoch. */
  time: number;
  /** Hash of the model committed in the same round. */
  modelHash: string;
  [k: string]: unknown;
}

/** What the peer remembers about another peer, JSON. */
export interface PeerRecord {
  id: string;
  addresses: string[];
  /** ms since the epoch. */
  firstSeen: number;
  /** ms since the epoch. */
  lastSeen: number;
  trust?: Record<string, number>;
  /** Rejected frames by reason (codec `RejectReason`). */
  rejections?: Record<string, number>;
  framesIn?: number;
  framesOut?: number;
  bytesIn?: number;
  bytesOut?: number;
  [k: string]: unknown;
}

/** Everything a round commits, in one atomic batch. */
export interface RoundCommit {
  model: StoredModel;
  /** Its `round` and `modelHash` must equal the model's. */
  history: HistoryEntry;
  /** Records to insert or replace (by id); peers not listed keep their previous record. */
  peers?: PeerRecord[];
  /** Also keep this model as a checkpoint (pruning the oldest beyond K); default true. */
  checkpoint?: boolean;
  /** Small JSON state (e.g. algorithm state) stored under one key; omitted = keep the previous value. */
  extra?: Record<string, unknown>;
}

/** Options of {@link Store}. */
export interface StoreInit {
  /** The peer's data directory; created with mode 0700 if missing. */
  dataDir: string;
  /** K: how many checkpoints to keep, at least 1; default {@link DEFAULT_CHECKPOINTS}. */
  checkpoints?: number;
  /**
   * fsync the round batch before commitRound resolves, so a committed round survives a power cut;
   * default true. A process crash (SIGKILL) loses nothing either way; only turn it off for throw-away
   * data directories such as a simulation's.
   */
  sync?: boolean;
}

/** A checkpoint as listed by {@link Store.checkpoints}. */
export interface CheckpointInfo {
  round: number;
  hash: string;
  savedAt: number;
}

/** Options of {@link Store.history}. */
export interface HistoryQuery {
  /** First round included: the smallest when reading forward, the largest when `reverse`. */
  from?: number;
  /** At most this many entries. */
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

/**
 * The peer's persistence (DESIGN.md "Persistence"): LevelDB at `<dataDir>/db`, the libp2p key at
 * `<dataDir>/peer.key` and libp2p's peer store at `<dataDir>/p2p`. Each round is one atomic batch, so a
 * crash loses at most the round in flight. Startable; the Store closes after the engine.
 * Every method except start/stop/isStarted/loadOrCreateIdentity rejects with ERR_STORE_CLOSED unless started.
 */
export interface Store {
  /** Create the data dir if missing and open LevelDB; ERR_STORE_LOCKED if another process holds it. Idempotent. */
  start(): Promise<void>;
  /** Wait for an in-flight commit, then close the libp2p datastore and LevelDB. Idempotent. */
  stop(): Promise<void>;
  isStarted(): boolean;
  /**
   * The libp2p identity from `<dataDir>/peer.key` (protobuf, mode 0600), created (Ed25519) on first use and
   * written atomically. A corrupt file raises ERR_STORE_CORRUPT naming it; it is never replaced silently.
   */
  loadOrCreateIdentity(): Promise<PrivateKey>;
  /** A datastore for libp2p's peer store at `<dataDir>/p2p` (datastore-level), opened on demand, closed by stop(). */
  libp2pDatastore(): Promise<Datastore>;
  /** The model of the last committed round, or null before the first commit. ERR_STORE_CORRUPT on a bad checksum. */
  current(): Promise<StoredModel | null>;
  /** The checkpoint of `round`, or null if there is none (never saved or pruned). */
  checkpoint(round: number): Promise<StoredModel | null>;
  /** The kept checkpoints, oldest first. */
  checkpoints(): Promise<CheckpointInfo[]>;
  /** History entries in round order (see {@link HistoryQuery}). */
  history(opts?: HistoryQuery): Promise<HistoryEntry[]>;
  /** Every peer record, in id order. */
  peers(): Promise<PeerRecord[]>;
  /** The last committed `extra`, or null. */
  extra(): Promise<Record<string, unknown> | null>;
  /**
   * One atomic LevelDB batch: current model, the checkpoint of this round (pruning beyond K in the same
   * batch), the history entry, peer records, extra. ERR_ROUND_ORDER if the round is not greater than the last
   * committed one, ERR_STORE_INVALID for an inconsistent commit, ERR_STORE_WRITE if the write fails (then
   * nothing of it is stored).
   */
  commitRound(commit: RoundCommit): Promise<void>;
  /** The round of the last commit, or null before the first. */
  lastCommittedRound(): Promise<number | null>;
  /** Check every stored model's checksum and that current == latest history hash; returns problems (empty = healthy). */
  verify(): Promise<string[]>;
}
