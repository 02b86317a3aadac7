/**
 * The result of the channel-coupling analysis: channel groups (what the
 * solver prunes) and, per layer, which group channel each of its input and
 * output channels carries. Plain data.
 */

import type { TensorRef, WeightSpec } from './spec.js';

/** Side of a layer: its input channels or its output channels. */
export type ChannelRole = 'input' | 'output';

/**
 * How the elements of a weight map to a layer's channels on one side.
 *
 * Flatten the `span` consecutive axes starting at `axis` (row-major); the
 * element at flattened index `i` belongs to layer channel `floor(i / div)`.
 * Examples: Conv2D kernel `[kh, kw, cin, cout]`: input `{axis 2, span 1, div 1}`,
 * output `{axis 3, span 1, div 1}`; DepthwiseConv2D kernel `[kh, kw, cin, m]`:
 * input `{axis 2, span 1, div 1}`, output `{axis 2, span 2, div 1}` (output
 * channel `c * m + k`); SeparableConv2D pointwise kernel `[1, 1, cin * m, cout]`:
 * input `{axis 2, span 1, div m}`.
 */
export interface WeightAxis {
  /** Which side's channels index this weight. */
  readonly role: ChannelRole;
  /** First axis of the channel index. */
  readonly axis: number;
  /** Number of consecutive axes flattened into the channel index (>= 1). */
  readonly span: number;
  /** Flattened index `i` belongs to layer channel `floor(i / div)` (>= 1). */
  readonly div: number;
  /**
   * The side's channels are `groups` repeats of this axis (a grouped conv's
   * kernel input axis: layer channel `g * n + j` reads index `j`); the
   * analysis gives every repeat the same group channels, so index `i` is
   * described by the first repeat. Default 1.
   */
  readonly groups?: number;
}

/** A weight of a layer with the axes its channels index. */
export interface LayerWeight extends WeightSpec {
  /** Channel axes; empty when the weight does not depend on channels. */
  readonly axes: readonly WeightAxis[];
}

/**
 * Which group channel each channel of one tensor carries. `group[c] = -1`
 * marks a fixed channel (model input/output, ignored layer): it is never
 * pruned. For a flattened tensor (after `Flatten`) the channels are its
 * elements: element `p * C + c` carries the group channel of channel `c`.
 */
export interface ChannelMap {
  /** Index into {@link ChannelGraph.groups} per channel, or -1 for a fixed channel. */
  readonly group: readonly number[];
  /** Channel index within that group per channel, or -1 for a fixed channel. */
  readonly channel: readonly number[];
}

/** Per-layer view of the analysis. */
export interface LayerChannels {
  /** Layer name. */
  readonly name: string;
  /** tfjs class name. */
  readonly className: string;
  /** Whether the layer was listed in `ignoredLayers` (its channels are fixed). */
  readonly ignored: boolean;
  /** Input tensors (first call). */
  readonly inbound: readonly TensorRef[];
  /** Channel map of each input tensor's last axis. */
  readonly inputs: readonly ChannelMap[];
  /** Channel map of each output tensor's last axis. */
  readonly outputs: readonly ChannelMap[];
  /** Output shapes without the batch dimension. */
  readonly outputShapes: readonly (readonly number[])[];
  /** Weights with their channel axes (input axes refer to input tensor 0). */
  readonly weights: readonly LayerWeight[];
}

/** A weight slice of a group member. */
export interface MemberWeight extends WeightSpec {
  /** How the weight's elements map to the member's layer channels. */
  readonly axis: WeightAxis;
}

/**
 * One layer side that carries channels of a group: layer channel
 * `layerChannels[i]` is group channel `groupChannels[i]`. Several layer
 * channels may carry the same group channel (a depthwise conv with multiplier
 * m > 1 repeats each input channel m times; a `Flatten` repeats each channel
 * at every spatial position; a `Concatenate` of a tensor with itself).
 */
export interface GroupMember {
  /** Layer name. */
  readonly layer: string;
  /** tfjs class name. */
  readonly className: string;
  /** Input or output side. */
  readonly role: ChannelRole;
  /** Which input (role `input`) or output (role `output`) tensor of the layer. */
  readonly tensor: number;
  /** Channel indices of the layer's tensor, ascending. */
  readonly layerChannels: readonly number[];
  /** Group channel carried by each of `layerChannels`. */
  readonly groupChannels: readonly number[];
  /** Weights of the layer indexed by these channels (empty for weightless layers). */
  readonly weights: readonly MemberWeight[];
}

/**
 * A set of channels that are kept or removed together across layers:
 * removing group channel `j` removes, in every member, each layer channel
 * that carries `j`.
 */
export interface ChannelGroup {
  /** Stable id: the name of the first layer (in topological order) that creates the group's channels. */
  readonly id: string;
  /** Position in {@link ChannelGraph.groups}. */
  readonly index: number;
  /** Number of channels. */
  readonly size: number;
  /** Fewest channels a selection may keep (>= 1). */
  readonly minKeep: number;
  /**
   * Layers with a kernel whose output channels carry the group (Conv2D, Dense,
   * SeparableConv2D creating them; DepthwiseConv2D passing them through):
   * their `cout` changes with the group.
   */
  readonly producers: readonly string[];
  /**
   * Layers with a kernel whose input channels carry the group (Conv2D, Dense,
   * SeparableConv2D, DepthwiseConv2D): their `cin` changes with the group.
   */
  readonly consumers: readonly string[];
  /** BatchNormalization layers on the group's channels. */
  readonly batchNorms: readonly string[];
  /** Every layer side carrying the group, weightless layers included, in topological order. */
  readonly members: readonly GroupMember[];
}

/** Result of {@link analyzeGraph}. */
export interface ChannelGraph {
  /** Model name. */
  readonly model: string;
  /** Prunable channel groups, ordered by their first producer. */
  readonly groups: readonly ChannelGroup[];
  /** Every layer, in topological order. */
  readonly layers: readonly LayerChannels[];
  /** Model input tensors. */
  readonly inputs: readonly TensorRef[];
  /** Model output tensors. */
  readonly outputs: readonly TensorRef[];
  /** Layers whose channels were left intact on request. */
  readonly ignoredLayers: readonly string[];
}
