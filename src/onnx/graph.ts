/**
 * The ONNX graph builder: inputs, outputs, initializers and nodes added in
 * topological order, checked as they are added, serialised to a `ModelProto`.
 */
import { LatpruneError } from '../errors.js';
import { irVersionForOpset, DEFAULT_OPSET } from './opset.js';
import type { OnnxProto } from './proto.js';
import { ATTRIBUTE_TYPE, onnx } from './proto.js';
import { dataTypeCode, resolveTensor, tensorToProto } from './tensor.js';
import type {
  OnnxAttributeValue,
  OnnxDim,
  OnnxElemType,
  OnnxModelOptions,
  OnnxNodeSpec,
  OnnxTensorInit,
  OnnxValueOptions,
} from './types.js';

/** `producer_name` written into every model. */
export const PRODUCER_NAME = 'latprune';

interface ValueDecl {
  readonly name: string;
  readonly shape: readonly OnnxDim[] | undefined;
  readonly elemType: OnnxElemType;
  readonly docString: string | undefined;
}

const utf8 = new TextEncoder();

function valueInfoProto(v: ValueDecl): OnnxProto.IValueInfoProto {
  const tensorType: OnnxProto.TypeProto.ITensor = { elemType: dataTypeCode(v.elemType) };
  if (v.shape !== undefined) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  const info: OnnxProto.IValueInfoProto = { name: v.name, type: { tensorType } };
  if (v.docString !== undefined && v.docString !== '') info.docString = v.docString;
  return info;
}

function attributeProto(name: string, a: OnnxAttributeValue): OnnxProto.IAttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: a.value };
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...a.value] };
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: a.value };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(a.value) };
  }
}

/** Checks one attribute; returns an error text or `undefined`. */
function attributeProblem(a: OnnxAttributeValue): string | undefined {
  switch (a.type) {
    case 'int':
      return Number.isSafeInteger(a.value) ? undefined : `int value ${String(a.value)} is not an integer`;
    case 'ints': {
      const bad = a.value.find((v) => !Number.isSafeInteger(v));
      return bad === undefined ? undefined : `ints value contains ${String(bad)}, not an integer`;
    }
    case 'float':
      return typeof a.value === 'number' && !Number.isNaN(a.value) ? undefined : `float value ${String(a.value)} is not a number`;
    case 'floats': {
      const bad = a.value.find((v) => typeof v !== 'number' || Number.isNaN(v));
      return bad === undefined ? undefined : `floats value contains ${String(bad)}, not a number`;
    }
    case 'string':
      return typeof a.value === 'string' ? undefined : 'string value is not a string';
    default:
      return `unknown attribute type '${String((a as { type: unknown }).type)}'`;
  }
}

/**
 * Builds one ONNX model graph.
 *
 * Values are added in topological order: a node may only read graph inputs,
 * initializers and outputs of nodes added before it, and every value name is
 * produced exactly once. Graph outputs may be declared before the node that
 * produces them; {@link OnnxGraph.validate} (run by `toModelProto`/`encode`)
 * checks that each one is produced.
 *
 * @example
 * ```ts
 * const g = new OnnxGraph({ producerVersion: '0.1.0' });
 * const x = g.addInput('x', ['batch', 3, 32, 32]);
 * g.addOutput('y', ['batch', 3, 32, 32]);
 * g.addNode({ opType: 'Relu', inputs: [x], outputs: ['y'] });
 * const bytes = g.encode();
 * ```
 */
export class OnnxGraph {
  /** `ai.onnx` opset version written in `opset_import`. */
  readonly opsetVersion: number;
  /** IR version written in `ir_version` (the one matching the opset). */
  readonly irVersion: number;

