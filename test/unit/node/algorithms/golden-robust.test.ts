/**
 * Golden composition tests of the baselines and robust rules (mean, median, trimmed-mean, krum, centered-clipping)
 * and of MoDeST's composition: tiny cases driven through the registry entry as the engine drives it
 * (golden-drive.ts), the expected outputs computed by hand in the comments.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateInto, assertClose, frameOf, instanceOf, peer, smallLayout, trained, trainOptions, type Peer } from './golden-drive.js';

const layout = smallLayout([2, 1]); // three parameters: a 2×1 kernel and a bias
const peerTrain = { lr: 0.05, momentum: 0, batchSize: 16, epochs: 1 };

/** Peers a, b, c, … of `name`, each with the model local training produced for it (ages 1, 2, 3, …). */
function swarm(name: string, params: Record<string, unknown>, models: readonly (readonly number[])[]): Peer[] {
  return models.map((m, i) => {
    const p = peer(String.fromCharCode(97 + i), instanceOf(name, params, layout), [0, 0, 0], models.length - 1);
    trained(p, m, i + 1);
    return p;
  });
}

/** Peer 0 aggregates the frames of all the others. */
async function firstAggregates(peers: Peer[]): Promise<Peer> {
  const [own, ...others] = peers;
  await aggregateInto(own!, others.map(frameOf));
  return own!;
}

describe('golden: mean', () => {
  it('averages the own and the neighbours’ models with equal weights', async () => {
    const peers = swarm('mean', {}, [[1, 2, 3], [3, 4, 5], [5, 0, 1]]);
    assert.deepEqual(trainOptions(peers[0]!.inst, peerTrain, 2), peerTrain);
    // ([1, 2, 3] + [3, 4, 5] + [5, 0, 1])/3 = [3, 2, 3]
    assertClose((await firstAggregates(peers)).vector, [3, 2, 3]);
  });

  it('with weighting age weights each model by its age', async () => {
    const peers = swarm('mean', { weighting: 'age' }, [[1, 2, 3], [3, 4, 5], [5, 0, 1]]);
    // ages 1, 2, 3: (1·[1, 2, 3] + 2·[3, 4, 5] + 3·[5, 0, 1])/6 = [22/6, 10/6, 16/6]
    assertClose((await firstAggregates(peers)).vector, [22 / 6, 10 / 6, 16 / 6]);
  });
});

describe('golden: median', () => {
  it('takes the coordinate-wise median of the own and the neighbours’ models (even n: mean of the middle two)', async () => {
    const peers = swarm('median', {}, [[1, 9, 3], [2, 0, 5], [7, 4, 4], [4, 1, 100]]);
    // sorted per coordinate: [1, 2, 4, 7] → (2 + 4)/2 = 3; [0, 1, 4, 9] → 2.5; [3, 4, 5, 100] → 4.5
    assertClose((await firstAggregates(peers)).vector, [3, 2.5, 4.5]);
  });
});

describe('golden: trimmed-mean', () => {
  it('drops the f = 1 largest and smallest value per coordinate and averages the rest', async () => {
    const peers = swarm('trimmed-mean', { f: 1 }, [[1, 9, 3], [2, 0, 5], [7, 4, 4], [4, 1, 100], [0, 10, -50]]);
    // [0, 1, 2, 4, 7] → (1 + 2 + 4)/3 = 7/3; [0, 1, 4, 9, 10] → (1 + 4 + 9)/3 = 14/3; [−50, 3, 4, 5, 100] → 4
    assertClose((await firstAggregates(peers)).vector, [7 / 3, 14 / 3, 4]);
  });
});

describe('golden: krum', () => {
  it('picks the model with the least sum of squared distances to its n − f − 2 nearest (f = 1)', async () => {
    // Own model E = [10, 10, 0] and A = [0, 0, 0], B = [1, 0, 0], C = [0, 2, 0], D = [3, 3, 0]; n = 5, 2 nearest.
    // Squared distances: AB 1, AC 4, AD 18, AE 200, BC 5, BD 13, BE 181, CD 10, CE 164, DE 98.
    // Scores: A 1 + 4 = 5, B 1 + 5 = 6, C 4 + 5 = 9, D 10 + 13 = 23, E 98 + 164 = 262 → A.
    const peers = swarm('krum', { f: 1 }, [[10, 10, 0], [0, 0, 0], [1, 0, 0], [0, 2, 0], [3, 3, 0]]);
    assertClose((await firstAggregates(peers)).vector, [0, 0, 0]);
    // Multi-Krum, m = 2: the mean of A and B = [0.5, 0, 0]
    const multi = swarm('krum', { f: 1, m: 2 }, [[10, 10, 0], [0, 0, 0], [1, 0, 0], [0, 2, 0], [3, 3, 0]]);
    assertClose((await firstAggregates(multi)).vector, [0.5, 0, 0]);
  });

  it('keeps the own model below n = f + 3 inputs', async () => {
    const peers = swarm('krum', { f: 1 }, [[10, 10, 0], [0, 0, 0], [1, 0, 0]]);
    assertClose((await firstAggregates(peers)).vector, [10, 10, 0]);
  });
});

describe('golden: centered-clipping', () => {
  it('moves from the own model by the mean of the clipped differences (τ = 1, one iteration)', async () => {
    const peers = swarm('centered-clipping', {}, [[0, 0, 0], [3, 4, 0], [0.3, 0.4, 0]]);
    // v = own = 0. Differences: own 0; [3, 4, 0] has norm 5 → clipped to [0.6, 0.8, 0]; [0.3, 0.4, 0] (norm 0.5) kept.
    // v' = 0 + ([0, 0, 0] + [0.6, 0.8, 0] + [0.3, 0.4, 0])/3 = [0.3, 0.4, 0]
    assertClose((await firstAggregates(peers)).vector, [0.3, 0.4, 0]);
  });
});

describe('golden: modest', () => {
  it('trains 5 local steps of batch 20 whatever the peer’s epochs, and averages the received trained models only', async () => {
    const peers = swarm('modest', {}, [[100, 100, 100], [1, 2, 3], [3, 6, 9]]);
    assert.deepEqual(trainOptions(peers[0]!.inst, peerTrain, 1), { ...peerTrain, steps: 5, batchSize: 20 });
    assert.deepEqual(trainOptions(instanceOf('modest', { localSteps: 2, batchSize: 8 }, layout), peerTrain, 1), { ...peerTrain, steps: 2, batchSize: 8 });
    // Aggregator a (its own model is no trainer's): mean([1, 2, 3], [3, 6, 9]) = [2, 4, 6]; age = max(2, 3) = 3.
    const a = await firstAggregates(peers);
    assertClose(a.vector, [2, 4, 6]);
    assert.equal(a.age, 3);
  });
});
