/**
 * The shared medium of a simulation (see network.ts for the per-peer side and the delivery semantics):
 * who has joined, who is online, who is connected, and the link models every send samples.
 */
import { DEFAULT_FRAME_LIMITS } from '../../protocols/codec.js';
import type { FrameLimits } from '../../protocols/codec.js';
import { DEFAULT_SEND_TIMEOUT_MS, silentLogger } from '../../protocols/constants.js';
import type { Logger } from '../../protocols/constants.js';
import { VirtualPeerError } from './errors.js';
import { constantLatency, DEFAULT_LATENCY_MS, NO_DROP, UNLIMITED_BANDWIDTH } from './links.js';
import type { BandwidthModel, DropModel, LatencyModel } from './links.js';
import { VirtualNetwork, type VirtualMedium, type VirtualPeerInit } from './network.js';
import type { VirtualScheduler } from './scheduler.js';

/** Options of a virtual net. */
export interface VirtualNetInit {
  scheduler: VirtualScheduler;
  /** Default constantLatency(DEFAULT_LATENCY_MS). */
  latency?: LatencyModel;
  /** Default UNLIMITED_BANDWIDTH. */
  bandwidth?: BandwidthModel;
  /** Default NO_DROP. */
  drop?: DropModel;
  /** Deadline of a send that did not arrive (lost, too slow), ms; default DEFAULT_SEND_TIMEOUT_MS. */
  sendTimeoutMs?: number;
  /** Per-peer inbox byte bound; default DEFAULT_INBOX_MAX_BYTES. */
  inboxMaxBytes?: number;
  /** Receiver limits; default DEFAULT_FRAME_LIMITS. */
  limits?: FrameLimits;
  /** Who receives announcements; default 'all'. */
  announceTo?: 'all' | 'connected';
  /** Give each receiver its own copy of a frame; default false. */
  copyFrames?: boolean;
  logger?: Logger;
}

/** The shared medium of one simulation: membership, online state, link models. */
export class VirtualNet implements VirtualMedium {
  readonly scheduler: VirtualScheduler;
  readonly latency: LatencyModel;
  readonly bandwidth: BandwidthModel;
  readonly drop: DropModel;
  readonly sendTimeoutMs: number;
  readonly limits: FrameLimits;
  readonly announceTo: 'all' | 'connected';
  readonly copyFrames: boolean;
  readonly inboxMaxBytes: number | undefined;
  readonly log: Logger;
  private readonly members: VirtualNetwork[] = [];
  private readonly byId = new Map<string, number>();
  private readonly offline = new Set<number>();

  constructor(init: VirtualNetInit) {
    this.scheduler = init.scheduler;
    this.latency = init.latency ?? constantLatency(DEFAULT_LATENCY_MS);
    this.bandwidth = init.bandwidth ?? UNLIMITED_BANDWIDTH;
    this.drop = init.drop ?? NO_DROP;
    this.sendTimeoutMs = init.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    if (!(this.sendTimeoutMs >= 0) || !Number.isFinite(this.sendTimeoutMs)) throw new RangeError(`sendTimeoutMs must be a finite number ≥ 0, got ${this.sendTimeoutMs}`);
    this.limits = init.limits ?? DEFAULT_FRAME_LIMITS;
    this.announceTo = init.announceTo ?? 'all';
    this.copyFrames = init.copyFrames ?? false;
    this.inboxMaxBytes = init.inboxMaxBytes;
    this.log = init.logger ?? silentLogger;
  }

  /** Add a peer; its index (the scheduler owner of its events) is the join order. Throws VirtualPeerError on a repeated id. */
  join(id: string, peer: VirtualPeerInit): VirtualNetwork {
    if (this.byId.has(id)) throw new VirtualPeerError(id, 'joined twice; peer ids must be unique');
    const index = this.members.length;
    const network = new VirtualNetwork(this, id, index, peer);
    this.members.push(network);
    this.byId.set(id, index);
    return network;
  }

  /** Number of joined peers. */
  get size(): number {
    return this.members.length;
  }

  /** The network of a peer by index. */
  member(index: number): VirtualNetwork | undefined {
    return this.members[index];
  }

  /** Index of a peer id, or undefined. */
  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** Connect two joined peers (both directions). Throws VirtualPeerError for an unknown id. */
  connect(a: string, b: string): void {
    const i = this.mustIndex(a), j = this.mustIndex(b);
    this.members[i]!.link(j);
    this.members[j]!.link(i);
  }

  /** Take a peer off the network (churn) or bring it back. Its buffered frames stay. */
  setOnline(id: string, online: boolean): void {
    const i = this.mustIndex(id);
    if (online) this.offline.delete(i);
    else this.offline.add(i);
  }

  isOnline(index: number): boolean {
    return !this.offline.has(index);
  }

  private mustIndex(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw new VirtualPeerError(id, 'is not part of this virtual net');
    return i;
  }
}
