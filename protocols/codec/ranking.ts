/**
 * Payload of 'ranking' frames (edge-popup style score rankings): for each tensor of role 'score', in
 * layout order, a permutation of 0..m−1 (m = tensor size) in the smallest unsigned type that holds m − 1
 * (u8 if m ≤ 256, u16 if m ≤ 65536, else u32), little-endian, sections back to back without padding.
 */
import { tensorsWithRole, type Layout, type TensorSpec } from '../../aggregation/layout.js';

/** Bytes per entry of a ranking over m items. */
export const rankingWidth = (m: number): 1 | 2 | 4 => (m <= 0x100 ? 1 : m <= 0x10000 ? 2 : 4);

/** What a layout's ranking payload looks like: its score tensors, total entries and bytes. */
export interface RankingShape { scores: TensorSpec[]; elementCount: number; payloadLength: number }

export function rankingShape(layout: Layout): RankingShape {
  const scores = tensorsWithRole(layout, ['score']);
  let elementCount = 0;
  let payloadLength = 0;
  for (const t of scores) {
    elementCount += t.size;
    payloadLength += t.size * rankingWidth(t.size);
  }
  return { scores, elementCount, payloadLength };
}

/** Why `r` is not a permutation of 0..m−1, or null. `seen` is scratch of ≥ m bytes. */
function permutationProblem(r: Uint32Array, m: number, seen: Uint8Array): string | null {
  if (r.length !== m) return `has ${r.length} entries, tensor size ${m}`;
  seen.fill(0, 0, m);
  for (let i = 0; i < m; i++) {
    const v = r[i]!;
    if (v >= m) return `entry ${i} is ${v}, not below ${m}`;
    if (seen[v]) return `entry ${i} repeats ${v}`;
    seen[v] = 1;
  }
  return null;
}

/** The first ranking that is not a permutation of its tensor's indices, as a message, or null. */
export function rankingsProblem(shape: RankingShape, rankings: readonly Uint32Array[]): string | null {
  if (shape.scores.length === 0) return 'the layout has no score tensors';
  if (rankings.length !== shape.scores.length) return `${rankings.length} rankings for ${shape.scores.length} score tensors`;
  const seen = new Uint8Array(Math.max(...shape.scores.map((t) => t.size)));
  for (let i = 0; i < rankings.length; i++) {
    const problem = permutationProblem(rankings[i]!, shape.scores[i]!.size, seen);
    if (problem) return `ranking of ${shape.scores[i]!.name} ${problem}`;
  }
  return null;
}

/** Write checked rankings into `out` from `offset` (shape.payloadLength bytes). */
export function writeRankings(shape: RankingShape, rankings: readonly Uint32Array[], out: Uint8Array, offset: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = offset;
  shape.scores.forEach((t, i) => {
    const r = rankings[i]!;
    const w = rankingWidth(t.size);
    for (let j = 0; j < r.length; j++) {
      if (w === 1) out[o + j] = r[j]!;
      else if (w === 2) dv.setUint16(o + 2 * j, r[j]!, true);
      else dv.setUint32(o + 4 * j, r[j]!, true);
    }
    o += t.size * w;
  });
}

/** Read the rankings of a payload of exactly shape.payloadLength bytes (not yet checked). */
export function readRankings(shape: RankingShape, payload: Uint8Array): Uint32Array[] {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let o = 0;
  return shape.scores.map((t) => {
    const w = rankingWidth(t.size);
    const r = new Uint32Array(t.size);
    for (let j = 0; j < t.size; j++) r[j] = w === 1 ? payload[o + j]! : w === 2 ? dv.getUint16(o + 2 * j, true) : dv.getUint32(o + 4 * j, true);
    o += t.size * w;
    return r;
  });
}
