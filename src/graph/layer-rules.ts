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

const CHANNELWISE = new Set([
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'MaxPooling2D',
  'AveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'HardSigmoid',
]);

/** Layers with a data_format that must be channels_last. */
const HAS_DATA_FORMAT = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
]);

const MERGES = new Set(['Add', 'Multiply', 'Subtract', 'Average', 'Maximum', 'Minimum']);

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

/**
 * The channel rule of a layer.
 *
 * @param l - the layer
 */
export function ruleOf(l: LayerSpec): LayerRule {
  const c = l.config;
  const cls = l.className;
  if (HAS_DATA_FORMAT.has(cls) && c['data_format'] !== undefined && c['data_format'] !== null && c['data_format'] !== 'channels_last') {
    return { kind: 'unsupported', reason: `data_format ${String(c['data_format'])}; latprune supports channels_last (NHWC) only` };
  }
  switch (cls) {
    case 'InputLayer':
      return { kind: 'input' };
    case 'Conv2D':
    case 'Dense':
    case 'SeparableConv2D': {
      if (cls === 'Conv2D' && typeof c['groups'] === 'number' && c['groups'] !== 1) {
        return { kind: 'unsupported', reason: `grouped convolution (groups ${c['groups']})` };
      }
      const act = activationKind(c['activation']);
      if (act === 'unknown') return { kind: 'unsupported', reason: `unknown fused activation ${JSON.stringify(c['activation'])}` };
      return { kind: 'create', mixingActivation: act === 'mixing' };
    }
    case 'GroupedConv2D': {
      const groups = Number(c['groups']);
      if (!Number.isInteger(groups) || groups < 1) return { kind: 'unsupported', reason: `groups ${String(c['groups'])}` };
      return { kind: 'grouped', groups };
    }
    case 'DepthwiseConv2D': {
      const m = depthMultiplier(l);
      const act = activationKind(c['activation']);
      if (act === 'unknown') return { kind: 'unsupported', reason: `unknown fused activation ${JSON.stringify(c['activation'])}` };
      if (!Number.isInteger(m) || m < 1) return { kind: 'unsupported', reason: `depth_multiplier ${String(c['depth_multiplier'])}` };
      return { kind: 'depthwise', multiplier: m, mixingActivation: act === 'mixing' };
    }
    case 'BatchNormalization': {
      const rank = (l.outputShapes[0]?.length ?? 0) + 1;
      if (!channelAxisIsLast(c['axis'], rank)) {
        return { kind: 'unsupported', reason: `normalisation axis ${JSON.stringify(c['axis'])}; only the last (channel) axis is supported` };
      }
      return { kind: 'channelwise' };
    }
    case 'Activation': {
      const act = activationKind(c['activation']);
      if (act === 'unknown') return { kind: 'unsupported', reason: `unknown activation ${JSON.stringify(c['activation'])}` };
      return act === 'mixing' ? { kind: 'pin' } : { kind: 'channelwise' };
    }
    case 'Softmax':
      return { kind: 'pin' };
    case 'Concatenate':
      return { kind: 'concat', axis: Number(c['axis'] ?? -1) };
    case 'Flatten':
      return { kind: 'flatten' };
    case 'Reshape':
      return { kind: 'reshape' };
    default:
      if (CHANNELWISE.has(cls)) return { kind: 'channelwise' };
      if (MERGES.has(cls)) return { kind: 'merge' };
      return { kind: 'unsupported', reason: 'no channel rule for this layer class' };
  }
}

/**
 * Channel axes of a supported layer's weights, by short weight name.
 *
 * @param l - the layer
 * @returns axes per weight name; a weight not listed does not depend on channels
 */
export function weightAxes(l: LayerSpec): Map<string, WeightAxis[]> {
  const out = new Map<string, WeightAxis[]>();
  const ax = (role: WeightAxis['role'], axis: number, span = 1, div = 1): WeightAxis => ({ role, axis, span, div });
  switch (l.className) {
    case 'Conv2D':
      out.set('kernel', [ax('input', 2), ax('output', 3)]);
      out.set('bias', [ax('output', 0)]);
      break;
    case 'Dense':
      out.set('kernel', [ax('input', 0), ax('output', 1)]);
      out.set('bias', [ax('output', 0)]);
      break;
    case 'GroupedConv2D': {
      const groups = Number(l.config['groups']);
      out.set('kernel', [{ role: 'input', axis: 2, span: 1, div: 1, groups }, ax('output', 3)]);
      out.set('bias', [ax('output', 0)]);
      break;
    }
    case 'DepthwiseConv2D':
      out.set('depthwise_kernel', [ax('input', 2), ax('output', 2, 2)]);
      out.set('bias', [ax('output', 0)]);
      break;
    case 'SeparableConv2D': {
      const m = depthMultiplier(l);
      out.set('depthwise_kernel', [ax('input', 2)]);
      out.set('pointwise_kernel', [ax('input', 2, 1, m), ax('output', 3)]);
      out.set('bias', [ax('output', 0)]);
      break;
    }
    case 'BatchNormalization':
      for (const w of ['gamma', 'beta', 'moving_mean', 'moving_variance']) out.set(w, [ax('output', 0)]);
      break;
    default:
      break;
  }
  return out;
}

/** Whether a short weight name is a kernel (multiply-add weight) rather than a bias or a BN parameter. */
export function isKernelWeight(name: string): boolean {
  return name === 'kernel' || name === 'depthwise_kernel' || name === 'pointwise_kernel';
}
