/**
 * Depthwise convolution gradients for the wasm backend
 * (`DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput`), which the
 * backend lacks. For channel multiplier 1 (MobileNet's case) each is one
 * forward depthwise convolution through XNNPACK:
 *
 * - filter: dW[kh,kw,c] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, c] * dy[n,oh,ow,c].
 *   Viewing x as one image [H, W, n*c] and dy as a depthwise filter
 *   [OH, OW, n*c] dilated by the stride gives [kh, kw, n*c]; summing over n
 *   gives dW.
 * - input: dx = dy_z (*)_depthwise rot180(W), with dy_z the zero-inserted dy.
 *
 * Multipliers above 1 use a direct loop (correct, slower; rare in practice).
 */
import type * as tf from '@tensorflow/tfjs';
import { cropForPads, free, run, view, zeroInsert, type Info, type WasmBackend } from './internals.js';
import { convGeometry, filterGradPads, inputGradPads, type BackpropAttrs, type ConvGeometry } from './geometry.js';

/** Attributes of `DepthwiseConv2dNativeBackpropFilter`. */
export interface DepthwiseBackpropFilterAttrs extends BackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Attributes of `DepthwiseConv2dNativeBackpropInput`. */
export interface DepthwiseBackpropInputAttrs extends BackpropAttrs {
  inputShape: [number, number, number, number];
}

/** Kernel function for the filter gradient (inputs `x`, `dy`). */
export function depthwiseBackpropFilter(args: {
  inputs: { x: Info; dy: Info };
  backend: WasmBackend;
  attrs: DepthwiseBackpropFilterAttrs;
}): Info {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const g = convGeometry('DepthwiseConv2dNativeBackpropFilter', x.shape, attrs.filterShape, attrs, true);
  const [kH, kW, c, mult] = attrs.filterShape;
  if (mult !== 1) return depthwiseFilterGradLoop(backend, x, dy, g, c, mult);
  const n = g.batch;
  const xT = run(backend, 'Transpose', { x }, { perm: [1, 2, 0, 3] }); // [H, W, n, c]
  const dyT = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, n, c]
  const image = view(xT, [1, g.inH, g.inW, n * c]);
  const { input, owned, explicit } = cropForPads(backend, image, filterGradPads(g));
  const perImage = run(
    backend,
    'DepthwiseConv2dNative',
    { x: input, filter: view(dyT, [g.outH, g.outW, n * c, 1]) },
    { strides: [1, 1], dilations: [g.strideH, g.strideW], pad: explicit },
  ); // [1, kH, kW, n*c]
  free(backend, xT, dyT, owned ? input : undefined);
  const summed = run(backend, 'Sum', { x: view(perImage, [kH, kW, n, c]) }, { axis: [2], keepDims: false });
  free(backend, perImage);
  return view(summed, [kH, kW, c, 1]);
}

/** Kernel function for the input gradient (inputs `dy`, `filter`). */
export function depthwiseBackpropInput(args: {
  inputs: { dy: Info; filter: Info };
  backend: WasmBackend;
  attrs: DepthwiseBackpropInputAttrs;
}): Info {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const g = convGeometry('DepthwiseConv2dNativeBackpropInput', attrs.inputShape, filter.shape, attrs, true);
  const [, , c, mult] = filter.shape as [number, number, number, number];
  if (mult !== 1) return depthwiseInputGradLoop(backend, dy, filter, g, c, mult);
  const rotated = run(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const strided = g.strideH > 1 || g.strideW > 1;
  const dyz = strided ? zeroInsert(backend, dy, g.strideH, g.strideW) : dy;
  const { input, owned, explicit } = cropForPads(backend, dyz, inputGradPads(g));
  const dx = run(backend, 'DepthwiseConv2dNative', { x: input, filter: rotated }, { strides: [1, 1], dilations: [1, 1], pad: explicit });
  free(backend, rotated, strided ? dyz : undefined, owned ? input : undefined);
  return dx;
}

/**
 * Visits every (output position, kernel tap) pair of a depthwise convolution
 * whose input position is inside the image, with the flat offsets of the input
 * pixel, the output-gradient pixel and the filter tap (channel 0 of each).
 */
function forEachTap(g: ConvGeometry, c: number, m: number, visit: (xo: number, dyo: number, wo: number) => void): void {
  for (let b = 0; b < g.batch; b++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++)
        for (let kh = 0; kh < g.kH; kh++) {
          const h = oh * g.strideH + kh - g.padTop;
          if (h < 0 || h >= g.inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const w = ow * g.strideW + kw - g.padLeft;
            if (w < 0 || w >= g.inW) continue;
            visit(((b * g.inH + h) * g.inW + w) * c, ((b * g.outH + oh) * g.outW + ow) * c * m, (kh * g.kW + kw) * c * m);
          }
        }
}

function depthwiseFilterGradLoop(backend: WasmBackend, x: Info, dy: Info, g: ConvGeometry, c: number, m: number): Info {
  const out = backend.makeOutput([g.kH, g.kW, c, m], 'float32');
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  const dw = backend.typedArrayFromHeap(out);
  dw.fill(0);
  forEachTap(g, c, m, (xo, dyo, wo) => {
    for (let i = 0; i < c * m; i++) dw[wo + i]! += xs[xo + Math.floor(i / m)]! * dys[dyo + i]!;
  });
  return out;
}

function depthwiseInputGradLoop(backend: WasmBackend, dy: Info, filter: Info, g: ConvGeometry, c: number, m: number): Info {
  const out = backend.makeOutput([g.batch, g.inH, g.inW, c], 'float32');
  const dys = backend.typedArrayFromHeap(dy);
  const ws = backend.typedArrayFromHeap(filter);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  forEachTap(g, c, m, (xo, dyo, wo) => {
    for (let i = 0; i < c * m; i++) dx[xo + Math.floor(i / m)]! += dys[dyo + i]! * ws[wo + i]!;
  });
  return out;
}

/** Registration records for tfjs' kernel registry. */
export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};

/** See {@link depthwiseBackpropFilterConfig}. */
export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
