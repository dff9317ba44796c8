import '../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { soakChecks } from '../../scripts/lib/soak-checks.js';
import { CI_SOAK_SHAPE, SOAK_EVAL_SIZE, SOAK_ROUND_TIMEOUT_MS, soakPlan } from '../../scripts/lib/soak-plan.js';
import { lockstepAccuracy } from '../../scripts/lib/soak-reference.js';
import { runSoakPass } from '../../scripts/lib/soak-run.js';

/**
 * The CI-sized soak of issue 12 (`npm run bench -- soak-swarm --ci` as a test): 4 real `murmur daemon`
 * processes on loopback TCP, joins staggered over 20 s (seed 1), one kill -9 and restart, a hostile peer
 * throughout, 90 s of D-PSGD. Asserts the Done-when properties with their tolerances: no running daemon
 * waits longer than 3 round timeouts for a round, rounds differ by at most 3 at the end, every peer is
 * within 3 points of a lockstep simulation at its round, no crash, the restart resumes its committed round.
 * On failure the daemons' logs are kept and their directory is named.
 */
describe('a live swarm of 4 daemons: staggered joins, kill -9, hostile peer (CI soak)', { timeout: 15 * 60_000 }, () => {
  it('keeps every peer training on the running round, within 3 points of lockstep', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'murmur-e2e-soak-'));
    let passed = false;
    try {
      const plan = soakPlan({ ...CI_SOAK_SHAPE, seed: 1 });
      const report = await runSoakPass({ plan, algorithm: 'dpsgd', workDir, roundTimeoutMs: SOAK_ROUND_TIMEOUT_MS, hostile: true });
      const rounds = Math.max(...report.peers.map((p) => p.roundAtEnd));
      const reference = await lockstepAccuracy({ peers: plan.shape.peers, rounds: Math.max(1, rounds), algorithm: 'dpsgd', evalSize: SOAK_EVAL_SIZE, workDir });
      const checks = soakChecks('dpsgd', report, reference, SOAK_ROUND_TIMEOUT_MS);
      const failed = checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.figure} (target ${c.target})`);
      assert.deepEqual(failed, [], `soak checks failed; daemon logs kept in ${workDir}`);
      assert.equal(report.peers.flatMap((p) => p.restarts).length, plan.kills.length, 'every kill was followed by a restart');
      passed = true;
    } finally {
      if (passed) await rm(workDir, { recursive: true, force: true });
    }
  });
});
