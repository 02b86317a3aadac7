/**
 * ONNX reader: model bytes → a plain summary (opset, values, nodes,
 * attributes, initializer data, metadata) for tests, verify and parity tools.
 */
import { readFile } from 'node:fs/promises';

import { LatpruneError } from '../errors.js';
import type { OnnxProto } from './proto.js';
import { ATTRIBUTE_TYPE, onnx } from './proto.js';
import type { DecodedTensor, ReadElemType } from './tensor.js';
import { elemTypeName, int64ToNumber, tensorFromProto, tensorHeader } from './tensor.js';
import type { OnnxAttributeValue, OnnxDim } from './types.js';

export type { ReadElemType } from './tensor.js';

/** A graph input or output as read. */
export interface OnnxValueSummary {
  readonly name: string;
  /** Element type; `'unsupported'` for other tensor types and non-tensor values. */
  readonly elemType: ReadElemType;
  /** Dims (numbers, symbolic names, `'?'` for an unknown dim), or `undefined` when no shape is stored. */
  readonly shape: OnnxDim[] | undefined;
  readonly docString: string;
}

/** A tensor as read (initializer or tensor attribute). */
export interface OnnxTensorSummary extends DecodedTensor {
  readonly name: string;
}

/** An attribute as read: the writer's kinds plus a few more a foreign model may hold. */
export type OnnxReadAttribute =
  | OnnxAttributeValue
  | { readonly type: 'strings'; readonly value: string[] }
  | { readonly type: 'tensor'; readonly value: OnnxTensorSummary }
  | { readonly type: 'unsupported'; readonly protoType: number };

/** A node as read. */
export interface OnnxNodeSummary {
  readonly name: string;
  readonly opType: string;
  /** Operator domain; `''` is `ai.onnx`. */
  readonly domain: string;
  /** Input names in order (`''` marks an omitted optional input). */
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: Record<string, OnnxReadAttribute>;
  readonly docString: string;
}

/** Everything latprune needs to know about an ONNX model. */
export interface OnnxModelSummary {
  readonly irVersion: number;
  /** Version of the `ai.onnx` (default domain) opset. */
  readonly opsetVersion: number;
  /** All opset imports (`domain` `''` is `ai.onnx`). */
  readonly opsetImports: { domain: string; version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  readonly graphName: string;
  readonly graphDocString: string;
  /** `metadata_props` as a record. */
  readonly metadata: Record<string, string>;
  readonly inputs: OnnxValueSummary[];
  readonly outputs: OnnxValueSummary[];
  /** Nodes in file order. */
  readonly nodes: OnnxNodeSummary[];
  readonly initializers: OnnxTensorSummary[];
}

const utf8 = new TextDecoder();

function valueSummary(v: OnnxProto.IValueInfoProto): OnnxValueSummary {
  const tt = v.type?.tensorType;
  let shape: OnnxDim[] | undefined;
  if (tt?.shape !== undefined && tt.shape !== null) {
    shape = (tt.shape.dim ?? []).map((d) => {
      if (d.dimParam !== undefined && d.dimParam !== null && d.dimParam !== '') return d.dimParam;
      if (d.dimValue !== undefined && d.dimValue !== null) return int64ToNumber(d.dimValue, `value "${v.name ?? ''}" dim`);
      return '?';
    });
  }
  return {
    name: v.name ?? '',
    elemType: tt !== undefined && tt !== null ? elemTypeName(tt.elemType ?? 0) : 'unsupported',
    shape,
    docString: v.docString ?? '',
  };
}

function tensorSummary(t: OnnxProto.ITensorProto, what: string): OnnxTensorSummary {
  return { name: t.name ?? '', ...tensorFromProto(t, what) };
}

/**
 * A summary whose `data` is decoded from the proto each time it is read (not
 * kept): a large model's weights are then decoded one tensor at a time by
 * whoever consumes them, instead of all at once next to the file's bytes.
 * Size errors surface on the first read. The data may be a view of the
 * model's bytes (read-only by contract).
 */
function deferredTensorSummary(t: OnnxProto.ITensorProto, what: string): OnnxTensorSummary {
  return {
    name: t.name ?? '',
    ...tensorHeader(t, what),
    get data() {
      return tensorFromProto(t, what, true).data;
    },
  };
}

/** Options of {@link decodeModel}. */
export interface DecodeOptions {
  /**
   * Decode initializer data on each read of its `data` instead of up front
   * (the importer reads each weight once; this keeps its peak memory near
   * the file's size). The data may then be a view of `bytes`: do not write
   * to it. Default false.
   */
  readonly deferInitializerData?: boolean;
}

function attributeSummary(a: OnnxProto.IAttributeProto, where: string): OnnxReadAttribute {
  const what = `${where} attribute "${a.name ?? ''}"`;
  switch (a.type) {
    case ATTRIBUTE_TYPE.INT:
      return { type: 'int', value: int64ToNumber(a.i ?? 0, what) };
    case ATTRIBUTE_TYPE.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => int64ToNumber(v, what)) };
    case ATTRIBUTE_TYPE.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case ATTRIBUTE_TYPE.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case ATTRIBUTE_TYPE.STRING:
      return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case ATTRIBUTE_TYPE.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case ATTRIBUTE_TYPE.TENSOR:
      if (a.t !== undefined && a.t !== null) return { type: 'tensor', value: tensorSummary(a.t, what) };
      return { type: 'unsupported', protoType: ATTRIBUTE_TYPE.TENSOR };
    default:
      return { type: 'unsupported', protoType: a.type ?? 0 };
  }
}

