import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Membership } from '../../../../../node/engine/modest/membership.js';

const SILENCE_MS = 10_000;

describe('MoDeST membership: newcomers to a sample already handed out (§3.3)', () => {
  it('a join applied by a send\'s flush, or a later one, is a newcomer to that send; members before it and rejoins after a leave are told apart', () => {
    const m = new Membership('self', ['a', 'b'], 50);
    m.onAdvertisement('c', { change: 'join', index: 1 }, 3);
    m.flushPending(); // the send that handed out sample 3: c was held back from it
    const handOff = m.flushCount;
    assert.ok(m.joinedSinceFlush('c', handOff), 'c joined with this send\'s flush');
    assert.ok(!m.joinedSinceFlush('a', handOff), 'a was in the view before');
    m.onAdvertisement('a', { change: 'leave', index: 1 }, 4);
    m.onAdvertisement('a', { change: 'join', index: 2 }, 4);
    m.onAdvertisement('d', { change: 'join', index: 1 }, 4);
    m.flushPending();
    assert.ok(m.joinedSinceFlush('d', handOff) && m.joinedSinceFlush('a', handOff), 'later joins, a rejoin included, are newcomers to it too');
    assert.ok(!m.joinedSinceFlush('c', m.flushCount), 'c is no newcomer to the later send');
    m.onAdvertisement('b', { change: 'join', index: 1 }, 5); // a replayed JOIN of a member: no newcomer
    m.flushPending();
    assert.ok(!m.joinedSinceFlush('b', handOff));
  });
});

describe('MoDeST membership in a live swarm: learnt from announcements, pruned when gone', () => {
  it('an unknown peer that announces joins at our next send (held back like an advertised JOIN)', () => {
    const m = new Membership('self', [], 50);
    m.heard('p1', 3, 0);
    assert.equal(m.pendingJoins, 1);
    assert.deepEqual(m.order(3), ['self']);
    m.flushPending();
    assert.deepEqual(new Set(m.order(3)), new Set(['self', 'p1']));
    assert.equal(m.entry('p1')?.status, 'join');
  });

  it('a member not heard for the silence window leaves the samples, and is back once heard again', () => {
    const m = new Membership('self', ['p1', 'p2'], 50);
    m.prune(0, SILENCE_MS);
    m.heard('p1', 1, 8_000);
    assert.deepEqual(m.prune(12_000, SILENCE_MS), { left: [], silent: ['p2'] });
    assert.deepEqual(new Set(m.order(1)), new Set(['self', 'p1']));
    assert.equal(m.entry('p2')?.status, 'join', 'the view keeps it (views still merge)');
    m.heard('p2', 2, 13_000);
    assert.deepEqual(new Set(m.order(2)), new Set(['self', 'p1', 'p2']));
  });

  it('a member that advertised LEAVE leaves the view once its LEAVE had the silence window to spread', () => {
    const m = new Membership('self', ['p1', 'p2'], 50);
    m.heard('p1', 1, 0);
    m.heard('p2', 1, 0);
    m.onAdvertisement('p2', { change: 'leave', index: 2 }, 1);
    assert.deepEqual(new Set(m.order(1)), new Set(['self', 'p1']), 'a leave applies at once');
    m.heard('p1', 2, 9_000);
    assert.deepEqual(m.prune(11_000, SILENCE_MS), { left: ['p2'], silent: [] });
    assert.equal(m.entry('p2'), undefined);
    assert.equal(m.size, 2);
  });
});
