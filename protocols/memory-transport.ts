/**
 * An in-process transport for simulated swarms: @libp2p/memory's addresses (`/memory/<name>`) and duties (a
 * pipe per connection; noise and yamux still run over it), but each direction of a pipe hands its bytes over
 * in batches, one batch per turn of the event loop. @libp2p/memory either delivers every chunk in the same
 * microtask chain (latency 0: a 500-peer round then runs as one chain that starves timers and the worker
 * pool's answers, notes/libp2p-v3.md §4) or waits a timer per chunk, one chunk after another (latency 1: a
 * 100 KB frame and its reply wait out 3–5 timers in a row, and a loaded loop turns each into a full turn).
 * Here whatever a connection wrote during one turn arrives together at the next (setImmediate), so floods
 * still yield to timers and I/O between hops, and a frame costs one hop, not one per chunk
 * (protocols/docs/exchange-tuning.md §11). Bytes of one direction arrive in the order they were written.
 */
import { ConnectionFailedError, ListenError, StreamResetError, serviceCapabilities, transportSymbol } from '@libp2p/interface';
import type { AbortOptions, ComponentLogger, Connection, CreateListenerOptions, DialTransportOptions, Listener, PeerId, Transport, UpgraderOptions } from '@libp2p/interface';
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { Uint8ArrayList } from 'uint8arraylist';

export interface BatchedMemoryComponents { peerId: PeerId; logger: ComponentLogger }

/** Listeners of this process by address (`/memory/<name>`), shared by every node of the process. */
const listeners = new Map<string, BatchedMemoryListener>();

/** One end of an in-process pipe: what it writes arrives at `remote` on the next turn of the event loop. */
class PipeEnd extends AbstractMultiaddrConnection {
  remote: PipeEnd | null = null;
  private queue: Array<Uint8Array | Uint8ArrayList> = [];
  /** The remote end closed (undefined) or reset (an error) after the queued bytes. */
  private end: { err?: Error } | null = null;
  private scheduled = false;

  sendData(data: Uint8ArrayList): SendResult {
    this.remote?.enqueue(data);
    return { sentBytes: data.byteLength, canSendMore: true };
  }

  sendReset(): void {
    this.remote?.finish(new StreamResetError('the remote end reset the connection'));
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    this.remote?.finish();
    options?.signal?.throwIfAborted();
  }

  // The pipe buffers without limit (as @libp2p/memory): there is no read backpressure to pass on.
  sendPause(): void {}
  sendResume(): void {}

  private enqueue(data: Uint8ArrayList): void {
    if (this.end !== null) return;
    this.queue.push(data);
    this.schedule();
  }

  private finish(err?: Error): void {
    if (this.end !== null) return;
    this.end = err === undefined ? {} : { err };
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const chunks = this.queue;
    this.queue = [];
    try {
      // onData drops the bytes itself once our readable end is closed.
      if (chunks.length > 0) this.onData(chunks.length === 1 ? chunks[0]! : new Uint8ArrayList(...chunks));
      // Emptied, not just dropped: a queue array that aged into the old generation would otherwise keep the
      // chunks it held alive through scavenges until a full GC (protocols/list-release.ts).
      chunks.length = 0;
    } catch (err) {
      this.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const end = this.end;
    if (end === null) return;
    // Both directions end together, as a socket's would.
    const remote = this.remote;
    this.remote = null;
    remote?.finish(end.err);
    if (end.err !== undefined) this.abort(end.err);
    else this.onTransportClosed();
  }
}

class BatchedMemoryListener extends EventTarget implements Listener {
  private address: string | null = null;
  private readonly shutdown = new AbortController();
  private readonly open = new Set<PipeEnd>();
  /** Listeners by event type (libp2p's Listener asks for counts, which EventTarget does not keep). */
  private readonly counts = new Map<string, number>();

  constructor(private readonly components: BatchedMemoryComponents, private readonly options: CreateListenerOptions & { upgraderOptions?: UpgraderOptions }) {
    super();
  }

