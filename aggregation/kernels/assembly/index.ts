// The kernel module's exports (AssemblyScript). Pointers are byte offsets into the module's memory, which the
// JS side (aggregation/kernels/wasm.ts) lays out above __heap_base; lengths count elements.
export function heapBase(): usize { return __heap_base; }
export * from './mean';
export * from './robust';
export { selectRank } from './select';
export * from './dense';
export * from './codec';
export * from './distances';
export { trimmedNetwork } from './trimmed';
