/**
 * MobileNet-V1 (Howard et al. 2017): a 3x3/2 stem convolution, then 13
 * depthwise-separable blocks (depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN +
 * ReLU6), global average pooling and a Dense classifier. Every channel count
 * is multiplied by the width multiplier alpha (`width`).
 *
 * At alpha 1.0, 224x224x3, 1000 classes: 4,231,976 trainable parameters (as
 * Keras' MobileNet, whose 1x1-conv classifier has the same parameters as our
 * Dense) plus 21,888 non-trainable BN moving statistics; about 569M
 * multiply-adds.
 *
 * Layer names:
 * - `input`, `stem_conv` (3x3/2, 32a), `stem_bn`, `stem_relu`
 * - for block `i` in 1..13: `b{i}_dw` (DepthwiseConv2D 3x3), `b{i}_dw_bn`, `b{i}_dw_relu`,
 *   `b{i}_pw` (Conv2D 1x1), `b{i}_pw_bn`, `b{i}_pw_relu`
 * - `gap`, `fc`
 */

import * as tf from '@tensorflow/tfjs';
import {
  InitFactory,
  bn,
  classifierHead,
  conv,
  depthwiseConv,
  modelInput,
  relu6,
  resolveZooOptions,
  scaleChannels,
  type ZooOptions,
} from './common.js';

/** Pointwise output channels (at alpha 1) and depthwise stride of the 13 blocks. */
export const MOBILENET_V1_BLOCKS: readonly (readonly [filters: number, stride: number])[] = Object.freeze([
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
] as const);

/**
 * Builds MobileNet-V1 as a tfjs functional model (NHWC, logits output).
 *
 * @param opts - input shape (default 224x224x3), classes (default 1000), `width` = alpha (default 1), init seed
 */
export function buildMobileNetV1(opts: ZooOptions = {}): tf.LayersModel {
  const o = resolveZooOptions('mobilenet_v1', opts, { inputShape: [224, 224, 3], numClasses: 1000 });
  const init = new InitFactory(o.seed);
  const input = modelInput(o.inputShape);
  let x = conv(input, { name: 'stem_conv', filters: scaleChannels(32, o.width), kernel: 3, stride: 2 }, init);
  x = relu6(bn(x, 'stem_bn'), 'stem_relu');
  MOBILENET_V1_BLOCKS.forEach(([filters, stride], k) => {
    const p = `b${k + 1}_`;
    x = depthwiseConv(x, `${p}dw`, 3, stride, init);
    x = relu6(bn(x, `${p}dw_bn`), `${p}dw_relu`);
    x = conv(x, { name: `${p}pw`, filters: scaleChannels(filters, o.width), kernel: 1 }, init);
    x = relu6(bn(x, `${p}pw_bn`), `${p}pw_relu`);
  });
  const logits = classifierHead(x, o.numClasses, init);
  return tf.model({ inputs: input, outputs: logits, name: 'mobilenet_v1' });
}
