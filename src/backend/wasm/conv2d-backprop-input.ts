/**
 * `Conv2DBackpropInput` for the wasm backend, computed as one forward
 * convolution through XNNPACK (the built-in kernel is a slow naive loop):
 *
 *   dx = dy_z (*) rot180(W)^T
 *
 * where dy_z is dy with (stride-1) zeros inserted between rows and columns and
 * the filter is rotated by 180 degrees with its channel axes swapped
 * ([kh,kw,ci,co] -> [KH-1-kh, KW-1-kw, co, ci]).
 */
import type * as tf from '@tensorflow/tfjs';
import { cropForPads, free, run, zeroInsert, type Info, type WasmBackend } from './internals.js';
import { convGeometry, inputGradPads, type BackpropAttrs } from './geometry.js';

/** Attributes of the `Conv2DBackpropInput` kernel. */
export interface Conv2DBackpropInputAttrs extends BackpropAttrs {
  inputShape: [number, number, number, number];
}

/** Kernel function (inputs `dy`, `filter`). */
export function conv2dBackpropInput(args: {
  inputs: { dy: Info; filter: Info };
  backend: WasmBackend;
  attrs: Conv2DBackpropInputAttrs;
}): Info {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const g = convGeometry('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs, false);
  const swapped = run(backend, 'Transpose', { x: filter }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
  const rotated = run(backend, 'Reverse', { x: swapped }, { dims: [0, 1] });
  free(backend, swapped);
  const strided = g.strideH > 1 || g.strideW > 1;
  const dyz = strided ? zeroInsert(backend, dy, g.strideH, g.strideW) : dy;
  const { input, owned, explicit } = cropForPads(backend, dyz, inputGradPads(g));
  const dx = run(
    backend,
    'Conv2D',
    { x: input, filter: rotated },
    { strides: [1, 1], dilations: [1, 1], pad: explicit, dataFormat: 'NHWC' },
  );
  free(backend, rotated, strided ? dyz : undefined, owned ? input : undefined);
  return dx;
}

/** Registration record for tfjs' kernel registry (replaces the built-in one). */
export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
