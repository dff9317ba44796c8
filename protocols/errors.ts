/**
 * Errors of protocols/ (STYLE.md "Errors"): subclasses of MurmurError with a stable `name` and `code`.
 */
import { MurmurError } from '../node/errors.js';
import type { AckRejectReason, RejectReason } from './reasons.js';

export { REJECT_REASONS, type RejectReason } from './reasons.js';


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

/** `createMurmurNode` options contradict each other or are malformed; `problems` lists every one. */
export class InvalidNodeOptionsError extends MurmurError {
  static override name = 'InvalidNodeOptionsError';
  constructor(readonly problems: readonly string[]) {
    super('ERR_INVALID_NODE_OPTIONS', `invalid libp2p node options:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A peer id string does not parse. */
export class InvalidPeerIdError extends MurmurError {
  static override name = 'InvalidPeerIdError';
  constructor(readonly peer: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_PEER_ID', `"${peer}" is not a valid libp2p peer id; pass peerId.toString() of a known peer`, options);
  }
}

/** No connection or stream to the peer could be opened (no known address, refused, protocol unsupported). */
export class PeerUnreachableError extends MurmurError {
  static override name = 'PeerUnreachableError';
  constructor(readonly peer: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_PEER_UNREACHABLE', `peer ${peer} is unreachable: ${detail}; check that its addresses are known and it runs the same protocol`, options);
  }
}

/** A send did not finish (dial + write + ack) within its deadline. */
export class SendTimeoutError extends MurmurError {
  static override name = 'SendTimeoutError';
  constructor(readonly peer: string, readonly timeoutMs: number, options?: { cause?: unknown }) {
    super('ERR_SEND_TIMEOUT', `sending to ${peer} did not finish within ${timeoutMs} ms; raise sendTimeoutMs or check the link`, options);
  }
}

/** The stream broke while the frame or its reply was in flight (reset, closed early, bad reply). */
export class SendFailedError extends MurmurError {
  static override name = 'SendFailedError';
  constructor(readonly peer: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_SEND_FAILED', `sending to ${peer} failed: ${detail}`, options);
  }
}

/**
 * The receiver read our frame and refused it; `reason` is the reason it replied with (and counted). Not
 * codec's FrameRejectedError, which is about a frame we refused or could not encode.
 */
export class RemoteRejectedError extends MurmurError {
  static override name = 'RemoteRejectedError';
  constructor(readonly peer: string, readonly reason: AckRejectReason) {
    super('ERR_REMOTE_REJECTED', `peer ${peer} rejected our frame: ${reason}`);
  }
}

/** An announcement we were asked to publish does not pass our own validation. */
export class InvalidAnnouncementError extends MurmurError {
  static override name = 'InvalidAnnouncementError';
  constructor(readonly reason: string, detail: string) {
    super('ERR_INVALID_ANNOUNCEMENT', `announcement rejected before publishing (${reason}): ${detail}`);
  }
}

/** announce() on a network whose node was built with `announcements: false` (no gossipsub). */
export class AnnouncementsOffError extends MurmurError {
  static override name = 'AnnouncementsOffError';
  constructor() {
    super('ERR_ANNOUNCEMENTS_OFF', 'this node was built with announcements: false (no gossipsub); build it with announcements to publish');
  }
}

/** A method that needs the service running was called before start() or after stop(). */
export class NotStartedError extends MurmurError {
  static override name = 'NotStartedError';
  constructor(what: string) {
    super('ERR_NOT_STARTED', `${what} is not started; call start() first`);
  }
}

/** A length prefix did not end within the bytes the largest allowed frame needs (protocols/length-prefix.ts). */
export class LengthPrefixTooLongError extends MurmurError {
  static override name = 'LengthPrefixTooLongError';
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super('ERR_LENGTH_PREFIX_TOO_LONG', `length prefix of at least ${bytes} bytes, limit ${maxBytes}: the peer sent no valid frame length`);
  }
}

/** A view that cannot be encoded (an id that is empty, too long or not valid UTF-16, a number out of u32). */
export class MembershipViewError extends MurmurError {
  static override name = 'MembershipViewError';
  constructor(message: string) { super('ERR_BAD_VIEW', message); }
}

/** Why a state transfer failed; `reason` is a closed union (a metric label). */
export class StateTransferError extends MurmurError {
  static override name = 'StateTransferError';
  constructor(readonly peer: string, readonly reason: 'unreachable' | 'timeout' | 'invalid' | 'hash-mismatch' | 'failed', detail: string, options?: { cause?: unknown }) {
    super('ERR_STATE_TRANSFER', `state transfer from ${peer} failed (${reason}): ${detail}`, options);
  }
}
