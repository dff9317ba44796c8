/**
 * Errors of protocols/ (STYLE.md "Errors"): subclasses of MurmurError with a stable `name` and `code`.
 */
import { MurmurError } from '../node/errors.js';
import type { RejectReason } from './codec/header.js';

/**
 * A frame was refused, in the form of an exception: thrown by the encoders when asked to build a frame
 * the wire format cannot carry or a receiver would refuse (non-finite values, a swarm id over 64 bytes,
 * a wrong vector length…), and available to callers that prefer throwing over a `DecodeResult`.
 * Match on `code` ('ERR_FRAME_REJECTED') and then on `reason`, the same closed union the decoder returns.
 */
export class FrameRejectedError extends MurmurError {
  static override name = 'FrameRejectedError';
  constructor(readonly reason: RejectReason, readonly detail: string) {
    super('ERR_FRAME_REJECTED', `frame rejected (${reason}): ${detail}`);
  }
}
