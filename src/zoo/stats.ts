/**
 * Parameter and FLOP counts of a tfjs model, for `latprune zoo` and reports.
 *
 * FLOPs are counted as multiply-adds (MACs) of the convolution and Dense
 * layers at the model's own input size, batch 1 — the convention of
 * torchvision's "GFLOPS" column and of the HALP/EagleEye papers. BatchNorm,
 * activations, pooling and Add are not counted. Per layer:
 * - Conv2D: `Ho * Wo * kh * kw * Cin * Cout`
 * - DepthwiseConv2D: `Ho * Wo * kh * kw * Cin * depthMultiplier`
 * - SeparableConv2D: depthwise part plus `Ho * Wo * Cin * depthMultiplier * Cout`
 * - Dense: `positions * in * units` (positions = 1 after Flatten/GAP)
 * Biases are not counted as MACs.
 */

import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';

/** Counts of one layer. */
export interface LayerStats {
  /** Layer name. */
  readonly name: string;
  /** tfjs class name, e.g. `Conv2D`. */
  readonly className: string;
  /** Output shape without the batch dimension. */
  readonly outputShape: readonly number[];
  /** All weights of the layer (trainable + non-trainable). */
  readonly params: number;
  /** Trainable weights of the layer. */
  readonly trainableParams: number;
  /** Multiply-adds at batch 1. */
  readonly macs: number;
}

/** Counts of a whole model. */
export interface ModelStats {
  /** All weights, including BatchNorm moving mean/variance. */
  readonly params: number;
  /** Trainable weights: kernels, biases, BatchNorm gamma/beta (the count PyTorch reports). */
  readonly trainableParams: number;
  /** Non-trainable weights (BatchNorm moving statistics). */
  readonly nonTrainableParams: number;
  /** Multiply-adds of conv and Dense layers at batch 1. */
  readonly macs: number;
  /** Per-layer counts, in model order. */
  readonly layers: readonly LayerStats[];
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

function shapeOf(s: tf.Shape | tf.Shape[], layer: string): number[] {
  if (Array.isArray(s[0]) || s.length === 0) {
    throw new LatpruneError('UNSUPPORTED_LAYER', `layer ${layer}: has several outputs; stats support single-output layers only.`);
  }
  const dims = (s as (number | null)[]).slice(1);
  if (dims.some((d) => d === null)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `layer ${layer}: output shape [${s}] has unknown dimensions; build the model with a fixed input size.`,
    );
  }
  return dims as number[];
}

function layerMacs(layer: tf.layers.Layer, out: number[]): number {
  const cls = layer.getClassName();
  const w = layer.weights.map((v) => v.shape as number[]);
  const spatial = out.length >= 2 ? prod(out.slice(0, -1)) : 1;
  switch (cls) {
    case 'Conv2D': {
      const [kh, kw, cin, cout] = w[0];
      return spatial * kh * kw * cin * cout;
    }
    case 'DepthwiseConv2D': {
      const [kh, kw, cin, mult] = w[0];
      return spatial * kh * kw * cin * mult;
    }
    case 'SeparableConv2D': {
      const [kh, kw, cin, mult] = w[0];
      const cout = w[1][3];
      return spatial * (kh * kw * cin * mult + cin * mult * cout);
    }
    case 'Dense': {
      const [din, units] = w[0];
      return (out.length >= 2 ? prod(out.slice(0, -1)) : 1) * din * units;
    }
    default:
      return 0;
  }
}

/**
 * Counts parameters and multiply-adds of `model`.
 *
 * @param model - a built tfjs model with a fixed input size
 */
export function modelStats(model: tf.LayersModel): ModelStats {
  const layers: LayerStats[] = model.layers.map((layer) => {
    const outputShape = shapeOf(layer.outputShape, layer.name);
    const params = layer.countParams();
    const trainableParams = layer.trainableWeights.reduce((a, v) => a + prod(v.shape as number[]), 0);
    return { name: layer.name, className: layer.getClassName(), outputShape, params, trainableParams, macs: layerMacs(layer, outputShape) };
  });
  const params = layers.reduce((a, l) => a + l.params, 0);
  const trainableParams = layers.reduce((a, l) => a + l.trainableParams, 0);
  const macs = layers.reduce((a, l) => a + l.macs, 0);
  return { params, trainableParams, nonTrainableParams: params - trainableParams, macs, layers };
}
