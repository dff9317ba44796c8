/**
 * The daemon's local control API (DESIGN.md "Control API and CLI"): read-only JSON endpoints over HTTP on
 * loopback, guarded by a random bearer token written to the data dir with mode 0600, plus Prometheus
 * `/metrics`. Hardening: loopback only unless explicitly allowed, constant-time token comparison,
 * request size limits (body, headers), short timeouts, GET only, and the token is never logged.
 *
 * @example
 * const control = controlServer({ dataDir })({ source: peer, metrics, logger: log.child({ component: 'control' }) });
 * await control.start();   // writes <dataDir>/control.token and control.json
 * await control.stop();    // removes them
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { deadline } from '../deadline.js';
import { ConfigError, MurmurError } from '../errors.js';
import { ControlError, type ControlErrorCode } from './errors.js';
import type { Metrics } from './metrics.js';
import { ENDPOINT_FILE, LAST_RUN_FILE, TOKEN_FILE, generateToken, tokensEqual, writeSecretFile, type ControlEndpoint, type LastRun } from './token.js';
import type { ControlLogger, ControlSource, HistoryQuery } from './types.js';

/** Default bind host: loopback only. */
export const DEFAULT_CONTROL_HOST = '127.0.0.1';
/** Largest request body accepted, bytes (no endpoint takes a body; this only bounds what is read). */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;
/** Largest request line + headers accepted, bytes (Node answers 431 beyond it). */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Whole-request deadline, ms: every endpoint answers from memory or one bounded store read. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Deadline for receiving the request headers, ms (slow-loris guard). */
export const HEADERS_TIMEOUT_MS = 5_000;
/**
 * How often Node checks the header and request deadlines, ms. Its default, 30 s, let a client dripping
 * header lines hold a connection for 31 s whatever HEADERS_TIMEOUT_MS said (measured).
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Idle keep-alive connections are closed after this many ms. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Deadline handed to `ControlSource.history`, ms. */
export const HISTORY_TIMEOUT_MS = 5_000;
/** `limit` of /history when the query has none. */
export const DEFAULT_HISTORY_LIMIT = 100;
/** Largest `limit` of /history. */
export const MAX_HISTORY_LIMIT = 1_000;

/** Tunables of the control server. */
export interface ControlServerInit {
  /** Directory that receives control.token and control.json (created with mode 0700 if missing). */
  readonly dataDir: string;
  /** Bind host; default {@link DEFAULT_CONTROL_HOST}. Non-loopback hosts need `allowNonLoopback`. */
  readonly host?: string;
  /** Bind port; default 0 (a random free port, recorded in control.json). */
  readonly port?: number;
  /** Allow a non-loopback `host` (exposes the API, still token-guarded, to the network). Default false. */
  readonly allowNonLoopback?: boolean;
  /** Request body limit, bytes; default {@link DEFAULT_BODY_LIMIT_BYTES}. */
  readonly bodyLimitBytes?: number;
}

/** Collaborators of the control server. */
export interface ControlServerComponents {
  readonly source: ControlSource;
  readonly metrics: Pick<Metrics, 'exposition' | 'contentType'>;
  readonly logger: ControlLogger;
}

/** The running control API; Startable (start/stop idempotent, nothing acquired at construction). */
export interface ControlServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  isStarted(): boolean;
  /** Base URL clients should call, once started; undefined otherwise. */
  readonly url: string | undefined;
}

/** Factory: `controlServer(init)(components)`. */
export function controlServer(init: ControlServerInit): (components: ControlServerComponents) => ControlServer {
  return (components) => new HttpControlServer(init, components);
}

/** True for hosts that only accept connections from this machine: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Parse and validate the /history query; throws ControlError ERR_BAD_REQUEST naming the parameter. */
export function parseHistoryQuery(search: string): Required<HistoryQuery> {
  const params = new URLSearchParams(search);
  const out = { from: 0, limit: DEFAULT_HISTORY_LIMIT };
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (key !== 'from' && key !== 'limit') {
      throw new ControlError('ERR_BAD_REQUEST', `unknown query parameter "${key}" (allowed: from, limit)`);
    }
    if (seen.has(key)) throw new ControlError('ERR_BAD_REQUEST', `query parameter "${key}" given more than once`);
    seen.add(key);
    const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (key === 'from' && !Number.isSafeInteger(n)) {
      throw new ControlError('ERR_BAD_REQUEST', `from=${JSON.stringify(value)} is not a round number (an integer >= 0)`);
    }
    if (key === 'limit' && !(Number.isSafeInteger(n) && n >= 1 && n <= MAX_HISTORY_LIMIT)) {
      throw new ControlError('ERR_BAD_REQUEST', `limit=${JSON.stringify(value)} is not an integer in 1..${MAX_HISTORY_LIMIT}`);
    }
    out[key] = n;
  }
  return out;
}

