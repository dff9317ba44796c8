/**
 * A frame that arrived in pieces (the transport's chunks, split at any byte) read without joining them:
 * the decoders copy each range they need straight to where it is converted (kernel memory, see
 * aggregation/kernels/codec.ts), so a received f16 or q8 frame is never first copied into one buffer.
 */
import type { ByteSource } from '../../aggregation/kernels/codec.js';

/**
 * A ByteSource over `chunks` read as one byte sequence. It keeps a cursor at the last chunk it read, so the
 * ascending reads of one decode cost O(total chunks) together; a read before the cursor starts over.
 * @throws RangeError when a read reaches past the end (a decoder bug: lengths are checked before reading)
 */
export function chunkSource(chunks: readonly Uint8Array[]): ByteSource {
  let index = 0; // chunk at the cursor
  let base = 0; // byte offset of chunks[index] in the sequence
  return (dst, at, start, length) => {
    if (start < base) { index = 0; base = 0; }
    while (index < chunks.length && start >= base + chunks[index]!.byteLength) base += chunks[index++]!.byteLength;
    let offset = start - base;
    while (length > 0) {
      const chunk = chunks[index];
      if (chunk === undefined) throw new RangeError(`read of ${length} bytes past the end of the chunks`);
      const take = Math.min(length, chunk.byteLength - offset);
      dst.set(take === chunk.byteLength ? chunk : chunk.subarray(offset, offset + take), at);
      at += take;
      length -= take;
      offset += take;
      if (offset === chunk.byteLength) { base += chunk.byteLength; index++; offset = 0; }
    }
  };
}
