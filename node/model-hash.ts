import { createHash } from 'node:crypto';

/**
 * Content hash of a parameter vector: the first 16 hex digits of SHA-256 over its little-endian bytes.
 * History, checkpoints and `murmur model` show it, so two peers (or a peer before and after a restart)
 * can be compared at a glance.
 */
export function modelHash(vector: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)).digest('hex').slice(0, 16);
}
