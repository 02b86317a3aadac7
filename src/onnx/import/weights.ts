/**
 * ONNX (NCHW, PyTorch) weight layouts -> tfjs (NHWC) layouts, transposed once
 * at import.
 *
 * @internal
 */

/** Conv weight `[cout, cin_g, kh, kw]` -> tfjs Conv2D / GroupedConv2D kernel `[kh, kw, cin_g, cout]`. */
export function convKernelToTfjs(w: Float32Array, [co, ci, kh, kw]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < co!; o++)
    for (let i = 0; i < ci!; i++)
      for (let y = 0; y < kh!; y++)
        for (let x = 0; x < kw!; x++) out[((y * kw! + x) * ci! + i) * co! + o] = w[((o * ci! + i) * kh! + y) * kw! + x]!;
  return out;
}

/** Depthwise weight `[cin * m, 1, kh, kw]` -> tfjs DepthwiseConv2D kernel `[kh, kw, cin, m]` (output `c * m + k` in both). */
export function depthwiseKernelToTfjs(w: Float32Array, [co, , kh, kw]: readonly number[], cin: number): Float32Array {
  const m = co! / cin;
  const out = new Float32Array(w.length);
  for (let c = 0; c < cin; c++)
    for (let k = 0; k < m; k++)
      for (let y = 0; y < kh!; y++)
        for (let x = 0; x < kw!; x++) out[((y * kw! + x) * cin + c) * m + k] = w[((c * m + k) * kh! + y) * kw! + x]!;
  return out;
}

/**
 * A Dense kernel `[in, units]` from a Gemm/MatMul weight, scaled by `alpha`;
 * rows reordered from ONNX's flattened (c, h, w) order to tfjs' (h, w, c)
 * when the input was flattened from `[C, H, W]`.
 *
 * @param w - the weight
 * @param dims - its dims
 * @param transposed - whether `w` is `[units, in]` (Gemm transB = 1)
 * @param alpha - Gemm's alpha
 * @param flatFrom - `[C, H, W]` of the flattened input, if any
 */
export function denseKernelToTfjs(
  w: Float32Array,
  dims: readonly number[],
  transposed: boolean,
  alpha: number,
  flatFrom?: readonly [number, number, number],
): Float32Array {
  const [a, b] = dims as [number, number];
  const K = transposed ? b : a;
  const N = transposed ? a : b;
  const out = new Float32Array(K * N);
  const [C, H, W] = flatFrom ?? [K, 1, 1];
  for (let k = 0; k < K; k++) {
    const c = Math.floor(k / (H * W));
    const p = k % (H * W);
    const row = flatFrom === undefined ? k : p * C + c;
    for (let n = 0; n < N; n++) out[row * N + n] = alpha * (transposed ? w[n * K + k]! : w[k * N + n]!);
  }
  return out;
}