  private readonly options: OnnxModelOptions;
  private readonly inputs: ValueDecl[] = [];
  private readonly outputs: ValueDecl[] = [];
  private readonly initializers: OnnxProto.ITensorProto[] = [];
  private readonly nodes: OnnxProto.INodeProto[] = [];
  private readonly metadata = new Map<string, string>();
  /** Defined value name → what defined it (for error messages). */
  private readonly defined = new Map<string, string>();
  /** Names handed out by `uniqueName` or declared as outputs, not necessarily defined yet. */
  private readonly reserved = new Set<string>();
  /** Names of added nodes. */
  private readonly nodeNames = new Set<string>();
  /** Node names handed out by `uniqueNodeName`, not necessarily used yet. */
  private readonly reservedNodeNames = new Set<string>();

  /**
   * @param options - producer version, opset (default 13), names, doc strings, metadata
   * @throws LatpruneError `BAD_ARGUMENT` for an unsupported opset or a bad model version
   */
  constructor(options: OnnxModelOptions) {
    this.options = { ...options };
    this.opsetVersion = options.opsetVersion ?? DEFAULT_OPSET;
    this.irVersion = irVersionForOpset(this.opsetVersion);
    if (options.modelVersion !== undefined && !(Number.isSafeInteger(options.modelVersion) && options.modelVersion >= 0)) {
      throw new LatpruneError('BAD_ARGUMENT', `ONNX modelVersion ${String(options.modelVersion)} is invalid; pass a non-negative integer.`);
    }
    for (const [k, v] of Object.entries(options.metadata ?? {})) this.setMetadata(k, v);
  }

  /** Name of the graph (`graph.name`). */
  get graphName(): string {
    return this.options.graphName ?? PRODUCER_NAME;
  }

  /** Whether `name` is a defined value (graph input, initializer or node output). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  /**
   * Returns a value name based on `base` that is not yet used or handed out
   * (`base`, then `base_1`, `base_2`, …) and reserves it.
   *
   * @param base - preferred name
   */
  uniqueName(base: string): string {
    const stem = base === '' ? 'value' : base;
    let name = stem;
    for (let i = 1; this.defined.has(name) || this.reserved.has(name); i++) name = `${stem}_${i}`;
    this.reserved.add(name);
    return name;
  }

  /** Whether a node named `name` has been added. */
  hasNode(name: string): boolean {
    return this.nodeNames.has(name);
  }

  /**
   * Returns a node name based on `base` that no node uses or was handed out
   * yet, and reserves it for a later `addNode({ name })`.
   *
   * @param base - preferred name, e.g. the op type or a layer name
   */
  uniqueNodeName(base: string): string {
    const stem = base === '' ? 'node' : base;
    let name = stem;
    for (let i = 1; this.nodeNames.has(name) || this.reservedNodeNames.has(name); i++) name = `${stem}_${i}`;
    this.reservedNodeNames.add(name);
    return name;
  }

  /**
   * Adds a graph input.
   *
   * @param name - value name (must be unused)
   * @param shape - dims: numbers for fixed sizes, strings for symbolic dims (`'batch'`)
   * @param options - element type (default float32) and doc string
   * @returns `name`
   */
  addInput(name: string, shape: readonly OnnxDim[], options: OnnxValueOptions = {}): string {
    this.checkShape(`graph input "${name}"`, shape);
    this.define(name, 'graph input');
    this.inputs.push({ name, shape: [...shape], elemType: options.elemType ?? 'float32', docString: options.docString });
    return name;
  }