  get peerId(): PeerId { return this.components.peerId; }

  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    if (args[1] !== null) this.counts.set(args[0], (this.counts.get(args[0]) ?? 0) + 1);
    super.addEventListener(...args);
  }

  override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
    if (args[1] !== null) this.counts.set(args[0], Math.max(0, (this.counts.get(args[0]) ?? 0) - 1));
    super.removeEventListener(...args);
  }

  listenerCount(type: string): number { return this.counts.get(type) ?? 0; }

  safeDispatchEvent<T>(type: string, detail?: { detail?: T }): boolean {
    return this.dispatchEvent(new CustomEvent<T>(type, detail));
  }

  async listen(ma: Multiaddr): Promise<void> {
    const name = ma.getComponents()[0]?.value;
    const address = `/memory/${name ?? crypto.randomUUID()}`;
    if (listeners.has(address)) throw new ListenError(`memory address ${address} is already in use`);
    listeners.set(address, this);
    this.address = address;
    queueMicrotask(() => this.dispatchEvent(new CustomEvent('listening')));
  }

  /** A dialler's pipe arrived: upgrade our end. */
  accept(end: PipeEnd): void {
    this.open.add(end);
    end.addEventListener('close', () => this.open.delete(end), { once: true });
    this.options.upgrader.upgradeInbound(end, { ...this.options.upgraderOptions, signal: this.shutdown.signal }).catch((err: unknown) => {
      end.abort(err instanceof Error ? err : new Error(String(err)));
    });
  }

  getAddrs(): Multiaddr[] { return this.address === null ? [] : [multiaddr(this.address)]; }

  updateAnnounceAddrs(): void {}

  async close(): Promise<void> {
    if (this.address !== null && listeners.get(this.address) === this) listeners.delete(this.address);
    for (const end of this.open) end.abort(new ConnectionFailedError('memory listener closed'));
    this.open.clear();
    this.shutdown.abort();
    queueMicrotask(() => this.dispatchEvent(new CustomEvent('close')));
  }
}

class BatchedMemoryTransport implements Transport {
  readonly [transportSymbol] = true as const;
  readonly [Symbol.toStringTag] = 'murmur:batched-memory';
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport'];

  constructor(private readonly components: BatchedMemoryComponents, private readonly init: { upgraderOptions?: UpgraderOptions }) {}

  async dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal.throwIfAborted();
    const address = ma.getComponents().filter((c) => c.name !== 'p2p').map((c) => `/${c.name}/${c.value ?? ''}`).join('');
    const listener = listeners.get(address);
    if (listener === undefined) throw new ConnectionFailedError(`no memory listener at ${ma.toString()}`);
    const logger = this.components.logger.forComponent('murmur:batched-memory');
    const dialer = new PipeEnd({ remoteAddr: multiaddr(`${address}/p2p/${listener.peerId.toString()}`), direction: 'outbound', log: logger });
    const answerer = new PipeEnd({ remoteAddr: multiaddr(`${address}-outgoing/p2p/${this.components.peerId.toString()}`), direction: 'inbound', log: logger });
    dialer.remote = answerer;
    answerer.remote = dialer;
    listener.accept(answerer);
    try {
      return await options.upgrader.upgradeOutbound(dialer, { ...options, ...this.init.upgraderOptions });
    } catch (err) {
      dialer.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  createListener(options: CreateListenerOptions): Listener {
    return new BatchedMemoryListener(this.components, { ...options, upgraderOptions: this.init.upgraderOptions });
  }

  readonly listenFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => multiaddrs.filter(isMemory);
  readonly dialFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => multiaddrs.filter(isMemory);
}

function isMemory(ma: Multiaddr): boolean {
  const names = ma.getComponents().map((c) => c.name);
  return names[0] === 'memory' && names.slice(1).every((n) => n === 'p2p');
}

/** The transport factory, in libp2p's shape: `transports: [batchedMemory()]`. */
export function batchedMemory(init: { upgraderOptions?: UpgraderOptions } = {}): (components: BatchedMemoryComponents) => Transport {
  return (components) => new BatchedMemoryTransport(components, init);
}
