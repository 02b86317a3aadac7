/**
 * Channel-coupling analysis of tfjs models: which channels of which layers
 * must be pruned together (channel groups), selections of kept channels,
 * zeroing and masks, per-layer compaction metadata, and parameter/FLOP counts
 * under a selection.
 *
 * @packageDocumentation
 */

export type { TensorRef, WeightSpec, LayerSpec, ModelSpec } from './spec.js';
export type {
  ChannelRole,
  WeightAxis,
  LayerWeight,
  ChannelMap,
  LayerChannels,
  MemberWeight,
  GroupMember,
  ChannelGroup,
  ChannelGraph,
} from './types.js';
export { describeModel } from './describe.js';
export { type AnalyzeOptions, analyzeGraph, analyzeModel, tensorPath } from './analyze.js';
export { type Selection, fullSelection, validateSelection, keptFlags, keptChannelFlags, topKSelection } from './selection.js';
export { type AxisKeep, type WeightKeep, type LayerKeep, type LayerWidths, layerKeep, layerWidths } from './layer-keep.js';
export { type WeightMask, type MaskOptions, selectionMasks } from './masks.js';
export { type ApplyReport, type MaskTensorOptions, applySelection, maskTensors } from './apply.js';
export { type LayerCost, type SelectionCost, selectionCost } from './cost.js';
export { isKernelWeight, layerClass, LAYER_CLASSES, type LayerClass } from './layer-rules.js';
