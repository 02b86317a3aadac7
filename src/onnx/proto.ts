/**
 * The one place that loads the generated ONNX protobuf code.
 *
 * `onnx-proto` is CommonJS (`module.exports = { onnx }`) with a `.d.ts` that
 * declares a named `onnx` namespace; Node cannot see that name statically, so
 * we take the default export (the whole `module.exports`) and pick `onnx` off it.
 *
 * @internal
 */
import onnxProtoModule from 'onnx-proto';

/** Generated protobufjs code for onnx.proto (ONNX 1.10.2 schema, IR version 8). */
export const onnx = onnxProtoModule.onnx;

/** The namespace type, for `onnx.IModelProto` and friends in signatures. */
export type { onnx as OnnxProto } from 'onnx-proto';

/** `TensorProto.DataType` values used by latprune. */
export const DATA_TYPE = {
  FLOAT: 1,
  INT32: 6,
  INT64: 7,
  DOUBLE: 11,
} as const;

/** `AttributeProto.AttributeType` values. */
export const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;
