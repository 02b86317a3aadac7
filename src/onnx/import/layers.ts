/**
 * The two tfjs layer classes the ONNX importer adds (registered with tfjs
 * serialization on import of this module, so imported models survive
 * `toJSON`/`modelFromJSON`, compaction and model files):
 *
 * - `GroupedConv2D`: a convolution with `groups` (1 < groups < input
 *   channels); tfjs' Conv2D has none. Kernel `[kh, kw, cin / groups, filters]`
 *   (Keras' grouped Conv2D layout); output channels `g * filters / groups ..`
 *   read input channels `g * cin / groups ..`. The channel analysis couples
 *   channel `j` of every group (see `docs/graph.md`).
 * - `HardSigmoid`: `max(0, min(1, alpha * x + beta))` with ONNX's parameters
 *   (tfjs' `hard_sigmoid` activation is fixed at alpha 0.2; PyTorch uses 1/6).
 */
import * as tf from '@tensorflow/tfjs';

type Pair = [number, number];

/** Config of {@link GroupedConv2D}. */
export interface GroupedConv2DArgs {
  readonly name?: string;
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides?: Pair;
  readonly dilationRate?: Pair;
  readonly padding?: 'valid' | 'same';
  readonly groups: number;
  readonly useBias?: boolean;
  readonly trainable?: boolean;
}

const pairOf = (v: unknown, d: number): Pair =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : v === undefined || v === null ? [d, d] : [Number(v), Number(v)];

/** A grouped 2-D convolution, NHWC (see the module comment). */
export class GroupedConv2D extends tf.layers.Layer {
  /** tfjs serialization name. */
  static readonly className = 'GroupedConv2D';
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly dilationRate: Pair;
  readonly padding: 'valid' | 'same';
  readonly groups: number;
  readonly useBias: boolean;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  /** @param args - filters, kernel size, strides, dilation, padding, groups, bias */
  constructor(args: GroupedConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pairOf(args.kernelSize, 1);
    this.strides = pairOf(args.strides, 1);
    this.dilationRate = pairOf(args.dilationRate, 1);
    this.padding = args.padding ?? 'valid';
    this.groups = args.groups;
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = s[s.length - 1]!;
    if (cin % this.groups !== 0 || this.filters % this.groups !== 0) {
      throw new Error(
        `GroupedConv2D ${this.name}: ${cin} input channels and ${this.filters} filters must both be divisible by groups ${this.groups}.`,
      );
    }
    this.kernel = this.addWeight(
      'kernel',
      [this.kernelSize[0], this.kernelSize[1], cin / this.groups, this.filters],
      'float32',
      tf.initializers.glorotUniform({}),
    );
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = [0, 1].map((i) => {
      const n = s[i + 1];
      if (n === null || n === undefined) return null;
      const k = this.dilationRate[i]! * (this.kernelSize[i]! - 1) + 1;
      return this.padding === 'same' ? Math.ceil(n / this.strides[i]!) : Math.floor((n - k) / this.strides[i]!) + 1;
    });
    return [s[0] ?? null, out[0]!, out[1]!, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const k = this.kernel!.read() as tf.Tensor4D;
      const xs = tf.split(x, this.groups, 3);
      const ks = tf.split(k, this.groups, 3);
      const ys = xs.map((xi, g) =>
        tf.conv2d(xi as tf.Tensor4D, ks[g]! as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate),
      );
      let y: tf.Tensor = tf.concat(ys, 3);
      if (this.bias !== undefined) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernel_size: [...this.kernelSize],
      strides: [...this.strides],
      dilation_rate: [...this.dilationRate],
      padding: this.padding,
      groups: this.groups,
      use_bias: this.useBias,
      data_format: 'channels_last',
    };
  }

  /** Builds the layer from its (snake_case) config. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const c = config as Record<string, unknown>;
    const args: GroupedConv2DArgs = {
      name: c['name'] as string,
      trainable: c['trainable'] as boolean | undefined,
      filters: Number(c['filters']),
      kernelSize: pairOf(c['kernel_size'] ?? c['kernelSize'], 1),
      strides: pairOf(c['strides'], 1),
      dilationRate: pairOf(c['dilation_rate'] ?? c['dilationRate'], 1),
      padding: (c['padding'] as 'valid' | 'same' | undefined) ?? 'valid',
      groups: Number(c['groups']),
      useBias: (c['use_bias'] ?? c['useBias'] ?? true) as boolean,
    };
    return new cls(args);
  }
}

/** Config of {@link HardSigmoid}. */
export interface HardSigmoidArgs {
  readonly name?: string;
  /** Slope (ONNX default 0.2; PyTorch's hardsigmoid exports 1/6). */
  readonly alpha: number;
  /** Offset (ONNX default 0.5). */
  readonly beta: number;
  readonly trainable?: boolean;
}

/** `max(0, min(1, alpha * x + beta))`, elementwise. */
export class HardSigmoid extends tf.layers.Layer {
  /** tfjs serialization name. */
  static readonly className = 'HardSigmoid';
  readonly alpha: number;
  readonly beta: number;

  /** @param args - alpha and beta */
  constructor(args: HardSigmoidArgs) {
    super(args);
    this.alpha = args.alpha;
    this.beta = args.beta;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.clipByValue(tf.add(tf.mul(x, this.alpha), this.beta), 0, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha, beta: this.beta };
  }
}

tf.serialization.registerClass(GroupedConv2D);
tf.serialization.registerClass(HardSigmoid);
