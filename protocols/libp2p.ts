/**
 * The libp2p node factory (DESIGN.md layout, protocols/libp2p.ts): tcp or memory transport, noise, yamux,
 * identify, ping, gossipsub, optional bootstrap and mDNS. Two presets: 'device' (one daemon on a LAN or
 * the internet; over tcp it also gets the reachability parts of protocols/nat.ts: circuit relay, DCUtR,
 * AutoNAT, the swarm's DHT, optional relay server and UPnP) and 'swarm' (hundreds of peers in one process;
 * settings measured in notes/libp2p-v3.md §4). Options are checked as a whole before anything is built,
 * and every problem is reported at once.
 */
import { createHash } from 'node:crypto';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { gossipsub } from '@libp2p/gossipsub';
import type { GossipSub } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import type { TopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { Identify } from '@libp2p/identify';
import type { ComponentLogger, Libp2p, PrivateKey, Stream } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { memory } from '@libp2p/memory';
import { batchedMemory } from './memory-transport.js';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import type { Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Libp2pOptions } from 'libp2p';
import { MAX_SWARM_BYTES } from './codec.js';
import { announceTopic, MAX_PUBSUB_RPC_BYTES } from './constants.js';
import { Graylist, type GraylistInit } from './graylist.js';
import { checkReachabilityOptions, natParts } from './nat.js';
import { murmurNoise } from './noise-crypto.js';
import { skipRepeatedProtocolMerges } from './peer-store-writes.js';
import type { NatServices, ReachabilityOptions } from './nat.js';
import { InvalidNodeOptionsError } from './errors.js';
import { stateTransfer, type StateTransfer, type StateTransferInit } from './state-transfer.js';
import { guardedMuxer } from './stream-guard.js';
import { piecesReleased } from './list-release.js';
import { keyFromSeed } from './keys.js';
import { swarmLogger } from './quiet-logger.js';

/** The services every Murmuration node runs, plus the reachability services of a tcp device (nat.ts). */
export type MurmurServices = {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
  /** Peers shut out for hostile bytes (protocols/graylist.ts); the model exchange and the stream guard strike. */
  graylist: Graylist;
  /** `/murmur/state/1.0.0` (protocols/state-transfer.ts): present when the node was built with `state`. */
  state?: StateTransfer;
} & NatServices;

/** A Murmuration libp2p node. */
export type MurmurNode = Libp2p<MurmurServices>;

/** Services of a node that may have been built without announcements (`announcements: false`): no gossipsub, no identify. */
export type SwarmNodeServices = Omit<MurmurServices, 'pubsub' | 'identify'> & Partial<Pick<MurmurServices, 'pubsub' | 'identify'>>;

/** A node of either kind; what the network (libp2p-network.ts) and the simulator's swarm hold. */
export type AnySwarmNode = Libp2p<SwarmNodeServices>;

/** Options of `createMurmurNode`. */
export interface MurmurNodeOptions {
  /** Default 'tcp'. 'memory' only reaches nodes of the same process (simulator, tests). */
  transport?: 'tcp' | 'memory';
  /**
   * Listen multiaddrs. Default: tcp '/ip4/0.0.0.0/tcp/0' ('device') or '/ip4/127.0.0.1/tcp/0' ('swarm');
   * memory '/memory/<peer id>'.
   */
  listen?: string[];
  /** Bootstrap multiaddrs, each ending in /p2p/<peer id>; the bootstrap module is added only if non-empty. */
  bootstrap?: string[];
  /** Multicast DNS discovery on the LAN; default false. Not with the memory transport or the 'swarm' preset. */
  mdns?: boolean;
  /** The peer's key (from its store). Exclusive with `seed`. */
  privateKey?: PrivateKey;
  /** Deterministic identity for simulations: Ed25519 from SHA-256 of this string. Exclusive with `privateKey`. */
  seed?: string;
  /** Datastore for a persistent peer store; opened by the caller before, closed after the node stops. */
  datastore?: Libp2pOptions['datastore'];
  /** Default 'device'. */
  preset?: 'device' | 'swarm';
  /** Swarm id: its announcement topic gets the tuned gossipsub score parameters (ANNOUNCE_TOPIC_SCORE). */
  swarm?: string;
  /**
   * Relays, hole punching, AutoNAT, DHT, UPnP (protocols/nat.ts); only for the 'device' preset over tcp,
   * which always runs the relay transport, DCUtR and AutoNAT. Default: those three, the swarm's DHT (when
   * `swarm` is set) and one relay slot.
   */
  reachability?: ReachabilityOptions;
  /** libp2p's component logger (reachability.ts wraps the default one to learn why hole punches fail). */
  logger?: ComponentLogger;
  /**
   * Delivery delay of the memory transport, ms. Unset: protocols/memory-transport.ts, which hands a connection's
   * bytes over in one batch per turn of the event loop. Set: @libp2p/memory, which waits this long before each
   * chunk, one chunk after another per connection (0: all in one microtask chain).
   */
  memoryLatencyMs?: number;
  /**
   * 'swarm' preset over tcp only: also the in-process memory transport (protocols/memory-transport.ts), listening
   * on '/memory/<peer id>' beside the tcp addresses. A simulated swarm spread over processes then connects the
   * peers of one process over memory and only those of different processes over tcp. Default false.
   */
  alsoMemory?: boolean;
  /** Start the node before returning; default true. */
  start?: boolean;
  /** Graylist tunables (strikes, window, ban); defaults in protocols/graylist.ts. */
  graylist?: Omit<GraylistInit, 'onListed'>;
  /** Serve and request the current model (a joining peer's state transfer) for this swarm and layout. */
  state?: StateTransferInit;
  /**
   * Run gossipsub (announcements) and identify, which gossipsub needs; default true. Only the 'swarm' preset may
   * turn them off: a simulated swarm whose engine never announces (synchronous rounds, async gossip) then
   * skips identify's two signed records, the peer-store writes and gossipsub's streams on every connection,
   * about two thirds of a connection's set-up cost (protocols/docs/exchange-tuning.md §7), and gossipsub's
   * heartbeat on every node during the rounds.
   */
  announcements?: boolean;
}

/**
 * Score parameters of the announcement topic. The gossipsub defaults (timeInMeshQuantum 1 ms) saturate the
 * topic score cap within seconds and hide penalties; with these, three invalid messages drive a sender's
 * score well below 0 (notes/libp2p-v3.md §3). Announcements are one per peer per round, too rare for a
 * mesh-delivery quota, so that penalty (and mesh failure) is off. invalidMessageDeliveries decays by 0.9 per
 * second: three invalid messages are forgotten after about 30 s.
 */
export const ANNOUNCE_TOPIC_SCORE: Readonly<Partial<TopicScoreParams>> = Object.freeze({
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 3600,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.9,
});

/** 'device' connection limits: a daemon keeps tens of neighbours, never hundreds. */
const DEVICE_CONNECTION_MANAGER = Object.freeze({
  maxConnections: 100, maxParallelDials: 32, dialTimeout: 10_000,
  // A stream that has not named its protocol by then is reset (libp2p default 10 s): bounds what a stream
  // the stream guard cannot judge (a slow, valid-looking negotiation) can hold.
  inboundStreamProtocolNegotiationTimeout: 5_000,
});
/**
 * 'swarm': every peer shares 127.0.0.1, so the per-host inbound rate limit (5/s) and the 10 pending
 * inbound connections would refuse most dials; dialing is CPU-bound, so few run at once (notes §4).
 */
const SWARM_CONNECTION_MANAGER = Object.freeze({
  inboundConnectionThreshold: Infinity,
  maxIncomingPendingConnections: 1000,
  maxParallelDials: 16,
  // In one process a dial cannot hang on a network: it is slow only when this thread is starved (both ends of
  // every handshake run here). On a loaded machine 500-peer bring-ups failed with EncryptionFailedError at a
  // 30 s dial timeout and at libp2p's 10 s inbound upgrade timeout; a late connection beats a failed run.
  dialTimeout: 120_000,
  inboundUpgradeTimeout: 120_000,
  // Same for a stream: libp2p resets an inbound stream whose protocol (and peer-store write) took over 10 s,
  // and its frame is lost, so the receiver waits out its whole round timeout. In 500-peer MLP rounds on a
  // loaded machine sends took 8–19 s (protocols/docs/exchange-tuning.md §11).
  inboundStreamProtocolNegotiationTimeout: 120_000,
});
/** Source addresses exempt from gossipsub's IP colocation penalty on a device: processes on this host. */
export const LOOPBACK_IPS: readonly string[] = Object.freeze(['127.0.0.1', '::1']);
/**
 * Concurrent ping streams per connection and direction in the 'device' preset (libp2p's default: 1 out, 2 in).
 * A ping stream counts against this until both ends have closed it, and the second close needs the other
 * side's event loop: to a peer busy for B seconds (starting up, training, a GC on a loaded host), MoDeST's
 * probes (one a second) and the connection monitor leave about B streams open. With 4, a soak's live daemons
 * refused 21 pings in 10 minutes (bursts of 1 s probes, one peer busy 3–6 s; exchange-tuning.md §20), and a
 * refused monitor ping aborts the connection. 32 covers a peer busy for the soak's whole stall limit (30 s);
 * a stream costs a few hundred bytes and a flood is still capped by yamux's streams per connection.
 */
const DEVICE_PING_STREAMS = 32;

export { keyFromSeed } from './keys.js';

/** Component names of a multiaddr, or an error string. */
function components(addr: string): string[] | string {
  try {
    return multiaddr(addr).getComponents().map((c) => c.name);
  } catch (err) {
    return `"${addr}" is not a multiaddr (${(err as Error).message})`;
  }
}

function checkAddress(kind: 'listen' | 'bootstrap', addr: string, transport: 'tcp' | 'memory', problems: string[]): void {
  const names = components(addr);
  if (typeof names === 'string') {
    problems.push(`${kind}: ${names}`);
    return;
  }
  const isMemory = names[0] === 'memory';
  const isTcp = names.includes('tcp');
  if (transport === 'memory' && !isMemory) problems.push(`${kind} address "${addr}" is not a /memory address, but transport is 'memory'`);
  if (transport === 'tcp' && !isTcp) problems.push(`${kind} address "${addr}" has no /tcp part, but transport is 'tcp'`);
  if (kind === 'bootstrap' && names[names.length - 1] !== 'p2p') problems.push(`bootstrap address "${addr}" must end in /p2p/<peer id>`);
}

/** Every problem of `options`, as sentences naming the option, the value and the fix. */
export function checkNodeOptions(options: MurmurNodeOptions): string[] {
  const problems: string[] = [];
  const transport = options.transport ?? 'tcp';
  const preset = options.preset ?? 'device';
  if (transport !== 'tcp' && transport !== 'memory') problems.push(`transport "${String(transport)}" is not 'tcp' or 'memory'`);
  if (preset !== 'device' && preset !== 'swarm') problems.push(`preset "${String(preset)}" is not 'device' or 'swarm'`);
  if (options.privateKey !== undefined && options.seed !== undefined) problems.push('privateKey and seed are both set; pass one (seed is for simulations)');
  if (options.seed === '') problems.push('seed is empty; use a distinct non-empty string per peer');
  if (options.mdns === true && transport === 'memory') problems.push("mdns needs the tcp transport (it announces IP addresses), but transport is 'memory'");
  if (options.mdns === true && preset === 'swarm') problems.push("mdns is for devices on a LAN; the 'swarm' preset runs peers in one process");
  if (options.swarm !== undefined) {
    const bytes = Buffer.byteLength(options.swarm, 'utf8');
    if (bytes === 0 || bytes > MAX_SWARM_BYTES) problems.push(`swarm "${options.swarm}" is ${bytes} bytes of UTF-8; allowed 1–${MAX_SWARM_BYTES}`);
  }
  if (options.announcements === false && preset !== 'swarm') problems.push("announcements: false is for the 'swarm' preset (a simulated swarm whose engine never announces); a device must announce");
  if (options.announcements === false && options.state !== undefined) problems.push('announcements: false cannot serve state transfer (a joiner finds the swarm through announcements)');
  if (options.alsoMemory === true && (preset !== 'swarm' || transport !== 'tcp')) problems.push("alsoMemory is for the 'swarm' preset over tcp (a simulated swarm spread over processes)");
  if (options.reachability !== undefined) {
    if (preset !== 'device' || transport !== 'tcp') problems.push("reachability options (relay, DHT, UPnP, announce) need the 'device' preset over tcp");
    else checkReachabilityOptions(options.reachability, options.swarm, problems);
  }
  if (transport === 'tcp' || transport === 'memory') {
    for (const addr of options.listen ?? []) checkAddress('listen', addr, transport, problems);
    for (const addr of options.bootstrap ?? []) checkAddress('bootstrap', addr, transport, problems);
  }
  return problems;
}

/**
 * Gossipsub for the announcement topic. All simulated peers share 127.0.0.1; the default colocation penalty
 * would punish every one. A device exempts only loopback: the penalty (beyond 10 peers on one IP) makes remote
 * Sybils costly, but it also counts every identity a peer ever connected from, for an hour, so daemons on one
 * host (and any local prober's identities) drove each other below the publish threshold: announcements
 * stopped and late joiners ran alone (seen in the 8-daemon soak).
 */
function announcementPubsub(swarm: boolean, topics: Record<string, TopicScoreParams>): ReturnType<typeof gossipsub> {
  return gossipsub({
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    maxInboundDataLength: MAX_PUBSUB_RPC_BYTES,
    scoreParams: { ...(swarm ? { IPColocationFactorWeight: 0 } : { IPColocationFactorWhitelist: new Set(LOOPBACK_IPS) }), topics },
  });
}

/**
 * Build (and by default start) a node. Throws InvalidNodeOptionsError, listing every problem, when options
 * are malformed or contradict each other (e.g. the memory transport with a /tcp listen address).
 */
export async function createMurmurNode(options: MurmurNodeOptions & { announcements: false }): Promise<AnySwarmNode>;
export async function createMurmurNode(options?: MurmurNodeOptions & { announcements?: true }): Promise<MurmurNode>;
export async function createMurmurNode(options?: MurmurNodeOptions): Promise<AnySwarmNode>;
export async function createMurmurNode(options: MurmurNodeOptions = {}): Promise<AnySwarmNode> {
  const problems = checkNodeOptions(options);
  if (problems.length > 0) throw new InvalidNodeOptionsError(problems);
  const transport = options.transport ?? 'tcp';
  const preset = options.preset ?? 'device';
  const privateKey = options.privateKey
    ?? (options.seed !== undefined ? await keyFromSeed(options.seed) : await generateKeyPair('Ed25519'));
  const memoryAddress = `/memory/${peerIdFromPrivateKey(privateKey).toString()}`;
  const listen = [...options.listen ?? (transport === 'memory' ? [memoryAddress] : [preset === 'swarm' ? '/ip4/127.0.0.1/tcp/0' : '/ip4/0.0.0.0/tcp/0']),
    ...(options.alsoMemory === true ? [memoryAddress] : [])];
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = [];
  if ((options.bootstrap ?? []).length > 0) peerDiscovery.push(bootstrap({ list: [...options.bootstrap!] }));
  if (options.mdns === true) peerDiscovery.push(mdns());
  const topics: Record<string, TopicScoreParams> = {};
  if (options.swarm !== undefined) topics[announceTopic(options.swarm)] = createTopicScoreParams({ ...ANNOUNCE_TOPIC_SCORE });
  const swarm = preset === 'swarm';
  let node: AnySwarmNode | undefined;
  const graylist = new Graylist({
    ...options.graylist,
    onListed: (peer) => { void node?.hangUp(peerIdFromString(peer)).catch(() => {}); },
  });
  // A stream that broke multistream-select's framing counts against the peer whose connection carried it.
  const onGuardViolation = (stream: Stream): void => {
    const connection = node?.getConnections().find((c) => c.streams.includes(stream));
    if (connection !== undefined) graylist.strike(connection.remotePeer.toString(), 'negotiation-garbage');
  };
  const nat = !swarm && transport === 'tcp' ? natParts(options.reachability ?? {}, options.swarm) : null;

  const announcing = options.announcements !== false;
  node = await createLibp2p<SwarmNodeServices>({
    privateKey,
    ...(options.datastore !== undefined ? { datastore: options.datastore } : {}),
    // Hundreds of nodes in one process make loggers per connection and stream: quiet ones unless DEBUG is set.
    ...(options.logger !== undefined ? { logger: options.logger } : swarm ? { logger: swarmLogger() } : {}),
    addresses: { listen: [...listen, ...(nat?.listen ?? [])], appendAnnounce: nat?.appendAnnounce ?? [] },
    transports: [transport === 'memory' ? (options.memoryLatencyMs === undefined ? batchedMemory() : memory({ latency: options.memoryLatencyMs })) : tcp(),
      ...(options.alsoMemory === true ? [batchedMemory()] : []), ...(nat?.transports ?? [])],
    connectionEncrypters: [murmurNoise()],
    streamMuxers: [guardedMuxer(piecesReleased(yamux()), onGuardViolation)],
    connectionGater: graylist.gater(),
    peerDiscovery,
    connectionManager: swarm ? { ...SWARM_CONNECTION_MANAGER } : { ...DEVICE_CONNECTION_MANAGER },
    // The monitor pings every connection and aborts it on a missed pong: an in-process swarm stalls its
    // event loop under load, which would kill healthy connections (notes §4).
    ...(swarm ? { connectionMonitor: { enabled: false } } : {}),
    services: {
      ...(announcing ? { identify: identify(), pubsub: announcementPubsub(swarm, topics) } : {}),
      // libp2p's connection monitor, the DHT (before it adds a peer) and our engines may ping one
      // connection at once; with ping's default of 1 outbound stream the monitor's ping is refused and the
      // monitor then aborts the healthy connection (seen in the NAT test bed: the bootstrap link dropped).
      ping: swarm ? ping() : ping({ maxOutboundStreams: DEVICE_PING_STREAMS, maxInboundStreams: DEVICE_PING_STREAMS }),
      graylist: () => graylist,
      ...(options.state !== undefined ? { state: stateTransfer(options.state) } : {}),
      ...(nat?.services ?? {}),
    },
    start: options.start ?? true,
  });
  // No identify or gossipsub reads the protocols a simulated peer speaks: skip libp2p's repeated writes of them.
  if (swarm && !announcing) skipRepeatedProtocolMerges(node.peerStore);
  return node;
}
