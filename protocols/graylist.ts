/**
 * Peers that sent hostile bytes are shut out for a while (issue 12 "hostile bytes"): each violation is a
 * strike; at `strikes` strikes within `windowMs` the peer's connections are closed and the connection
 * gater refuses it, both ways, for `banMs`. A strike is a clear protocol violation no honest peer makes —
 * a length prefix longer than any allowed frame needs, garbage before protocol negotiation — never a frame
 * an honest peer can send by mistake (stale, foreign layout, busy).
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface';

/** Why a peer got a strike (a closed union: it is a metric label). */
export type StrikeReason = 'endless-length-prefix' | 'negotiation-garbage';

/** Tunables; defaults in the constants below. */
export interface GraylistInit {
  strikes?: number;
  windowMs?: number;
  banMs?: number;
  now?: () => number;
  /** Called once when a peer becomes graylisted (close its connections here). */
  onListed?(peer: string, reason: StrikeReason): void;
}

/** A graylisted peer as status and metrics show it. */
export interface GraylistEntry { readonly peer: string; readonly until: number; readonly reason: StrikeReason; readonly strikes: number }

export const DEFAULT_GRAYLIST_STRIKES = 3;
export const DEFAULT_GRAYLIST_WINDOW_MS = 60_000;
export const DEFAULT_GRAYLIST_BAN_MS = 10 * 60_000;

export class Graylist {
  private readonly strikes: number;
  private readonly windowMs: number;
  private readonly banMs: number;
  private readonly now: () => number;
  private readonly recent = new Map<string, number[]>();
  private readonly listed = new Map<string, GraylistEntry>();
  private readonly counts: Record<StrikeReason, number> = { 'endless-length-prefix': 0, 'negotiation-garbage': 0 };

  constructor(private readonly init: GraylistInit = {}) {
    this.strikes = init.strikes ?? DEFAULT_GRAYLIST_STRIKES;
    this.windowMs = init.windowMs ?? DEFAULT_GRAYLIST_WINDOW_MS;
    this.banMs = init.banMs ?? DEFAULT_GRAYLIST_BAN_MS;
    this.now = init.now ?? Date.now;
  }

  /** Count one violation of `peer`; true when this strike graylisted it. */
  strike(peer: string, reason: StrikeReason): boolean {
    this.counts[reason]++;
    const now = this.now();
    const times = (this.recent.get(peer) ?? []).filter((t) => now - t < this.windowMs);
    times.push(now);
    this.recent.set(peer, times);
    if (times.length < this.strikes || this.isListed(peer)) return false;
    this.listed.set(peer, { peer, until: now + this.banMs, reason, strikes: times.length });
    this.recent.delete(peer);
    this.init.onListed?.(peer, reason);
    return true;
  }

  /** Whether `peer` is shut out now (an expired entry is dropped). */
  isListed(peer: string): boolean {
    const e = this.listed.get(peer);
    if (e === undefined) return false;
    if (e.until > this.now()) return true;
    this.listed.delete(peer);
    return false;
  }

  /** Peers shut out now. */
  entries(): GraylistEntry[] {
    return [...this.listed.keys()].filter((p) => this.isListed(p)).map((p) => this.listed.get(p)!);
  }

  /** Strikes so far by reason. */
  strikeCounts(): Readonly<Record<StrikeReason, number>> {
    return { ...this.counts };
  }

  /** The connection-gater hooks that refuse graylisted peers in both directions. */
  gater(): ConnectionGater {
    const deny = (peer: PeerId): boolean => this.isListed(peer.toString());
    return { denyDialPeer: deny, denyInboundEncryptedConnection: deny, denyOutboundEncryptedConnection: deny };
  }
}
