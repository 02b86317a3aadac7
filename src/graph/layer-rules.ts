/**
 * What each supported layer class does to channels, and which weight axes
 * its channels index. Pure functions of a {@link LayerSpec}.
 */

import type { LayerSpec } from './spec.js';
import type { WeightAxis } from './types.js';

/** How a layer maps input channels to output channels. */
export type LayerRule =
  /** A model input: fresh, fixed channels. */
  | { readonly kind: 'input' }
  /** Conv2D, Dense, SeparableConv2D: output channels are new; input channels are read through a kernel. */
  | { readonly kind: 'create'; readonly mixingActivation: boolean }
  /**
   * GroupedConv2D (imported from ONNX Conv with 1 < groups < channels): output
   * channels are new; channel `j` of every input group is one channel, and so
   * is channel `k` of every output group (a compacted grouped conv keeps the
   * same kernel indices in every group).
   */
  | { readonly kind: 'grouped'; readonly groups: number }
  /** DepthwiseConv2D: output channel `c * m + k` carries input channel `c`. */
  | { readonly kind: 'depthwise'; readonly multiplier: number; readonly mixingActivation: boolean }
  /** Output channel c = input channel c (BatchNormalization, activations, pooling, dropout, padding, GAP). */
  | { readonly kind: 'channelwise' }
  /** Elementwise but mixing channels (softmax over the channel axis): its channels are pinned. */
  | { readonly kind: 'pin' }
  /** Elementwise merge of several inputs (Add, Multiply, ...): their channels are one. */
  | { readonly kind: 'merge' }
  /** Concatenate along `axis` (with batch; -1 = last). */
  | { readonly kind: 'concat'; readonly axis: number }
  /** Flatten: element `p * C + c` carries channel `c`. */
  | { readonly kind: 'flatten' }
  /** Reshape: supported when the channel of every element is preserved. */
  | { readonly kind: 'reshape' }
  /** Not supported; `reason` says why. */
  | { readonly kind: 'unsupported'; readonly reason: string };

/** Activations that act on each element alone (zero or not at zero, the consumer masks handle it). */
const ELEMENTWISE_ACTIVATIONS = new Set([
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'hard_sigmoid',
  'hardSigmoid',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
]);
const MIXING_ACTIVATIONS = new Set(['softmax', 'log_softmax', 'logSoftmax']);

/** Classification of a fused or standalone activation name. */
function activationKind(a: unknown): 'elementwise' | 'mixing' | 'unknown' {
  if (a === undefined || a === null) return 'elementwise';
  const name = typeof a === 'string' ? a : String((a as { class_name?: unknown }).class_name ?? a);
  if (ELEMENTWISE_ACTIVATIONS.has(name)) return 'elementwise';
  if (MIXING_ACTIVATIONS.has(name)) return 'mixing';
  return 'unknown';
}

/**
 * Depth multiplier of a depthwise or separable conv: the last dimension of its
 * depthwise kernel (tfjs' SeparableConv2D config omits `depth_multiplier`),
 * else the config value, else 1.
 */
export function depthMultiplier(l: LayerSpec): number {
  const k = l.weights.find((w) => w.name === 'depthwise_kernel');
  if (k !== undefined && k.shape.length === 4) return k.shape[3]!;
  return Number(l.config['depth_multiplier'] ?? 1);
}

function channelAxisIsLast(axis: unknown, rank: number): boolean {
  const a: unknown = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : (axis ?? -1);
  return a === -1 || a === rank - 1;
}

type AxisMap = Map<string, WeightAxis[]>;
const ax = (role: WeightAxis['role'], axis: number, span = 1, div = 1): WeightAxis => ({ role, axis, span, div });

/**
 * What latprune knows about one tfjs layer class, in one place: its channel
 * rule (graph analysis), the channel axes of its weights (masks, compaction,
 * MRU store), whether it costs multiply-adds (params/MACs), whether latency
 * tables time it and as which operator, and whether runtimes fold it into the
 * convolution before it (latency epilogues).
 */
