/**
 * Helper constructors for the operators latprune writes, with the attribute
 * sets of the ONNX operator specs (opset 11 and later; written and tested at 13).
 *
 * Every helper adds one node (plus the initializers it needs) to an
 * {@link OnnxGraph} and returns the name of the node's output. Tensor operands
 * may be existing value names or tensors given by value; the latter become
 * initializers named `<node name>.<role>` (e.g. `conv1.weight`).
 * All spatial attributes are written explicitly, so no ONNX default is relied on.
 */
import { LatpruneError } from '../errors.js';
import type { OnnxGraph } from './graph.js';
import type { OnnxAttributes, OnnxTensorInit } from './types.js';
import { floatAttr, intAttr, intsAttr, stringAttr } from './types.js';

/** A tensor operand: an existing value name, or a tensor given by value (added as an initializer). */
export type OnnxOperand = string | OnnxTensorInit;

/** Naming options common to all helpers. */
export interface OnnxNodeNaming {
  /** Node name (must be unused); by default derived from the op type. Initializers are named after it. */
  readonly name?: string;
  /** Output value name (e.g. a graph output); by default a fresh name. */
  readonly output?: string;
  /** Doc string stored on the node. */
  readonly docString?: string;
}

/** Options of {@link addConv}. */
export interface ConvOptions extends OnnxNodeNaming {
  /** Weight `[M, C/group, kH, kW]` (OIHW). */
  readonly weight: OnnxOperand;
  /** Bias `[M]`; omitted for a bias-free conv. */
  readonly bias?: OnnxOperand;
  /** Kernel spatial shape; derived from the weight dims when the weight is given by value. */
  readonly kernelShape?: readonly number[];
  /** Strides per spatial axis; default all 1. */
  readonly strides?: readonly number[];
  /** Pads `[x1_begin, x2_begin, …, x1_end, x2_end]`; default all 0. */
  readonly pads?: readonly number[];
  /** Dilations per spatial axis; default all 1. */
  readonly dilations?: readonly number[];
  /** Number of groups; default 1 (depthwise: the number of input channels). */
  readonly group?: number;
}

/** Options of {@link addBatchNormalization} (inference form). */
export interface BatchNormalizationOptions extends OnnxNodeNaming {
  /** Gamma `[C]`. */
  readonly scale: OnnxOperand;
  /** Beta `[C]`. */
  readonly bias: OnnxOperand;
  /** Running mean `[C]`. */
  readonly mean: OnnxOperand;
  /** Running variance `[C]`. */
  readonly variance: OnnxOperand;
  /** Epsilon; default 1e-5 (Keras uses 1e-3: pass it). */
  readonly epsilon?: number;
}

/** Options of {@link addClip}. */
export interface ClipOptions extends OnnxNodeNaming {
  /** Lower bound; omitted for none. */
  readonly min?: number;
  /** Upper bound; omitted for none. */
  readonly max?: number;
}

/** Options of {@link addLeakyRelu}. */
export interface LeakyReluOptions extends OnnxNodeNaming {
  /** Slope for x < 0; default 0.01 (Keras LeakyReLU default is 0.3: pass it). */
  readonly alpha?: number;
}

/** Options of {@link addConcat}. */
export interface ConcatOptions extends OnnxNodeNaming {
  /** Axis to concatenate on (1 = channels in NCHW). */
  readonly axis: number;
}

/** Options of {@link addMaxPool}. */
export interface MaxPoolOptions extends OnnxNodeNaming {
  /** Window spatial shape. */
  readonly kernelShape: readonly number[];
  /** Strides; default all 1. */
  readonly strides?: readonly number[];
  /** Pads `[begins…, ends…]`; default all 0. Padding never wins the max. */
  readonly pads?: readonly number[];
  /** Dilations; default all 1. */
  readonly dilations?: readonly number[];
  /** Use ceil instead of floor for the output size; default false. */
  readonly ceilMode?: boolean;
}

/** Options of {@link addAveragePool}. */
export interface AveragePoolOptions extends OnnxNodeNaming {
  /** Window spatial shape. */
  readonly kernelShape: readonly number[];
  /** Strides; default all 1. */
  readonly strides?: readonly number[];
  /** Pads `[begins…, ends…]`; default all 0. */
  readonly pads?: readonly number[];
  /** Count padded cells in the divisor; default false (tfjs/Keras 'same' semantics). */
  readonly countIncludePad?: boolean;
  /** Use ceil instead of floor for the output size; default false. */
  readonly ceilMode?: boolean;
}

