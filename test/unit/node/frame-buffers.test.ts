import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecyclingNetwork } from '../../../node/frame-buffers.js';
import type { Network, OutgoingFrame } from '../../../node/network.js';

/** A network that "encodes" each new frame object once through its buffer hook and settles sends when told. */
function fakeNetwork() {
  const buffers: Uint8Array[] = [];
  const pending: Array<() => void> = [];
  const encoded = new WeakMap<OutgoingFrame, Uint8Array>();
  const net = {
    selfId: 'a',
    send(_to: string, frame: OutgoingFrame) {
      if (!encoded.has(frame) && frame.kind !== 'ranking') {
        const b = frame.buffer?.(8) ?? new Uint8Array(8);
        encoded.set(frame, b);
        buffers.push(b);
      }
      return new Promise<number>((resolve) => pending.push(() => resolve(8)));
    },
  } as unknown as Network;
  return { net, buffers, settleAll: async () => { pending.splice(0).forEach((f) => f()); await new Promise((r) => setImmediate(r)); } };
}

const frame = (round: number): OutgoingFrame => ({ kind: 'model', round, step: 0, degree: 2, age: 1, values: new Float32Array(1), encoding: 'f32' });

describe('RecyclingNetwork', () => {
  it('encodes into a settled frame buffer only once no target may read its round any more', async () => {
    const finished = new Map([['b', 0], ['c', 0]]);
    const { net, buffers, settleAll } = fakeNetwork();
    const sender = new RecyclingNetwork(net, { mayRead: (id, round) => finished.get(id)! < round });
    const f1 = frame(1);
    void sender.send('b', f1);
    void sender.send('c', f1);
    assert.equal(buffers.length, 1, 'one encoding per frame object');
    await settleAll();
    void sender.send('b', frame(2));
    assert.notEqual(buffers[1], buffers[0], 'b and c are still in round 1: they may read it');
    await settleAll();
    finished.set('b', 1);
    void sender.send('b', frame(3));
    assert.notEqual(buffers[2], buffers[0], 'c may still read round 1');
    await settleAll();
    finished.set('c', 1);
    void sender.send('b', frame(4));
    assert.equal(buffers[3], buffers[0], 'round 1 is over for every target: its buffer is reused');
    assert.deepEqual(sender.stats(), { created: 3, reused: 1, loans: 3 });
  });

  it('does not reuse a buffer while a send of it is in flight', async () => {
    const { net, buffers, settleAll } = fakeNetwork();
    const sender = new RecyclingNetwork(net, { mayRead: () => false });
    void sender.send('b', frame(1));
    void sender.send('b', frame(2));
    assert.notEqual(buffers[1], buffers[0], 'the first send has not settled');
    await settleAll();
    void sender.send('b', frame(3));
    assert.ok(buffers[2] === buffers[0] || buffers[2] === buffers[1]);
  });

  it('lends a failed send\'s buffer again unless the failure may leave it queued, and ends the loan either way', async () => {
    const buffers: Uint8Array[] = [];
    const errors = [new Error('refused after reading'), new Error('queued'), new Error('refused after reading')];
    let sent = 0;
    const net = {
      selfId: 'a',
      send: async (_to: string, f: OutgoingFrame) => { buffers.push((f.kind === 'ranking' ? undefined : f.buffer)!(8)); throw errors[sent++]; },
    } as unknown as Network;
    const sender = new RecyclingNetwork(net, { mayRead: () => false }, (err) => (err as Error).message === 'queued');
    const sendOnce = async (round: number) => { await sender.send('b', frame(round)).catch(() => {}); };
    await sendOnce(1);
    await sendOnce(2);
    assert.equal(buffers[1], buffers[0], 'a refusal after reading settles the buffer: lent again');
    await sendOnce(3);
    assert.notEqual(buffers[2], buffers[1], 'the frame may still be queued below the network: never lent again');
    assert.deepEqual(sender.stats(), { created: 2, reused: 1, loans: 1 }, 'the held loan ended all the same');
  });
});
