/**
 * The wasm backend lacks Conv2DBackpropFilter (so no CNN trains) and its Conv2DBackpropInput is slow.
 * Both gradients are rewritten as forward convolutions, which wasm runs on XNNPACK (notes/tfjs.md §2, §8):
 *   dW = conv(xᵀ, dyᵀ, dilation = stride)            (every stride and padding)
 *   dx = conv(pad(dy), rot180(W) with in/out swapped)  (stride 1; other strides keep the stock kernel)
 * Checked against the cpu reference in test/unit/node/learner/fast-conv-grads.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
type Backend = tf.KernelBackend & { disposeData(id: object): boolean };
interface Args { inputs: Record<string, Info>; backend: Backend; attrs: Record<string, unknown> }
type Kernel = (args: Args) => Info;

const registered = new Set<string>();

/** Register the two kernels on `backendName` (idempotent). Call after the backend is ready. */
export function registerFastConvGrads(backendName = 'wasm'): void {
  if (registered.has(backendName)) return;
  const kernel = (name: string): Kernel => {
    const k = tf.getKernel(name, backendName);
    if (!k) throw new Error(`kernel ${name} is not registered for backend ${backendName}`);
    return k.kernelFunc as unknown as Kernel;
  };
  const conv = kernel('Conv2D'), transpose = kernel('Transpose'), padV2 = kernel('PadV2');
  const slice = kernel('Slice'), reverse = kernel('Reverse');
  const stockInput = kernel('Conv2DBackpropInput');

  // Keep the stock setup/dispose hooks: the fallback to the stock kernel needs its setupFunc (notes/tfjs.md §8).
  const replace = (kernelName: string, f: Kernel): void => {
    const old = tf.getKernel(kernelName, backendName);
    if (old) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc: f as unknown as tf.KernelFunc, setupFunc: old?.setupFunc, disposeFunc: old?.disposeFunc });
  };
  const convInfo = (xShape: number[], fShape: number[], a: Record<string, unknown>) =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number], fShape as [number, number, number, number],
      a.strides as [number, number], 1, a.pad as 'valid', a.dimRoundingMode as 'round' | undefined);

  replace('Conv2DBackpropFilter', ({ inputs: { x, dy }, backend, attrs }) => {
    const fShape = attrs.filterShape as number[];
    const ci = convInfo(x!.shape, fShape, attrs);
    const { top, bottom, left, right } = ci.padInfo;
    const [kh, kw, c, o] = fShape as [number, number, number, number];
    const tmp: Info[] = [];
    let xp = x!;
    if (top || bottom || left || right) {
      xp = padV2({ inputs: { x: x! }, backend, attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 } });
      tmp.push(xp);
    }
    const xt = transpose({ inputs: { x: xp }, backend, attrs: { perm: [3, 1, 2, 0] } }); // [C, Hp, Wp, B]
    const dyt = transpose({ inputs: { x: dy! }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [OH, OW, B, O] as a filter
    tmp.push(xt, dyt);
    let r = conv({ inputs: { x: xt, filter: dyt }, backend, attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [ci.strideHeight, ci.strideWidth] } });
    if (r.shape[1] !== kh || r.shape[2] !== kw) {
      tmp.push(r);
      r = slice({ inputs: { x: r }, backend, attrs: { begin: [0, 0, 0, 0], size: [c, kh, kw, o] } });
    }
    tmp.push(r);
    const out = transpose({ inputs: { x: r }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [kh, kw, C, O]
    for (const t of tmp) backend.disposeData(t.dataId);
    return out;
  });

  replace('Conv2DBackpropInput', (args) => {
    const { inputs: { dy, filter }, backend, attrs } = args;
    const inShape = attrs.inputShape as number[];
    const ci = convInfo(inShape, filter!.shape, attrs);
    const [kh, kw] = filter!.shape as [number, number];
    const pt = kh - 1 - ci.padInfo.top, pl = kw - 1 - ci.padInfo.left;
    const pb = inShape[1]! - dy!.shape[1]! + kh - 1 - pt, pr = inShape[2]! - dy!.shape[2]! + kw - 1 - pl;
    if (ci.strideHeight !== 1 || ci.strideWidth !== 1 || Math.min(pt, pl, pb, pr) < 0) return stockInput(args);
    const tmp: Info[] = [];
    let dyp = dy!;
    if (pt || pb || pl || pr) {
      dyp = padV2({ inputs: { x: dy! }, backend, attrs: { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 } });
      tmp.push(dyp);
    }
    const wr = reverse({ inputs: { x: filter! }, backend, attrs: { dims: [0, 1] } });
    const wt = transpose({ inputs: { x: wr }, backend, attrs: { perm: [0, 1, 3, 2] } });
    tmp.push(wr, wt);
    const out = conv({ inputs: { x: dyp, filter: wt }, backend, attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] } });
    for (const t of tmp) backend.disposeData(t.dataId);
    return out;
  });
  registered.add(backendName);
}