/** Options of {@link addFlatten}. */
export interface FlattenOptions extends OnnxNodeNaming {
  /** Dims before `axis` form the first output dim; default 1. */
  readonly axis?: number;
}

/** Options of {@link addReshape}. */
export interface ReshapeOptions extends OnnxNodeNaming {
  /** Target shape; `0` copies the input dim, `-1` is inferred (at most one). */
  readonly shape: readonly number[];
}

/** Options of {@link addGemm}: `Y = alpha * A' * B' + beta * C`. */
export interface GemmOptions extends OnnxNodeNaming {
  /** B: `[K, N]`, or `[N, K]` with `transB`. */
  readonly weight: OnnxOperand;
  /** C, broadcastable to `[M, N]` (usually `[N]`); omitted for none. */
  readonly bias?: OnnxOperand;
  /** Transpose A; default false. */
  readonly transA?: boolean;
  /** Transpose B; default false. */
  readonly transB?: boolean;
  /** Default 1. */
  readonly alpha?: number;
  /** Default 1. */
  readonly beta?: number;
}

/** Options of {@link addSoftmax}. */
export interface SoftmaxOptions extends OnnxNodeNaming {
  /**
   * Axis; default -1. From opset 13 Softmax normalises along this axis only;
   * before 13 it flattens to 2-D at the axis (identical for a 2-D input).
   */
  readonly axis?: number;
}

/** Options of {@link addTranspose}. */
export interface TransposeOptions extends OnnxNodeNaming {
  /** Permutation of the input axes (e.g. `[0, 3, 1, 2]` for NHWC → NCHW). */
  readonly perm: readonly number[];
}

/** Options of {@link addPad}. */
export interface PadOptions extends OnnxNodeNaming {
  /** Pads `[x1_begin, x2_begin, …, x1_end, x2_end]` over all axes (including N and C). */
  readonly pads: readonly number[];
  /** Mode; default 'constant'. */
  readonly mode?: 'constant' | 'reflect' | 'edge';
  /** Fill value for 'constant' mode; default 0. */
  readonly value?: number;
}

