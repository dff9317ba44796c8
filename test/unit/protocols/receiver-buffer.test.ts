/**
 * The receive path's decode-into hook (protocols/receiver.ts `receiveBuffer`): an accepted dense frame's values
 * land in the array the hook returns for that sender and validated header, bit for bit what a new array gets;
 * undefined keeps the new array; frames refused by their header or by the inbox never ask, and a refused f32
 * frame leaves the buffer as it was.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../../aggregation/layout.js';
import type { ReceivedFrame } from '../../../node/network.js';
import { rngFor } from '../../../node/data/rng.js';
import { encodeModelFrame, type Encoding, type FrameHeader, type FrameMeta } from '../../../protocols/codec.js';
import { payloadOffset } from '../../../protocols/codec/header.js';
import { Receiver } from '../../../protocols/receiver.js';

const layout = makeLayout([{ name: 'k', shape: [80, 70], role: 'kernel' }, { name: 'b', shape: [70], role: 'bias' }]);
const swarm = 'receiver-buffer';
const rng = rngFor('receiver-buffer', 1);
const values = Float32Array.from({ length: layout.size }, () => 0.05 * rng.normal());
const meta: FrameMeta = { kind: 'model', swarm, round: 2, step: 0, degree: 3, age: 1 };

function receiverWith(hook: ((from: string, h: FrameHeader) => Float32Array | undefined) | undefined): { receiver: Receiver; got: ReceivedFrame[] } {
  const receiver = new Receiver({ swarm, layout, receiveBuffer: hook });
  const got: ReceivedFrame[] = [];
  receiver.onFrame((f) => got.push(f));
  return { receiver, got };
}

describe('Receiver receiveBuffer', () => {
  it("decodes an accepted dense frame into the hook's array for that sender and header, as a new array would", () => {
    for (const encoding of ['f32', 'f16', 'q8'] as Encoding[]) {
      const frame = encodeModelFrame(meta, layout, values, { encoding });
      const plain = receiverWith(undefined);
      assert.equal(plain.receiver.accept('peer-a', frame), 'accepted');
      const own = new Float32Array(layout.size).fill(9);
      const asked: string[] = [];
      const hooked = receiverWith((from, h) => { asked.push(`${from} ${h.round} ${h.step} ${h.encoding}`); return own; });
      assert.equal(hooked.receiver.accept('peer-a', frame), 'accepted');
      assert.deepEqual(asked, [`peer-a 2 0 ${encoding}`], encoding);
      assert.equal(hooked.got[0]!.values, own, `${encoding}: values is the hook's array`);
      assert.deepEqual(own, plain.got[0]!.values, `${encoding}: same values as a new array`);
      const fallback = receiverWith(() => undefined);
      assert.equal(fallback.receiver.accept('peer-b', frame), 'accepted');
      assert.deepEqual(fallback.got[0]!.values, plain.got[0]!.values, `${encoding}: undefined decodes into a new array`);
    }
  });

  it('never asks for a frame refused by its header', () => {
    const { receiver, got } = receiverWith(() => assert.fail('asked for a refused frame'));
    const foreign = encodeModelFrame({ ...meta, swarm: 'other' }, layout, values, { encoding: 'f16' });
    assert.deepEqual(receiver.accept('peer-a', foreign), { reason: 'foreign-swarm', detail: 'frame of swarm "other", this peer is in "receiver-buffer"' });
    assert.equal(got.length, 0);
    assert.equal(receiver.countersOf('peer-a').rejectedIn['foreign-swarm'], 1);
  });

  /** A receiver buffering in its inbox (no listener), whose hook gives each (sender, round, step) one slot. */
  function slotted(): { receiver: Receiver; slots: Map<string, Float32Array>; asked: string[] } {
    const slots = new Map<string, Float32Array>();
    const asked: string[] = [];
    const receiver = new Receiver({ swarm, layout, receiveBuffer: (from, h) => {
      const key = `${from}/${h.round}/${h.step}`;
      asked.push(key);
      if (!slots.has(key)) slots.set(key, new Float32Array(layout.size));
      return slots.get(key);
    } });
    return { receiver, slots, asked };
  }

  it('never asks for a frame the inbox refuses: a duplicate cannot overwrite the accepted model', () => {
    for (const encoding of ['f32', 'f16', 'q8'] as Encoding[]) {
      const { receiver, slots, asked } = slotted();
      assert.equal(receiver.accept('peer-a', encodeModelFrame(meta, layout, values, { encoding })), 'accepted');
      const kept = Float32Array.from(slots.get('peer-a/2/0')!);
      const other = encodeModelFrame(meta, layout, new Float32Array(layout.size).fill(-1000), { encoding });
      assert.deepEqual(receiver.accept('peer-a', other), { reason: 'duplicate', detail: 'round 2 step 0' }, encoding);
      assert.deepEqual(asked, ['peer-a/2/0'], `${encoding}: asked again for a duplicate`);
      assert.deepEqual(slots.get('peer-a/2/0'), kept, `${encoding}: the refused duplicate replaced the accepted model`);
    }
  });

  it('a refused non-finite f32 frame leaves the buffer as it was', () => {
    const own = Float32Array.from({ length: layout.size }, (_, i) => i);
    const { receiver, got } = receiverWith(() => own);
    const bad = encodeModelFrame(meta, layout, values);
    new DataView(bad.buffer, bad.byteOffset).setFloat32(payloadOffset(swarm.length, 0) + 4 * 7, Number.NaN, true);
    assert.deepEqual(receiver.accept('peer-a', bad), { reason: 'non-finite', detail: 'element 7 is NaN' });
    assert.equal(got.length, 0);
    assert.deepEqual(own, Float32Array.from({ length: layout.size }, (_, i) => i));
  });
});
