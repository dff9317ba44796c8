import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../../node/errors.js';
import { ControlError } from '../../../../node/control/errors.js';
import {
  EXIT_FAILURE, EXIT_NO_DAEMON, EXIT_USAGE, formatBytes, formatDuration, formatTime, renderRecord, renderRows, reportError, type Column,
} from '../../../../node/cli/render.js';

interface Row { peer: string; bytes: number; seen: number; rejections: Record<string, number>; trust?: number }
const ROWS: Row[] = [
  { peer: 'a', bytes: 1536, seen: 1000, rejections: { z: 1, a: 2 }, trust: 0.123456 },
  { peer: 'b', bytes: 10, seen: 0, rejections: {} },
];
const COLUMNS: Column<Row>[] = [
  { key: 'peer', value: (r) => r.peer },
  { key: 'bytes', value: (r) => r.bytes, format: 'bytes' },
  { key: 'seen', header: 'last seen', value: (r) => r.seen, format: 'time' },
  { key: 'rejections', value: (r) => r.rejections, format: 'map' },
  { key: 'trust', value: (r) => r.trust, format: 'number' },
];

function capture(): { out: string[]; err: string[]; sink: (json: boolean) => { json: boolean; stdout: (t: string) => void; stderr: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, sink: (json) => ({ json, stdout: (t) => out.push(t), stderr: (t) => err.push(t) }) };
}

describe('renderRows', () => {
  it('prints raw values as a JSON array in JSON mode', () => {
    const text = renderRows(ROWS, COLUMNS, { json: true, now: 61_000 });
    // trust is undefined for b, so JSON leaves the key out.
    assert.deepEqual(JSON.parse(text), [
      { peer: 'a', bytes: 1536, seen: 1000, rejections: { z: 1, a: 2 }, trust: 0.123456 },
      { peer: 'b', bytes: 10, seen: 0, rejections: {} },
    ]);
    assert.ok(text.endsWith('\n'));
  });

  it('prints human units in a table, without ANSI colour', () => {
    const text = renderRows(ROWS, COLUMNS, { json: false, now: 61_000 });
    const lines = text.split('\n');
    assert.match(lines[1]!, /│ peer │ bytes\s+│ last seen\s+│ rejections │ trust\s+│/);
    // 1536 B = 1.5 KiB; seen 1000 ms with now 61000 → 60 s ago = "1m 00s"; trust to 4 significant digits.
    assert.match(text, /│ a\s+│ 1\.5 KiB │ 1970-01-01T00:00:01Z \(1m 00s ago\) │ a=2, z=1\s+│ 0\.1235 │/);
    assert.match(text, /│ b\s+│ 10 B\s+│ never\s+│ -\s+│ -\s+│/);
    assert.ok(!text.includes('\u001b['));
  });

  it('prints the empty text in a table and [] in JSON when there are no rows', () => {
    assert.equal(renderRows([], COLUMNS, { json: false, empty: '(no peers yet)' }), '(no peers yet)\n');
    assert.equal(renderRows([], COLUMNS, { json: true }), '[]\n');
  });
});

describe('renderRecord', () => {
  it('prints a field/value table or one JSON object', () => {
    const table = renderRecord(ROWS[0]!, COLUMNS, { json: false });
    assert.match(table, /│ last seen\s+│ 1970-01-01T00:00:01Z\s+│/);
    assert.deepEqual(JSON.parse(renderRecord(ROWS[0]!, COLUMNS, { json: true })), ROWS[0]);
  });
});

describe('formatters', () => {
  it('formats bytes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(5 * 1024 * 1024 + 512 * 1024), '5.5 MiB'); // 5.5 × 2^20
  });

  it('formats durations', () => {
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(12_345), '12.3 s');
    assert.equal(formatDuration(303_000), '5m 03s'); // 303 s = 5 × 60 + 3
    assert.equal(formatDuration(7_500_000), '2h 05m'); // 7500 s = 2 × 3600 + 5 × 60
    assert.equal(formatDuration(273_600_000), '3d 04h'); // 273600 s = 3 × 86400 + 4 × 3600
  });

  it('formats times as ISO UTC to the second', () => {
    assert.equal(formatTime(0), 'never');
    assert.equal(formatTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05Z');
    assert.equal(formatTime(1000, 1850), '1970-01-01T00:00:01Z (850 ms ago)');
  });
});

describe('reportError', () => {
  it('prints {success:false, code, message} on stdout in JSON mode', () => {
    const c = capture();
    const code = reportError(new ControlError('ERR_NO_DAEMON', 'no murmur daemon is running with data dir /x (…)'), c.sink(true));
    assert.equal(code, EXIT_NO_DAEMON);
    assert.deepEqual(c.err, []);
    assert.deepEqual(JSON.parse(c.out.join('')), { success: false, code: 'ERR_NO_DAEMON', message: 'no murmur daemon is running with data dir /x (…)' });
  });

  it('prints one stderr line without a stack otherwise', () => {
    const c = capture();
    const code = reportError(new Error('boom\n  with detail'), c.sink(false));
    assert.equal(code, EXIT_FAILURE);
    assert.deepEqual(c.out, []);
    assert.deepEqual(c.err, ['error: boom with detail\n']);
  });

  it('lists ConfigError problems and exits with the usage code', () => {
    const c = capture();
    const code = reportError(new ConfigError('invalid flags', ['--limit: 0 is below 1', '--from: not a number']), c.sink(true));
    assert.equal(code, EXIT_USAGE);
    assert.deepEqual(JSON.parse(c.out.join('')), { success: false, code: 'ERR_CONFIG', message: 'invalid flags: --limit: 0 is below 1; --from: not a number' });
  });

  it('reports non-Error throws as ERR_UNEXPECTED', () => {
    const c = capture();
    assert.equal(reportError('weird', c.sink(true)), EXIT_FAILURE);
    assert.deepEqual(JSON.parse(c.out.join('')), { success: false, code: 'ERR_UNEXPECTED', message: 'weird' });
  });
});
