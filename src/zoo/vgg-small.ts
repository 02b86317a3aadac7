/**
 * A small VGG-style network for CIFAR-size inputs: three stages of
 * (conv 3x3 + BN + ReLU) x 2 followed by 2x2 max-pooling, with 32/64/128
 * channels (times the width multiplier), then Flatten, a hidden Dense layer of
 * 256 units (times the width multiplier) with ReLU, and a Dense logits layer.
 * It exercises channel coupling of a Dense layer after Flatten (each channel
 * of `s3_relu2` owns `(H/8)*(W/8)` rows of `fc1`'s kernel).
 *
 * Layer names:
 * - `input`
 * - for stage `s` in 1..3: `s{s}_conv1`, `s{s}_bn1`, `s{s}_relu1`, `s{s}_conv2`, `s{s}_bn2`, `s{s}_relu2`, `s{s}_pool`
 * - `flatten`, `fc1`, `fc1_relu`, `fc2` (logits)
 */

import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { InitFactory, bn, conv, modelInput, relu, resolveZooOptions, scaleChannels, type ZooOptions } from './common.js';

/** Stage widths at width 1. */
export const VGG_SMALL_WIDTHS: readonly number[] = Object.freeze([32, 64, 128]);

/** Hidden Dense units at width 1. */
export const VGG_SMALL_HIDDEN = 256;

/**
 * Builds the small VGG as a tfjs functional model (NHWC, logits output).
 *
 * @param opts - input shape (default 32x32x3, both sides >= 8), classes (default 10), width multiplier, init seed
 * @throws LatpruneError `BAD_ARGUMENT` when the input is smaller than 8x8
 */
export function buildVggSmall(opts: ZooOptions = {}): tf.LayersModel {
  const o = resolveZooOptions('vgg_small', opts, { inputShape: [32, 32, 3], numClasses: 10 });
  if (o.inputShape[0] < 8 || o.inputShape[1] < 8) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `vgg_small: input must be at least 8x8 (three 2x2 poolings), got ${o.inputShape[0]}x${o.inputShape[1]}.`,
    );
  }
  const init = new InitFactory(o.seed);
  const input = modelInput(o.inputShape);
  let x = input;
  VGG_SMALL_WIDTHS.forEach((base, si) => {
    const w = scaleChannels(base, o.width);
    const p = `s${si + 1}_`;
    for (const k of [1, 2]) {
      x = conv(x, { name: `${p}conv${k}`, filters: w, kernel: 3 }, init);
      x = relu(bn(x, `${p}bn${k}`), `${p}relu${k}`);
    }
    x = tf.layers.maxPooling2d({ name: `${p}pool`, poolSize: 2, strides: 2 }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({ name: 'fc1', units: scaleChannels(VGG_SMALL_HIDDEN, o.width), kernelInitializer: init.glorot() })
    .apply(x) as tf.SymbolicTensor;
  x = relu(x, 'fc1_relu');
  const logits = tf.layers.dense({ name: 'fc2', units: o.numClasses, kernelInitializer: init.glorot() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'vgg_small' });
}
