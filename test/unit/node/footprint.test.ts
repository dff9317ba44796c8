import '../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerCommands } from '../../../node/cli/commands.js';
import { compactShare } from '../../../node/data/peer-share.js';
import { createDataset, sharedFloat32, sharedUint8 } from '../../../node/data/dataset.js';

describe('a daemon’s footprint', () => {
  it('the daemon and the inspect commands run without TF.js in the main thread (it lives in the workers)', async () => {
    await registerCommands(new Command('murmur'), ['daemon']);
    await import('../../../node/daemon.js');
    await import('../../../node/cli/inspect-source.js');
    // tfjs-core keeps its engine in this global from the moment it is imported.
    assert.equal('_tfengine' in globalThis, false, 'TF.js was loaded by the main thread');
  });

  it('compactShare keeps exactly the share’s rows, training rows first, and renumbers the indices', () => {
    // 6 rows of 2 features: row r = [r, 10 r], label r % 3.
    const x = sharedFloat32(12), y = sharedUint8(6);
    for (let r = 0; r < 6; r++) { x[2 * r] = r; x[2 * r + 1] = 10 * r; y[r] = r % 3; }
    const ds = createDataset({ name: 'six', x, y, featureCount: 2, classCount: 3 });
    const own = compactShare(ds, { train: Uint32Array.from([4, 1]), test: Uint32Array.from([5]), histogram: [0, 1, 1] });
    assert.deepEqual([...own.dataset.x], [4, 40, 1, 10, 5, 50]);
    assert.deepEqual([...own.dataset.y], [1, 1, 2]);
    assert.deepEqual([...own.train], [0, 1]);
    assert.deepEqual([...own.test], [2]);
    assert.ok(own.dataset.x.buffer instanceof SharedArrayBuffer);
  });
});
