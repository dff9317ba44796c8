import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { Clock } from '../../../node/clock.js';
import type { Logger } from '../../../node/logger.js';
import { registerStallGauge, StallDetector } from '../../../node/stall.js';

/** A clock that moves only when told, and a logger that keeps its lines. */
function rig(waitingFor: string[] = ['peerB']) {
  let now = Date.UTC(2026, 11, 7, 10, 0, 0);
  const clock: Clock = { now: () => now, sleep: async () => {}, timeout: () => new AbortController().signal, deadline: () => ({ signal: new AbortController().signal, release: () => {}, abort: () => {} }) };
  const lines: Array<{ level: string; obj: unknown; msg: string }> = [];
  const log = (level: string) => (obj: unknown, msg = '') => { lines.push({ level, obj, msg }); };
  const logger = { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), trace: log('trace'), child: () => logger } as unknown as Logger;
  const detector = new StallDetector({ roundTimeoutMs: 10_000 }, { clock, logger, waitingFor: () => waitingFor });
  return { detector, lines, advance: (ms: number) => { now += ms; }, start: now };
}

describe('StallDetector: no finished round for 3 round timeouts is a stall', () => {
  it('is quiet while rounds finish within 3 timeouts', () => {
    const { detector, lines, advance } = rig();
    for (let r = 1; r <= 5; r++) { advance(29_000); assert.equal(detector.check(), null); detector.onRound(r); }
    assert.equal(detector.stalledSeconds(), 0);
    assert.deepEqual(lines.filter((l) => l.level === 'error'), []);
  });

  it('reports since when, whom it waits for and how many timeouts, logs one error, and clears on the next round', () => {
    const { detector, lines, advance, start } = rig(['peerB', 'peerC']);
    detector.onRound(7);
    advance(30_000);
    assert.deepEqual(detector.check(), { since: new Date(start).toISOString(), waitingFor: ['peerB', 'peerC'], timeouts: 3 });
    advance(15_000);
    assert.equal(detector.check()!.timeouts, 4);
    assert.equal(detector.stalledSeconds(), 45);
    assert.equal(lines.filter((l) => l.level === 'error').length, 1, 'one error line per stall');
    detector.onRound(8);
    assert.equal(detector.check(), null);
    assert.equal(detector.stalledSeconds(), 0);
    assert.ok(lines.some((l) => l.level === 'info' && /no longer stalled/.test(l.msg)));
  });

  it('exports murmur_round_stalled_seconds', async () => {
    const { detector, advance } = rig();
    const registry = new Registry();
    registerStallGauge(registry, () => detector.stalledSeconds());
    advance(31_000);
    assert.match(await registry.metrics(), /murmur_round_stalled_seconds 31/);
  });
});
