import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentLogger, Logger } from '@libp2p/interface';
import { NatLog, formatLogCall } from '../../../protocols/reachability.js';

const A = '12D3KooWRdFFg3yTbTsDq5Z1yCvCWbqznEFro9jeVivo7rkayJ4D';
const B = '12D3KooWGSrXQQXYp31AUbZ64eJMb3hGywN4dmzpaZW3rWW22EfF';

/** A ComponentLogger that records what reaches it, per component. */
function recordingLogger(): { logger: ComponentLogger; calls: string[] } {
  const calls: string[] = [];
  const make = (name: string): Logger => {
    const log = ((f: unknown, ...a: unknown[]) => { calls.push(`${name} log ${formatLogCall(f, a)}`); }) as Logger;
    log.error = (f: unknown, ...a: unknown[]) => { calls.push(`${name} error ${formatLogCall(f, a)}`); };
    log.trace = (f: unknown, ...a: unknown[]) => { calls.push(`${name} trace ${formatLogCall(f, a)}`); };
    log.enabled = true;
    log.newScope = (s: string) => make(`${name}:${s}`);
    return log;
  };
  return { logger: { forComponent: make }, calls };
}

describe('formatLogCall', () => {
  it('fills %-placeholders in order, renders errors by name and message, and appends extra arguments', () => {
    assert.equal(formatLogCall('dial %p via %a', ['peer', '/ip4/1.2.3.4/tcp/1']), 'dial peer via /ip4/1.2.3.4/tcp/1');
    assert.equal(formatLogCall('attempt %d of %d - %e', [1, 3, new TypeError('boom')]), 'attempt 1 of 3 - TypeError: boom');
    assert.equal(formatLogCall('addrs %o', [['a', 'b']]), 'addrs [a, b]');
    assert.equal(formatLogCall('100%% done', []), '100% done');
    assert.equal(formatLogCall('missing %s', []), 'missing %s');
    assert.equal(formatLogCall('extra', [1, 'x']), 'extra 1 x');
  });
});

describe('NatLog', () => {
  it('files DCUtR lines under the peers they name, and a line naming none under the previous peer', () => {
    const log = new NatLog(recordingLogger().logger, () => 1000);
    log.record(`B sending connect to ${A}`);
    log.record('error while attempting DCUtR on attempt 1 of 3 - StreamResetError');
    log.record(`peer ${B} has no public addresses`);
    assert.deepEqual(log.linesFor(A), [`B sending connect to ${A}`, 'error while attempting DCUtR on attempt 1 of 3 - StreamResetError']);
    assert.deepEqual(log.linesFor(B), [`peer ${B} has no public addresses`]);
    assert.deepEqual(log.linesFor('nobody'), []);
    assert.equal(log.upgradedAtFor(A), undefined);
  });

  it('keeps the last six lines per peer and notes when DCUtR replaced a relayed connection', () => {
    let now = 5;
    const log = new NatLog(recordingLogger().logger, () => now);
    for (let i = 0; i < 8; i++) log.record(`line ${i} about ${A}`);
    assert.deepEqual(log.linesFor(A).map((l) => l.split(' ')[1]), ['2', '3', '4', '5', '6', '7']);
    now = 42;
    log.record(`unilateral connection upgrade to ${A} succeeded via /ip4/1.2.3.4/tcp/1, closing relayed connection`);
    assert.equal(log.upgradedAtFor(A), 42);
  });

  it('passes every call on to the wrapped logger and keeps only the DCUtR component’s lines', () => {
    const base = recordingLogger();
    const log = new NatLog(base.logger);
    const dcutr = log.logger.forComponent('libp2p:dcutr');
    dcutr('B sending connect to %p', A);
    dcutr.error('error while attempting DCUtR on attempt %d of %d - %e', 2, 3, new Error('reset'));
    dcutr.newScope('x')('scoped about %p', B);
    log.logger.forComponent('libp2p:identify')('identify %p', B);
    assert.deepEqual(base.calls, [
      `libp2p:dcutr log B sending connect to ${A}`,
      'libp2p:dcutr error error while attempting DCUtR on attempt 2 of 3 - Error: reset',
      `libp2p:dcutr:x log scoped about ${B}`,
      `libp2p:identify log identify ${B}`,
    ]);
    assert.equal(dcutr.enabled, true);
    assert.deepEqual(log.linesFor(A), [`B sending connect to ${A}`, 'error while attempting DCUtR on attempt 2 of 3 - Error: reset']);
    assert.deepEqual(log.linesFor(B), [`scoped about ${B}`]);
  });
});
