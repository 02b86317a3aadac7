/**
 * tfjs → ONNX layout conversions, checked end to end: tfjs (cpu backend)
 * computes Conv2D / DepthwiseConv2D / Dense / BatchNorm in its own NHWC
 * layout, ORT runs the converted weights in NCHW, and the outputs must agree.
 */
import assert from 'node:assert/strict';
import { seededRandom } from '../src/util/random.js';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';

import { LatpruneError } from '../src/errors.js';
import {
  OnnxGraph,
  addBatchNormalization,
  addConv,
  addGemm,
  addTranspose,
  conv2dKernelToOnnx,
  denseKernelToGemm,
  depthwiseKernelToOnnx,
  foldBatchNorm,
  samePadding,
  transposeData,
} from '../src/onnx/index.js';
import { assertClose } from './helpers/numeric.js';

const mulberry32 = seededRandom;

const rand = mulberry32(1234);
const randomF32 = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

async function runOrt(bytes: Uint8Array, data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', data, dims) });
  const y = out['y'];
  assert.ok(y !== undefined);
  return { data: y.data as Float32Array, dims: [...y.dims] };
}

/** A graph NHWC input `x` → Transpose → `body` (NCHW) → Transpose → NHWC output `y`. */
function nhwcGraph(inDims: readonly number[], body: (g: OnnxGraph, nchw: string) => string): Uint8Array {
  const g = new OnnxGraph({ producerVersion: 'test' });
  const x = g.addInput('x', ['batch', ...inDims.slice(1)]);
  g.addOutput('y', undefined);
  const nchw = addTranspose(g, x, { perm: [0, 3, 1, 2] });
  addTranspose(g, body(g, nchw), { perm: [0, 2, 3, 1], output: 'y' });
  return g.encode();
}

test.before(async () => {
  await tf.setBackend('cpu');
});

test('transposeData permutes row-major data', { timeout: 10_000 }, () => {
  const t = transposeData(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3], [1, 0]);
  assert.deepEqual(t, { data: Float32Array.from([0, 3, 1, 4, 2, 5]), dims: [3, 2] });
  // 3-D: out[i][j][k] = in[k][i][j] for perm [1, 2, 0].
  const dims = [2, 3, 4];
  const src = Float32Array.from({ length: 24 }, (_, i) => i);
  const r = transposeData(src, dims, [1, 2, 0]);
  assert.deepEqual(r.dims, [3, 4, 2]);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 4; j++) for (let k = 0; k < 2; k++) assert.equal(r.data[(i * 4 + j) * 2 + k], src[(k * 3 + i) * 4 + j]);
  assert.throws(
    () => transposeData(src, dims, [0, 0, 1]),
    (e: unknown) => e instanceof LatpruneError && /not a permutation/.test(e.message),
  );
  assert.throws(() => conv2dKernelToOnnx(src, [2, 3, 4]), /should be 4 non-negative integers/);
});

test('samePadding reproduces TensorFlow SAME (extra cell at the end)', { timeout: 10_000 }, () => {
  assert.deepEqual(samePadding([8, 8], [3, 3], [2, 2]), [0, 0, 1, 1]);
  assert.deepEqual(samePadding([7, 8], [3, 3], [2, 2]), [1, 0, 1, 1]);
  assert.deepEqual(samePadding([5], [3], [1], [2]), [2, 2]);
  assert.deepEqual(samePadding([4, 4], [1, 1], [2, 2]), [0, 0, 0, 0]);
});

