/**
 * The parameter-vector seam (DESIGN.md "The seams", 1): a model's trainable state is one Float32Array
 * plus a Layout of ordered tensors. The layout hash lets peers refuse frames of another architecture.
 * Pure: no TF.js here; node/learner/ builds layouts from models.
 */
export type TensorRole = 'kernel' | 'bias' | 'norm' | 'score';
export const TENSOR_ROLES: readonly TensorRole[] = ['kernel', 'bias', 'norm', 'score'];

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: TensorRole;
  /** First element of this tensor in the flat vector. */
  readonly offset: number;
  /** Number of elements (product of shape). */
  readonly size: number;
}

export interface Layout {
  readonly tensors: readonly TensorSpec[];
  /** Total number of float parameters. */
  readonly size: number;
  /** 16 hex digits (64-bit FNV-1a over the canonical description); equal iff names, shapes, roles and order are equal. */
  readonly hash: string;
}

export interface TensorEntry { name: string; shape: readonly number[]; role: TensorRole }

/** Build a layout from ordered entries; offsets are assigned contiguously. */
export function makeLayout(entries: readonly TensorEntry[]): Layout {
  let offset = 0;
  const tensors: TensorSpec[] = entries.map((e) => {
    for (const d of e.shape) {
      if (!Number.isInteger(d) || d <= 0) throw new RangeError(`tensor ${e.name}: dimension ${d} is not a positive integer`);
    }
    const size = e.shape.reduce((a, b) => a * b, 1);
    const spec = Object.freeze({ name: e.name, shape: Object.freeze([...e.shape]), role: e.role, offset, size });
    offset += size;
    return spec;
  });
  return Object.freeze({ tensors: Object.freeze(tensors), size: offset, hash: hashLayout(tensors) });
}

/** Canonical text of a layout; the hash input. */
export function describeLayout(tensors: readonly Pick<TensorSpec, 'name' | 'shape' | 'role'>[]): string {
  return tensors.map((t) => `${t.name}:${t.role}:${t.shape.join('x')}`).join(';');
}

function hashLayout(tensors: readonly TensorSpec[]): string {
  return fnv1a64(describeLayout(tensors));
}

/** 64-bit FNV-1a of a string's UTF-16 code units, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString(16).padStart(16, '0');
}

/** The view of one tensor inside a flat vector (no copy). */
export function tensorView(vector: Float32Array, spec: TensorSpec): Float32Array {
  return vector.subarray(spec.offset, spec.offset + spec.size);
}

/** Tensors whose role is in `roles`. */
export function tensorsWithRole(layout: Layout, roles: readonly TensorRole[]): TensorSpec[] {
  return layout.tensors.filter((t) => roles.includes(t.role));
}