export interface LayerClass {
  /** The channel rule of a layer of this class. */
  readonly rule: (l: LayerSpec) => LayerRule;
  /** Channel axes of its weights by short weight name (none: no channel-dependent weights). */
  readonly weightAxes?: (l: LayerSpec) => AxisMap;
  /** Its multiply-adds are (output positions) x (kept kernel elements). */
  readonly macs?: boolean;
  /** The latency-table operator it is timed as (absent: not timed on its own). */
  readonly latencyOp?: 'conv' | 'dwconv' | 'gemm';
  /** Runtimes fold it into the preceding convolution (no cost of its own; latency epilogues look through it). */
  readonly folded?: boolean;
  /** It has a `data_format`, which must be channels_last. */
  readonly dataFormat?: boolean;
}

const fusedActivation = (c: LayerSpec['config']): LayerRule | undefined => {
  const act = activationKind(c['activation']);
  return act === 'unknown' ? { kind: 'unsupported', reason: `unknown fused activation ${JSON.stringify(c['activation'])}` } : undefined;
};
const creates = (l: LayerSpec): LayerRule =>
  fusedActivation(l.config) ?? { kind: 'create', mixingActivation: activationKind(l.config['activation']) === 'mixing' };
const channelwise = (): LayerRule => ({ kind: 'channelwise' });
const merge = (): LayerRule => ({ kind: 'merge' });
const CHANNELWISE: LayerClass = { rule: channelwise };
const SPATIAL: LayerClass = { rule: channelwise, dataFormat: true };
const MERGE: LayerClass = { rule: merge };

