/**
 * Golden composition tests of the mixing algorithms (dpsgd, dfedsam, dfedsam-mgs, gossip-learning,
 * variance-corrected): tiny swarms driven through the registry entry as the engine drives it (golden-drive.ts),
 * the expected outputs computed by hand in the comments.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeModelFrame } from '../../../../protocols/codec.js';
import type { AggregateInput } from '../../../../node/algorithms/types.js';
import { deriveRng } from '../../../../node/data/rng.js';
import { aggregateInto, assertClose, frameOf, instanceOf, peer, smallLayout, syncStep, trained, trainOptions } from './golden-drive.js';

// Three parameters per model: a 2×1 kernel and one bias.
const layout = smallLayout([2, 1]);
const zero = [0, 0, 0];
const peerTrain = { lr: 0.05, momentum: 0, batchSize: 16, epochs: 1 };

/** The path B – A – C: A has degree 2, B and C degree 1. */
function path(name: string, params: Record<string, unknown> = {}) {
  const inst = () => instanceOf(name, params, layout);
  const a = peer('a', inst(), zero, 2), b = peer('b', inst(), zero, 1), c = peer('c', inst(), zero, 1);
  trained(a, [3, 0, 6], 10); trained(b, [0, 3, 3], 10); trained(c, [6, 6, 0], 10);
  return { a, b, c };
}

describe('golden: dpsgd', () => {
  it('trains with the peer’s settings, then mixes with Metropolis–Hastings weights', async () => {
    const { a, b, c } = path('dpsgd');
    assert.deepEqual(trainOptions(a.inst, peerTrain, 3), peerTrain);
    const fa = frameOf(a), fb = frameOf(b), fc = frameOf(c);
    // A (d = 2): w_ab = w_ac = 1/(1 + max(2, 1)) = 1/3, w_aa = 1 − 2/3 = 1/3
    //   → (1/3)·([3, 0, 6] + [0, 3, 3] + [6, 6, 0]) = [3, 3, 3]
    await aggregateInto(a, [fb, fc]);
    assertClose(a.vector, [3, 3, 3]);
    // B (d = 1), neighbour A (d = 2): w_ba = 1/(1 + 2) = 1/3, w_bb = 2/3
    //   → (2/3)·[0, 3, 3] + (1/3)·[3, 0, 6] = [1, 2, 4]
    await aggregateInto(b, [fa]);
    assertClose(b.vector, [1, 2, 4]);
    assert.equal(b.age, 10, 'D-PSGD keeps the own age');
  });

  it('on a timeout renormalises the weights over the models that arrived (ALGORITHMS.md §2.3), by default', async () => {
    const { a, b } = path('dpsgd');
    // C's model missed the timeout: w_aa = w_ab = 1/3 of the full row, rescaled by 1/(1/3 + 1/3):
    //   → ½·[3, 0, 6] + ½·[0, 3, 3] = [1.5, 1.5, 4.5]
    await aggregateInto(a, [frameOf(b)]);
    assertClose(a.vector, [1.5, 1.5, 4.5]);
  });

  it("with renormalise 'self' gives a missing neighbour's weight to the own model", async () => {
    const { a, b } = path('dpsgd', { renormalise: 'self' });
    // w_aa = 1/3 + 1/3 (C's) = 2/3, w_ab = 1/3 → (2/3)·[3, 0, 6] + (1/3)·[0, 3, 3] = [2, 1, 5]
    await aggregateInto(a, [frameOf(b)]);
    assertClose(a.vector, [2, 1, 5]);
  });

  it('keeps the own model when nothing arrived', async () => {
    const { a } = path('dpsgd');
    assert.equal(await aggregateInto(a, []), null);
    assertClose(a.vector, [3, 0, 6]);
  });
});

