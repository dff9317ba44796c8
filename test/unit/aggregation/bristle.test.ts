import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { integrate, prioritise, roundHalfEven, tercilePicks, type BristlePeer } from '../../../aggregation/bristle.js';
import { rngFor } from '../../../node/data/rng.js';
import { assertClose, assertCode } from './arbitraries.js';

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

describe('tercilePicks and roundHalfEven', () => {
  it('gives 4/5/2 for α = 0.4, β = 10 and rounds halves to even like Kotlin', () => {
    // (0.6)²·10 = 3.6 → 4; 2·0.4·0.6·10 = 4.8 → 5; 0.4²·10 = 1.6 → 2
    assert.deepEqual(tercilePicks(), [4, 5, 2]);
    // α = 0.5: 2.5 → 2, 5 → 5, 2.5 → 2
    assert.deepEqual(tercilePicks(0.5, 10), [2, 5, 2]);
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
    assertCode(() => tercilePicks(1.2, 10), 'ERR_BAD_OPTION');
    assertCode(() => tercilePicks(0.4, -1), 'ERR_BAD_OPTION');
  });
});

describe('prioritise', () => {
  const own = Float32Array.from([0, 0]);
  // Distances 1..6 from own, given out of order.
  const received = [['d', 4], ['a', 1], ['f', 6], ['c', 3], ['e', 5], ['b', 2]].map(([id, x]) => ({ id: id as string, vector: Float32Array.from([x as number, 0]) }));

  it('takes everything when the terciles are smaller than their quotas, closest first', () => {
    // n = 6 → terciles {a,b}, {c,d}, {e,f}; quotas 4/5/2 exceed them → all six
    assert.deepEqual(prioritise(own, received, {}, rngFor('p').uniform), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(prioritise(own, [], {}, rngFor('p').uniform), []);
  });

  it('draws the quota of each tercile at random', () => {
    // β = 3: quotas round(0.36·3 = 1.08) = 1, round(0.48·3 = 1.44) = 1, round(0.16·3 = 0.48) = 0
    assert.deepEqual(tercilePicks(0.4, 3), [1, 1, 0]);
    assert.deepEqual(prioritise(own, received, { beta: 3 }, () => 0), ['a', 'c']);
    assert.deepEqual(prioritise(own, received, { beta: 3 }, () => 0.99), ['b', 'd']);
    const picked = prioritise(own, received, { beta: 3 }, rngFor('prio', 1).uniform);
    assert.equal(picked.length, 2);
    assert.ok(['a', 'b'].includes(picked[0]!) && ['c', 'd'].includes(picked[1]!));
  });

  it('splits n not divisible by 3 with the extra ranks in the closer terciles', () => {
    // n = 4 → terciles {a,b}, {c}, {d}
    const four = received.filter((r) => 'abcd'.includes(r.id));
    // α = 0.5, β = 4: quotas round(1) = 1, round(2) = 2, round(1) = 1 → 1 of {a,b}, all of {c}, all of {d}
    assert.deepEqual(prioritise(own, four, { alpha: 0.5, beta: 4 }, () => 0), ['a', 'c', 'd']);
    // n = 5 → {a,b}, {c,d}, {e}
    const five = received.filter((r) => r.id !== 'f');
    assert.deepEqual(prioritise(own, five, { alpha: 0.5, beta: 4 }, () => 0.99), ['b', 'c', 'd', 'e']);
  });

  it('breaks distance ties by id and rejects duplicate ids or foreign lengths', () => {
    const tied = ['z', 'y', 'x'].map((id) => ({ id, vector: Float32Array.from([1, 1]) }));
    assert.deepEqual(prioritise(own, tied, {}, () => 0), ['x', 'y', 'z']);
    assertCode(() => prioritise(own, [tied[0]!, tied[0]!], {}, () => 0), 'ERR_BAD_INPUT');
    assertCode(() => prioritise(own, [{ id: 'q', vector: Float32Array.from([1]) }], {}, () => 0), 'ERR_LENGTH_MISMATCH');
  });
});

describe('integrate', () => {
  // 2 features × 3 classes, row-major [feature][class]; familiar F = {0, 1}, class 2 is foreign.
  const own = Float32Array.from([1, 0, 0, /* feature 1 */ 0, 1, 0]);
  const ownF1 = [0.5, 0.5, 0];
  const A: BristlePeer = { id: 'A', W: Float32Array.from([3, 0, 6, 1, 3, 0]), f1: [0.8, 0.4, 0], overlap: 2 };
  const B: BristlePeer = { id: 'B', W: Float32Array.from([0, 0, 3, 0, 5, 9]), f1: [0.2, 0.9, 0], overlap: 1 };

  // Peer A: overlap 2 = |F| → Sel = {0, 1}.
  //   class 0: 0.8 > 0.5, Δ = 10·0.3 = 3 → score 3^3.5; class 1: 0.4 ≤ 0.5, Δ = 1 → −1^4.5 = −1
  //   cert = mean(0.8, 0.4) − std(0.8, 0.4) = 0.6 − 0.2 = 0.4
  const sA0 = 3 ** 3.5, sA1 = -1, certA = 0.4;
  const wA0 = (10 * sigma(sA0 / 100) - 4) * certA, wA1 = (10 * sigma(sA1 / 100) - 4) * certA;
  const wA = (10 * sigma((sA0 + sA1) / 100) - 4) * certA;
  // Peer B: overlap 1 → Sel = top-1 familiar class by F1_B = {1}. class 1: 0.9 > 0.5, Δ = 4 → 4^3.5 = 128
  //   cert = 0.9 − 0 = 0.9; ω_B0 = 0 (class 0 not selected)
  const sB1 = 4 ** 3.5, certB = 0.9;
  const wB1 = (10 * sigma(sB1 / 100) - 4) * certB, wB = wB1;
  // Columns before the mean subtraction:
  //   c0 = ([1, 0] + ωA0·[3, 1]) / (1 + ωA0)
  //   c1 = ([0, 1] + ωA1·[0, 3] + ωB1·[0, 5]) / (1 + ωA1 + ωB1)
  //   c2 = ([0, 0] + ωA·[6, 0] + ωB·[3, 9]) / (1 + ωA + ωB)
  const c0 = [(1 + wA0 * 3) / (1 + wA0), wA0 / (1 + wA0)];
  const c1 = [0, (1 + 3 * wA1 + 5 * wB1) / (1 + wA1 + wB1)];
  const c2 = [(6 * wA + 3 * wB) / (1 + wA + wB), (9 * wB) / (1 + wA + wB)];

  it('weighs each peer per familiar class and by its summed score on foreign classes', () => {
    const r = integrate({ features: 2, classes: 3, own, ownF1, familiar: [0, 1], peers: [A, B], options: { subtractColumnMean: false } });
    assert.deepEqual(r.selected, [[0, 1], [1]]);
    assertClose(r.scores[0]!, [sA0, sA1, 0], 1e-12);
    assertClose(r.scores[1]!, [0, sB1, 0], 1e-12);
    assertClose(r.certainty, [certA, certB], 1e-12);
    assertClose(r.classWeights[0]!, [wA0, wA1, 0], 1e-12);
    assertClose(r.classWeights[1]!, [0, wB1, 0], 1e-12);
    assertClose(r.foreignWeight, [wA, wB], 1e-12);
    assertClose(r.W, [c0[0]!, c1[0]!, c2[0]!, c0[1]!, c1[1]!, c2[1]!], 1e-6);
  });

  it('subtracts each column\'s mean over the features by default (Node.kt)', () => {
    const r = integrate({ features: 2, classes: 3, own, ownF1, familiar: [0, 1], peers: [A, B] });
    const centre = (c: number[]): number[] => c.map((x) => x - (c[0]! + c[1]!) / 2);
    const [a, b, c] = [centre(c0), centre(c1), centre(c2)];
    assertClose(r.W, [a[0]!, b[0]!, c[0]!, a[1]!, b[1]!, c[1]!], 1e-6);
  });

  it('gives a peer that is worse on every class no weight, and caps per-class scores at −100', () => {
    // F1 0.1 vs own 0.9: Δ = 8 → −8^4.9 ≈ −26 900 → capped −100 → 10σ(−1) − 4 < 0 → 0
    const worse: BristlePeer = { id: 'W', W: Float32Array.from([50, 50, 50, 50, 50, 50]), f1: [0.1, 0.1, 0], overlap: 2 };
    const r = integrate({ features: 2, classes: 3, own, ownF1: [0.9, 0.9, 0], familiar: [0, 1], peers: [worse], options: { subtractColumnMean: false } });
    assert.ok(r.scores[0]![0]! < -20000);
    assert.deepEqual(Array.from(r.classWeights[0]!), [0, 0, 0]);
    assert.equal(r.foreignWeight[0], 0);
    assert.deepEqual(r.W, own);
    // A milder cap lets a slightly worse peer keep a little weight: score −Δ^4.5 with Δ = 1 → −1 → ω = (10σ(−0.01) − 4)·cert
    const slightly: BristlePeer = { id: 'S', W: own, f1: [0.4, 0.4, 0], overlap: 2 };
    const s = integrate({ features: 2, classes: 3, own, ownF1, familiar: [0, 1], peers: [slightly] });
    assertClose([s.classWeights[0]![0]!], [(10 * sigma(-0.01) - 4) * 0.4], 1e-12);
  });

  it('selects the familiar classes themselves when overlap = |F| (not ids 0..|F|−1 as the Kotlin code did)', () => {
    const W = new Float32Array(2 * 6);
    const peer: BristlePeer = { id: 'P', W, f1: [0, 0, 0, 0.7, 0, 0.6], overlap: 2 };
    const r = integrate({ features: 2, classes: 6, own: W, ownF1: [0, 0, 0, 0.5, 0, 0.5], familiar: [3, 5], peers: [peer] });
    assert.deepEqual(r.selected, [[3, 5]]);
    // overlap 1 → the best familiar class by F1_P; ties keep the order of `familiar`
    const tie = integrate({ features: 2, classes: 6, own: W, ownF1: [0, 0, 0, 0.5, 0, 0.5], familiar: [5, 3], peers: [{ ...peer, f1: [0, 0, 0, 0.6, 0, 0.6], overlap: 1 }] });
    assert.deepEqual(tie.selected, [[5]]);
  });

  it('validates sizes, class ids and F1 ranges', () => {
    const base = { features: 2, classes: 3, own, ownF1, familiar: [0, 1], peers: [A] };
    assertCode(() => integrate({ ...base, own: new Float32Array(5) }), 'ERR_LENGTH_MISMATCH');
    assertCode(() => integrate({ ...base, ownF1: [0.5] }), 'ERR_LENGTH_MISMATCH');
    assertCode(() => integrate({ ...base, familiar: [0, 3] }), 'ERR_BAD_INPUT');
    assertCode(() => integrate({ ...base, familiar: [] }), 'ERR_BAD_INPUT');
    assertCode(() => integrate({ ...base, peers: [{ ...A, f1: [1.5, 0, 0] }] }), 'ERR_BAD_INPUT');
    assertCode(() => integrate({ ...base, peers: [{ ...A, overlap: 0 }] }), 'ERR_BAD_OPTION');
  });
});
