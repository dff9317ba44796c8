import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { streamPair } from '@libp2p/utils';
import { OutboundStreams } from '../../../protocols/outbound-streams.js';

describe('OutboundStreams', () => {
  it('keeps a stream opened ahead of the first frame idle, reusable', async () => {
    const pool = new OutboundStreams(2);
    const [outbound] = await streamPair();
    await pool.prefill('peer', async () => outbound, () => true);
    assert.equal(pool.size(), 1);
    assert.equal(pool.take('peer')?.stream, outbound);
  });

  it('closes, not pools, a stream that finished opening after abortAll (the service stopped meanwhile)', async () => {
    const pool = new OutboundStreams(2);
    const [outbound] = await streamPair();
    const opening = Promise.withResolvers<Stream>();
    const filled = pool.prefill('peer', () => opening.promise, () => true);
    opening.resolve(outbound); // opened; the rest of prefill is queued
    pool.abortAll(new Error('model exchange stopped')); // stop() runs in between
    await filled;
    assert.equal(pool.size(), 0, 'an idle stream was pooled after the pool was shut');
    assert.notEqual(outbound.status, 'open', 'the stream opened for the stopped service is still open');
  });

  it('pools again after reopen (the service restarted)', async () => {
    const pool = new OutboundStreams(2);
    pool.abortAll(new Error('stopped'));
    pool.reopen();
    const [outbound] = await streamPair();
    await pool.prefill('peer', async () => outbound, () => true);
    assert.equal(pool.size(), 1);
    pool.abortAll(new Error('stopped'));
    assert.notEqual(outbound.status, 'open');
  });
});