describe('golden: dfedsam', () => {
  it('trains with SAM and the reference trainer (lr 0.1·0.998^(round−1), momentum 0.9, no weight decay), then mixes once', async () => {
    const { a, b, c } = path('dfedsam');
    assert.equal(a.inst.gossipSteps, 1);
    // Round 1: lr 0.1; round 3: 0.1·0.998² = 0.0996004. SAM ρ = 0.05. The peer's batch size and epochs stay.
    assert.deepEqual(trainOptions(a.inst, peerTrain, 1), { ...peerTrain, lr: 0.1, momentum: 0.9, weightDecay: 0, samRho: 0.05 });
    const r3 = trainOptions(a.inst, peerTrain, 3);
    assert.ok(Math.abs(r3.lr! - 0.0996004) < 1e-12, `round 3 lr ${r3.lr}`);
    assert.equal(trainOptions(instanceOf('dfedsam', { localSteps: 7 }, layout), peerTrain, 1).steps, 7);
    // The same Metropolis–Hastings step as D-PSGD: A → [3, 3, 3]
    await aggregateInto(a, [frameOf(b), frameOf(c)]);
    assertClose(a.vector, [3, 3, 3]);
  });
});

describe('golden: dfedsam-mgs', () => {
  it('runs Q = 4 gossip steps on the intermediate models: x ← W⁴x', async () => {
    const inst = () => instanceOf('dfedsam-mgs', {}, layout);
    // Path 0 – 1 – 2, degrees 1, 2, 1: W = [[2/3, 1/3, 0], [1/3, 1/3, 1/3], [0, 1/3, 2/3]].
    const peers = [peer('p0', inst(), zero, 1), peer('p1', inst(), zero, 2), peer('p2', inst(), zero, 1)];
    assert.equal(peers[0]!.inst.gossipSteps, 4);
    assert.equal(trainOptions(peers[0]!.inst, peerTrain, 1).samRho, 0.05);
    // First parameter x = [3, 0, 6]: Wx = [2, 3, 4], W²x = [7/3, 3, 11/3], W³x = [23/9, 3, 31/9],
    //   W⁴x = [2/3·23/9 + 1, 3, 1 + 2/3·31/9] = [73/27, 3, 89/27].
    // Second parameter [0, 9, 0]: W·[0, 9, 0] = [3, 3, 3], a fixed point. Bias [1, 1, 1] stays.
    trained(peers[0]!, [3, 0, 1], 5); trained(peers[1]!, [0, 9, 1], 5); trained(peers[2]!, [6, 0, 1], 5);
    const graph = [[1], [0, 2], [1]];
    for (let step = 0; step < peers[0]!.inst.gossipSteps; step++) await syncStep(peers, graph, { step });
    assertClose(peers[0]!.vector, [73 / 27, 3, 1]);
    assertClose(peers[1]!.vector, [3, 3, 1]);
    assertClose(peers[2]!.vector, [89 / 27, 3, 1]);
  });
});