test('Conv2D HWIO kernel → OIHW matches tfjs conv2d (stride 2, SAME, odd and even sizes)', { timeout: 10_000 }, async () => {
  for (const hw of [7, 8]) {
    const inDims = [2, hw, hw, 3];
    const x = randomF32(size(inDims));
    const kernel = randomF32(3 * 3 * 3 * 5);
    const bias = randomF32(5);
    const expected = tf.tidy(() =>
      tf.add(
        tf.conv2d(tf.tensor4d(x, inDims as [number, number, number, number]), tf.tensor4d(kernel, [3, 3, 3, 5]), 2, 'same'),
        tf.tensor1d(bias),
      ),
    );
    const w = conv2dKernelToOnnx(kernel, [3, 3, 3, 5]);
    assert.deepEqual(w.dims, [5, 3, 3, 3]);
    const bytes = nhwcGraph(inDims, (g, v) =>
      addConv(g, v, { weight: w, bias: { data: bias, dims: [5] }, strides: [2, 2], pads: samePadding([hw, hw], [3, 3], [2, 2]) }),
    );
    const got = await runOrt(bytes, x, inDims);
    assert.deepEqual(got.dims, expected.shape);
    assertClose(got.data, expected.dataSync() as Float32Array, `conv ${hw}x${hw}`);
    expected.dispose();
  }
});

test('DepthwiseConv2D kernel [H,W,C,mult] → grouped conv matches tfjs depthwiseConv2d', { timeout: 10_000 }, async () => {
  const inDims = [2, 6, 6, 4];
  const x = randomF32(size(inDims));
  const kernel = randomF32(3 * 3 * 4 * 2);
  const expected = tf.tidy(() =>
    tf.depthwiseConv2d(tf.tensor4d(x, inDims as [number, number, number, number]), tf.tensor4d(kernel, [3, 3, 4, 2]), 1, 'same'),
  );
  const w = depthwiseKernelToOnnx(kernel, [3, 3, 4, 2]);
  assert.deepEqual(w.dims, [8, 1, 3, 3]);
  assert.equal(w.group, 4);
  const bytes = nhwcGraph(inDims, (g, v) => addConv(g, v, { weight: w, group: w.group, pads: samePadding([6, 6], [3, 3], [1, 1]) }));
  const got = await runOrt(bytes, x, inDims);
  assert.deepEqual(got.dims, expected.shape);
  assertClose(got.data, expected.dataSync() as Float32Array, 'depthwise');
  expected.dispose();
});

test('Dense kernel [in,out] → Gemm B (transB true and false) matches tfjs matMul', { timeout: 10_000 }, async () => {
  const x = randomF32(3 * 6);
  const kernel = randomF32(6 * 4);
  const bias = randomF32(4);
  const expected = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(x, [3, 6]), tf.tensor2d(kernel, [6, 4])), tf.tensor1d(bias)));
  for (const transB of [true, false]) {
    const b = denseKernelToGemm(kernel, [6, 4], transB);
    assert.deepEqual(b.dims, transB ? [4, 6] : [6, 4]);
    const g = new OnnxGraph({ producerVersion: 'test' });
    const input = g.addInput('x', ['batch', 6]);
    g.addOutput('y', ['batch', 4]);
    addGemm(g, input, { weight: b, bias: { data: bias, dims: [4] }, transB: b.transB, output: 'y' });
    const got = await runOrt(g.encode(), x, [3, 6]);
    assertClose(got.data, expected.dataSync() as Float32Array, `gemm transB=${String(transB)}`);
  }
  expected.dispose();
});

