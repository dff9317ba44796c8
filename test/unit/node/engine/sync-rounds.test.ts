import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { awaitedSenders } from '../../../../node/engine/sync-rounds.js';

/** Neighbours' last announced finished rounds; a missing key never announced. */
const progress = (finished: Record<string, number>) => ({ finished: (p: string) => finished[p] });

describe('awaitedSenders: a synchronous round waits only for neighbours active in it', () => {
  it('waits for neighbours in this round or one behind, and for those that never announced', () => {
    // Round 10: a finished 9 (in 10), b finished 8 (in 9, its announcement may lag), c never announced.
    assert.deepEqual(awaitedSenders(['a', 'b', 'c'], 10, progress({ a: 9, b: 8 })), ['a', 'b', 'c']);
  });

  it('does not wait for a neighbour more than one round behind: it jumps to the swarm round instead', () => {
    // d finished 7, so it is in round 8 < 10 − 1.
    assert.deepEqual(awaitedSenders(['a', 'd'], 10, progress({ a: 9, d: 7 })), ['a']);
  });

  it('does not wait for a neighbour that already finished this round: its frame came first or never will', () => {
    assert.deepEqual(awaitedSenders(['a', 'e', 'f'], 10, progress({ a: 9, e: 10, f: 12 })), ['a']);
  });
});
