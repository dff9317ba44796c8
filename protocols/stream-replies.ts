/**
 * The receiver's replies of the model exchange (model-exchange.ts) written straight on the stream: one reply
 * code after a frame, and the two refusals of a frame left unread ('oversized', 'busy').
 */
import type { Stream } from '@libp2p/interface';
import { ACK_BYTES, ackCode, type AckRejectReason } from './constants.js';

/** Write a one-byte reply with its length prefix (ACK_BYTES = 1), waiting for the stream to drain if needed. */
export async function writeReply(stream: Stream, code: number, signal: AbortSignal): Promise<void> {
  if (!stream.send(Uint8Array.of(ACK_BYTES, code))) await stream.onDrain({ signal });
}

/** Reply `reason` by hand (varint length 1, then the code) without reading the frame, then reset the stream. */
export async function refuseUnread(stream: Stream, reason: AckRejectReason, deadline: AbortSignal): Promise<void> {
  stream.send(Uint8Array.of(ACK_BYTES, ackCode(reason)));
  await stream.close({ signal: deadline });
  stream.abort(new Error(`frame refused unread: ${reason}`));
}

/**
 * Reply 'busy', then drop whatever the sender still writes until it closes (or the deadline resets the
 * stream). Unlike 'oversized', the sender may still be negotiating the protocol when we answer, and an
 * immediate reset would reach it as a broken dial instead of the reason. Nothing is buffered.
 */
export async function refuseBusy(stream: Stream, deadline: AbortSignal): Promise<void> {
  const onDeadline = (): void => stream.abort(new Error('busy stream not closed by the sender in time'));
  deadline.addEventListener('abort', onDeadline, { once: true });
  try {
    stream.send(Uint8Array.of(ACK_BYTES, ackCode('busy')));
    await stream.close({ signal: deadline });
    for await (const chunk of stream) void chunk;
  } finally {
    deadline.removeEventListener('abort', onDeadline);
  }
}
