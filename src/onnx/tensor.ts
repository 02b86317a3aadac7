/**
 * Tensor payloads ↔ `TensorProto`: writing as little-endian `raw_data`,
 * reading from `raw_data` or the typed repeated fields.
 *
 * @internal
 */
import { LatpruneError } from '../errors.js';
import type { OnnxProto } from './proto.js';
import { DATA_TYPE } from './proto.js';
import type { OnnxElemType, OnnxTensorInit } from './types.js';

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A validated tensor: typed data plus dims. */
export interface ResolvedTensor {
  readonly elemType: OnnxElemType;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

/** Product of dims (1 for a scalar). */
export function dimsSize(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Checks a tensor given by value and converts it to a typed array.
 *
 * @param t - the tensor
 * @param what - description for error messages, e.g. `initializer "conv1.weight"`
 */
export function resolveTensor(t: OnnxTensorInit, what: string): ResolvedTensor {
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${what}: dims [${t.dims.join(', ')}] contain ${String(d)}; every dim must be a non-negative integer.`,
      );
    }
  }
  const size = dimsSize(t.dims);
  if (t.data.length !== size) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${what}: data has ${t.data.length} elements but dims [${t.dims.join(', ')}] need ${size}; ` +
        'pass data and dims that agree (row-major order).',
    );
  }
  if (t.data instanceof Float32Array || t.data instanceof BigInt64Array) {
    const actual: OnnxElemType = t.data instanceof Float32Array ? 'float32' : 'int64';
    if (t.elemType !== undefined && t.elemType !== actual) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${what}: elemType '${t.elemType}' contradicts its ${t.data.constructor.name} data; ` + `drop elemType or pass a number[].`,
      );
    }
    return { elemType: actual, dims: [...t.dims], data: t.data };
  }
  const elemType = t.elemType ?? 'float32';
  const src = t.data;
  if (elemType === 'float32') {
    return { elemType, dims: [...t.dims], data: Float32Array.from(src) };
  }
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    if (!Number.isSafeInteger(v)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${what}: element ${i} is ${String(v)}, not an integer; int64 tensors need safe integers ` +
          '(pass a BigInt64Array for values beyond 2^53).',
      );
    }
    out[i] = BigInt(v);
  }
  return { elemType, dims: [...t.dims], data: out };
}

/** Little-endian bytes of a typed array (copied). */
function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  } else {
    for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i] as bigint, true);
  }
  return out;
}

/** ONNX `TensorProto.DataType` code of a writer element type. */
export function dataTypeCode(elemType: OnnxElemType): number {
  return elemType === 'float32' ? DATA_TYPE.FLOAT : DATA_TYPE.INT64;
}

/** A `TensorProto` with `raw_data` for a resolved tensor. */
export function tensorToProto(name: string, t: ResolvedTensor, docString?: string): OnnxProto.ITensorProto {
  const proto: OnnxProto.ITensorProto = {
    name,
    dataType: dataTypeCode(t.elemType),
    dims: [...t.dims],
    rawData: littleEndianBytes(t.data),
  };
  if (docString !== undefined && docString !== '') proto.docString = docString;
  return proto;
}

/**
 * Converts a protobufjs int64 value (number, `Long`, or bigint) to a number.
 *
 * @throws LatpruneError `BAD_FILE` when the value is beyond 2^53
 */
export function int64ToNumber(v: unknown, what: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (v !== null && typeof v === 'object' && 'toString' in v) n = Number(String(v));
  else n = Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new LatpruneError('BAD_FILE', `${what}: int64 value ${String(v)} is not a safe integer.`);
  }
  return n;
}

/** Element type names the reader reports. */
export type ReadElemType = OnnxElemType | 'int32' | 'float64' | 'unsupported';

/** Decoded tensor payload. */
export interface DecodedTensor {
  readonly elemType: ReadElemType;
  readonly dataType: number;
  readonly dims: number[];
  /** Typed data, or `null` for element types the reader does not decode. */
  readonly data: Float32Array | BigInt64Array | Int32Array | Float64Array | null;
}

