/**
 * The closed sets of reasons a frame is refused (STYLE.md §1.5: reasons are error codes and the `reason`
 * label of the rejection counters): the codec's, the inbox's, the receiver's reply, and every counted inbound
 * outcome. A leaf module, so codec, errors and constants all import it.
 */
/** Receiver's reply byte when the frame was accepted. */
export const ACK_ACCEPTED = 0;

/** Closed set of reasons a frame is refused; the `reason` label of the rejection counter. */
export type RejectReason = 'truncated' | 'bad-magic' | 'unsupported-version' | 'unknown-kind' | 'unknown-encoding'
  | 'foreign-swarm' | 'foreign-layout' | 'wrong-length' | 'oversized' | 'non-finite' | 'bad-ranking' | 'bad-header';
export const REJECT_REASONS: readonly RejectReason[] = Object.freeze([
  'truncated', 'bad-magic', 'unsupported-version', 'unknown-kind', 'unknown-encoding', 'foreign-swarm',
  'foreign-layout', 'wrong-length', 'oversized', 'non-finite', 'bad-ranking', 'bad-header',
]);

/** Reasons the inbox refuses an item: see protocols/inbox.ts. */
export type InboxRejectReason = 'duplicate' | 'inbox-full' | 'stale';

/**
 * Reasons a receiver can send back in its reply. The reply byte is 1 + the index in `ACK_REJECT_REASONS`,
 * so this order is part of /murmur/model/1.0.0 and 1.1.0: append only, and bump the protocol versions otherwise.
 */
export const ACK_REJECT_REASONS = [
  'truncated', 'bad-magic', 'unsupported-version', 'unknown-kind', 'unknown-encoding', 'foreign-swarm',
  'foreign-layout', 'wrong-length', 'oversized', 'non-finite', 'bad-ranking', 'bad-header',
  'duplicate', 'inbox-full', 'stale', 'internal', 'busy',
] as const satisfies readonly (RejectReason | InboxRejectReason | 'internal' | 'busy')[];

/**
 * A reason the receiver replies with: a codec `RejectReason`, an inbox reason, 'internal' (a bug on our side)
 * or 'busy' (the sender already has DEFAULT_MAX_INBOUND_STREAMS frames in flight to us: back off and retry).
 */
export type AckRejectReason = (typeof ACK_REJECT_REASONS)[number];

// Fails to compile when codec.ts gains a reject reason that has no reply byte yet.
const ACK_COVERS_EVERY_REJECT_REASON: [Exclude<RejectReason, AckRejectReason>] extends [never] ? true : never = true;

/**
 * Every reason an inbound frame is counted as rejected: the replied ones, plus 'stalled' (the inbound
 * deadline passed) and 'aborted' (the stream died before a whole frame arrived); those two get no reply.
 */
export type InboundRejectReason = AckRejectReason | 'stalled' | 'aborted';

/** Reply byte of a reject reason. */
export function ackCode(reason: AckRejectReason): number {
  return ACK_REJECT_REASONS.indexOf(reason) + 1;
}

/** Reason of a reply byte; `null` for accepted, `undefined` for a byte this version does not know. */
export function ackReason(code: number): AckRejectReason | null | undefined {
  if (code === ACK_ACCEPTED) return null;
  return ACK_REJECT_REASONS[code - 1];
}