  /**
   * Declares a graph output. The value must be produced by a node (added
   * before or after this call) or be an input/initializer by encode time.
   *
   * @param name - value name
   * @param shape - dims, or `undefined` to leave the shape (even the rank) unspecified
   * @param options - element type (default float32) and doc string
   * @returns `name`
   */
  addOutput(name: string, shape: readonly OnnxDim[] | undefined, options: OnnxValueOptions = {}): string {
    if (shape !== undefined) this.checkShape(`graph output "${name}"`, shape);
    // an output names a value (produced before or after this call); it does not define one
    if (typeof name !== 'string' || name === '') {
      throw new LatpruneError('BAD_ARGUMENT', 'graph output has an empty name; every ONNX value needs a name.');
    }
    if (this.outputs.some((o) => o.name === name)) {
      throw new LatpruneError('BAD_ARGUMENT', `Graph output "${name}" is declared twice; declare each output once.`);
    }
    this.reserved.add(name);
    this.outputs.push({
      name,
      shape: shape === undefined ? undefined : [...shape],
      elemType: options.elemType ?? 'float32',
      docString: options.docString,
    });
    return name;
  }

  /**
   * Adds an initializer (a constant tensor stored in the model as little-endian `raw_data`).
   *
   * @param name - value name (must be unused; see {@link OnnxGraph.uniqueName})
   * @param tensor - data (Float32Array, BigInt64Array or number[]) and dims
   * @param docString - optional documentation
   * @returns `name`
   * @throws LatpruneError `BAD_ARGUMENT` if the name is taken or data and dims disagree
   */
  addInitializer(name: string, tensor: OnnxTensorInit, docString?: string): string {
    const what = `initializer "${name}"`;
    const resolved = resolveTensor(tensor, what);
    this.define(name, 'initializer');
    this.initializers.push(tensorToProto(name, resolved, docString));
    return name;
  }