function summarise(m: OnnxProto.IModelProto, source: string, opts: DecodeOptions): OnnxModelSummary {
  const irVersion = int64ToNumber(m.irVersion ?? 0, 'ir_version');
  if (irVersion < 1) throw new Error('ir_version is missing');
  const graph = m.graph;
  if (graph === undefined || graph === null) throw new Error('the model has no graph');
  const opsetImports = (m.opsetImport ?? []).map((o) => ({
    domain: o.domain ?? '',
    version: int64ToNumber(o.version ?? 0, 'opset_import version'),
  }));
  const main = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (main === undefined) throw new Error('no ai.onnx opset_import');
  const nodes = (graph.node ?? []).map((n, i): OnnxNodeSummary => {
    const where = `node ${i} "${n.name ?? ''}"`;
    if (n.opType === undefined || n.opType === null || n.opType === '') throw new Error(`${where} has no op_type`);
    const attributes: Record<string, OnnxReadAttribute> = {};
    for (const a of n.attribute ?? []) attributes[a.name ?? ''] = attributeSummary(a, where);
    return {
      name: n.name ?? '',
      opType: n.opType,
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes,
      docString: n.docString ?? '',
    };
  });
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    irVersion,
    opsetVersion: main.version,
    opsetImports,
    producerName: m.producerName ?? '',
    producerVersion: m.producerVersion ?? '',
    domain: m.domain ?? '',
    modelVersion: int64ToNumber(m.modelVersion ?? 0, 'model_version'),
    docString: m.docString ?? '',
    graphName: graph.name ?? '',
    graphDocString: graph.docString ?? '',
    metadata,
    inputs: (graph.input ?? []).map(valueSummary),
    outputs: (graph.output ?? []).map(valueSummary),
    nodes,
    initializers: (graph.initializer ?? []).map((t) =>
      (opts.deferInitializerData ? deferredTensorSummary : tensorSummary)(t, `${source}: initializer "${t.name ?? ''}"`),
    ),
  };
}

/**
 * Decodes ONNX model bytes into a plain summary.
 *
 * @param bytes - serialised `ModelProto`
 * @param source - file name (or other label) used in error messages
 * @param opts - see {@link DecodeOptions}
 * @throws LatpruneError `BAD_FILE` naming `source` when the bytes are not a valid
 *   (or are a truncated) ONNX model
 */
export function decodeModel(bytes: Uint8Array, source = '<bytes>', opts: DecodeOptions = {}): OnnxModelSummary {
  try {
    const model = onnx.ModelProto.decode(bytes);
    return summarise(model, source, opts);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new LatpruneError(
      'BAD_FILE',
      `${source} is not a valid ONNX model (${reason}); check that it is a complete .onnx file ` +
        '(an interrupted copy or download truncates it) and re-export it if needed.',
      { cause: err },
    );
  }
}

/**
 * Reads and decodes an ONNX model file.
 *
 * @param path - `.onnx` file
 * @throws LatpruneError `NOT_FOUND` if the file cannot be read, `BAD_FILE` if it is not a valid ONNX model
 */
export async function readModelFile(path: string): Promise<OnnxModelSummary> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new LatpruneError(
      'NOT_FOUND',
      `Cannot read ONNX model file ${path} (${err instanceof Error ? err.message : String(err)}); check the path.`,
      { cause: err },
    );
  }
  return decodeModel(bytes, path);
}
