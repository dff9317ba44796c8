import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerId } from '@libp2p/interface';
import { ConnectionWatch, openStreamToPeer, type WatchedNode } from '../../../protocols/connection-watch.js';

const peer = (id: string): PeerId => ({ toString: () => id }) as unknown as PeerId;

/** A node whose connections and events the test drives. */
class FakeNode implements WatchedNode {
  readonly open = new Set<string>();
  private readonly events = new EventTarget();
  getConnections(p?: PeerId): Array<{ status: string }> {
    return p !== undefined && this.open.has(p.toString()) ? [{ status: 'open' }] : [];
  }
  connect(id: string): void {
    this.open.add(id);
    this.events.dispatchEvent(new CustomEvent('peer:connect', { detail: peer(id) }));
  }
  disconnect(id: string): void {
    this.open.delete(id);
    this.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer(id) }));
  }
  addEventListener(type: string, listener: (evt: CustomEvent<PeerId>) => void): void {
    this.events.addEventListener(type, listener as (evt: Event) => void);
  }
  removeEventListener(type: string, listener: (evt: CustomEvent<PeerId>) => void): void {
    this.events.removeEventListener(type, listener as (evt: Event) => void);
  }
}

/** 'pending' if `p` has not settled after the queued microtasks and one macrotask turn. */
async function state(p: Promise<unknown>): Promise<string> {
  const tag = Promise.race([p.then(() => 'resolved', (e: Error) => `rejected ${e.name}`), new Promise<string>((r) => setImmediate(() => r('pending')))]);
  return tag;
}

describe('ConnectionWatch', () => {
  it('resolves for a connected peer, waits for one that is not yet, and only for that one', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    node.connect('a');
    assert.equal(await state(watch.connected(peer('a'))), 'resolved');
    const b = watch.connected(peer('b'));
    node.connect('c');
    assert.equal(await state(b), 'pending');
    node.connect('b');
    assert.equal(await state(b), 'resolved');
    watch.stop();
  });

  it('rejects at once for a peer that left, until it connects again', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    node.connect('a');
    node.disconnect('a');
    assert.equal(await state(watch.connected(peer('a'))), 'rejected PeerGoneError');
    node.connect('a');
    assert.equal(await state(watch.connected(peer('a'))), 'resolved');
  });

  it('rejects with the signal\'s reason when it aborts first', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    const ac = new AbortController();
    const waiting = watch.connected(peer('a'), { signal: ac.signal });
    ac.abort(new DOMException('deadline', 'TimeoutError'));
    assert.equal(await state(waiting), 'rejected TimeoutError');
    node.connect('a'); // nothing left waiting: no throw, no late resolve
  });

  it('tells its onConnect listeners of each new peer', () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    const seen: string[] = [];
    const off = watch.onConnect((p) => seen.push(p.toString()));
    node.connect('a');
    off();
    node.connect('b');
    assert.deepEqual(seen, ['a']);
  });
});

describe('openStreamToPeer', () => {
  const err = (name: string): Error => Object.assign(new Error(name), { name });

  it('after NoValidAddressesError waits for the connection, then opens the stream', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    let calls = 0;
    const dialer = { openStream: async () => { if (calls++ === 0) throw err('NoValidAddressesError'); return 'stream' as never; } };
    const opening = openStreamToPeer(dialer, watch, peer('a'), ['/p'], {});
    assert.equal(await state(opening), 'pending');
    node.connect('a');
    assert.equal(await opening, 'stream');
    assert.equal(calls, 2);
  });

  it('rethrows other dial errors, and the dial error when the peer left', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    await assert.rejects(openStreamToPeer({ openStream: async () => { throw err('DialError'); } }, watch, peer('a'), ['/p'], {}), { name: 'DialError' });
    node.connect('b');
    node.disconnect('b');
    await assert.rejects(openStreamToPeer({ openStream: async () => { throw err('NoValidAddressesError'); } }, watch, peer('b'), ['/p'], {}), { name: 'NoValidAddressesError' });
  });
});
