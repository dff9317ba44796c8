/**
 * Length prefixes that cannot be made endless. `lpStream` from @libp2p/utils decodes its unsigned-varint
 * prefix one byte at a time and treats a prefix that has not ended as "incomplete" (uint8-varint throws a
 * RangeError, lpStream reads one more byte); its `maxLengthLength` is checked only after a prefix ends. A
 * peer that sends 0xff for ever therefore keeps the reader in a microtask loop, one exception per byte,
 * for as long as bytes arrive (8 MiB stalled a daemon for ~14 s). This decoder answers a prefix longer
 * than the longest one `maxDataLength` needs (and never longer than 10 bytes, a 64-bit varint) with
 * LengthPrefixTooLongError at once, which lpStream passes through. Every length-prefixed stream we read
 * goes through `boundedLpStream`. Upstream report: protocols/docs/upstream-lpstream-varint.md.
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { MessageStream } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';
import { LengthPrefixTooLongError } from './errors.js';

/** A 64-bit unsigned varint takes at most 10 bytes. */
export const MAX_VARINT_BYTES = 10;

/** Bytes of the unsigned varint that encodes `value` (7 bits a byte). */
export function varintLength(value: number): number {
  let bytes = 1;
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) bytes++;
  return bytes;
}

/**
 * A `lengthDecoder` for lpStream: the value of a complete prefix; a RangeError (lpStream reads one more
 * byte) while an allowed prefix is incomplete; LengthPrefixTooLongError once the prefix is longer than
 * `maxDataLength` can need.
 */
export function boundedLengthDecoder(maxDataLength: number): (data: Uint8ArrayList) => number {
  const maxBytes = Math.min(MAX_VARINT_BYTES, varintLength(maxDataLength));
  return (data) => {
    const n = data.byteLength;
    if (n > maxBytes) throw new LengthPrefixTooLongError(n, maxBytes);
    let value = 0;
    for (let i = 0, scale = 1; i < n; i++, scale *= 128) {
      const byte = data.get(i);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
    }
    if (n === maxBytes) throw new LengthPrefixTooLongError(n + 1, maxBytes);
    throw new RangeError('length prefix incomplete');
  };
}

/** lpStream with a bounded length prefix (see the module comment); options as lpStream's. */
export function boundedLpStream<T extends MessageStream>(stream: T, opts: { maxDataLength: number; maxBufferSize: number }): LengthPrefixedStream<T> {
  return lpStream(stream, { ...opts, lengthDecoder: boundedLengthDecoder(opts.maxDataLength) });
}