/** Every layer class latprune supports, by tfjs class name. */
export const LAYER_CLASSES: Readonly<Record<string, LayerClass>> = {
  InputLayer: { rule: () => ({ kind: 'input' }) },
  Conv2D: {
    rule: (l) =>
      typeof l.config['groups'] === 'number' && l.config['groups'] !== 1
        ? { kind: 'unsupported', reason: `grouped convolution (groups ${l.config['groups']})` }
        : creates(l),
    weightAxes: () =>
      new Map([
        ['kernel', [ax('input', 2), ax('output', 3)]],
        ['bias', [ax('output', 0)]],
      ]),
    macs: true,
    latencyOp: 'conv',
    dataFormat: true,
  },
  Dense: {
    rule: creates,
    weightAxes: () =>
      new Map([
        ['kernel', [ax('input', 0), ax('output', 1)]],
        ['bias', [ax('output', 0)]],
      ]),
    macs: true,
    latencyOp: 'gemm',
  },
  SeparableConv2D: {
    rule: creates,
    weightAxes: (l) =>
      new Map([
        ['depthwise_kernel', [ax('input', 2)]],
        ['pointwise_kernel', [ax('input', 2, 1, depthMultiplier(l)), ax('output', 3)]],
        ['bias', [ax('output', 0)]],
      ]),
    macs: true,
    dataFormat: true,
  },
  GroupedConv2D: {
    rule: (l) => {
      const groups = Number(l.config['groups']);
      return Number.isInteger(groups) && groups >= 1
        ? { kind: 'grouped', groups }
        : { kind: 'unsupported', reason: `groups ${String(l.config['groups'])}` };
    },
    weightAxes: (l) =>
      new Map([
        ['kernel', [{ role: 'input', axis: 2, span: 1, div: 1, groups: Number(l.config['groups']) }, ax('output', 3)]],
        ['bias', [ax('output', 0)]],
      ]),
    macs: true,
  },
  DepthwiseConv2D: {
    rule: (l) => {
      const m = depthMultiplier(l);
      const bad = fusedActivation(l.config);
      if (bad) return bad;
      if (!Number.isInteger(m) || m < 1) return { kind: 'unsupported', reason: `depth_multiplier ${String(l.config['depth_multiplier'])}` };
      return { kind: 'depthwise', multiplier: m, mixingActivation: activationKind(l.config['activation']) === 'mixing' };
    },
    weightAxes: () =>
      new Map([
        ['depthwise_kernel', [ax('input', 2), ax('output', 2, 2)]],
        ['bias', [ax('output', 0)]],
      ]),
    macs: true,
    latencyOp: 'dwconv',
    dataFormat: true,
  },
  BatchNormalization: {
    rule: (l) => {
      const rank = (l.outputShapes[0]?.length ?? 0) + 1;
      if (!channelAxisIsLast(l.config['axis'], rank))
        return {
          kind: 'unsupported',
          reason: `normalisation axis ${JSON.stringify(l.config['axis'])}; only the last (channel) axis is supported`,
        };
      return { kind: 'channelwise' };
    },
    weightAxes: () => new Map(['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => [w, [ax('output', 0)]])),
    folded: true,
  },
  Activation: {
    rule: (l) => {
      const act = activationKind(l.config['activation']);
      if (act === 'unknown') return { kind: 'unsupported', reason: `unknown activation ${JSON.stringify(l.config['activation'])}` };
      return act === 'mixing' ? { kind: 'pin' } : { kind: 'channelwise' };
    },
  },
  Softmax: { rule: () => ({ kind: 'pin' }) },
  Concatenate: { rule: (l) => ({ kind: 'concat', axis: Number(l.config['axis'] ?? -1) }) },
  Flatten: { rule: () => ({ kind: 'flatten' }), dataFormat: true },
  Reshape: { rule: () => ({ kind: 'reshape' }) },
  ReLU: CHANNELWISE,
  LeakyReLU: CHANNELWISE,
  ELU: CHANNELWISE,
  ThresholdedReLU: CHANNELWISE,
  HardSigmoid: CHANNELWISE,
  Dropout: { rule: channelwise, folded: true },
  SpatialDropout2D: CHANNELWISE,
  GaussianNoise: CHANNELWISE,
  GaussianDropout: CHANNELWISE,
  AlphaDropout: CHANNELWISE,
  MaxPooling2D: SPATIAL,
  AveragePooling2D: SPATIAL,
  ZeroPadding2D: SPATIAL,
  Cropping2D: SPATIAL,
  UpSampling2D: SPATIAL,
  GlobalAveragePooling2D: SPATIAL,
  GlobalMaxPooling2D: SPATIAL,
  Add: MERGE,
  Multiply: MERGE,
  Subtract: MERGE,
  Average: MERGE,
  Maximum: MERGE,
  Minimum: MERGE,
};

/** What latprune knows about a tfjs layer class, or `undefined` for a class it does not support. */
export function layerClass(className: string): LayerClass | undefined {
  return Object.hasOwn(LAYER_CLASSES, className) ? LAYER_CLASSES[className] : undefined;
}

/**
 * The channel rule of a layer.
 *
 * @param l - the layer
 */
export function ruleOf(l: LayerSpec): LayerRule {
  const lc = layerClass(l.className);
  if (!lc) return { kind: 'unsupported', reason: 'no channel rule for this layer class' };
  const f = l.config['data_format'];
  if (lc.dataFormat && f !== undefined && f !== null && f !== 'channels_last') {
    return { kind: 'unsupported', reason: `data_format ${String(f)}; latprune supports channels_last (NHWC) only` };
  }
  return lc.rule(l);
}

/**
 * Channel axes of a supported layer's weights, by short weight name.
 *
 * @param l - the layer
 * @returns axes per weight name; a weight not listed does not depend on channels
 */
export function weightAxes(l: LayerSpec): Map<string, WeightAxis[]> {
  return layerClass(l.className)?.weightAxes?.(l) ?? new Map<string, WeightAxis[]>();
}

/** Whether a short weight name is a kernel (multiply-add weight) rather than a bias or a BN parameter. */
export function isKernelWeight(name: string): boolean {
  return name === 'kernel' || name === 'depthwise_kernel' || name === 'pointwise_kernel';
}
