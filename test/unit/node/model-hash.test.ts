import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guardModelHash, modelHash, withModelHash } from '../../../node/model-hash.js';
import { VectorBank } from '../../../node/vector-bank.js';

describe('model hash', () => {
  it('is the first 16 hex digits of SHA-256 over the little-endian bytes', () => {
    // sha256 of 8 zero bytes = af5570f5a1810b7a…
    assert.equal(modelHash(new Float32Array(2)), 'af5570f5a1810b7a');
  });

  it('withModelHash reads the captured vector on first access, once, and shows in JSON', () => {
    const v = Float32Array.of(1, 2, 3);
    const s = withModelHash({ round: 4 }, v);
    assert.equal(s.modelHash, modelHash(v));
    assert.deepEqual(JSON.parse(JSON.stringify(s)), { round: 4, modelHash: modelHash(v) });
    v[0] = 9; // an engine never writes in place; the memo proves the hash is taken once
    assert.equal(s.modelHash, modelHash(Float32Array.of(1, 2, 3)));
  });

  it('keeps each summary its own vector and hash behind the shared getter, and spreads only the hash', () => {
    const a = withModelHash({ round: 1 }, Float32Array.of(1)), b = withModelHash({ round: 1 }, Float32Array.of(2));
    assert.equal(b.modelHash, modelHash(Float32Array.of(2)));
    assert.equal(a.modelHash, modelHash(Float32Array.of(1)));
    assert.notEqual(a.modelHash, b.modelHash);
    assert.deepEqual({ ...a }, { round: 1, modelHash: modelHash(Float32Array.of(1)) });
    assert.deepEqual(Object.getOwnPropertySymbols({ ...a }), []);
  });

  it("refuses a first read after the summary's vector was reused by a vector bank, and keeps a hash read before", () => {
    const bank = new VectorBank();
    const v = bank.take(2).fill(1);
    bank.hold(v);
    const early = withModelHash({ round: 1 }, v), late = withModelHash({ round: 1 }, v);
    for (const s of [early, late]) { const g = bank.generation(v); guardModelHash(s, () => bank.generation(v) === g); }
    assert.equal(early.modelHash, modelHash(Float32Array.of(1, 1)));
    bank.release(v);
    assert.equal(late.modelHash, modelHash(Float32Array.of(1, 1)), "released but not reused: still the round's model");
    const late2 = withModelHash({ round: 1 }, v);
    const g = bank.generation(v);
    guardModelHash(late2, () => bank.generation(v) === g);
    assert.equal(bank.take(2), v);
    assert.throws(() => late2.modelHash, /after its round's vector went back to the vector bank/);
    assert.equal(early.modelHash, modelHash(Float32Array.of(1, 1)), 'a hash read in time stays');
  });
});
