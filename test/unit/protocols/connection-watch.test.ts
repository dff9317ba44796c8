import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerId } from '@libp2p/interface';
import { ConnectionWatch, MAX_GONE_PEERS, openStreamToPeer, type WatchedNode } from '../../../protocols/connection-watch.js';

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
  /** A further connection of an already stored peer: libp2p fires only 'connection:open' then, no 'peer:connect'. */
  openAnother(id: string): void {
    this.open.add(id);
    this.events.dispatchEvent(new CustomEvent('connection:open', { detail: { remotePeer: peer(id) } }));
  }
  disconnect(id: string): void {
    this.open.delete(id);
    this.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer(id) }));
  }
  addEventListener(type: string, listener: (evt: CustomEvent<never>) => void): void {
    this.events.addEventListener(type, listener as (evt: Event) => void);
  }
  removeEventListener(type: string, listener: (evt: CustomEvent<never>) => void): void {
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

  it('waits for a peer that left and connects again (a dropped connection it re-dials)', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { returningGraceMs: 60_000 });
    watch.start();
    node.connect('a');
    node.disconnect('a');
    const waiting = watch.connected(peer('a'));
    assert.equal(await state(waiting), 'pending');
    node.connect('a');
    assert.equal(await state(waiting), 'resolved');
    watch.stop();
  });

  it('rejects a peer that left and does not come back after its grace, as gone', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { returningGraceMs: 0, connectingGraceMs: Infinity });
    watch.start();
    node.connect('a');
    node.disconnect('a');
    await assert.rejects(watch.connected(peer('a')), { name: 'PeerGoneError', message: /disconnected and has not come back within 0 ms/ });
    watch.stop();
  });

  it('rejects a peer that never connected after its own grace, not at the caller\'s deadline', { timeout: 20_000 }, async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { connectingGraceMs: 0, returningGraceMs: Infinity });
    watch.start();
    const neverAborts = new AbortController();
    await assert.rejects(watch.connected(peer('x'), { signal: neverAborts.signal }), { name: 'PeerNotConnectedError', message: /did not connect within 0 ms/ });
    watch.stop();
  });

  it('wakes a waiter on connection:open when the peer has an old connection stored (no peer:connect then)', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { connectingGraceMs: 60_000 });
    watch.start();
    const waiting = watch.connected(peer('a'));
    node.openAnother('a');
    assert.equal(await state(waiting), 'resolved');
    watch.stop();
  });

  it('rejects pending waits when stopped, and new ones after', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { connectingGraceMs: Infinity });
    watch.start();
    const waiting = watch.connected(peer('b'));
    watch.stop();
    assert.equal(await state(waiting), 'rejected PeerNotConnectedError');
    await assert.rejects(waiting, { message: /connection watch stopped/ });
    await assert.rejects(watch.connected(peer('b')), { name: 'PeerNotConnectedError' });
  });

  it('forgets a gone peer when it reconnects, and remembers at most MAX_GONE_PEERS', () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    node.connect('a');
    node.disconnect('a');
    assert.equal(watch.goneCount(), 1);
    node.connect('a');
    assert.equal(watch.goneCount(), 0);
    for (let i = 0; i < MAX_GONE_PEERS + 10; i++) { node.connect(`p${i}`); node.disconnect(`p${i}`); }
    assert.equal(watch.goneCount(), MAX_GONE_PEERS);
    watch.stop();
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

  it('rethrows other dial errors', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node);
    watch.start();
    await assert.rejects(openStreamToPeer({ openStream: async () => { throw err('DialError'); } }, watch, peer('a'), ['/p'], {}), { name: 'DialError' });
    watch.stop();
  });

  it('for a peer that left and stays away, says so, with the dial error as cause', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { returningGraceMs: 0 });
    watch.start();
    node.connect('b');
    node.disconnect('b');
    const dialErr = err('NoValidAddressesError');
    await assert.rejects(openStreamToPeer({ openStream: async () => { throw dialErr; } }, watch, peer('b'), ['/p'], {}), (e: Error) => {
      assert.equal(e.name, 'PeerGoneError');
      assert.match(e.message, /peer b disconnected and has not come back/);
      assert.equal(e.cause, dialErr);
      return true;
    });
    watch.stop();
  });

  it('delivers to a peer that left and is connecting again (the lost frame of a re-dialled connection)', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { returningGraceMs: 60_000 });
    watch.start();
    node.connect('a');
    node.disconnect('a');
    const dialer = { openStream: async () => { if (!node.open.has('a')) throw err('NoValidAddressesError'); return 'stream' as never; } };
    const sending = openStreamToPeer(dialer, watch, peer('a'), ['/p'], {});
    setImmediate(() => node.connect('a'));
    assert.equal(await sending, 'stream');
    watch.stop();
  });

  it('rethrows the dial error when the caller\'s deadline passes first', async () => {
    const node = new FakeNode();
    const watch = new ConnectionWatch(node, { connectingGraceMs: Infinity });
    watch.start();
    const ac = new AbortController();
    const sending = openStreamToPeer({ openStream: async () => { throw err('NoValidAddressesError'); } }, watch, peer('a'), ['/p'], { signal: ac.signal });
    setImmediate(() => ac.abort(new DOMException('deadline', 'TimeoutError')));
    await assert.rejects(sending, { name: 'NoValidAddressesError' });
    watch.stop();
  });
});
