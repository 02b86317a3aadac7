/**
 * Plain-data types shared by the ONNX writer and reader.
 */

/**
 * One dimension of a value's shape: a fixed size (non-negative integer) or a
 * symbolic name written as `dim_param` (for example `'batch'`).
 */
export type OnnxDim = number | string;

/** Element types the writer can store (initializers, graph inputs and outputs). */
export type OnnxElemType = 'float32' | 'int64';

/** Typed-array payload of a tensor. */
export type OnnxTensorData = Float32Array | BigInt64Array;

/**
 * A tensor given by value: its data (row-major) and dims. A `number[]` is
 * stored as `elemType` (default `'float32'`; `'int64'` requires integers).
 * A `BigInt64Array` is always int64 and a `Float32Array` always float32.
 */
export interface OnnxTensorInit {
  /** Row-major element data; its length must equal the product of `dims`. */
  readonly data: OnnxTensorData | readonly number[];
  /** Dimensions; `[]` for a scalar. */
  readonly dims: readonly number[];
  /** Element type, used only when `data` is a `number[]`. */
  readonly elemType?: OnnxElemType;
}

/** A node attribute (the subset of ONNX attribute kinds latprune writes). */
export type OnnxAttributeValue =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string };

/** Attributes of a node, keyed by ONNX attribute name (e.g. `kernel_shape`). */
export type OnnxAttributes = Readonly<Record<string, OnnxAttributeValue>>;

/** An integer attribute (stored as int64). */
export function intAttr(value: number): OnnxAttributeValue {
  return { type: 'int', value };
}

/** A list-of-integers attribute (stored as int64s). */
export function intsAttr(value: readonly number[]): OnnxAttributeValue {
  return { type: 'ints', value: [...value] };
}

/** A float attribute (stored as float32). */
export function floatAttr(value: number): OnnxAttributeValue {
  return { type: 'float', value };
}

/** A list-of-floats attribute (stored as float32s). */
export function floatsAttr(value: readonly number[]): OnnxAttributeValue {
  return { type: 'floats', value: [...value] };
}

/** A string attribute (stored as UTF-8 bytes). */
export function stringAttr(value: string): OnnxAttributeValue {
  return { type: 'string', value };
}

/** A node to add to a graph. */
export interface OnnxNodeSpec {
  /** Operator type, e.g. `'Conv'`. */
  readonly opType: string;
  /**
   * Input value names, in operator order. Use `''` for an omitted optional
   * input that is followed by a present one.
   */
  readonly inputs: readonly string[];
  /** Output value names; by default one fresh name derived from the node name. */
  readonly outputs?: readonly string[];
  /** Node name; by default a fresh name derived from `opType`. Must be unique. */
  readonly name?: string;
  /** Attributes keyed by ONNX attribute name. */
  readonly attributes?: OnnxAttributes;
  /** Free-text documentation stored on the node. */
  readonly docString?: string;
}

/** Options of a graph input or output. */
export interface OnnxValueOptions {
  /** Element type; default `'float32'`. */
  readonly elemType?: OnnxElemType;
  /** Free-text documentation stored on the value. */
  readonly docString?: string;
}

/** Model-level settings of a graph builder. */
export interface OnnxModelOptions {
  /** Version of latprune (or the caller) written as `producer_version`. */
  readonly producerVersion: string;
  /** `ai.onnx` opset version; default 13. Supported: 11 to 21. */
  readonly opsetVersion?: number;
  /** Graph name; default `'latprune'`. */
  readonly graphName?: string;
  /** Model `doc_string`. */
  readonly docString?: string;
  /** Graph `doc_string`. */
  readonly graphDocString?: string;
  /** Model `domain` (reverse-DNS name of the model namespace). */
  readonly domain?: string;
  /** Model `model_version` (a non-negative integer). */
  readonly modelVersion?: number;
  /** Initial `metadata_props` (more can be added with `setMetadata`). */
  readonly metadata?: Readonly<Record<string, string>>;
}
