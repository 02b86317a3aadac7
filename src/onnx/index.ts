/**
 * ONNX graph writer and reader (the `onnx/` folder's only public door).
 *
 * Build a model with {@link OnnxGraph} and the `add*` operator helpers, turn
 * tfjs weights into ONNX layouts with the `layout` functions, serialise with
 * `encode()`, store with {@link writeModelFile}, and read any model back with
 * {@link decodeModel} / {@link readModelFile}.
 */
export type {
  OnnxAttributeValue,
  OnnxAttributes,
  OnnxDim,
  OnnxElemType,
  OnnxModelOptions,
  OnnxNodeSpec,
  OnnxTensorData,
  OnnxTensorInit,
  OnnxValueOptions,
} from './types.js';
export { floatAttr, floatsAttr, intAttr, intsAttr, stringAttr } from './types.js';
export { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, irVersionForOpset } from './opset.js';
export { OnnxGraph, PRODUCER_NAME } from './graph.js';
export type {
  AveragePoolOptions,
  BatchNormalizationOptions,
  ClipOptions,
  ConcatOptions,
  ConvOptions,
  FlattenOptions,
  GemmOptions,
  LeakyReluOptions,
  MaxPoolOptions,
  OnnxNodeNaming,
  OnnxOperand,
  PadOptions,
  ReshapeOptions,
  SoftmaxOptions,
  TransposeOptions,
} from './ops.js';
export {
  addAdd,
  addAveragePool,
  addBatchNormalization,
  addClip,
  addConcat,
  addConv,
  addFlatten,
  addGemm,
  addGlobalAveragePool,
  addLeakyRelu,
  addMatMul,
  addMaxPool,
  addMul,
  addPad,
  addRelu,
  addReshape,
  addSoftmax,
  addTranspose,
} from './ops.js';
export type { OnnxModelSummary, OnnxNodeSummary, OnnxReadAttribute, OnnxTensorSummary, OnnxValueSummary, ReadElemType } from './read.js';
export type { DecodedTensor } from './tensor.js';
export { decodeModel, readModelFile } from './read.js';
export { writeModelFile } from './write-file.js';
export type { BatchNormParams, DepthwiseWeight, Float32Tensor, FoldedConv, GemmWeight } from './layout.js';
export { conv2dKernelToOnnx, denseKernelToGemm, depthwiseKernelToOnnx, foldBatchNorm, samePadding, transposeData } from './layout.js';
export { type OnnxInterface, type ToOnnxOptions, modelToOnnx, modelToOnnxAsync } from './from-tfjs.js';
export type { ExportInterface, ImportInfo, ImportOptions, ImportResult, ImportedValue } from './import/index.js';
export { GroupedConv2D, HardSigmoid, exportInterfaceOf, importOnnx } from './import/index.js';
