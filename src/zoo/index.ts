/**
 * Model zoo: tfjs functional (NHWC) builders with stable layer names, a
 * registry by name, and parameter/FLOP counting.
 *
 * @packageDocumentation
 */

export { type ZooOptions, scaleChannels } from './common.js';
export { type ResNetCifarOptions, RESNET_CIFAR_WIDTHS, buildResNetCifar } from './resnet-cifar.js';
export { RESNET50_BLOCKS, RESNET50_WIDTHS, buildResNet50 } from './resnet50.js';
export { MOBILENET_V1_BLOCKS, buildMobileNetV1 } from './mobilenet-v1.js';
export { VGG_SMALL_WIDTHS, VGG_SMALL_HIDDEN, buildVggSmall } from './vgg-small.js';
export { type ZooEntry, zooNames, zooEntry, buildZooModel } from './registry.js';
export { type LayerStats, type ModelStats, modelStats } from './stats.js';