test(
  'foldBatchNorm: folded conv, depthwise conv and Gemm match tfjs conv + batchNorm; so does an explicit BatchNormalization node',
  { timeout: 10_000 },
  async () => {
    const eps = 1e-3;
    const bnFor = (c: number) => ({
      gamma: randomF32(c, 0.5, 1.5),
      beta: randomF32(c, -0.5, 0.5),
      mean: randomF32(c, -0.3, 0.3),
      variance: randomF32(c, 0.2, 2),
      epsilon: eps,
    });
    const tfBn = (y: tf.Tensor, bn: ReturnType<typeof bnFor>): tf.Tensor =>
      tf.batchNorm(y, tf.tensor1d(bn.mean), tf.tensor1d(bn.variance), tf.tensor1d(bn.beta), tf.tensor1d(bn.gamma), eps);

    // Regular conv with bias.
    const inDims = [2, 5, 5, 3];
    const x = randomF32(size(inDims));
    const kernel = randomF32(3 * 3 * 3 * 4);
    const bias = randomF32(4);
    const bn = bnFor(4);
    const expected = tf.tidy(() =>
      tfBn(
        tf.add(
          tf.conv2d(tf.tensor4d(x, inDims as [number, number, number, number]), tf.tensor4d(kernel, [3, 3, 3, 4]), 1, 'same'),
          tf.tensor1d(bias),
        ),
        bn,
      ),
    );
    const w = conv2dKernelToOnnx(kernel, [3, 3, 3, 4]);
    const folded = foldBatchNorm(w.data, w.dims, bias, bn);
    const pads = samePadding([5, 5], [3, 3], [1, 1]);
    const foldedOut = await runOrt(
      nhwcGraph(inDims, (g, v) => addConv(g, v, { weight: folded.weight, bias: folded.bias, pads })),
      x,
      inDims,
    );
    assertClose(foldedOut.data, expected.dataSync() as Float32Array, 'folded conv');
    const explicit = await runOrt(
      nhwcGraph(inDims, (g, v) =>
        addBatchNormalization(g, addConv(g, v, { weight: w, bias: { data: bias, dims: [4] }, pads }), {
          scale: { data: bn.gamma, dims: [4] },
          bias: { data: bn.beta, dims: [4] },
          mean: { data: bn.mean, dims: [4] },
          variance: { data: bn.variance, dims: [4] },
          epsilon: eps,
        }),
      ),
      x,
      inDims,
    );
    assertClose(explicit.data, expected.dataSync() as Float32Array, 'conv + BatchNormalization');
    expected.dispose();

    // Depthwise conv (no bias), BN over C·mult channels.
    const dInDims = [1, 5, 5, 3];
    const dx = randomF32(size(dInDims));
    const dk = randomF32(3 * 3 * 3 * 2);
    const dbn = bnFor(6);
    const dExpected = tf.tidy(() =>
      tfBn(tf.depthwiseConv2d(tf.tensor4d(dx, dInDims as [number, number, number, number]), tf.tensor4d(dk, [3, 3, 3, 2]), 1, 'same'), dbn),
    );
    const dw = depthwiseKernelToOnnx(dk, [3, 3, 3, 2]);
    const dFolded = foldBatchNorm(dw.data, dw.dims, undefined, dbn);
    const dOut = await runOrt(
      nhwcGraph(dInDims, (g, v) => addConv(g, v, { weight: dFolded.weight, bias: dFolded.bias, group: dw.group, pads })),
      dx,
      dInDims,
    );
    assertClose(dOut.data, dExpected.dataSync() as Float32Array, 'folded depthwise');
    dExpected.dispose();

    // Dense + BN over output features, with B as [out, in] (transB).
    const fx = randomF32(3 * 6);
    const fk = randomF32(6 * 4);
    const fbn = bnFor(4);
    const fExpected = tf.tidy(() => tfBn(tf.matMul(tf.tensor2d(fx, [3, 6]), tf.tensor2d(fk, [6, 4])), fbn));
    const fb = denseKernelToGemm(fk, [6, 4]);
    const fFolded = foldBatchNorm(fb.data, fb.dims, undefined, fbn);
    const g = new OnnxGraph({ producerVersion: 'test' });
    const input = g.addInput('x', ['batch', 6]);
    g.addOutput('y', ['batch', 4]);
    addGemm(g, input, { weight: fFolded.weight, bias: fFolded.bias, transB: true, output: 'y' });
    const fOut = await runOrt(g.encode(), fx, [3, 6]);
    assertClose(fOut.data, fExpected.dataSync() as Float32Array, 'folded gemm');
    fExpected.dispose();

    assert.throws(() => foldBatchNorm(w.data, w.dims, undefined, bnFor(3)), /gamma has 3 values but the weight has 4 output channels/);
  },
);
