/**
 * ResNet-50 (He et al. 2016) with bottleneck v1.5 blocks as in torchvision:
 * the stride of a downsampling block sits on the 3x3 convolution (conv2), not
 * on the first 1x1. 7x7/2 stem and 3x3/2 max-pool; stages of 3, 4, 6, 3 blocks
 * with bottleneck widths 64/128/256/512 (times the width multiplier) and
 * expansion 4. The first block of every stage has a 1x1 convolution + BN
 * projection shortcut. No pretrained weights.
 *
 * Parameter count at the defaults (224x224x3, 1000 classes): 25,557,032
 * trainable parameters — conv kernels, BN gamma and beta, Dense kernel and
 * bias — exactly torchvision's `resnet50` count (whose BN running statistics
 * are buffers, not parameters). The BN moving mean/variance add 53,120
 * non-trainable weights in tfjs.
 *
 * Layer names:
 * - `input`, `stem_conv` (7x7/2, 64w), `stem_bn`, `stem_relu`, `stem_pool` (3x3/2 max)
 * - for stage `s` in 1..4 and block `b`, prefix `s{s}_b{b}_`: `conv1` (1x1), `bn1`, `relu1`,
 *   `conv2` (3x3, carries the stride), `bn2`, `relu2`, `conv3` (1x1, 4x width), `bn3`,
 *   `down_conv` (1x1) and `down_bn` in block 0, `add`, `out` (ReLU after the add)
 * - `gap`, `fc`
 */

import * as tf from '@tensorflow/tfjs';
import { InitFactory, bn, classifierHead, conv, modelInput, relu, resolveZooOptions, scaleChannels, type ZooOptions } from './common.js';

/** Blocks per stage of ResNet-50. */
export const RESNET50_BLOCKS: readonly number[] = Object.freeze([3, 4, 6, 3]);

/** Bottleneck widths per stage at width 1 (block output is 4x). */
export const RESNET50_WIDTHS: readonly number[] = Object.freeze([64, 128, 256, 512]);

/**
 * Builds ResNet-50 as a tfjs functional model (NHWC, logits output).
 *
 * @param opts - input shape (default 224x224x3), classes (default 1000), width multiplier, init seed
 */
export function buildResNet50(opts: ZooOptions = {}): tf.LayersModel {
  const o = resolveZooOptions('resnet50', opts, { inputShape: [224, 224, 3], numClasses: 1000 });
  const init = new InitFactory(o.seed);
  const input = modelInput(o.inputShape);
  let x = conv(input, { name: 'stem_conv', filters: scaleChannels(64, o.width), kernel: 7, stride: 2 }, init);
  x = bn(x, 'stem_bn');
  x = relu(x, 'stem_relu');
  x = tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  RESNET50_BLOCKS.forEach((blocks, si) => {
    const w = scaleChannels(RESNET50_WIDTHS[si], o.width);
    const out = 4 * w;
    for (let b = 0; b < blocks; b++) {
      const p = `s${si + 1}_b${b}_`;
      const stride = si > 0 && b === 0 ? 2 : 1;
      let y = conv(x, { name: `${p}conv1`, filters: w, kernel: 1 }, init);
      y = relu(bn(y, `${p}bn1`), `${p}relu1`);
      y = conv(y, { name: `${p}conv2`, filters: w, kernel: 3, stride }, init);
      y = relu(bn(y, `${p}bn2`), `${p}relu2`);
      y = conv(y, { name: `${p}conv3`, filters: out, kernel: 1 }, init);
      y = bn(y, `${p}bn3`);
      let shortcut = x;
      if (b === 0) {
        shortcut = conv(x, { name: `${p}down_conv`, filters: out, kernel: 1, stride }, init);
        shortcut = bn(shortcut, `${p}down_bn`);
      }
      x = tf.layers.add({ name: `${p}add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = relu(x, `${p}out`);
    }
  });
  const logits = classifierHead(x, o.numClasses, init);
  return tf.model({ inputs: input, outputs: logits, name: 'resnet50' });
}
