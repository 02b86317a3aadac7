/**
 * tfjs → ONNX weight layouts and BatchNorm folding, as pure functions over Float32Array.
 *
 * tfjs (NHWC) stores Conv2D kernels as HWIO, DepthwiseConv2D kernels as
 * `[H, W, C, multiplier]` and Dense kernels as `[in, out]`; ONNX Conv wants
 * OIHW (`[M, C/group, kH, kW]`) and Gemm computes `A · B` or `A · Bᵀ`.
 */
import { LatpruneError } from '../errors.js';
import { dimsSize } from './tensor.js';

/** A float32 tensor with its dims, accepted wherever an `OnnxTensorInit` is. */
export interface Float32Tensor {
  readonly data: Float32Array;
  readonly dims: number[];
}

function checkData(what: string, data: Float32Array, dims: readonly number[], rank: number): void {
  if (dims.length !== rank || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new LatpruneError('BAD_ARGUMENT', `${what}: dims [${dims.join(', ')}] should be ${rank} non-negative integers.`);
  }
  if (data.length !== dimsSize(dims)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${what}: ${data.length} values do not fill dims [${dims.join(', ')}] (${dimsSize(dims)} needed).`,
    );
  }
}

/**
 * Transposes a row-major tensor: output axis `k` is input axis `perm[k]`.
 *
 * @param data - row-major data
 * @param dims - its dims
 * @param perm - permutation of `0..dims.length-1`
 * @returns new data and dims `perm.map(p => dims[p])`
 */
export function transposeData(data: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Tensor {
  checkData('transposeData', data, dims, dims.length);
  const r = dims.length;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new LatpruneError('BAD_ARGUMENT', `transposeData: perm [${perm.join(', ')}] is not a permutation of 0..${r - 1}.`);
  }
  const outDims = perm.map((p) => dims[p] as number);
  const inStrides = new Array<number>(r);
  for (let k = r - 1, s = 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= dims[k] as number;
  }
  // Stride in the input of a unit step along each output axis.
  const step = perm.map((p) => inStrides[p] as number);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[src] as number;
    for (let k = r - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      src += step[k] as number;
      if ((idx[k] as number) < (outDims[k] as number)) break;
      src -= (idx[k] as number) * (step[k] as number);
      idx[k] = 0;
    }
  }
  return { data: out, dims: outDims };
}

/**
 * tfjs Conv2D kernel HWIO → ONNX Conv weight OIHW.
 *
 * @param kernel - `[kH, kW, Cin, Cout]` row-major
 * @param dims - `[kH, kW, Cin, Cout]`
 * @returns weight with dims `[Cout, Cin, kH, kW]`
 */
export function conv2dKernelToOnnx(kernel: Float32Array, dims: readonly number[]): Float32Tensor {
  checkData('conv2dKernelToOnnx (HWIO kernel)', kernel, dims, 4);
  return transposeData(kernel, dims, [3, 2, 0, 1]);
}

/** A grouped-conv weight with the `group` attribute it needs. */
export interface DepthwiseWeight extends Float32Tensor {
  /** Value for Conv's `group` attribute (the number of input channels). */
  readonly group: number;
}

/**
 * tfjs DepthwiseConv2D kernel `[kH, kW, C, mult]` → ONNX grouped Conv weight
 * `[C·mult, 1, kH, kW]` with `group = C`. Output channel `c·mult + m` reads
 * input channel `c`, which is the channel order of tfjs's output.
 *
 * @param kernel - row-major `[kH, kW, C, mult]`
 * @param dims - `[kH, kW, C, mult]`
 */
export function depthwiseKernelToOnnx(kernel: Float32Array, dims: readonly number[]): DepthwiseWeight {
  checkData('depthwiseKernelToOnnx ([H, W, C, multiplier] kernel)', kernel, dims, 4);
  const [h, w, c, m] = dims as [number, number, number, number];
  const t = transposeData(kernel, dims, [2, 3, 0, 1]); // [C, mult, H, W]
  return { data: t.data, dims: [c * m, 1, h, w], group: c };
}

/** A Gemm B operand with the `transB` flag it must be used with. */
export interface GemmWeight extends Float32Tensor {
  /** Value for Gemm's `transB` attribute. */
  readonly transB: boolean;
}

/**
 * tfjs Dense kernel `[in, out]` → Gemm B.
 *
 * @param kernel - row-major `[in, out]`
 * @param dims - `[in, out]`
 * @param transB - true (default): B is `[out, in]` (output channels first, like
 *   OIHW, so BatchNorm folding and channel slicing work on axis 0) and Gemm
 *   needs `transB: 1`; false: B is the kernel as is (`[in, out]`), `transB: 0`
 */
export function denseKernelToGemm(kernel: Float32Array, dims: readonly number[], transB = true): GemmWeight {
  checkData('denseKernelToGemm ([in, out] kernel)', kernel, dims, 2);
  if (!transB) return { data: kernel.slice(), dims: [...dims], transB };
  const t = transposeData(kernel, dims, [1, 0]);
  return { ...t, transB };
}

/** BatchNorm parameters (per channel, all of length C). */
export interface BatchNormParams {
  /** Gamma; omitted means ones (Keras `scale: false`). */
  readonly gamma?: Float32Array;
  /** Beta; omitted means zeros (Keras `center: false`). */
  readonly beta?: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  /** Epsilon (Keras default 1e-3). */
  readonly epsilon: number;
}

/** A folded weight and bias. */
export interface FoldedConv {
  readonly weight: Float32Tensor;
  readonly bias: Float32Tensor;
}

/**
 * Folds an inference BatchNorm that follows a conv (or Gemm) into its weight
 * and bias: `s = gamma / sqrt(var + eps)`, `W'[o] = s[o]·W[o]`,
 * `b' = s·(b − mean) + beta`. Computed in float64, stored as float32.
 *
 * @param weight - weight with output channels on axis 0 (OIHW, depthwise
 *   `[C·mult, 1, H, W]`, or Gemm B with transB)
 * @param weightDims - its dims; `weightDims[0]` is the number of output channels C
 * @param bias - conv bias `[C]`, or `undefined` for none
 * @param bn - gamma, beta, mean, variance (each `[C]`) and epsilon
 */
export function foldBatchNorm(
  weight: Float32Array,
  weightDims: readonly number[],
  bias: Float32Array | undefined,
  bn: BatchNormParams,
): FoldedConv {
  checkData('foldBatchNorm (weight)', weight, weightDims, weightDims.length);
  const c = weightDims[0];
  if (c === undefined) throw new LatpruneError('BAD_ARGUMENT', 'foldBatchNorm: the weight has no output-channel axis.');
  const vectors: [string, Float32Array | undefined][] = [
    ['bias', bias],
    ['gamma', bn.gamma],
    ['beta', bn.beta],
    ['mean', bn.mean],
    ['variance', bn.variance],
  ];
  for (const [label, v] of vectors) {
    if (v !== undefined && v.length !== c) {
      throw new LatpruneError('BAD_ARGUMENT', `foldBatchNorm: ${label} has ${v.length} values but the weight has ${c} output channels.`);
    }
  }
  if (!(bn.epsilon >= 0)) throw new LatpruneError('BAD_ARGUMENT', `foldBatchNorm: epsilon ${bn.epsilon} must be >= 0.`);
  const per = c === 0 ? 0 : weight.length / c;
  const w = new Float32Array(weight.length);
  const b = new Float32Array(c);
  for (let o = 0; o < c; o++) {
    const variance = bn.variance[o] as number;
    if (!(variance + bn.epsilon > 0)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `foldBatchNorm: variance + epsilon is ${variance + bn.epsilon} for channel ${o}; it must be positive.`,
      );
    }
    const s = (bn.gamma?.[o] ?? 1) / Math.sqrt(variance + bn.epsilon);
    for (let j = o * per; j < (o + 1) * per; j++) w[j] = (weight[j] as number) * s;
    b[o] = s * ((bias?.[o] ?? 0) - (bn.mean[o] as number)) + (bn.beta?.[o] ?? 0);
  }
  return { weight: { data: w, dims: [...weightDims] }, bias: { data: b, dims: [c] } };
}

/**
 * Explicit ONNX pads reproducing tfjs/TensorFlow `padding: 'same'` for a given
 * input size: output size `ceil(in / stride)`, total padding split with the
 * extra cell at the end.
 *
 * @param inputSize - spatial input dims, e.g. `[H, W]`
 * @param kernelShape - spatial kernel dims
 * @param strides - strides per spatial axis
 * @param dilations - dilations per axis; default all 1
 * @returns pads `[x1_begin, x2_begin, …, x1_end, x2_end]`
 */
export function samePadding(
  inputSize: readonly number[],
  kernelShape: readonly number[],
  strides: readonly number[],
  dilations?: readonly number[],
): number[] {
  const r = inputSize.length;
  const d = dilations ?? new Array<number>(r).fill(1);
  const all = [...inputSize, ...kernelShape, ...strides, ...d];
  if (kernelShape.length !== r || strides.length !== r || d.length !== r || all.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `samePadding: inputSize [${inputSize.join(', ')}], kernelShape [${kernelShape.join(', ')}], ` +
        `strides [${strides.join(', ')}] and dilations [${d.join(', ')}] need one positive integer per spatial axis.`,
    );
  }
  const begins: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < r; i++) {
    const size = inputSize[i] as number;
    const s = strides[i] as number;
    const effK = ((kernelShape[i] as number) - 1) * (d[i] as number) + 1;
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + effK - size, 0);
    begins.push(Math.floor(total / 2));
    ends.push(total - Math.floor(total / 2));
  }
  return [...begins, ...ends];
}