describe('golden: gossip-learning', () => {
  it('pushes to one random neighbour and merges received models one by one by age', async () => {
    const inst = () => instanceOf('gossip-learning', {}, layout);
    const a = peer('a', inst(), zero, 2), b = peer('b', inst(), zero, 2), c = peer('c', inst(), zero, 2);
    assert.equal(a.inst.targets, 'one-random');
    assert.deepEqual(trainOptions(a.inst, peerTrain, 1), peerTrain);
    trained(a, [1, 2, 3], 10); trained(b, [5, 6, 7], 30); trained(c, [0, 0, 0], 10);
    // Sender order b, c. Merge with b: a = 30/(10 + 30) = 3/4 → ¼·[1, 2, 3] + ¾·[5, 6, 7] = [4, 5, 6], age 30.
    // Then c: a = 10/(30 + 10) = 1/4 → ¾·[4, 5, 6] + ¼·[0, 0, 0] = [3, 3.75, 4.5], age max(30, 10) = 30.
    const out = await aggregateInto(a, [frameOf(c), frameOf(b)]);
    assertClose(a.vector, [3, 3.75, 4.5]);
    assert.equal(out?.age, 30);
    assert.equal(a.age, 30);
  });

  it('merges into the own vector only when the engine offers it as writable (this round’s fresh training output)', async () => {
    const inst = instanceOf('gossip-learning', {}, layout);
    const input = (own: Float32Array, ownWritable: boolean): AggregateInput => ({
      own, ownAge: 10, ownWritable, degree: 2, round: 1, step: 0, rng: deriveRng(1, 'a', 1, 'aggregate-0'), full: own,
      received: [{ from: 'b', values: Float32Array.of(5, 6, 7), rankings: null, degree: 2, age: 30 }, { from: 'c', values: Float32Array.of(0, 0, 0), rankings: null, degree: 2, age: 10 }],
      evaluate: () => Promise.reject(new Error('no evaluation')), trainIndices: new Uint32Array(0), labels: new Uint8Array(0),
    });
    const kept = Float32Array.of(1, 2, 3);
    const apart = await inst.aggregate(input(kept, false));
    assert.deepEqual([...kept], [1, 2, 3], 'a read-only own vector is left alone');
    assert.notEqual(apart!.vector, kept);
    assertClose(apart!.vector, [3, 3.75, 4.5]);
    const fresh = Float32Array.of(1, 2, 3);
    const inPlace = await inst.aggregate(input(fresh, true));
    assert.equal(inPlace!.vector, fresh, 'the writable own vector receives the merge');
    assertClose(fresh, [3, 3.75, 4.5]);
  });

  it('merges a top-k frame with the frame’s one age on the sent coordinates only (no per-partition ages, §0.3)', async () => {
    const inst = instanceOf('gossip-learning', { encoding: 'topk' }, layout);
    const a = peer('a', inst, zero, 1), b = peer('b', instanceOf('gossip-learning', { encoding: 'topk' }, layout), zero, 1);
    trained(a, [1, 2, 3], 10); trained(b, [5, -9, 0.5], 30);
    // b sends the top ⌈0.34·3⌉ = 2 coordinates by magnitude: indices 0 (5) and 1 (−9), age 30. The receiver fills
    // coordinate 2 with its own value, as the engine does (node/engine/steps.ts), so the merge moves 0 and 1 only:
    // a = 30/40 = 3/4 → [¼·1 + ¾·5, ¼·2 + ¾·(−9), 3] = [4, −6.25, 3], age 30 for all of them.
    const bytes = encodeModelFrame({ kind: 'model', swarm: 's', round: 1, step: 0, degree: 1, age: b.age }, layout, inst.extract(b.vector), { encoding: 'topk', topkFraction: 0.34 });
    const decoded = decodeFrame(bytes, { layout, swarm: 's' });
    assert.ok(decoded.ok);
    const sparse = decoded.frame.sparse!;
    assert.deepEqual([...sparse.indices], [0, 1]);
    const values = inst.extract(a.vector).slice();
    sparse.indices.forEach((i, k) => { values[i] = sparse.values[k]!; });
    await aggregateInto(a, [{ from: 'b', values, rankings: null, degree: 1, age: decoded.frame.header.age }]);
    assertClose(a.vector, [4, -6.25, 3]);
    assert.equal(a.age, 30);
  });
});

describe('golden: variance-corrected', () => {
  it('averages the received models (own excluded) and rescales each kernel to their mean variance, biases plain', async () => {
    const l = smallLayout([2, 2]); // kernel of 4, bias of 2
    const inst = () => instanceOf('variance-corrected', {}, l);
    const z6 = [0, 0, 0, 0, 0, 0];
    const a = peer('a', inst(), z6, 2), b = peer('b', inst(), z6, 2), c = peer('c', inst(), z6, 2);
    trained(a, [100, -100, 50, 7, 9, 9], 4); trained(b, [0, 2, 4, 6, 1, -1], 4); trained(c, [2, 2, 6, 6, 3, 1], 4);
    // Kernels: B = [0, 2, 4, 6] (mean 3, population variance (9 + 1 + 1 + 9)/4 = 5), C = [2, 2, 6, 6] (mean 4, variance 4).
    // Mean W̄ = [1, 2, 5, 6]: mean 3.5, variance (6.25 + 2.25 + 2.25 + 6.25)/4 = 4.25. Target σ² = (5 + 4)/2 = 4.5.
    // W' = 3.5 + (W̄ − 3.5)·s, s = √(4.5/4.25) = √(18/17) = 1.0289915108550531.
    // Biases: mean of [1, −1] and [3, 1] = [2, 0], not rescaled. A's own model takes no part (ownWeight 0).
    const s = Math.sqrt(18 / 17);
    await aggregateInto(a, [frameOf(b), frameOf(c)]);
    assertClose(a.vector, [3.5 - 2.5 * s, 3.5 - 1.5 * s, 3.5 + 1.5 * s, 3.5 + 2.5 * s, 2, 0]);
  });
});
