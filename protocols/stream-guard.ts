/**
 * A guard in front of multistream-select, which we do not own. Every inbound stream starts with
 * multistream-select messages, each an unsigned-varint length (at most 2 bytes: names are ≤ 1024 bytes)
 * and a name. multistream-select reads that prefix with lpStream, which accepts a prefix that never ends
 * (protocols/length-prefix.ts): a stream of 0xff before negotiation froze a daemon for the whole
 * negotiation timeout (10 s measured, every other peer's pings included). The guard wraps the stream
 * muxer: it sees each new inbound stream's bytes before multistream-select does, checks the framing of the
 * negotiation messages, and stops watching once a protocol we serve is proposed (after that the bytes are
 * the protocol's own, and lazy negotiation may already carry them). On a violation it drops the bytes,
 * resets the stream and reports it, so the peer can be graylisted (protocols/graylist.ts).
 */
import type { Stream, StreamMuxerFactory } from '@libp2p/interface';
import { preparedMuxers } from './muxer-hooks.js';

/** multistream-select's longest protocol name (its MAX_PROTOCOL_LENGTH) and the prefix bytes it needs. */
const MAX_NAME_BYTES = 1024;
const MAX_PREFIX_BYTES = 2;
const MULTISTREAM_HEADER = '/multistream/1.0.0\n';

/** Called on a violation, right before the stream is reset; `detail` says what was wrong. */
export type GuardViolation = (stream: Stream, detail: string) => void;

/** What the guard needs to know: the protocols this node serves (a proposal of one ends the guard). */
export interface StreamGuardComponents { registrar: { getProtocols(): string[] } }

/** Wrap a muxer factory (e.g. yamux()) so every inbound stream of its muxers is guarded. */
export function guardedMuxer<C>(inner: (components: C) => StreamMuxerFactory, onViolation: GuardViolation): (components: C & StreamGuardComponents) => StreamMuxerFactory {
  return preparedMuxers<C & StreamGuardComponents>(inner, (muxer, components) => {
    // The guard's 'stream' listener goes in right before the first other one (libp2p's Connection), not
    // now: a muxer keeps streams that arrive while it has no 'stream' listener and hands them to the first
    // listener added, so listening now would take them away from libp2p. Being first, the guard's
    // 'message' listener also sees every stream's bytes before multistream-select's.
    const add = muxer.addEventListener.bind(muxer);
    let guarded = false;
    muxer.addEventListener = ((...args: Parameters<typeof add>) => {
      if (args[0] === 'stream' && !guarded) {
        guarded = true;
        add('stream', (evt) => guardStream(evt.detail, components.registrar, onViolation));
      }
      add(...args);
    }) as typeof muxer.addEventListener;
  });
}

/** Watch one inbound stream's negotiation messages (see the module comment). */
export function guardStream(stream: Stream, registrar: StreamGuardComponents['registrar'], onViolation: GuardViolation): void {
  let prefix = 0, prefixBytes = 0, scale = 1;
  let body: number[] | null = null;
  const finish = (): void => stream.removeEventListener('message', onMessage);
  const violate = (evt: Event, detail: string): void => {
    finish();
    evt.stopImmediatePropagation();
    // Reported first: once reset, the stream leaves its connection's list and its peer is hard to find.
    onViolation(stream, detail);
    stream.abort(new Error(`protocol negotiation refused: ${detail}`));
  };
  /** One complete negotiation message; true when the guard is done. */
  const onName = (name: string): boolean => name !== MULTISTREAM_HEADER && registrar.getProtocols().includes(name.replace(/\n$/, ''));
  function onMessage(evt: Event): void {
    const data = (evt as Event & { data: Uint8Array | { subarray(): Uint8Array } }).data;
    const bytes = data instanceof Uint8Array ? data : data.subarray();
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (body === null) {
        prefix += (b & 0x7f) * scale;
        prefixBytes++;
        scale *= 128;
        if (b & 0x80) {
          if (prefixBytes >= MAX_PREFIX_BYTES) { violate(evt, `a length prefix over ${MAX_PREFIX_BYTES} bytes`); return; }
          continue;
        }
        if (prefix > MAX_NAME_BYTES) { violate(evt, `a protocol name of ${prefix} bytes, over ${MAX_NAME_BYTES}`); return; }
        body = [];
        if (prefix > 0) continue;
      } else {
        body.push(b);
        if (body.length < prefix) continue;
      }
      const name = String.fromCharCode(...body);
      body = null; prefix = 0; prefixBytes = 0; scale = 1;
      if (onName(name)) { finish(); return; }
    }
  }
  stream.addEventListener('message', onMessage);
}
