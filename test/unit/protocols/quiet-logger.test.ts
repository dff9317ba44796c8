import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMurmurNode } from '../../../protocols/libp2p.js';
import { debugRequested, disabledLogger, swarmLogger } from '../../../protocols/quiet-logger.js';

describe('swarmLogger', () => {
  it('hands out one disabled logger, whose scopes, error and trace loggers are off too, when DEBUG is unset or blank', () => {
    for (const env of [{}, { DEBUG: '' }, { DEBUG: '  ' }]) {
      const log = swarmLogger(env).forComponent('libp2p:noise');
      assert.equal(log, disabledLogger);
      assert.equal(log.enabled, false);
      // `enabled` on error and trace too (typed as plain functions), as @libp2p/logger gives it.
      assert.equal((log.error as unknown as { enabled: boolean }).enabled, false);
      assert.equal((log.trace as unknown as { enabled: boolean }).enabled, false);
      assert.equal(log.newScope('xxhandshake'), disabledLogger);
      log('nothing %s', 'printed');
      log.error('nor %s', 'this');
      log.trace('nor this');
    }
  });

  it("is @libp2p/logger's when DEBUG asks for output", () => {
    assert.equal(debugRequested({ DEBUG: 'libp2p:*' }), true);
    const log = swarmLogger({ DEBUG: 'libp2p:*' }).forComponent('libp2p:noise');
    assert.notEqual(log, disabledLogger);
    assert.equal(typeof log.newScope, 'function');
  });

  it('is what a swarm node logs with (DEBUG unset in tests)', async (t) => {
    if (debugRequested()) return t.skip('DEBUG is set');
    const node = await createMurmurNode({ transport: 'memory', preset: 'swarm', seed: 'quiet-logger', announcements: false });
    try {
      assert.equal(node.logger.forComponent('libp2p:connection'), disabledLogger);
    } finally {
      await node.stop();
    }
    const device = await createMurmurNode({ transport: 'memory', seed: 'quiet-logger-device' });
    try {
      assert.notEqual(device.logger.forComponent('libp2p:connection'), disabledLogger, 'a device keeps its logger');
    } finally {
      await device.stop();
    }
  });
});