const STATUS_OF: Readonly<Partial<Record<ControlErrorCode, number>>> = {
  ERR_BAD_REQUEST: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_PAYLOAD_TOO_LARGE: 413,
};

class HttpControlServer implements ControlServer {
  private readonly dataDir: string;
  private readonly host: string;
  private readonly port: number;
  private readonly allowNonLoopback: boolean;
  private readonly bodyLimitBytes: number;
  private app: FastifyInstance | undefined;
  private token: string | undefined;
  private endpoint: ControlEndpoint | undefined;
  private stopController: AbortController | undefined;
  private starting: Promise<void> | undefined;

  constructor(init: ControlServerInit, private readonly components: ControlServerComponents) {
    this.dataDir = init.dataDir;
    this.host = init.host ?? DEFAULT_CONTROL_HOST;
    this.port = init.port ?? 0;
    this.allowNonLoopback = init.allowNonLoopback ?? false;
    this.bodyLimitBytes = init.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  }

  get url(): string | undefined {
    return this.endpoint?.url;
  }

  isStarted(): boolean {
    return this.app !== undefined;
  }

  async start(): Promise<void> {
    // Concurrent callers share one start-up instead of binding twice.
    this.starting ??= this.doStart().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.app !== undefined) return;
    if (!this.allowNonLoopback && !isLoopbackHost(this.host)) {
      throw new ControlError(
        'ERR_NON_LOOPBACK_BIND',
        `refusing to serve the control API on non-loopback host "${this.host}": it would be reachable from the ` +
          'network; bind 127.0.0.1, or set allowNonLoopback: true if you really mean it',
      );
    }
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) {
      throw new ConfigError(`control port ${this.port} is not an integer in 0..65535`);
    }
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const token = generateToken();
    const stopController = new AbortController();
    const app = this.build(token, stopController.signal);
    let endpoint: ControlEndpoint;
    try {
      await app.listen({ host: this.host, port: this.port });
      // Token first, endpoint last: a client that finds control.json always finds the token too.
      await writeSecretFile(join(this.dataDir, TOKEN_FILE), token);
      endpoint = { url: connectUrl(app.server.address() as AddressInfo), pid: process.pid, startedAt: Date.now() };
      await writeSecretFile(join(this.dataDir, ENDPOINT_FILE), JSON.stringify(endpoint));
    } catch (err) {
      await app.close();
      await this.removeOwnFiles(token, undefined);
      throw err;
    }
    this.app = app;
    this.token = token;
    this.endpoint = endpoint;
    this.stopController = stopController;
    this.components.logger.info({ url: endpoint.url, dataDir: this.dataDir }, 'control API listening');
  }

  async stop(): Promise<void> {
    // A failed start was already reported to its caller; stop only waits for it to settle.
    await this.starting?.catch(() => undefined);
    const app = this.app;
    if (app === undefined) return;
    this.app = undefined;
    this.stopController?.abort();
    await app.close();
    await this.removeOwnFiles(this.token, this.endpoint);
    if (this.endpoint !== undefined) await this.recordLastRun(this.endpoint);
    this.token = undefined;
    this.endpoint = undefined;
    this.components.logger.info({ dataDir: this.dataDir }, 'control API stopped');
  }

  /** Write last-run.json; a failure is logged, never thrown: stopping matters more than the record. */
  private async recordLastRun(endpoint: ControlEndpoint): Promise<void> {
    const run: LastRun = { pid: endpoint.pid, startedAt: endpoint.startedAt, stoppedAt: Date.now() };
    await writeSecretFile(join(this.dataDir, LAST_RUN_FILE), JSON.stringify(run))
      .catch((err: unknown) => this.components.logger.warn({ err }, `could not write ${LAST_RUN_FILE}`));
  }

  /** Remove control.token / control.json only if they are still ours (another daemon may have replaced them). */
  private async removeOwnFiles(token: string | undefined, endpoint: ControlEndpoint | undefined): Promise<void> {
    const tokenPath = join(this.dataDir, TOKEN_FILE);
    const endpointPath = join(this.dataDir, ENDPOINT_FILE);
    if (endpoint !== undefined && (await readFile(endpointPath, 'utf8').catch(() => '')) === JSON.stringify(endpoint)) {
      await rm(endpointPath, { force: true });
    }
    if (token !== undefined && (await readFile(tokenPath, 'utf8').catch(() => '')) === token) {
      await rm(tokenPath, { force: true });
    }
  }

  private build(token: string, stopSignal: AbortSignal): FastifyInstance {
    const { source, metrics, logger } = this.components;
    const app = fastify({
      logger: false,
      bodyLimit: this.bodyLimitBytes,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      forceCloseConnections: true,
      return503OnClosing: true,
      http: { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    });

    // Order matters: size, then token, then method, so an unauthenticated caller learns nothing else.
    app.addHook('onRequest', (req, reply, done) => {
      const length = Number(req.headers['content-length'] ?? 0);
      if (req.headers['transfer-encoding'] !== undefined || !(length <= this.bodyLimitBytes)) {
        void reply.header('connection', 'close');
        sendError(reply, 'ERR_PAYLOAD_TOO_LARGE', `request bodies are limited to ${this.bodyLimitBytes} bytes`);
        return;
      }
      if (!authorized(req, token)) {
        void reply.header('www-authenticate', 'Bearer realm="murmur"');
        sendError(reply, 'ERR_UNAUTHORIZED', 'missing or invalid bearer token');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        void reply.header('allow', 'GET, HEAD');
        sendError(reply, 'ERR_METHOD_NOT_ALLOWED', `method ${req.method} is not allowed; the control API is read-only (GET)`);
        return;
      }
      done();
    });
    app.addHook('onResponse', (req, reply, done) => {
      // Path and status only: headers (and so the token) are never logged.
      logger.debug({ method: req.method, path: req.routeOptions.url ?? 'unknown', status: reply.statusCode }, 'control request');
      done();
    });

    app.get('/status', (_req, reply) => sendJson(reply, 200, source.status()));
    app.get('/peers', (_req, reply) => sendJson(reply, 200, source.peers()));
    app.get('/model', (_req, reply) => sendJson(reply, 200, source.model()));
    app.get('/trust', (_req, reply) => sendJson(reply, 200, source.trust()));
    app.get('/history', async (req, reply) => {
      const query = parseHistoryQuery(searchOf(req));
      const signal = deadline(HISTORY_TIMEOUT_MS, stopSignal);
      return sendJson(reply, 200, await source.history(query, { signal }));
    });
    app.get('/metrics', async (_req, reply) => {
      const body = await metrics.exposition();
      return reply.code(200).type(metrics.contentType).header('cache-control', 'no-store').send(body);
    });

    app.setNotFoundHandler((req, reply) => {
      sendError(reply, 'ERR_NOT_FOUND', `no such endpoint ${req.url.split('?')[0]} (try /status, /peers, /model, /history, /trust, /metrics)`);
    });
    app.setErrorHandler((err, req, reply) => {
      if (err instanceof ControlError && STATUS_OF[err.code] !== undefined) {
        sendError(reply, err.code, err.message);
        return;
      }
      const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
      if (status === 413) {
        sendError(reply, 'ERR_PAYLOAD_TOO_LARGE', `request bodies are limited to ${this.bodyLimitBytes} bytes`);
      } else if (status >= 400 && status < 500) {
        sendError(reply, 'ERR_BAD_REQUEST', (err as Error).message);
      } else {
        logger.error({ err, path: req.routeOptions.url }, 'control request failed');
        // A typed error's code and message are meant to cross boundaries; anything else stays in the log.
        const message = err instanceof MurmurError ? `${err.code}: ${err.message}` : 'internal error (see the daemon log)';
        sendError(reply, 'ERR_INTERNAL', message);
      }
    });
    return app;
  }
}

function authorized(req: FastifyRequest, token: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match !== null && tokensEqual(match[1], token);
}

function searchOf(req: FastifyRequest): string {
  const i = req.url.indexOf('?');
  return i < 0 ? '' : req.url.slice(i + 1);
}

function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  // Serialised here (not by fastify) so `null` from /model is sent as the JSON literal `null`.
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(JSON.stringify(value ?? null));
}

function sendError(reply: FastifyReply, code: ControlErrorCode, message: string): void {
  void sendJson(reply, STATUS_OF[code] ?? 500, { success: false, code, message });
}

/** The URL a local client should dial: wildcard binds are reached through loopback. */
function connectUrl(address: AddressInfo): string {
  let host = address.address;
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`;
}
