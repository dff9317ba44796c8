import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Uint8ArrayList } from 'uint8arraylist';
import { boundedLengthDecoder, varintLength } from '../../../protocols/length-prefix.js';

const list = (...bytes: number[]): Uint8ArrayList => new Uint8ArrayList(Uint8Array.from(bytes));

describe('boundedLengthDecoder', () => {
  it('decodes complete prefixes (300 = 0xac 0x02)', () => {
    const decode = boundedLengthDecoder(1 << 20);
    assert.equal(decode(list(0x00)), 0);
    assert.equal(decode(list(0x7f)), 127);
    assert.equal(decode(list(0xac, 0x02)), 300);
    assert.equal(decode(list(0x80, 0x80, 0x40)), 0x40 * 128 * 128);
  });

  it('asks for one more byte (RangeError) while an allowed prefix is incomplete', () => {
    const decode = boundedLengthDecoder(1 << 20); // 3 bytes at most
    assert.throws(() => decode(list(0xff)), RangeError);
    assert.throws(() => decode(list(0xff, 0xff)), RangeError);
  });

  it('refuses at once a prefix longer than the largest allowed length needs, never a RangeError', () => {
    const decode = boundedLengthDecoder(1 << 20);
    assert.throws(() => decode(list(0xff, 0xff, 0xff)), { name: 'LengthPrefixTooLongError', code: 'ERR_LENGTH_PREFIX_TOO_LONG' });
    assert.throws(() => decode(list(0xff, 0xff, 0xff, 0xff)), { name: 'LengthPrefixTooLongError' });
    // A one-byte limit (the one-byte ack): a continuation bit is already too long.
    assert.throws(() => boundedLengthDecoder(1)(list(0x81)), { name: 'LengthPrefixTooLongError' });
  });

  it('never allows more than 10 bytes (a 64-bit varint)', () => {
    const decode = boundedLengthDecoder(Number.MAX_SAFE_INTEGER);
    assert.throws(() => decode(list(...new Array<number>(10).fill(0xff))), { name: 'LengthPrefixTooLongError' });
  });

  it('varintLength counts 7 bits a byte', () => {
    assert.deepEqual([0, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28].map(varintLength), [1, 1, 2, 2, 3, 4, 5]);
  });
});
