import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoundLedger, type RoundAccount } from '../../../../../node/engine/modest/ledger.js';

/** A ledger whose emissions land in `emitted` (the store's commit order) and whose late rounds in `late`. */
function ledger(reported = 0): { l: RoundLedger; emitted: number[]; late: number[] } {
  const emitted: number[] = [], late: number[] = [];
  const l = new RoundLedger({
    emit: async (a: RoundAccount) => { emitted.push(a.round); }, onError: (err) => { throw err; }, reported,
    onLate: (a) => { late.push(a.round); },
  });
  return { l, emitted, late };
}

describe('MoDeST round ledger: every round reported once, in increasing order (the store commits no lower round)', () => {
  it('a hand-off repeated after a later round was reported is late work, not a second summary of its round', async () => {
    const { l, emitted, late } = ledger();
    l.open(3, 'trainer');
    await l.close(3, 'trainer');
    l.open(4, 'trainer');
    await l.close(4, 'trainer');
    // The watchdog repeats round 3's hand-off (sendTrained(again)): the daemon logged "cannot commit round 3 … last committed is 4".
    l.open(3, 'trainer');
    l.add(3, { bytesOut: 100 });
    await l.close(3, 'trainer');
    assert.deepEqual(emitted, [3, 4]);
    assert.deepEqual(late, [3]);
    assert.equal(l.busy, false);
  });

  it('a round that finishes before a lower one still open waits for it, then both go out lowest first', async () => {
    const { l, emitted } = ledger();
    l.open(3, 'trainer');
    l.open(4, 'aggregator');
    const four = l.close(4, 'aggregator');
    await Promise.resolve();
    assert.deepEqual(emitted, [], 'round 4 waits while round 3 is open');
    await l.close(3, 'trainer');
    await four;
    assert.deepEqual(emitted, [3, 4]);
  });

  it('a late round still open does not hold later rounds back', async () => {
    const { l, emitted } = ledger();
    l.open(3, 'trainer');
    await l.close(3, 'trainer');
    l.open(2, 'aggregator');
    l.open(4, 'trainer');
    await l.close(4, 'trainer');
    assert.deepEqual(emitted, [3, 4]);
    l.drop(2, 'aggregator');
    assert.equal(l.busy, false);
  });

  it('a restarted peer does not report a round at or below the one it resumed', async () => {
    const { l, emitted, late } = ledger(4);
    // Resumed from round 4, it aggregates the models of round 3 (index 4) that were still on their way.
    l.open(3, 'aggregator');
    await l.close(3, 'aggregator');
    l.open(4, 'aggregator');
    await l.close(4, 'aggregator');
    l.open(5, 'trainer');
    await l.close(5, 'trainer');
    assert.deepEqual(emitted, [5]);
    assert.deepEqual(late, [3, 4]);
  });

  it('a peer that trains and aggregates the same round reports it once with both roles', async () => {
    const accounts: RoundAccount[] = [];
    const l = new RoundLedger({ emit: async (a) => { accounts.push(a); }, onError: (err) => { throw err; }, reported: 0 });
    l.open(2, 'trainer');
    l.open(2, 'aggregator');
    l.add(2, { bytesOut: 10 });
    void l.close(2, 'trainer');
    l.add(2, { bytesOut: 5, received: 2 });
    await l.close(2, 'aggregator');
    assert.equal(accounts.length, 1);
    assert.deepEqual([...accounts[0]!.roles].sort(), ['aggregator', 'trainer']);
    assert.equal(accounts[0]!.bytesOut, 15);
  });
});
