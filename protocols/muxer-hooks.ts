/** Wrapping a stream muxer factory (e.g. yamux()) to prepare each muxer it makes before libp2p uses it. */
import type { StreamMuxer, StreamMuxerFactory } from '@libp2p/interface';

/** `inner`'s muxer factory, with `prepare` run on every muxer it makes, before libp2p sees it. */
export function preparedMuxers<C>(inner: (components: C) => StreamMuxerFactory, prepare: (muxer: StreamMuxer, components: C) => void): (components: C) => StreamMuxerFactory {
  return (components) => {
    const factory = inner(components);
    return {
      protocol: factory.protocol,
      createStreamMuxer(maConn): StreamMuxer {
        const muxer = factory.createStreamMuxer(maConn);
        prepare(muxer, components);
        return muxer;
      },
    };
  };
}
