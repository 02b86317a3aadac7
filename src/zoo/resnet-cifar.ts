/**
 * CIFAR-style ResNet (He et al. 2016, section 4.2): depth 6n+2, three stages
 * of n basic blocks with 16/32/64 channels (times the width multiplier), the
 * first block of stages 2 and 3 downsampling with stride 2.
 *
 * Every shortcut that changes shape is "option B": a 1x1 stride-2 convolution
 * plus BatchNormalization, so every residual is an `Add` layer of two
 * prunable branches (identity shortcuts couple channels through the Add).
 *
 * Layer names (they key latency tables and pruning masks):
 * - `input`
 * - `stem_conv` (3x3, 16w), `stem_bn`, `stem_relu`
 * - for stage `s` in 1..3 and block `b` in 0..n-1, prefix `s{s}_b{b}_`:
 *   `conv1` (3x3, stride 2 when downsampling), `bn1`, `relu1`, `conv2` (3x3), `bn2`,
 *   `down_conv` (1x1) and `down_bn` when the block changes shape,
 *   `add` (residual sum), `out` (ReLU after the add)
 * - `gap` (GlobalAveragePooling2D), `fc` (Dense logits)
 */

import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { InitFactory, bn, classifierHead, conv, modelInput, relu, resolveZooOptions, scaleChannels, type ZooOptions } from './common.js';

/** Options of {@link buildResNetCifar}. Defaults: input 32x32x3, 10 classes, width 1. */
export interface ResNetCifarOptions extends ZooOptions {
  /** Depth 6n+2 (20, 32, 44, 56, 110, ...). */
  readonly depth: number;
}

/** Stage widths at width multiplier 1. */
export const RESNET_CIFAR_WIDTHS: readonly number[] = Object.freeze([16, 32, 64]);

/**
 * Builds a CIFAR-style ResNet as a tfjs functional model (NHWC, logits output).
 *
 * @param opts - depth, input shape, classes, width multiplier, init seed
 * @throws LatpruneError `BAD_ARGUMENT` when depth is not 6n+2 or an option is invalid
 */
export function buildResNetCifar(opts: ResNetCifarOptions): tf.LayersModel {
  const { depth } = opts;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new LatpruneError('BAD_ARGUMENT', `CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110), got ${depth}.`);
  }
  const name = `resnet${depth}`;
  const o = resolveZooOptions(name, opts, { inputShape: [32, 32, 3], numClasses: 10 });
  const n = (depth - 2) / 6;
  const init = new InitFactory(o.seed);
  const input = modelInput(o.inputShape);
  const widths = RESNET_CIFAR_WIDTHS.map((c) => scaleChannels(c, o.width));

  let x = conv(input, { name: 'stem_conv', filters: widths[0], kernel: 3 }, init);
  x = bn(x, 'stem_bn');
  x = relu(x, 'stem_relu');
  let channels = widths[0];
  widths.forEach((w, si) => {
    for (let b = 0; b < n; b++) {
      const p = `s${si + 1}_b${b}_`;
      const stride = si > 0 && b === 0 ? 2 : 1;
      let y = conv(x, { name: `${p}conv1`, filters: w, kernel: 3, stride }, init);
      y = bn(y, `${p}bn1`);
      y = relu(y, `${p}relu1`);
      y = conv(y, { name: `${p}conv2`, filters: w, kernel: 3 }, init);
      y = bn(y, `${p}bn2`);
      let shortcut = x;
      if (stride !== 1 || channels !== w) {
        shortcut = conv(x, { name: `${p}down_conv`, filters: w, kernel: 1, stride }, init);
        shortcut = bn(shortcut, `${p}down_bn`);
      }
      x = tf.layers.add({ name: `${p}add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = relu(x, `${p}out`);
      channels = w;
    }
  });
  const logits = classifierHead(x, o.numClasses, init);
  return tf.model({ inputs: input, outputs: logits, name });
}
