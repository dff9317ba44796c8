/**
 * Receive vectors lent from a VectorBank through the receiver's `receiveBuffer` hook (protocols/receive-lender.ts):
 * an accepted f16 or q8 frame decodes into a vector its consumer releases, and the next frame reuses it; a vector
 * still held is never lent again; a frame refused after taking one gives it back (the hook's `refused`); after a
 * decoder error it is never lent again. f32 frames keep their zero-copy values and take none.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../../aggregation/layout.js';
import { rngFor } from '../../../node/data/rng.js';
import type { ReceivedFrame } from '../../../node/network.js';
import { VectorBank } from '../../../node/vector-bank.js';
import { decodeFrame, encodeModelFrame, type Encoding, type FrameMeta } from '../../../protocols/codec.js';
import { payloadOffset } from '../../../protocols/codec/header.js';
import { lendReceivedValues, type ReceiveVectors } from '../../../protocols/receive-lender.js';
import { Receiver } from '../../../protocols/receiver.js';

const layout = makeLayout([{ name: 'k', shape: [60, 50], role: 'kernel' }, { name: 'b', shape: [50], role: 'bias' }]);
const swarm = 'receive-vectors';
const rng = rngFor('receive-vectors', 1);
const vector = (): Float32Array => Float32Array.from({ length: layout.size }, () => 0.05 * rng.normal());
const meta = (round: number): FrameMeta => ({ kind: 'model', swarm, round, step: 0, degree: 1, age: 1 });
const frameOf = (round: number, values: Float32Array, encoding: Encoding): Uint8Array => encodeModelFrame(meta(round), layout, values, { encoding });
/** What a receiver without lending hands over for `frame`. */
const plain = (frame: Uint8Array): Float32Array => {
  const r = decodeFrame(frame, { layout, swarm });
  assert.ok(r.ok);
  return r.frame.values!;
};

function receiverWith(vectors: ReceiveVectors, listen = true): { receiver: Receiver; got: ReceivedFrame[] } {
  const receiver = new Receiver({ swarm, layout, receiveBuffer: lendReceivedValues(vectors, layout.size) });
  const got: ReceivedFrame[] = [];
  if (listen) receiver.onFrame((f) => got.push(f));
  return { receiver, got };
}

/** Accept a new `encoding` frame of `round` from `from` (asserting it is accepted): the frame and the values handed over. */
function acceptNew(receiver: Receiver, got: ReceivedFrame[], from: string, round: number, encoding: Encoding): { frame: Uint8Array; values: Float32Array } {
  const frame = frameOf(round, vector(), encoding);
  assert.equal(receiver.accept(from, frame), 'accepted', `${encoding} frame of round ${round} from ${from}`);
  return { frame, values: got.at(-1)!.values! };
}

describe('Receiver with a bank lender (receive-lender.ts)', () => {
  it('decodes f16 and q8 frames into a lent vector and lends it again once the consumer released it', () => {
    for (const encoding of ['f16', 'q8'] as Encoding[]) {
      const bank = new VectorBank();
      const { receiver, got } = receiverWith(bank);
      const first = acceptNew(receiver, got, 'peer-a', 1, encoding);
      assert.ok(bank.isOut(first.values), `${encoding}: the values are a lent vector`);
      assert.deepEqual(first.values, plain(first.frame), `${encoding}: the same values as a new array`);
      bank.release(first.values); // the consumer is done with it
      const second = acceptNew(receiver, got, 'peer-a', 2, encoding);
      assert.equal(second.values, first.values, `${encoding}: the released vector is lent again`);
      assert.deepEqual(second.values, plain(second.frame), `${encoding}: and holds the new frame's values`);
      assert.deepEqual(bank.stats(), { created: 1, reused: 1, free: 0 });
    }
  });

  it('keeps f32 values as views of the frame and lends none', () => {
    const bank = new VectorBank();
    const { receiver, got } = receiverWith(bank);
    const { frame, values } = acceptNew(receiver, got, 'peer-a', 1, 'f32');
    assert.equal(values.buffer, frame.buffer);
    assert.deepEqual(bank.stats(), { created: 0, reused: 0, free: 0 });
  });

  it('never lends a vector that is still held, by its consumer or a second keeper', () => {
    const bank = new VectorBank();
    const { receiver, got } = receiverWith(bank);
    const { frame: a, values: kept } = acceptNew(receiver, got, 'peer-a', 1, 'f16');
    const b = acceptNew(receiver, got, 'peer-b', 1, 'f16').values;
    assert.notEqual(b, kept, 'a held vector was lent to the next frame');
    assert.deepEqual(kept, plain(a), 'the held values were overwritten');
    bank.hold(kept); // a second keeper (e.g. the round collector)
    bank.release(kept); // the consumer is done; the second keeper is not
    const c = acceptNew(receiver, got, 'peer-c', 1, 'q8').values;
    assert.ok(c !== kept && c !== b);
    assert.deepEqual(kept, plain(a));
    assert.equal(bank.stats().reused, 0);
  });

  it('takes no vector for a duplicate, and gets back the vector of a frame refused after taking it', () => {
    const bank = new VectorBank();
    const { receiver, got } = receiverWith(bank, false); // buffered in the inbox: a duplicate is refused
    const frame = frameOf(1, vector(), 'f16');
    assert.equal(receiver.accept('peer-a', frame), 'accepted');
    assert.deepEqual(receiver.accept('peer-a', frame), { reason: 'duplicate', detail: 'round 1 step 0' });
    assert.equal(bank.stats().created, 1, 'a duplicate took a vector');
    const listened = receiverWith(bank);
    const bad = frameOf(2, vector(), 'f16');
    bad[payloadOffset(swarm.length, 0) + 2 * 5 + 1] = 0x7c; // element 5 → an Inf bit pattern
    assert.deepEqual(listened.receiver.accept('peer-a', bad), { reason: 'non-finite', detail: 'f16 payload holds an Inf or NaN bit pattern' });
    assert.equal(got.length + listened.got.length, 0);
    assert.deepEqual(bank.stats(), { created: 2, reused: 0, free: 1 }, 'the refused frame kept its vector');
    assert.equal(listened.receiver.accept('peer-a', frameOf(3, vector(), 'q8')), 'accepted');
    assert.equal(bank.stats().reused, 1, 'the refused frame\'s vector was not lent again');
  });

  it('never lends again a vector whose decode threw', () => {
    const bank = new VectorBank();
    let broken: Float32Array | null = null;
    // The first take hands out a vector of the wrong length, so decodeFrame throws (a caller's bug: 'internal').
    const vectors: ReceiveVectors = {
      take: (length) => (broken === null ? (broken = bank.take(length - 1)) : bank.take(length)),
      hold: (v) => bank.hold(v),
      release: (v) => bank.release(v),
    };
    const { receiver, got } = receiverWith(vectors);
    const outcome = receiver.accept('peer-a', frameOf(1, vector(), 'f16'));
    assert.equal(typeof outcome === 'object' && outcome.reason, 'internal');
    assert.ok(broken !== null && bank.isOut(broken), 'the loan of a decode that threw ended as if it were free');
    assert.equal(receiver.accept('peer-a', frameOf(2, vector(), 'f16')), 'accepted');
    assert.notEqual(got[0]!.values, broken);
    assert.deepEqual(bank.stats(), { created: 2, reused: 0, free: 0 });
  });
});
