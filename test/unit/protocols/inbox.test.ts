import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox } from '../../../protocols/inbox.js';
import type { InboxItem } from '../../../protocols/inbox.js';

const senders = (items: readonly InboxItem<string>[]): string[] => items.map((i) => i.from);

describe('Inbox', () => {
  it('keeps the first item of a sender for a round and step and rejects a second as duplicate', async () => {
    const inbox = new Inbox<string>();
    assert.equal(inbox.put('b', 1, 0, 10, 'first'), 'accepted');
    assert.equal(inbox.put('b', 1, 0, 10, 'second'), 'duplicate');
    // same sender, other step or other round: different keys, both accepted
    assert.equal(inbox.put('b', 1, 1, 10, 'step 1'), 'accepted');
    assert.equal(inbox.put('b', 2, 0, 10, 'round 2'), 'accepted');
    assert.deepEqual(inbox.rejections(), { duplicate: 1, 'inbox-full': 0, stale: 0 });
    const got = await inbox.collect(1, 0, ['b']);
    assert.deepEqual(got.items.map((i) => i.item), ['first']);
  });

  it('rejects an item that would exceed the byte bound and frees bytes on collect', async () => {
    const inbox = new Inbox<string>({ maxBytes: 100 });
    assert.equal(inbox.put('a', 1, 0, 60, 'a'), 'accepted');
    assert.equal(inbox.put('b', 1, 0, 40, 'b'), 'accepted'); // 60 + 40 = 100, at the bound
    assert.equal(inbox.put('c', 1, 0, 1, 'c'), 'inbox-full'); // 100 + 1 > 100
    assert.equal(inbox.bytes, 100);
    await inbox.collect(1, 0, ['a', 'b']);
    assert.equal(inbox.bytes, 0);
    assert.equal(inbox.put('c', 1, 1, 1, 'c'), 'accepted');
    assert.equal(inbox.rejections()['inbox-full'], 1);
  });

  it('resolves as soon as every listed sender is present, with items sorted by sender', async () => {
    const inbox = new Inbox<string>();
    const pending = inbox.collect(3, 2, ['z', 'a', 'm']);
    inbox.put('m', 3, 2, 1, 'M');
    inbox.put('x', 3, 2, 1, 'X'); // not listed: returned too (a neighbour list may lag)
    inbox.put('z', 3, 2, 1, 'Z');
    inbox.put('a', 3, 2, 1, 'A');
    const got = await pending;
    assert.deepEqual(senders(got.items), ['a', 'm', 'x', 'z']);
    assert.equal(got.timedOut, false);
    assert.deepEqual(got.missing, []);
    assert.equal(inbox.size, 0);
  });

  it('resolves at once when everything is already there', async () => {
    const inbox = new Inbox<string>();
    inbox.put('b', 0, 0, 1, 'B');
    inbox.put('a', 0, 0, 1, 'A');
    const got = await inbox.collect(0, 0, ['a', 'b'], { signal: new AbortController().signal });
    assert.deepEqual(senders(got.items), ['a', 'b']);
  });

  it('resolves with what arrived and timedOut when the deadline signal aborts', async () => {
    const inbox = new Inbox<string>();
    const deadline = new AbortController();
    const pending = inbox.collect(1, 0, ['a', 'b', 'c'], { signal: deadline.signal });
    inbox.put('c', 1, 0, 1, 'C');
    deadline.abort();
    const got = await pending;
    assert.deepEqual(senders(got.items), ['c']);
    assert.equal(got.timedOut, true);
    assert.deepEqual(got.missing, ['a', 'b']);
  });

  it('rejects with AbortError on the stop signal and leaves the items for a later collect', async () => {
    const inbox = new Inbox<string>();
    const stop = new AbortController();
    const pending = inbox.collect(1, 0, ['a', 'b'], { signal: new AbortController().signal, stop: stop.signal });
    inbox.put('a', 1, 0, 1, 'A');
    stop.abort();
    await assert.rejects(pending, (err: Error & { code?: string }) => err.code === 'ERR_ABORTED');
    assert.equal(inbox.size, 1);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(inbox.collect(1, 0, ['a'], { stop: aborted.signal }), { name: 'AbortError' });
  });

  it('answers stale to items of a collected key', async () => {
    const inbox = new Inbox<string>();
    inbox.put('a', 1, 0, 1, 'A');
    await inbox.collect(1, 0, ['a']);
    assert.equal(inbox.put('b', 1, 0, 1, 'late'), 'stale');
    assert.equal(inbox.put('b', 1, 1, 1, 'next step'), 'accepted');
  });

  it('discardBefore drops earlier rounds, frees their bytes, rejects them later and ends their collects', async () => {
    const inbox = new Inbox<string>({ maxBytes: 1000 });
    inbox.put('a', 1, 0, 100, 'r1');
    inbox.put('a', 2, 0, 200, 'r2');
    inbox.put('a', 3, 0, 300, 'r3');
    const pending = inbox.collect(2, 1, ['a', 'b'], { signal: new AbortController().signal });
    inbox.put('b', 2, 1, 50, 'r2s1');
    inbox.discardBefore(3);
    const ended = await pending;
    assert.deepEqual(senders(ended.items), ['b']);
    assert.equal(ended.timedOut, true);
    assert.equal(inbox.bytes, 300); // 100 + 200 + 300 + 50 - 100 - 200 - 50 (collected) = 300
    assert.equal(inbox.size, 1);
    assert.equal(inbox.put('c', 2, 0, 1, 'old'), 'stale');
    assert.equal(inbox.put('c', 3, 0, 1, 'now'), 'accepted');
    inbox.discardBefore(1); // lower than before: no effect
    assert.equal(inbox.size, 2);
    const old = await inbox.collect(1, 0, ['a']);
    assert.deepEqual(old, { items: [], timedOut: true, missing: ['a'] });
  });

  it('async mode hands each item to the listeners without buffering and resumes buffering after unsubscribe', () => {
    const inbox = new Inbox<string>({ maxBytes: 10 });
    const seen: string[] = [];
    const off = inbox.onItem((i) => seen.push(`${i.from}@${i.round}.${i.step}:${i.item}`));
    const offThrowing = inbox.onItem(() => { throw new Error('listener bug'); });
    assert.equal(inbox.put('a', 1, 0, 8, 'x'), 'accepted');
    assert.equal(inbox.put('a', 1, 0, 8, 'y'), 'accepted'); // no buffering, so neither duplicate nor full
    assert.deepEqual(seen, ['a@1.0:x', 'a@1.0:y']);
    assert.equal(inbox.size, 0);
    off();
    offThrowing();
    assert.equal(inbox.put('a', 1, 0, 8, 'z'), 'accepted');
    assert.equal(inbox.size, 1);
  });
});
