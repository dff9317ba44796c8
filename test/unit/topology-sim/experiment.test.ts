import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiment } from '../../../topology-sim/experiment.js';
import { presence } from '../../../topology-sim/churn.js';
import { alieZ, attackerSet, inverseNormal } from '../../../topology-sim/adversary.js';
import { pushSchedule } from '../../../topology-sim/push-schedule.js';

describe('experiments, churn, adversaries and push schedules', () => {
  it('expands runs over the base, with overrides and discriminator-aware merging', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-exp-'));
    try {
      const file = join(dir, 'e.yaml');
      await writeFile(file, [
        'name: sweep', 'peers: 10', 'algorithm: { name: krum, f: 2 }',
        'runs:', '  - name: a', '  - name: b', '    algorithm: { name: median }', '    peers: 12',
      ].join('\n'));
      const { runs } = await loadExperiment(file, { rounds: 3 });
      assert.deepEqual(runs.map((r) => [r.name, r.experiment.peers, r.experiment.rounds, r.experiment.algorithm]), [
        ['a', 10, 3, { name: 'krum', f: 2 }], ['b', 12, 3, { name: 'median' }],
      ]);
      await writeFile(file, 'peers: 1\nbogus: true\n');
      await assert.rejects(loadExperiment(file), /peers: .*\n.*unknown key bogus/s);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('schedules crashes, joins and leaves deterministically', () => {
    const p = presence({ crash: { fraction: 0.5, round: 3 }, join: [{ peer: 1, round: 4 }], leave: [{ peer: 2, round: 2 }], drop: 0, delayMs: 0 }, 10, 7, (i) => i !== 0);
    const q = presence({ crash: { fraction: 0.5, round: 3 }, join: [{ peer: 1, round: 4 }], leave: [{ peer: 2, round: 2 }], drop: 0, delayMs: 0 }, 10, 7, (i) => i !== 0);
    const crashed = Array.from({ length: 10 }, (_, i) => i).filter((i) => p.crashRound(i) === 3);
    assert.equal(crashed.length, Math.round(0.5 * 9));
    assert.ok(!crashed.includes(0));
    assert.deepEqual(crashed, Array.from({ length: 10 }, (_, i) => i).filter((i) => q.crashRound(i) === 3));
    assert.equal(p.online(1, 3), false);
    assert.equal(p.online(2, 2), false);
    assert.equal(p.knownAbsent(2, 5), true);
    // A crash is not known to neighbours; a leave is.
    const plain = crashed.find((i) => i !== 1 && i !== 2)!;
    assert.equal(p.knownAbsent(plain, 5), false);
    assert.equal(p.online(plain, 5), false);
    assert.equal(p.online(plain, 2), true);
  });

  it('picks attackers and ALIE z as specified', () => {
    assert.equal(attackerSet({ fraction: 0.2, behaviour: { kind: 'label-flip' } }, 50, 1).size, 10);
    assert.deepEqual([...attackerSet({ peers: [3, 99], behaviour: { kind: 'free-rider' } }, 10, 1)], [3]);
    assert.ok(Math.abs(inverseNormal(0.975) - 1.959964) < 1e-5);
    // n = 50, f = 10: s = ⌊26⌋ − 10 = 16, z = Φ⁻¹(34/50) = Φ⁻¹(0.68) ≈ 0.4677
    assert.ok(Math.abs(alieZ(50, 10) - 0.46770) < 1e-4);
  });

  it('gives every peer one push target among its neighbours and inverts it into senders', () => {
    const ring = Array.from({ length: 6 }, (_, i) => [(i + 5) % 6, (i + 1) % 6]);
    const s = pushSchedule(6, 1, (j) => ring[j]!);
    let total = 0;
    for (let i = 0; i < 6; i++) {
      assert.ok(ring[i]!.includes(s.target(i, 1)));
      for (const j of s.senders(i, 1)) assert.equal(s.target(j, 1), i);
      total += s.senders(i, 1).length;
    }
    assert.equal(total, 6);
  });
});