function nodeName(g: OnnxGraph, opType: string, naming: OnnxNodeNaming): string {
  if (naming.name === undefined) return g.uniqueNodeName(opType);
  if (naming.name === '' || g.hasNode(naming.name)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${opType} node name "${naming.name}" is ${naming.name === '' ? 'empty' : 'already used'}; pass a unique name.`,
    );
  }
  return naming.name;
}

function operand(g: OnnxGraph, v: OnnxOperand, node: string, role: string): string {
  return typeof v === 'string' ? v : g.addInitializer(g.uniqueName(`${node}.${role}`), v);
}

function scalarF32(g: OnnxGraph, value: number, node: string, role: string): string {
  return g.addInitializer(g.uniqueName(`${node}.${role}`), { data: new Float32Array([value]), dims: [] });
}

function int64Vector(g: OnnxGraph, values: readonly number[], node: string, role: string): string {
  return g.addInitializer(g.uniqueName(`${node}.${role}`), { data: values, dims: [values.length], elemType: 'int64' });
}

function emit(
  g: OnnxGraph,
  opType: string,
  name: string,
  inputs: readonly string[],
  naming: OnnxNodeNaming,
  attributes?: OnnxAttributes,
): string {
  const outs = g.addNode({
    opType,
    name,
    inputs,
    ...(naming.output !== undefined ? { outputs: [naming.output] } : {}),
    ...(attributes !== undefined ? { attributes } : {}),
    ...(naming.docString !== undefined ? { docString: naming.docString } : {}),
  });
  return outs[0] as string;
}

function checkInts(what: string, values: readonly number[], length: number, min: number): void {
  if (values.length !== length || values.some((v) => !Number.isSafeInteger(v) || v < min)) {
    throw new LatpruneError('BAD_ARGUMENT', `${what} is [${values.join(', ')}]; expected ${length} integers >= ${min}.`);
  }
}

/** Spatial attributes shared by Conv and the pools, with defaults filled in and lengths checked. */
function spatial(
  label: string,
  kernelShape: readonly number[],
  strides: readonly number[] | undefined,
  pads: readonly number[] | undefined,
  dilations: readonly number[] | undefined,
): { kernel_shape: number[]; strides: number[]; pads: number[]; dilations: number[] } {
  const r = kernelShape.length;
  if (r === 0) throw new LatpruneError('BAD_ARGUMENT', `${label}: kernelShape is empty; give one size per spatial axis.`);
  const s = strides ?? new Array<number>(r).fill(1);
  const p = pads ?? new Array<number>(2 * r).fill(0);
  const d = dilations ?? new Array<number>(r).fill(1);
  checkInts(`${label}: kernelShape`, kernelShape, r, 1);
  checkInts(`${label}: strides`, s, r, 1);
  checkInts(`${label}: pads`, p, 2 * r, 0);
  checkInts(`${label}: dilations`, d, r, 1);
  return { kernel_shape: [...kernelShape], strides: [...s], pads: [...p], dilations: [...d] };
}

/**
 * Adds `Conv` (NCHW): attributes kernel_shape, strides, pads, dilations, group.
 *
 * @param g - graph
 * @param x - input value `[N, C, H, W]`
 * @param o - weight (OIHW), optional bias, spatial attributes, group, naming
 * @returns the output value name
 */
export function addConv(g: OnnxGraph, x: string, o: ConvOptions): string {
  const name = nodeName(g, 'Conv', o);
  const label = `Conv "${name}"`;
  let kernelShape = o.kernelShape;
  const group = o.group ?? 1;
  if (typeof o.weight !== 'string') {
    const dims = o.weight.dims;
    if (dims.length < 3) {
      throw new LatpruneError('BAD_ARGUMENT', `${label}: weight dims [${dims.join(', ')}] should be [M, C/group, kH, kW].`);
    }
    const fromWeight = dims.slice(2);
    if (kernelShape !== undefined && kernelShape.join(',') !== fromWeight.join(',')) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${label}: kernelShape [${kernelShape.join(', ')}] disagrees with weight dims [${dims.join(', ')}].`,
      );
    }
    kernelShape = fromWeight;
    if (!Number.isSafeInteger(group) || group < 1 || (dims[0] as number) % group !== 0) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${label}: group ${String(group)} must be a positive integer dividing the ${String(dims[0])} output channels.`,
      );
    }
  }
  if (kernelShape === undefined) {
    throw new LatpruneError('BAD_ARGUMENT', `${label}: the weight is a value name, so pass kernelShape too.`);
  }
  checkInts(`${label}: group`, [group], 1, 1);
  const sp = spatial(label, kernelShape, o.strides, o.pads, o.dilations);
  const inputs = [x, operand(g, o.weight, name, 'weight')];
  if (o.bias !== undefined) inputs.push(operand(g, o.bias, name, 'bias'));
  return emit(g, 'Conv', name, inputs, o, {
    kernel_shape: intsAttr(sp.kernel_shape),
    strides: intsAttr(sp.strides),
    pads: intsAttr(sp.pads),
    dilations: intsAttr(sp.dilations),
    group: intAttr(group),
  });
}

/**
 * Adds `BatchNormalization` in inference form (inputs X, scale, B, mean, var; attribute epsilon).
 *
 * @returns the output value name
 */
export function addBatchNormalization(g: OnnxGraph, x: string, o: BatchNormalizationOptions): string {
  const name = nodeName(g, 'BatchNormalization', o);
  const inputs = [
    x,
    operand(g, o.scale, name, 'scale'),
    operand(g, o.bias, name, 'bias'),
    operand(g, o.mean, name, 'mean'),
    operand(g, o.variance, name, 'var'),
  ];
  return emit(g, 'BatchNormalization', name, inputs, o, { epsilon: floatAttr(o.epsilon ?? 1e-5) });
}

/** Adds `Relu`. @returns the output value name */
export function addRelu(g: OnnxGraph, x: string, o: OnnxNodeNaming = {}): string {
  return emit(g, 'Relu', nodeName(g, 'Relu', o), [x], o);
}

/** Adds `LeakyRelu` with attribute alpha. @returns the output value name */
export function addLeakyRelu(g: OnnxGraph, x: string, o: LeakyReluOptions = {}): string {
  return emit(g, 'LeakyRelu', nodeName(g, 'LeakyRelu', o), [x], o, { alpha: floatAttr(o.alpha ?? 0.01) });
}

/**
 * Adds `Clip` (opset ≥ 11 form: min and max are scalar float initializers;
 * `{ min: 0, max: 6 }` is ReLU6).
 *
 * @returns the output value name
 */
export function addClip(g: OnnxGraph, x: string, o: ClipOptions = {}): string {
  const name = nodeName(g, 'Clip', o);
  if (o.min !== undefined && o.max !== undefined && o.min > o.max) {
    throw new LatpruneError('BAD_ARGUMENT', `Clip "${name}": min ${o.min} is greater than max ${o.max}.`);
  }
  const inputs = [x];
  if (o.min !== undefined || o.max !== undefined) {
    inputs.push(o.min !== undefined ? scalarF32(g, o.min, name, 'min') : '');
  }
  if (o.max !== undefined) inputs.push(scalarF32(g, o.max, name, 'max'));
  return emit(g, 'Clip', name, inputs, o);
}

/** Adds `Add` (multidirectional broadcasting). @returns the output value name */
export function addAdd(g: OnnxGraph, a: OnnxOperand, b: OnnxOperand, o: OnnxNodeNaming = {}): string {
  const name = nodeName(g, 'Add', o);
  return emit(g, 'Add', name, [operand(g, a, name, 'A'), operand(g, b, name, 'B')], o);
}

/** Adds `Mul` (multidirectional broadcasting). @returns the output value name */
export function addMul(g: OnnxGraph, a: OnnxOperand, b: OnnxOperand, o: OnnxNodeNaming = {}): string {
  const name = nodeName(g, 'Mul', o);
  return emit(g, 'Mul', name, [operand(g, a, name, 'A'), operand(g, b, name, 'B')], o);
}

/** Adds `Concat` with attribute axis. @returns the output value name */
export function addConcat(g: OnnxGraph, inputs: readonly string[], o: ConcatOptions): string {
  const name = nodeName(g, 'Concat', o);
  if (inputs.length === 0) throw new LatpruneError('BAD_ARGUMENT', `Concat "${name}" needs at least one input.`);
  checkInts(`Concat "${name}": axis`, [o.axis], 1, Number.MIN_SAFE_INTEGER);
  return emit(g, 'Concat', name, inputs, o, { axis: intAttr(o.axis) });
}

/** Adds `MaxPool`: kernel_shape, strides, pads, dilations, ceil_mode. @returns the output value name */
export function addMaxPool(g: OnnxGraph, x: string, o: MaxPoolOptions): string {
  const name = nodeName(g, 'MaxPool', o);
  const sp = spatial(`MaxPool "${name}"`, o.kernelShape, o.strides, o.pads, o.dilations);
  return emit(g, 'MaxPool', name, [x], o, {
    kernel_shape: intsAttr(sp.kernel_shape),
    strides: intsAttr(sp.strides),
    pads: intsAttr(sp.pads),
    dilations: intsAttr(sp.dilations),
    ceil_mode: intAttr(o.ceilMode === true ? 1 : 0),
  });
}

/** Adds `AveragePool`: kernel_shape, strides, pads, ceil_mode, count_include_pad. @returns the output value name */
export function addAveragePool(g: OnnxGraph, x: string, o: AveragePoolOptions): string {
  const name = nodeName(g, 'AveragePool', o);
  const sp = spatial(`AveragePool "${name}"`, o.kernelShape, o.strides, o.pads, undefined);
  return emit(g, 'AveragePool', name, [x], o, {
    kernel_shape: intsAttr(sp.kernel_shape),
    strides: intsAttr(sp.strides),
    pads: intsAttr(sp.pads),
    ceil_mode: intAttr(o.ceilMode === true ? 1 : 0),
    count_include_pad: intAttr(o.countIncludePad === true ? 1 : 0),
  });
}

/** Adds `GlobalAveragePool` (`[N, C, H, W]` → `[N, C, 1, 1]`). @returns the output value name */
export function addGlobalAveragePool(g: OnnxGraph, x: string, o: OnnxNodeNaming = {}): string {
  return emit(g, 'GlobalAveragePool', nodeName(g, 'GlobalAveragePool', o), [x], o);
}

/** Adds `Flatten` with attribute axis. @returns the output value name */
export function addFlatten(g: OnnxGraph, x: string, o: FlattenOptions = {}): string {
  const name = nodeName(g, 'Flatten', o);
  const axis = o.axis ?? 1;
  checkInts(`Flatten "${name}": axis`, [axis], 1, Number.MIN_SAFE_INTEGER);
  return emit(g, 'Flatten', name, [x], o, { axis: intAttr(axis) });
}

/** Adds `Reshape` with its shape as an int64 initializer. @returns the output value name */
export function addReshape(g: OnnxGraph, x: string, o: ReshapeOptions): string {
  const name = nodeName(g, 'Reshape', o);
  checkInts(`Reshape "${name}": shape`, o.shape, o.shape.length, -1);
  if (o.shape.filter((d) => d === -1).length > 1) {
    throw new LatpruneError('BAD_ARGUMENT', `Reshape "${name}": shape [${o.shape.join(', ')}] has more than one -1.`);
  }
  return emit(g, 'Reshape', name, [x, int64Vector(g, o.shape, name, 'shape')], o);
}

/** Adds `Gemm` with transA, transB, alpha, beta. @returns the output value name */
export function addGemm(g: OnnxGraph, a: string, o: GemmOptions): string {
  const name = nodeName(g, 'Gemm', o);
  if (typeof o.weight !== 'string' && o.weight.dims.length !== 2) {
    throw new LatpruneError('BAD_ARGUMENT', `Gemm "${name}": weight dims [${o.weight.dims.join(', ')}] must be 2-D.`);
  }
  const inputs = [a, operand(g, o.weight, name, 'weight')];
  if (o.bias !== undefined) inputs.push(operand(g, o.bias, name, 'bias'));
  return emit(g, 'Gemm', name, inputs, o, {
    alpha: floatAttr(o.alpha ?? 1),
    beta: floatAttr(o.beta ?? 1),
    transA: intAttr(o.transA === true ? 1 : 0),
    transB: intAttr(o.transB === true ? 1 : 0),
  });
}

/** Adds `MatMul` (numpy semantics). @returns the output value name */
export function addMatMul(g: OnnxGraph, a: OnnxOperand, b: OnnxOperand, o: OnnxNodeNaming = {}): string {
  const name = nodeName(g, 'MatMul', o);
  return emit(g, 'MatMul', name, [operand(g, a, name, 'A'), operand(g, b, name, 'B')], o);
}

/** Adds `Softmax` with attribute axis (default -1). @returns the output value name */
export function addSoftmax(g: OnnxGraph, x: string, o: SoftmaxOptions = {}): string {
  const name = nodeName(g, 'Softmax', o);
  const axis = o.axis ?? -1;
  checkInts(`Softmax "${name}": axis`, [axis], 1, Number.MIN_SAFE_INTEGER);
  return emit(g, 'Softmax', name, [x], o, { axis: intAttr(axis) });
}

/** Adds `Transpose` with attribute perm. @returns the output value name */
export function addTranspose(g: OnnxGraph, x: string, o: TransposeOptions): string {
  const name = nodeName(g, 'Transpose', o);
  const sorted = [...o.perm].sort((p, q) => p - q);
  if (sorted.some((v, i) => v !== i)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `Transpose "${name}": perm [${o.perm.join(', ')}] is not a permutation of 0..${o.perm.length - 1}.`,
    );
  }
  return emit(g, 'Transpose', name, [x], o, { perm: intsAttr(o.perm) });
}

/**
 * Adds `Pad` (opset ≥ 11 form: pads as an int64 initializer, constant value as
 * a scalar float initializer when non-zero; attribute mode).
 *
 * @returns the output value name
 */
export function addPad(g: OnnxGraph, x: string, o: PadOptions): string {
  const name = nodeName(g, 'Pad', o);
  if (o.pads.length === 0 || o.pads.length % 2 !== 0) {
    throw new LatpruneError('BAD_ARGUMENT', `Pad "${name}": pads [${o.pads.join(', ')}] must list a begin and an end per axis.`);
  }
  checkInts(`Pad "${name}": pads`, o.pads, o.pads.length, Number.MIN_SAFE_INTEGER);
  const mode = o.mode ?? 'constant';
  const inputs = [x, int64Vector(g, o.pads, name, 'pads')];
  if (mode === 'constant' && o.value !== undefined && o.value !== 0) inputs.push(scalarF32(g, o.value, name, 'value'));
  return emit(g, 'Pad', name, inputs, o, { mode: stringAttr(mode) });
}
