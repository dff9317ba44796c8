/** Exchanging part of a model (e.g. only Bristle's output kernel): a sub-layout and gather/scatter copies. */
import { makeLayout, type Layout, type TensorSpec } from '../../aggregation/layout.js';
import { ConfigError } from '../errors.js';

export interface SubLayout {
  readonly layout: Layout;
  /** The tensors of the full layout, in sub-layout order. */
  readonly parts: readonly TensorSpec[];
  extract(full: Float32Array): Float32Array;
  insert(full: Float32Array, payload: Float32Array): Float32Array;
}

/** The sub-layout of the named tensors; unknown names list what the layout has. */
export function subLayout(full: Layout, names: readonly string[]): SubLayout {
  const parts = names.map((n) => {
    const t = full.tensors.find((x) => x.name === n);
    if (!t) throw new ConfigError(`the model has no tensor "${n}"; it has ${full.tensors.map((x) => x.name).join(', ')}`);
    return t;
  });
  const layout = makeLayout(parts.map((p) => ({ name: p.name, shape: p.shape, role: p.role })));
  return {
    layout, parts,
    extract(v) {
      const out = new Float32Array(layout.size);
      parts.forEach((p, i) => out.set(v.subarray(p.offset, p.offset + p.size), layout.tensors[i]!.offset));
      return out;
    },
    insert(v, payload) {
      const out = v.slice();
      parts.forEach((p, i) => out.set(payload.subarray(layout.tensors[i]!.offset, layout.tensors[i]!.offset + p.size), p.offset));
      return out;
    },
  };
}
