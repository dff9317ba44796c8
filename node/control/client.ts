/**
 * Client side of the control API, used by `murmur status|peers|model|history|trust`. It finds the daemon
 * through <dataDir>/control.json, authenticates with <dataDir>/control.token, and turns every failure
 * into a ControlError with a code; the token is sent only in the Authorization header and never appears
 * in an error message.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deadline } from '../deadline.js';
import { AbortError } from '../errors.js';
import { CONTROL_ERROR_CODES, ControlError, noDaemonError, type ControlErrorCode } from './errors.js';
import { ENDPOINT_FILE, TOKEN_FILE, isTokenShaped, type ControlEndpoint } from './token.js';

/** Default deadline of one control request (and of the connection probe), ms. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 5_000;
/** Largest response body the client reads, bytes; a history page of 1000 entries is far below it. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Options of {@link connectControl} and of each request. */
export interface ControlClientOptions {
  signal?: AbortSignal;
  /** Deadline, ms; default {@link DEFAULT_CLIENT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** A connection to one daemon's control API. */
export interface ControlClient {
  /** Where the daemon listens (from control.json). */
  readonly endpoint: ControlEndpoint;
  /** GET a JSON endpoint, e.g. '/status' or '/history?from=3&limit=10', and parse the body. */
  get<T>(path: string, options?: ControlClientOptions): Promise<T>;
  /** GET a text endpoint ('/metrics'). */
  getText(path: string, options?: ControlClientOptions): Promise<string>;
}

/**
 * Locate the daemon serving `dataDir` and check that it answers (a TCP connect, no request). Throws
 * ControlError ERR_NO_DAEMON when control.json or control.token is missing or malformed, or nothing
 * listens at the recorded address (a daemon that died without cleaning up); ERR_CONTROL_TIMEOUT when the
 * probe times out; AbortError when `options.signal` aborts.
 */
export async function connectControl(dataDir: string, options: ControlClientOptions = {}): Promise<ControlClient> {
  const endpoint = parseEndpoint(dataDir, await readOrNoDaemon(dataDir, ENDPOINT_FILE));
  const token = (await readOrNoDaemon(dataDir, TOKEN_FILE)).trim();
  if (!isTokenShaped(token)) throw noDaemonError(dataDir, `${TOKEN_FILE} is malformed`);
  const url = new URL(endpoint.url);
  await probe(dataDir, endpoint, url, options);
  return {
    endpoint,
    get: async <T>(path: string, opts: ControlClientOptions = {}) => {
      const body = await getBody(dataDir, endpoint, token, path, opts);
      try {
        return JSON.parse(body) as T;
      } catch (err) {
        throw new ControlError('ERR_CONTROL_RESPONSE', `the daemon at ${endpoint.url} sent invalid JSON for ${path}`, { cause: err });
      }
    },
    getText: (path, opts = {}) => getBody(dataDir, endpoint, token, path, opts),
  };
}

async function readOrNoDaemon(dataDir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dataDir, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw noDaemonError(dataDir, code === 'ENOENT' ? `no ${file} there` : `cannot read ${file}: ${code ?? 'error'}`, err);
  }
}

function parseEndpoint(dataDir: string, text: string): ControlEndpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw noDaemonError(dataDir, `${ENDPOINT_FILE} is not valid JSON`);
  }
  const e = value as Partial<ControlEndpoint> | null;
  const ok = typeof e === 'object' && e !== null && typeof e.url === 'string' && URL.canParse(e.url) &&
    new URL(e.url).protocol === 'http:' && Number.isInteger(e.pid) && typeof e.startedAt === 'number';
  if (!ok) throw noDaemonError(dataDir, `${ENDPOINT_FILE} is malformed`);
  return { url: e.url!, pid: e.pid!, startedAt: e.startedAt! };
}

function requestDeadline(options: ControlClientOptions): AbortSignal {
  return deadline(options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS, options.signal);
}

/** Map an abort of the combined signal to the caller's AbortError or our timeout error. */
function abortReason(options: ControlClientOptions, endpoint: ControlEndpoint, what: string): Error {
  if (options.signal?.aborted === true) return new AbortError(`${what} was aborted`);
  const ms = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  return new ControlError('ERR_CONTROL_TIMEOUT', `the daemon at ${endpoint.url} did not answer ${what} within ${ms} ms`);
}

const GONE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EPIPE']);

function connectionError(dataDir: string, endpoint: ControlEndpoint, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && GONE.has(code)) {
    return noDaemonError(dataDir, `nothing answers at ${endpoint.url} (${code}); pid ${endpoint.pid} probably exited without cleaning up`, err);
  }
  return new ControlError('ERR_CONTROL_RESPONSE', `request to the daemon at ${endpoint.url} failed: ${(err as Error).message}`, { cause: err });
}

function probe(dataDir: string, endpoint: ControlEndpoint, url: URL, options: ControlClientOptions): Promise<void> {
  const signal = requestDeadline(options);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(options, endpoint, 'the connection probe'));
      return;
    }
    const socket = connect({ host, port: Number(url.port) });
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(options, endpoint, 'the connection probe'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(connectionError(dataDir, endpoint, err));
    });
  });
}

function getBody(dataDir: string, endpoint: ControlEndpoint, token: string, path: string, options: ControlClientOptions): Promise<string> {
  const target = new URL(path, endpoint.url);
  if (!path.startsWith('/') || target.origin !== new URL(endpoint.url).origin) {
    return Promise.reject(new RangeError(`control path must be absolute on the daemon, got ${JSON.stringify(path)}`));
  }
  const signal = requestDeadline(options);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    const req = request(target, {
      method: 'GET',
      agent: false,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/plain' },
      signal,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          fail(new ControlError('ERR_CONTROL_RESPONSE', `the daemon's answer to ${target.pathname} exceeds ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.once('error', (err) => fail(signal.aborted ? abortReason(options, endpoint, target.pathname) : connectionError(dataDir, endpoint, err)));
      res.once('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status === 200) {
          settled = true;
          resolve(body);
        } else {
          fail(httpError(dataDir, endpoint, target.pathname, status, body));
        }
      });
    });
    req.once('error', (err) => fail(signal.aborted ? abortReason(options, endpoint, target.pathname) : connectionError(dataDir, endpoint, err)));
    req.end();
  });
}

function httpError(dataDir: string, endpoint: ControlEndpoint, path: string, status: number, body: string): ControlError {
  if (status === 401) {
    return new ControlError(
      'ERR_UNAUTHORIZED',
      `the daemon at ${endpoint.url} refused the token in ${join(dataDir, TOKEN_FILE)}; ` +
        'another daemon may have replaced it, retry or restart the daemon',
    );
  }
  let parsed: { code?: unknown; message?: unknown } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    // Not our JSON error shape: reported below as an unexpected response.
  }
  const code = CONTROL_ERROR_CODES.find((c) => c === parsed.code) as ControlErrorCode | undefined;
  if (code !== undefined && typeof parsed.message === 'string') return new ControlError(code, parsed.message);
  return new ControlError('ERR_CONTROL_RESPONSE', `the daemon at ${endpoint.url} answered ${path} with HTTP ${status}`);
}
