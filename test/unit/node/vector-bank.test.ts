import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VectorBank } from '../../../node/vector-bank.js';

describe('VectorBank', () => {
  it('hands a vector out again only once every keeper released it', () => {
    const bank = new VectorBank();
    const v = bank.take(4);
    bank.hold(v); // the peer's state
    bank.hold(v); // the round collector
    bank.release(v);
    assert.notEqual(bank.take(4), v, 'one keeper still holds it');
    bank.release(v);
    assert.equal(bank.take(4), v, 'free after the last release');
    assert.deepEqual(bank.stats(), { created: 2, reused: 1, free: 0 });
  });

  it('never recycles a vector it did not hand out, nor one taken and never held', () => {
    const bank = new VectorBank();
    const foreign = new Float32Array(4);
    bank.hold(foreign);
    bank.release(foreign);
    bank.release(foreign);
    const dropped = bank.take(4);
    assert.notEqual(bank.take(4), foreign);
    assert.notEqual(bank.take(4), dropped);
    assert.equal(bank.stats().reused, 0);
  });

  it('keeps free lists by length', () => {
    const bank = new VectorBank();
    const v = bank.take(4);
    bank.hold(v);
    bank.release(v);
    assert.equal(bank.take(5).length, 5);
    assert.equal(bank.take(4), v);
  });

  it('names a keeper that releases twice', () => {
    const bank = new VectorBank();
    const v = bank.take(2);
    assert.throws(() => bank.release(v), /released more often than held/);
  });
});
