/**
 * MoDeST membership views and sample derivation (de Vos, Dhasade, Kermarrec, Lavoie, Pouwelse, Sharma, arXiv
 * 2302.13837 v1, 2023; ALGORITHMS.md §3.1, §3.3 and §8 "MoDeST order"): peer sampling, so it lives with the
 * MoDeST engine, not in aggregation/. Pure functions over plain maps: no I/O, no clock, no crypto; the digest
 * (MD5, membership.ts) and the peer-id bytes are passed in. The entry type is the network seam's.
 *
 * Rounds and sample indices (§3.2, the off-by-one): the peers of sample index k are ordered by
 * digest(idBytes ‖ "-" ‖ decimal(k)); its first s available peers train round k, its first a available peers
 * aggregate. A model trained in round r travels with sample index r + 1 to the aggregators of r + 1, who
 * hand the average to the trainers of r + 1.
 */
import type { MembershipStatus, ViewEntry } from '../../network.js';
import { checkOption } from './errors.js';

export type { MembershipStatus, ViewEntry };

/** A membership view: peer id → entry. */
export type View = Map<string, ViewEntry>;

/** A digest function (MD5 in MoDeST) from bytes to bytes. */
export type Digest = (bytes: Uint8Array) => Uint8Array;

/**
 * Merge one remote entry into a local one (§3.3): an unknown peer is taken as is; otherwise lastActive is
 * the maximum of both, and status and index are replaced iff the remote index is larger.
 */
export function mergeEntry(local: ViewEntry | undefined, remote: ViewEntry): ViewEntry {
  if (local === undefined) return remote;
  const lastActive = Math.max(local.lastActive, remote.lastActive);
  return remote.index > local.index
    ? { lastActive, index: remote.index, status: remote.status }
    : { lastActive, index: local.index, status: local.status };
}

/**
 * Merge `remote` entries into `view` in place; ids for which `keep(id)` holds are left alone (a peer keeps
 * its own entry). Returns the ids whose entry changed, in the order met.
 */
export function mergeView(view: View, remote: Iterable<readonly [string, ViewEntry]>, keep: (id: string) => boolean = () => false): string[] {
  const changed: string[] = [];
  for (const [id, entry] of remote) {
    if (keep(id)) continue;
    const before = view.get(id);
    const after = mergeEntry(before, entry);
    if (before === undefined || after.lastActive !== before.lastActive || after.index !== before.index || after.status !== before.status) {
      view.set(id, after);
      changed.push(id);
    }
  }
  return changed;
}

/** Activity update (§3.3): raise a known peer's lastActive to `round`; unknown peers are not added. */
export function touch(view: View, id: string, round: number): void {
  const e = view.get(id);
  if (e !== undefined && round > e.lastActive) view.set(id, { ...e, lastActive: round });
}

/** The highest lastActive in the view (part of the round estimate, §3.3); 0 for an empty view. */
export function highestRound(view: View): number {
  let max = 0;
  for (const e of view.values()) if (e.lastActive > max) max = e.lastActive;
  return max;
}

/**
 * Candidates of sample index `round` (§3.1): peers that have not left and were active at or after
 * `round − inactivityThreshold`, plus `self` (if given), sorted by id (code-unit order), without duplicates.
 * @throws AggregationError ERR_BAD_OPTION for a negative or non-integer round or threshold
 */
export function candidates(view: View, round: number, inactivityThreshold: number, self?: string): string[] {
  checkOption(Number.isInteger(round) && round >= 0, 'modest.candidates', `round ${round} must be an integer ≥ 0`);
  checkOption(Number.isInteger(inactivityThreshold) && inactivityThreshold >= 0, 'modest.candidates', `inactivityThreshold ${inactivityThreshold} must be an integer ≥ 0`);
  const out = new Set<string>();
  for (const [id, e] of view) if (e.status === 'join' && e.lastActive >= round - inactivityThreshold) out.add(id);
  if (self !== undefined) out.add(self);
  return [...out].sort(byCodeUnit);
}

const ASCII_DASH = 0x2d;

/**
 * The bytes hashed for a peer in sample `round`: idBytes ‖ "-" ‖ the round in decimal ASCII, as the authors'
 * `b"%s-%d" % (pk, round)` (§6, §8).
 */
export function sampleKey(idBytes: Uint8Array, round: number): Uint8Array {
  const digits = String(round);
  const out = new Uint8Array(idBytes.length + 1 + digits.length);
  out.set(idBytes, 0);
  out[idBytes.length] = ASCII_DASH;
  for (let i = 0; i < digits.length; i++) out[idBytes.length + 1 + i] = digits.charCodeAt(i);
  return out;
}

/**
 * The order of sample `round` (§3.1): `ids` sorted by digest(sampleKey(idBytes(id), round)), ascending byte by
 * byte; ties (and a digest that is a prefix of another) fall back to the id. The input is not modified.
 */
export function sampleOrder(ids: readonly string[], round: number, digest: Digest, idBytes: (id: string) => Uint8Array): string[] {
  checkOption(Number.isInteger(round) && round >= 0, 'modest.sampleOrder', `round ${round} must be an integer ≥ 0`);
  const keyed = ids.map((id) => ({ id, d: digest(sampleKey(idBytes(id), round)) }));
  keyed.sort((a, b) => compareBytes(a.d, b.d) || byCodeUnit(a.id, b.id));
  return keyed.map((k) => k.id);
}

/**
 * The sample peers holding the same view derive without any ping: the first `count` of the order (the
 * trainers with count = s, the aggregators with count = a, §3.1).
 */
export function derivedSample(order: readonly string[], count: number): string[] {
  checkOption(Number.isInteger(count) && count >= 0, 'modest.derivedSample', `count ${count} must be an integer ≥ 0`);
  return order.slice(0, count);
}

/** Sample index a model trained in round `round` is sent with: round + 1 (§3.2 off-by-one). */
export function trainedModelIndex(round: number): number {
  return round + 1;
}

/** The training round whose models an aggregation of sample index `index` averages: index − 1 (§3.2). */
export function aggregatedRound(index: number): number {
  return index - 1;
}

/**
 * Models an aggregator waits for: ⌊s · sf⌋ (§3.2 `#models >= floor(s · sf)`), at least 1.
 * @throws AggregationError ERR_BAD_OPTION for s < 1 or sf outside (0, 1]
 */
export function modelsNeeded(sampleSize: number, successFraction: number): number {
  checkOption(Number.isInteger(sampleSize) && sampleSize >= 1, 'modest.modelsNeeded', `sample size ${sampleSize} must be an integer ≥ 1`);
  checkOption(successFraction > 0 && successFraction <= 1, 'modest.modelsNeeded', `success fraction ${successFraction} must be in (0, 1]`);
  return Math.max(1, Math.floor(sampleSize * successFraction));
}

/**
 * What an aggregation waits for (ours, for liveness, beside §3.2's ⌊s·sf⌋ and the timeout's minModels): both
 * capped by the candidates the aggregator's view has for the round whose models it averages (at least 1). A
 * swarm still filling up, or one that lost peers, has fewer trainers than s: waiting for s cost a soak two
 * aggregation timeouts (20 s) at start-up. With a full view (candidates ≥ s) nothing changes.
 */
export function aggregationQuorum(needed: number, minModels: number, candidates: number): { expected: number; minimum: number } {
  const expected = Math.max(1, Math.min(needed, candidates));
  return { expected, minimum: Math.min(minModels, expected) };
}

/** Byte-wise comparison; a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
