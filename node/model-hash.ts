import { createHash } from 'node:crypto';

/**
 * Content hash of a parameter vector: the first 16 hex digits of SHA-256 over its little-endian bytes.
 * History, checkpoints and `murmur model` show it, so two peers (or a peer before and after a restart)
 * can be compared at a glance.
 */
export function modelHash(vector: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)).digest('hex').slice(0, 16);
}

/** Where withModelHash keeps a summary's vector and, once read, its hash (non-enumerable: spreads and JSON skip them). */
const VECTOR = Symbol('modelHash.vector');
const HASH = Symbol('modelHash.value');
/** Whether the captured vector still holds the round's model (set by guardModelHash; undefined: always). */
const VALID = Symbol('modelHash.valid');

/**
 * The one getter of every summary's `modelHash`: objects given the same accessor pair share one hidden class;
 * a getter closure per object made V8 turn each summary into a slow dictionary object (and every property
 * read of one megamorphic).
 */
function hashGetter(this: { [VECTOR]: Float32Array; [HASH]: string | undefined; [VALID]: (() => boolean) | undefined }): string {
  if (this[HASH] === undefined && this[VALID]?.() === false) {
    throw new Error("a round summary's modelHash was read after its round's vector went back to the vector bank (node/vector-bank.ts); read it in the round listener");
  }
  return (this[HASH] ??= modelHash(this[VECTOR]));
}

/**
 * Give `target` a `modelHash` of `vector` computed on its first read. Engines replace the state vector on
 * every change (copying writes; only a round's own training output may be merged into in place, before its
 * summary captures it), so the array captured here still holds the round's model when a reader comes: the
 * daemon's commit reads it at once, while the simulator never reads most of them (one SHA-256 per peer and
 * round was ~6% of a 500-peer MLP round's main thread).
 */
export function withModelHash<T extends object>(target: T, vector: Float32Array): T & { readonly modelHash: string } {
  Object.defineProperty(target, VECTOR, { value: vector });
  Object.defineProperty(target, HASH, { value: undefined, writable: true });
  Object.defineProperty(target, VALID, { value: undefined, writable: true });
  return Object.defineProperty(target, 'modelHash', { enumerable: true, get: hashGetter }) as T & { readonly modelHash: string };
}

/**
 * Make a withModelHash summary's first `modelHash` read throw once `valid()` says its vector was reused
 * (node/vector-bank.ts), instead of hashing another round's model. No-op for other objects.
 */
export function guardModelHash(summary: object, valid: () => boolean): void {
  if (Object.prototype.hasOwnProperty.call(summary, VALID)) (summary as { [VALID]: () => boolean })[VALID] = valid;
}