  /**
   * Adds a node. Its inputs must already be defined (topological order).
   *
   * @param spec - op type, inputs, optional outputs/name/attributes/doc string
   * @returns the node's output names (one generated name unless `spec.outputs` is given)
   * @throws LatpruneError `BAD_ARGUMENT` naming the node when an input is undefined,
   *   an output is already produced, a name is taken or an attribute is malformed
   */
  addNode(spec: OnnxNodeSpec): string[] {
    if (typeof spec.opType !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(spec.opType)) {
      throw new LatpruneError('BAD_ARGUMENT', `Node op type "${String(spec.opType)}" is not a valid ONNX operator name.`);
    }
    let name: string;
    if (spec.name !== undefined) {
      if (spec.name === '' || this.nodeNames.has(spec.name)) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `Node name "${spec.name}" (${spec.opType}) is ${spec.name === '' ? 'empty' : 'already used'}; ` +
            'pass a unique name or omit it to get one from uniqueNodeName().',
        );
      }
      name = spec.name;
    } else {
      name = this.uniqueNodeName(spec.opType);
    }
    const label = `Node "${name}" (${spec.opType})`;

    spec.inputs.forEach((input, i) => {
      if (input !== '' && !this.defined.has(input)) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `${label}: input ${i} "${input}" is not a graph input, an initializer or an output of an earlier node; ` +
            'add the producer first (nodes must be added in topological order).',
        );
      }
    });
    const attributes: OnnxProto.IAttributeProto[] = [];
    for (const [attrName, value] of Object.entries(spec.attributes ?? {})) {
      const problem = attrName === '' ? 'attribute name is empty' : attributeProblem(value);
      if (problem !== undefined) {
        throw new LatpruneError('BAD_ARGUMENT', `${label}: attribute "${attrName}": ${problem}.`);
      }
      attributes.push(attributeProto(attrName, value));
    }
    const outputs = spec.outputs !== undefined ? [...spec.outputs] : [this.uniqueName(`${name}_out`)];
    if (outputs.length === 0) {
      throw new LatpruneError('BAD_ARGUMENT', `${label} has no outputs; give it at least one output name.`);
    }
    const seen = new Set<string>();
    for (const out of outputs) {
      if (out === '' || seen.has(out)) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `${label}: output name "${out}" is ${out === '' ? 'empty' : 'repeated'}; give each output its own name.`,
        );
      }
      seen.add(out);
      this.checkName(out, `${label}: output`);
    }
    for (const out of outputs) this.define(out, `output of node "${name}"`);
    this.nodeNames.add(name);
    this.reservedNodeNames.add(name);

    const node: OnnxProto.INodeProto = { name, opType: spec.opType, input: [...spec.inputs], output: outputs };
    if (attributes.length > 0) node.attribute = attributes;
    if (spec.docString !== undefined && spec.docString !== '') node.docString = spec.docString;
    this.nodes.push(node);
    return outputs;
  }

  /**
   * Sets a `metadata_props` entry (replacing an earlier value for the key).
   *
   * @param key - non-empty key
   * @param value - value string
   */
  setMetadata(key: string, value: string): void {
    if (key === '' || typeof value !== 'string') {
      throw new LatpruneError('BAD_ARGUMENT', `Model metadata key "${key}" needs a non-empty key and a string value.`);
    }
    this.metadata.set(key, value);
  }

  /**
   * Checks the whole graph: at least one output, and every declared output is defined.
   *
   * @throws LatpruneError `BAD_ARGUMENT` naming the missing output
   */
  validate(): void {
    if (this.outputs.length === 0) {
      throw new LatpruneError('BAD_ARGUMENT', `Graph "${this.graphName}" has no outputs; declare them with addOutput().`);
    }
    for (const o of this.outputs) {
      if (!this.defined.has(o.name)) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `Graph output "${o.name}" is not produced by any node, input or initializer of graph "${this.graphName}"; ` +
            'add the node that produces it (or fix the name).',
        );
      }
    }
  }

  /**
   * The model as a protobufjs message object (a snapshot: later additions to the builder do not change it).
   *
   * @throws LatpruneError `BAD_ARGUMENT` if {@link OnnxGraph.validate} fails
   */
  toModelProto(): OnnxProto.IModelProto {
    this.validate();
    const o = this.options;
    const graph: OnnxProto.IGraphProto = {
      name: this.graphName,
      node: this.nodes.map((n) => ({ ...n })),
      initializer: [...this.initializers],
      input: this.inputs.map(valueInfoProto),
      output: this.outputs.map(valueInfoProto),
    };
    if (o.graphDocString !== undefined && o.graphDocString !== '') graph.docString = o.graphDocString;
    const model: OnnxProto.IModelProto = {
      irVersion: this.irVersion,
      opsetImport: [{ domain: '', version: this.opsetVersion }],
      producerName: PRODUCER_NAME,
      producerVersion: o.producerVersion,
      graph,
    };
    if (o.domain !== undefined && o.domain !== '') model.domain = o.domain;
    if (o.modelVersion !== undefined) model.modelVersion = o.modelVersion;
    if (o.docString !== undefined && o.docString !== '') model.docString = o.docString;
    if (this.metadata.size > 0) {
      model.metadataProps = [...this.metadata].map(([key, value]) => ({ key, value }));
    }
    return model;
  }

  /** The serialised model (ONNX protobuf bytes), ready for a file or `InferenceSession.create`. */
  encode(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }

  private checkName(name: string, what: string): void {
    if (typeof name !== 'string' || name === '') {
      throw new LatpruneError('BAD_ARGUMENT', `${what} has an empty name; every ONNX value needs a name.`);
    }
    const by = this.defined.get(name);
    if (by !== undefined) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${what} "${name}" is already defined (${by}); each ONNX value is produced once — use uniqueName() for fresh names.`,
      );
    }
  }

  private define(name: string, by: string): void {
    this.checkName(name, by);
    this.defined.set(name, by);
    this.reserved.add(name);
  }

  private checkShape(what: string, shape: readonly OnnxDim[]): void {
    for (const d of shape) {
      const ok = typeof d === 'number' ? Number.isSafeInteger(d) && d >= 0 : typeof d === 'string' && d !== '';
      if (!ok) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `${what}: shape [${shape.join(', ')}] contains ${JSON.stringify(d)}; ` +
            'use non-negative integers or non-empty symbolic names such as "batch".',
        );
      }
    }
  }
}
