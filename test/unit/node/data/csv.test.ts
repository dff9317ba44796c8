import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCsv } from '../../../../node/data/csv.js';
import { CsvError } from '../../../../node/data/errors.js';

describe('loadCsv', () => {
  let dir = '';
  let n = 0;
  const file = (text: string): string => {
    const path = join(dir, `f${n++}.csv`);
    writeFileSync(path, text);
    return path;
  };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'murmur-csv-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('reads a file with a header, CRLF line ends, quotes and blank lines', async () => {
    const path = file('a,b,"label"\r\n0.5,-1,2\r\n\r\n"1e-3", .25 ,0\r\n');
    const ds = await loadCsv(path, { name: 'mine' });
    assert.deepEqual([ds.name, ds.size, ds.featureCount, ds.classCount], ['mine', 2, 2, 3]);
    assert.deepEqual(Array.from(ds.x), [0.5, -1, Math.fround(1e-3), 0.25]);
    assert.deepEqual(Array.from(ds.y), [2, 0]);
    assert.deepEqual(ds.inputShape, [2]);
    assert.ok(ds.x.buffer instanceof SharedArrayBuffer);
  });

  it('reads a file without a header and honours classCount and inputShape', async () => {
    const ds = await loadCsv(file('1,2,3,4,1\n5,6,7,8,0'), { classCount: 4, inputShape: [2, 2] });
    assert.deepEqual([ds.size, ds.featureCount, ds.classCount], [2, 4, 4]);
    assert.deepEqual(ds.inputShape, [2, 2]);
    assert.deepEqual(Array.from(ds.x), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.match(ds.name, /^f\d+\.csv$/);
  });

  // Each malformed class: [content, line, message pattern].
  const cases: [string, string, number | undefined, RegExp][] = [
    ['wrong column count', 'x,y,label\n1,2,0\n1,2\n', 3, /found 2 columns, expected 3/],
    ['non-numeric value', 'x,y,label\n1,2,0\n1,abc,1\n', 3, /column 2: value 'abc' is not a number/],
    ['empty value', '1,2,0\n,2,1\n', 2, /column 1: value '' is not a number/],
    ['NaN', '1,2,0\n3,NaN,1\n', 2, /column 2: value 'NaN' is not finite/],
    ['infinity', '1,-Infinity,0\n', 1, /column 2: value '-Infinity' is not finite/],
    ['out of float32 range', '1,2,0\n1e39,2,0\n', 2, /column 1: value '1e39' is not finite as a float32/],
    ['fractional label', '1,2,0\n1,2,1.5\n', 2, /label \(column 3\) '1.5' is not an integer ≥ 0/],
    ['negative label', '1,2,-1\n', 1, /label \(column 3\) '-1' is not an integer ≥ 0/],
    ['text label', 'x,label\n1,cat\n', 2, /label \(column 2\) 'cat' is not an integer ≥ 0/],
    ['single column', '1\n2\n', 1, /need at least one feature column and a label column/],
    ['empty file', '', undefined, /empty file: no data rows/],
    ['blank file', '\n  \n', undefined, /empty file: no data rows/],
    ['header only', 'x,label\n', undefined, /empty file: a header but no data rows/],
  ];
  for (const [what, text, line, pattern] of cases) {
    it(`names file:line for ${what}`, async () => {
      const path = file(text);
      await assert.rejects(loadCsv(path), (err: unknown) => {
        assert.ok(err instanceof CsvError);
        assert.equal(err.code, 'ERR_CSV');
        assert.equal(err.name, 'CsvError');
        assert.equal(err.file, path);
        assert.equal(err.line, line);
        assert.ok(err.message.startsWith(line === undefined ? `${path}: ` : `${path}:${line}: `), err.message);
        assert.match(err.message, pattern);
        return true;
      });
    });
  }

  it('rejects a label at or above classCount, naming the line', async () => {
    const path = file('1,0\n2,3\n');
    await assert.rejects(loadCsv(path, { classCount: 3 }), { code: 'ERR_CSV', message: new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}:2: label 3 is not below classCount 3`) });
  });

  it('rejects an inputShape that does not hold the features, and a missing file', async () => {
    await assert.rejects(loadCsv(file('1,2,3,0\n'), { inputShape: [2, 2] }), { code: 'ERR_CSV', message: /inputShape \[2, 2\] does not hold the file's 3 feature columns/ });
    await assert.rejects(loadCsv(join(dir, 'missing.csv')), { code: 'ERR_CSV', message: /missing\.csv: cannot read the file/ });
  });

  it('rejects with ERR_ABORTED when the signal is aborted', async () => {
    await assert.rejects(loadCsv(file('1,0\n'), { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
  });
});
