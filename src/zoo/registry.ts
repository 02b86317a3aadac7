/**
 * Registry of zoo models by name.
 */

import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import type { ZooOptions } from './common.js';
import { buildMobileNetV1 } from './mobilenet-v1.js';
import { buildResNet50 } from './resnet50.js';
import { buildResNetCifar } from './resnet-cifar.js';
import { buildVggSmall } from './vgg-small.js';

/** A registered model. */
export interface ZooEntry {
  /** Registry name, e.g. `resnet20`. */
  readonly name: string;
  /** One-line description. */
  readonly description: string;
  /** Input `[height, width, channels]` used when none is given. */
  readonly defaultInputShape: readonly [number, number, number];
  /** Classes used when none is given. */
  readonly defaultNumClasses: number;
  /** Builds the model. */
  readonly build: (opts: ZooOptions) => tf.LayersModel;
}

const cifarResNet = (depth: number): ZooEntry => ({
  name: `resnet${depth}`,
  description: `CIFAR ResNet-${depth} (6n+2, 16/32/64 channels, option-B shortcuts)`,
  defaultInputShape: [32, 32, 3],
  defaultNumClasses: 10,
  build: (opts) => buildResNetCifar({ ...opts, depth }),
});

const ENTRIES: readonly ZooEntry[] = Object.freeze([
  cifarResNet(20),
  cifarResNet(32),
  cifarResNet(44),
  cifarResNet(56),
  cifarResNet(110),
  {
    name: 'resnet50',
    description: 'ResNet-50 v1.5 (torchvision layout, 25.56M params at 224x224x3/1000)',
    defaultInputShape: [224, 224, 3],
    defaultNumClasses: 1000,
    build: buildResNet50,
  },
  {
    name: 'mobilenet_v1',
    description: 'MobileNet-V1 (depthwise-separable, ReLU6, width = alpha)',
    defaultInputShape: [224, 224, 3],
    defaultNumClasses: 1000,
    build: buildMobileNetV1,
  },
  {
    name: 'vgg_small',
    description: 'small VGG: 3 stages of 2x(conv-bn-relu) + maxpool, Flatten, Dense 256, Dense',
    defaultInputShape: [32, 32, 3],
    defaultNumClasses: 10,
    build: buildVggSmall,
  },
]);

/** Names of all registered models, in registry order. */
export function zooNames(): string[] {
  return ENTRIES.map((e) => e.name);
}

/**
 * The registry entry of `name`.
 *
 * @throws LatpruneError `NOT_FOUND` listing the valid names
 */
export function zooEntry(name: string): ZooEntry {
  const e = ENTRIES.find((x) => x.name === name);
  if (e === undefined) {
    throw new LatpruneError('NOT_FOUND', `Unknown zoo model "${name}"; valid names: ${zooNames().join(', ')}.`);
  }
  return e;
}

/**
 * Builds a registered model.
 *
 * @param name - one of {@link zooNames}
 * @param opts - input shape, classes, width multiplier, init seed (defaults per model)
 * @throws LatpruneError `NOT_FOUND` for an unknown name (listing valid ones), `BAD_ARGUMENT` for bad options
 */
export function buildZooModel(name: string, opts: ZooOptions = {}): tf.LayersModel {
  return zooEntry(name).build(opts);
}