/** Name of a `TensorProto.DataType` code as the reader reports it. */
export function elemTypeName(code: number): ReadElemType {
  switch (code) {
    case DATA_TYPE.FLOAT:
      return 'float32';
    case DATA_TYPE.INT64:
      return 'int64';
    case DATA_TYPE.INT32:
      return 'int32';
    case DATA_TYPE.DOUBLE:
      return 'float64';
    default:
      return 'unsupported';
  }
}

/**
 * A `TensorProto`'s element type and dims, without its data.
 *
 * @throws LatpruneError `BAD_FILE` for a dim beyond 2^53
 */
export function tensorHeader(t: OnnxProto.ITensorProto, what: string): Omit<DecodedTensor, 'data'> {
  const dataType = t.dataType ?? 0;
  return { elemType: elemTypeName(dataType), dataType, dims: (t.dims ?? []).map((d) => int64ToNumber(d, `${what} dims`)) };
}

/**
 * Decodes a `TensorProto` payload into a typed array.
 *
 * @param t - decoded protobuf message
 * @param what - description for error messages
 * @param share - whether the result may be a view of `t.rawData` (no copy, when aligned); the caller must then not write to it
 * @throws LatpruneError `BAD_FILE` if the payload size does not match the dims
 */
export function tensorFromProto(t: OnnxProto.ITensorProto, what: string, share = false): DecodedTensor {
  const { dims, dataType, elemType } = tensorHeader(t, what);
  const size = dimsSize(dims);
  if (elemType === 'unsupported') return { elemType, dataType, dims, data: null };
  if (t.dataLocation === 1) {
    throw new LatpruneError('BAD_FILE', `${what}: data is stored externally; latprune reads only self-contained models.`);
  }
  const width = elemType === 'float32' || elemType === 'int32' ? 4 : 8;
  const raw = t.rawData;
  let data: Float32Array | BigInt64Array | Int32Array | Float64Array;
  if (raw !== undefined && raw !== null && raw.length > 0) {
    if (raw.length !== size * width) {
      throw new LatpruneError(
        'BAD_FILE',
        `${what}: raw_data has ${raw.length} bytes but dims [${dims.join(', ')}] of ${elemType} need ${size * width}.`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (HOST_IS_LITTLE_ENDIAN) {
      // own, aligned copy (raw may be a Buffer view), unless sharing is allowed and the view is aligned
      const aligned = share && raw.byteOffset % width === 0;
      const buf = aligned ? raw.buffer : new Uint8Array(raw).buffer;
      const off = aligned ? raw.byteOffset : 0;
      if (elemType === 'float32') data = new Float32Array(buf, off, size);
      else if (elemType === 'int32') data = new Int32Array(buf, off, size);
      else if (elemType === 'int64') data = new BigInt64Array(buf, off, size);
      else data = new Float64Array(buf, off, size);
    } else if (elemType === 'float32') {
      const a = new Float32Array(size);
      for (let i = 0; i < size; i++) a[i] = view.getFloat32(i * 4, true);
      data = a;
    } else if (elemType === 'int32') {
      const a = new Int32Array(size);
      for (let i = 0; i < size; i++) a[i] = view.getInt32(i * 4, true);
      data = a;
    } else if (elemType === 'int64') {
      const a = new BigInt64Array(size);
      for (let i = 0; i < size; i++) a[i] = view.getBigInt64(i * 8, true);
      data = a;
    } else {
      const a = new Float64Array(size);
      for (let i = 0; i < size; i++) a[i] = view.getFloat64(i * 8, true);
      data = a;
    }
  } else {
    let values: readonly unknown[];
    if (elemType === 'float32') values = t.floatData ?? [];
    else if (elemType === 'int32') values = t.int32Data ?? [];
    else if (elemType === 'int64') values = t.int64Data ?? [];
    else values = t.doubleData ?? [];
    if (values.length !== size) {
      throw new LatpruneError('BAD_FILE', `${what}: holds ${values.length} values but dims [${dims.join(', ')}] need ${size}.`);
    }
    if (elemType === 'float32') data = Float32Array.from(values as number[]);
    else if (elemType === 'int32') data = Int32Array.from(values as number[]);
    else if (elemType === 'float64') data = Float64Array.from(values as number[]);
    else data = BigInt64Array.from(values, (v) => BigInt(String(v)));
  }
  return { elemType, dataType, dims, data };
}
