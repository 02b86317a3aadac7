/**
 * Shared options and layer helpers of the model zoo.
 *
 * Conventions for every zoo model: NHWC input named `input`; convolutions
 * without bias, followed by BatchNormalization (momentum 0.9, epsilon 1e-5,
 * as PyTorch's defaults) whose gamma/beta are trainable and whose moving
 * mean/variance are not; `same` padding (for even input sizes and stride 2 this
 * gives the same output sizes as PyTorch's symmetric `k // 2` padding, though
 * TensorFlow pads the extra row/column at the bottom/right); He-normal
 * (fan-in, truncated) kernel initialisation; logits output (no softmax).
 */

import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';

/** A tfjs weight initialiser. */
type Initializer = ReturnType<typeof tf.initializers.heNormal>;

/** Options common to all zoo builders. Unset fields take the model's defaults. */
export interface ZooOptions {
  /** Input `[height, width, channels]`. */
  readonly inputShape?: readonly [number, number, number];
  /** Number of output classes (units of the final Dense layer). */
  readonly numClasses?: number;
  /** Width multiplier applied to every hidden layer's channel count (MobileNet's alpha); default 1. */
  readonly width?: number;
  /**
   * Seed of the weight initialisers. With a seed, two builds give identical weights (layer `i` in
   * build order uses `seed + i`); without one, weights are random.
   */
  readonly seed?: number;
}

/** {@link ZooOptions} with every field resolved. */
export interface ResolvedZooOptions {
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly width: number;
  readonly seed: number | undefined;
}

/**
 * Fills defaults and validates options.
 *
 * @param model - model name for error messages
 * @param opts - user options
 * @param defaults - the model's default input shape and class count
 * @throws LatpruneError `BAD_ARGUMENT` naming the bad field
 */
export function resolveZooOptions(
  model: string,
  opts: ZooOptions,
  defaults: { inputShape: readonly [number, number, number]; numClasses: number },
): ResolvedZooOptions {
  const inputShape = opts.inputShape ?? defaults.inputShape;
  const numClasses = opts.numClasses ?? defaults.numClasses;
  const width = opts.width ?? 1;
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${model}: inputShape must be [height, width, channels] of positive integers, got [${inputShape}].`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new LatpruneError('BAD_ARGUMENT', `${model}: numClasses must be a positive integer, got ${numClasses}.`);
  }
  if (!(width > 0 && Number.isFinite(width))) {
    throw new LatpruneError('BAD_ARGUMENT', `${model}: width multiplier must be a positive number, got ${width}.`);
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new LatpruneError('BAD_ARGUMENT', `${model}: seed must be an integer, got ${opts.seed}.`);
  }
  return { inputShape, numClasses, width, seed: opts.seed };
}

/**
 * Channel count after a width multiplier: `max(1, round(base * width))`.
 *
 * @param base - channel count at width 1
 * @param width - multiplier
 */
export function scaleChannels(base: number, width: number): number {
  return Math.max(1, Math.round(base * width));
}

/** Hands out initialisers, seeded deterministically in build order when a seed is set. */
export class InitFactory {
  private next = 0;
  constructor(private readonly seed: number | undefined) {}

  /** He-normal initialiser for convolution kernels. */
  he(): Initializer {
    return tf.initializers.heNormal(this.seed === undefined ? {} : { seed: this.seed + this.next++ });
  }

  /** Glorot-uniform initialiser for Dense kernels. */
  glorot(): Initializer {
    return tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed + this.next++ });
  }
}

/** Parameters of {@link conv}. */
export interface ConvSpec {
  readonly name: string;
  readonly filters: number;
  readonly kernel: number;
  readonly stride?: number;
}

/**
 * Conv2D without bias, `same` padding.
 */
export function conv(x: tf.SymbolicTensor, spec: ConvSpec, init: InitFactory): tf.SymbolicTensor {
  return tf.layers
    .conv2d({
      name: spec.name,
      filters: spec.filters,
      kernelSize: spec.kernel,
      strides: spec.stride ?? 1,
      padding: 'same',
      useBias: false,
      kernelInitializer: init.he(),
    })
    .apply(x) as tf.SymbolicTensor;
}

/**
 * Depthwise Conv2D (multiplier 1) without bias, `same` padding.
 */
export function depthwiseConv(x: tf.SymbolicTensor, name: string, kernel: number, stride: number, init: InitFactory): tf.SymbolicTensor {
  return tf.layers
    .depthwiseConv2d({
      name,
      kernelSize: kernel,
      strides: stride,
      depthMultiplier: 1,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: init.he(),
    })
    .apply(x) as tf.SymbolicTensor;
}

/** BatchNormalization over the channel axis with PyTorch's momentum/epsilon. */
export function bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.batchNormalization({ name, axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
}

/** ReLU activation layer. */
export function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
}

/** ReLU6 (a `ReLU` layer with `maxValue: 6`). */
export function relu6(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name, maxValue: 6 }).apply(x) as tf.SymbolicTensor;
}

/** Global average pooling then Dense logits, named `gap` and `fc`. */
export function classifierHead(x: tf.SymbolicTensor, numClasses: number, init: InitFactory): tf.SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ name: 'fc', units: numClasses, kernelInitializer: init.glorot() }).apply(pooled) as tf.SymbolicTensor;
}

/** Symbolic input named `input`. */
export function modelInput(shape: readonly [number, number, number]): tf.SymbolicTensor {
  return tf.input({ shape: [...shape], name: 'input' });
}
