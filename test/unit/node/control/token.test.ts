import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateToken, isTokenShaped, tokensEqual, writeSecretFile } from '../../../../node/control/token.js';

describe('token', () => {
  it('generates distinct 64-hex-digit tokens', () => {
    const a = generateToken();
    const b = generateToken();
    assert.ok(isTokenShaped(a) && isTokenShaped(b));
    assert.notEqual(a, b);
    assert.equal(isTokenShaped(`${a}\n`), false);
    assert.equal(isTokenShaped(a.toUpperCase()), false);
  });

  it('compares tokens of any length without throwing', () => {
    const t = 'ab'.repeat(32);
    assert.equal(tokensEqual(t, t), true);
    assert.equal(tokensEqual('', t), false);
    assert.equal(tokensEqual(t.slice(1), t), false);
    assert.equal(tokensEqual(`${t}x`, t), false);
  });

  it('writes a 0600 file atomically even under a permissive umask, replacing a 0644 one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-token-'));
    const previous = process.umask(0);
    try {
      const path = join(dir, 'control.token');
      await writeFile(path, 'old', { mode: 0o644 });
      await writeSecretFile(path, 'secret');
      assert.equal(await readFile(path, 'utf8'), 'secret');
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      // No temp file is left behind.
      assert.deepEqual(await readdir(dir), ['control.token']);
    } finally {
      process.umask(previous);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports ERR_CONTROL_FILE naming the path, not the content, when the dir is missing', async () => {
    const path = join(tmpdir(), 'murmur-no-such-dir-7f3a', 'control.token');
    await assert.rejects(writeSecretFile(path, 'secret-content'), (err: Error & { code: string }) => {
      assert.equal(err.code, 'ERR_CONTROL_FILE');
      assert.ok(err.message.includes(path));
      assert.ok(!err.message.includes('secret-content'));
      return true;
    });
  });
});
