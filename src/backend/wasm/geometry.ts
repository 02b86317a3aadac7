/**
 * Convolution geometry shared by the gradient kernels: padding and output
 * sizes of the forward convolution, and the paddings of the forward
 * convolutions that compute its gradients.
 */
import * as tf from '@tensorflow/tfjs';
import type { Pads } from './internals.js';

/** Forward geometry of a 2-D convolution (NHWC), as tfjs computes it. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padLeft: number;
}

/** Attributes shared by the conv/depthwise backprop kernels. */
export interface BackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

/**
 * Computes the forward geometry from the input shape, filter shape and attrs.
 * Throws for NCHW data or dilation > 1, which tfjs' own gradients reject too.
 */
export function convGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: BackpropAttrs,
  depthwise: boolean,
): ConvGeometry {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`latprune wasm ${kernelName}: only NHWC is supported, got dataFormat '${attrs.dataFormat}'`);
  }
  const dil = attrs.dilations ?? 1;
  const [dh, dw] = typeof dil === 'number' ? [dil, dil] : dil;
  if (dh !== 1 || dw !== 1) {
    throw new Error(`latprune wasm ${kernelName}: dilation ${dh}x${dw} is not supported in gradients`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    outH: info.outHeight,
    outW: info.outWidth,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Padding of the filter-gradient convolution: the input x (spatial H x W) is
 * correlated with the output gradient used as a filter dilated by the stride,
 * producing kH x kW outputs. Negative values mean the input must be cropped.
 */
export function filterGradPads(g: ConvGeometry): Pads {
  return [g.padTop, g.kH + (g.outH - 1) * g.strideH - g.padTop - g.inH, g.padLeft, g.kW + (g.outW - 1) * g.strideW - g.padLeft - g.inW];
}

/**
 * Padding of the input-gradient convolution: the zero-inserted output gradient
 * (spatial (outH-1)*s+1) is correlated with the 180-degree rotated filter,
 * producing inH x inW outputs.
 */
export function inputGradPads(g: ConvGeometry): Pads {
  const zh = (g.outH - 1) * g.strideH + 1;
  const zw = (g.outW - 1) * g.strideW + 1;
  return [g.kH - 1 - g.padTop, g.inH + g.padTop - zh, g.kW - 1 - g.padLeft, g.inW + g.padLeft - zw];
}
