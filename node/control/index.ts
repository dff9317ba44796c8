/**
 * Local control API of the daemon (DESIGN.md "Control API and CLI"): HTTP on loopback with a bearer token
 * from a 0600 file, JSON endpoints for status, peers, model, history and trust, and Prometheus /metrics.
 * Re-exports only; see server.ts for the service, client.ts for the CLI side, metrics.ts for the facade.
 */
export type {
  ControlLogger, ControlSource, HistoryEntry, HistoryQuery, ModelInfo, PeerInfo, Phase, StatusInfo, TensorInfo, TrustInfo,
} from './types.js';
export { PHASES, describeModel } from './types.js';
export type { ControlServer, ControlServerComponents, ControlServerInit } from './server.js';
export {
  DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CONTROL_HOST, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, controlServer, isLoopbackHost,
} from './server.js';
export type { ControlClient, ControlClientOptions } from './client.js';
export { DEFAULT_CLIENT_TIMEOUT_MS, connectControl } from './client.js';
export type { Metrics, MetricsInit } from './metrics.js';
export { createMetrics } from './metrics.js';
export type { ControlEndpoint } from './token.js';
export { ENDPOINT_FILE, TOKEN_FILE } from './token.js';
export type { ControlErrorCode } from './errors.js';
export { ControlError } from './errors.js';
