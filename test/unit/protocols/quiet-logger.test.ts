import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quietLogger, swarmLogger } from '../../../protocols/quiet-logger.js';

describe('quiet libp2p logger', () => {
  it('hands out one shared no-op logger for every component and scope', () => {
    const a = quietLogger.forComponent('libp2p:yamux');
    assert.equal(quietLogger.forComponent('libp2p:noise'), a);
    assert.equal(a.newScope('outbound:1'), a);
    assert.equal(a.enabled, false);
    assert.doesNotThrow(() => { a('x %s', 1); a.error('e'); a.trace('t'); });
  });

  it('is used unless DEBUG asks for libp2p\'s output', () => {
    assert.equal(swarmLogger({}), quietLogger);
    assert.equal(swarmLogger({ DEBUG: '' }), quietLogger);
    assert.equal(swarmLogger({ DEBUG: 'libp2p:*' }), undefined);
  });
});
