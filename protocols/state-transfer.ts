/**
 * `/murmur/state/1.0.0`: a peer that joins a swarm already training, or comes back far behind it, asks a
 * neighbour for its current model instead of starting from the initial weights (issue 12; hivemind's
 * load_state_from_peers). The requester opens a stream and reads one length-prefixed model frame (f32, kind
 * 'model', round = the responder's last finished round, age); the frame's extension carries the 8 bytes of
 * the model's content hash (node/model-hash.ts), which the requester checks against the values it decoded.
 * An empty frame means "no state to give". Bounded like /murmur/model: the read stops at the largest frame
 * our layout allows, every wait has a deadline, a responder serves one request per peer at a time, and the
 * handler never throws into libp2p. Integrity is checked, trust is not: the model is the neighbour's.
 */
import type { AbortOptions, Connection, PeerId, Startable, Stream } from '@libp2p/interface';
import type { Layout } from '../aggregation/layout.js';
import { anySignal, deadline } from '../node/deadline.js';
import { StateTransferError } from './errors.js';
import { modelHash } from '../node/model-hash.js';
import { decodeFrame, encodeModelFrame } from './codec.js';
import { silentLogger, type Logger } from './constants.js';
import { boundedLpStream } from './length-prefix.js';
import type { ModelExchangeDialer, ModelExchangeRegistrar } from './model-exchange.js';

export const STATE_PROTOCOL = '/murmur/state/1.0.0';
/** A state request gives up after this long (dial + the whole model), ms. */
export const DEFAULT_STATE_TIMEOUT_MS = 60_000;
const HASH_BYTES = 8;
const READ_SLACK_BYTES = 1024 * 1024;

/** A model a neighbour gave us (or we give): its values, its last finished round and age, its hash. */
export interface PeerState { readonly vector: Float32Array; readonly round: number; readonly age: number }

export interface StateTransferInit {
  swarm: string;
  layout: Layout;
  /** Largest frame read, bytes (protocols/libp2p-network.ts largestFrameBytes). */
  maxFrameBytes: number;
  timeoutMs?: number;
  logger?: Logger;
}

export interface StateTransferComponents { registrar: ModelExchangeRegistrar; connectionManager: ModelExchangeDialer }

export interface StateTransfer extends Startable {
  /** What we answer with; null (the default) answers "no state". */
  serve(provider: (() => PeerState | null) | null): void;
  /** Ask `peer` for its state: null when it has none; rejects with StateTransferError. */
  request(peer: PeerId, options?: AbortOptions): Promise<PeerState | null>;
}

/** The hash's 16 hex digits as 8 bytes, and back. */
const hashBytes = (hex: string): Uint8Array => Uint8Array.from({ length: HASH_BYTES }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
const hashHex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

class DefaultStateTransfer implements StateTransfer {
  private provider: (() => PeerState | null) | null = null;
  private started = false;
  private readonly serving = new Set<string>();
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private stopController = new AbortController();

  constructor(private readonly components: StateTransferComponents, private readonly init: StateTransferInit) {
    this.log = (init.logger ?? silentLogger).child({ component: 'state-transfer' });
    this.timeoutMs = init.timeoutMs ?? DEFAULT_STATE_TIMEOUT_MS;
    this.onStream = this.onStream.bind(this);
  }

  isStarted(): boolean { return this.started; }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopController = new AbortController();
    await this.components.registrar.handle(STATE_PROTOCOL, this.onStream, { maxInboundStreams: 4, maxOutboundStreams: 2 });
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopController.abort();
    await this.components.registrar.unhandle(STATE_PROTOCOL);
  }

  serve(provider: (() => PeerState | null) | null): void { this.provider = provider; }

  async request(peer: PeerId, options: AbortOptions = {}): Promise<PeerState | null> {
    const id = peer.toString();
    const timeout = deadline(this.timeoutMs);
    const signal = anySignal(timeout, options.signal, this.stopController.signal);
    let stream: Stream;
    try {
      stream = await this.components.connectionManager.openStream(peer, STATE_PROTOCOL, { signal });
    } catch (err) {
      throw new StateTransferError(id, timeout.aborted ? 'timeout' : 'unreachable', String(err), { cause: err });
    }
    try {
      const lp = boundedLpStream(stream, { maxDataLength: this.init.maxFrameBytes, maxBufferSize: this.init.maxFrameBytes + READ_SLACK_BYTES });
      const raw = (await lp.read({ signal })).subarray();
      await stream.close({ signal }).catch(() => stream.abort(new Error('state stream not closed')));
      if (raw.byteLength === 0) return null;
      const decoded = decodeFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), { layout: this.init.layout, swarm: this.init.swarm });
      if (!decoded.ok) throw new StateTransferError(id, 'invalid', `${decoded.reason}: ${decoded.detail}`);
      const { header, values, extension } = decoded.frame;
      if (values === null || header.kind !== 'model' || extension.byteLength !== HASH_BYTES) throw new StateTransferError(id, 'invalid', 'not a dense model frame with an 8-byte hash');
      const vector = values.slice();
      const claimed = hashHex(extension), actual = modelHash(vector);
      if (claimed !== actual) throw new StateTransferError(id, 'hash-mismatch', `claimed ${claimed}, received ${actual}`);
      return { vector, round: header.round, age: header.age };
    } catch (err) {
      if (stream.status === 'open') stream.abort(err as Error);
      if (err instanceof StateTransferError) throw err;
      throw new StateTransferError(id, timeout.aborted ? 'timeout' : 'failed', String(err), { cause: err });
    }
  }

  /** Answer one request with the provider's state (or an empty frame); failures are logged, never thrown. */
  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    if (this.serving.has(from)) { stream.abort(new Error('one state request per peer at a time')); return; }
    this.serving.add(from);
    const signal = deadline(this.timeoutMs, this.stopController.signal);
    try {
      const state = this.provider?.() ?? null;
      const frame = state === null ? new Uint8Array(0) : encodeModelFrame(
        { kind: 'model', swarm: this.init.swarm, round: state.round, step: 0, degree: 0, age: state.age },
        this.init.layout, state.vector, { extension: hashBytes(modelHash(state.vector)) });
      const lp = boundedLpStream(stream, { maxDataLength: this.init.maxFrameBytes, maxBufferSize: 64 });
      await lp.write(frame, { signal });
      await stream.close({ signal });
      this.log.debug({ peer: from, round: state?.round ?? null, bytes: frame.byteLength }, 'state served');
    } catch (err) {
      this.log.debug({ peer: from, err }, 'state request failed');
      if (stream.status === 'open') stream.abort(err as Error);
    } finally {
      this.serving.delete(from);
    }
  }
}

/** A js-libp2p-shaped service factory (STYLE.md §1.1). */
export function stateTransfer(init: StateTransferInit): (components: StateTransferComponents) => StateTransfer {
  return (components) => new DefaultStateTransfer(components, init);
}
