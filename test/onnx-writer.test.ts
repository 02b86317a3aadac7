/**
 * ONNX writer/reader tests: ORT execution at two batch sizes against a plain
 * TypeScript NCHW reference, read-back round trip, the official Python
 * checker (when installed), and corrupt/truncated input errors.
 */
import assert from 'node:assert/strict';
import { seededRandom } from '../src/util/random.js';
import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import * as ort from 'onnxruntime-node';

import { LatpruneError } from '../src/errors.js';
import { onnx } from '../src/onnx/proto.js';
import {
  OnnxGraph,
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
  decodeModel,
  intAttr,
  irVersionForOpset,
  readModelFile,
  writeModelFile,
} from '../src/onnx/index.js';
import { tempDir } from './helpers/tmp.js';
import { assertClose } from './helpers/numeric.js';

// ---------------------------------------------------------------------------
// Plain TypeScript NCHW reference (float64)
// ---------------------------------------------------------------------------

interface T {
  data: Float64Array;
  dims: number[];
}

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const tensor = (dims: number[], f: (i: number) => number = () => 0): T => ({
  dims,
  data: Float64Array.from({ length: size(dims) }, (_, i) => f(i)),
});
const map = (x: T, f: (v: number, i: number) => number): T => ({ dims: [...x.dims], data: x.data.map(f) });
const at = (a: Float64Array | Float32Array, i: number): number => a[i] as number;

const mulberry32 = seededRandom;

function randomF32(rand: () => number, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

interface Conv2dParams {
  strides: number[];
  pads: number[]; // [top, left, bottom, right]
  dilations: number[];
  group: number;
}

function refConv(x: T, w: Float32Array, wDims: number[], b: Float32Array | undefined, p: Conv2dParams): T {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, cg, kh, kw] = wDims as [number, number, number, number];
  const [sh, sw] = p.strides as [number, number];
  const [pt, pl, pb, pr] = p.pads as [number, number, number, number];
  const [dh, dw] = p.dilations as [number, number];
  assert.equal(cg * p.group, c, 'reference conv: channels / group mismatch');
  const oh = Math.floor((h + pt + pb - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - ((kw - 1) * dw + 1)) / sw) + 1;
  const out = tensor([n, m, oh, ow]);
  const mPerGroup = m / p.group;
  for (let ni = 0; ni < n; ni++)
    for (let mi = 0; mi < m; mi++) {
      const gi = Math.floor(mi / mPerGroup);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let acc = b === undefined ? 0 : at(b, mi);
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * sh - pt + ky * dh;
                const ix = xx * sw - pl + kx * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const cin = gi * cg + ci;
                acc += at(x.data, ((ni * c + cin) * h + iy) * wd + ix) * at(w, ((mi * cg + ci) * kh + ky) * kw + kx);
              }
          out.data[((ni * m + mi) * oh + y) * ow + xx] = acc;
        }
    }
  return out;
}

function refPool(x: T, kind: 'max' | 'avg', k: number[], s: number[], pads: number[]): T {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [kh, kw] = k as [number, number];
  const [sh, sw] = s as [number, number];
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = tensor([n, c, oh, ow]);
  for (let nc = 0; nc < n * c; nc++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0; // count_include_pad = 0
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = y * sh - pt + ky;
            const ix = xx * sw - pl + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = at(x.data, (nc * h + iy) * w + ix);
            best = Math.max(best, v);
            sum += v;
            count++;
          }
        out.data[(nc * oh + y) * ow + xx] = kind === 'max' ? best : sum / count;
      }
  return out;
}

/** Elementwise binary op with numpy broadcasting of `b` (same rank or fewer dims). */
function refBinary(a: T, b: T, f: (p: number, q: number) => number): T {
  const r = a.dims.length;
  const bd = [...new Array<number>(r - b.dims.length).fill(1), ...b.dims];
  const out = tensor([...a.dims]);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < out.data.length; i++) {
    let rem = i;
    for (let k = r - 1; k >= 0; k--) {
      idx[k] = rem % (a.dims[k] as number);
      rem = Math.floor(rem / (a.dims[k] as number));
    }
    let j = 0;
    for (let k = 0; k < r; k++) j = j * (bd[k] as number) + ((bd[k] as number) === 1 ? 0 : (idx[k] as number));
    out.data[i] = f(at(a.data, i), at(b.data, j));
  }
  return out;
}

function refConcat1(a: T, b: T): T {
  const [n, ca, h, w] = a.dims as [number, number, number, number];
  const cb = b.dims[1] as number;
  const hw = h * w;
  const out = tensor([n, ca + cb, h, w]);
  for (let ni = 0; ni < n; ni++) {
    out.data.set(a.data.subarray(ni * ca * hw, (ni + 1) * ca * hw), ni * (ca + cb) * hw);
    out.data.set(b.data.subarray(ni * cb * hw, (ni + 1) * cb * hw), (ni * (ca + cb) + ca) * hw);
  }
  return out;
}

function refGap(x: T): T {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const out = tensor([n, c, 1, 1]);
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let j = 0; j < h * w; j++) s += at(x.data, i * h * w + j);
    out.data[i] = s / (h * w);
  }
  return out;
}

/** Y = X · Bᵀ + C for B `[out, in]`. */
function refGemmTransB(x: T, bw: Float32Array, bDims: number[], c: Float32Array): T {
  const [m, k] = x.dims as [number, number];
  const nOut = bDims[0] as number;
  const out = tensor([m, nOut]);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < nOut; j++) {
      let s = at(c, j);
      for (let q = 0; q < k; q++) s += at(x.data, i * k + q) * at(bw, j * k + q);
      out.data[i * nOut + j] = s;
    }
  return out;
}

function refSoftmaxLast(x: T): T {
  const last = x.dims[x.dims.length - 1] as number;
  const out = map(x, (v) => v);
  for (let r = 0; r < x.data.length / last; r++) {
    const row = out.data.subarray(r * last, (r + 1) * last);
    const mx = Math.max(...row);
    let s = 0;
    for (let i = 0; i < last; i++) s += row[i] = Math.exp(at(row, i) - mx);
    for (let i = 0; i < last; i++) row[i] = at(row, i) / s;
  }
  return out;
}

function refPadConstant(x: T, pads: number[], value: number): T {
  const r = x.dims.length;
  const outDims = x.dims.map((d, k) => d + (pads[k] as number) + (pads[k + r] as number));
  const out = tensor(outDims, () => value);
  for (let i = 0; i < x.data.length; i++) {
    let rem = i;
    let j = 0;
    let mul = 1;
    for (let k = r - 1; k >= 0; k--) {
      const idx = rem % (x.dims[k] as number);
      rem = Math.floor(rem / (x.dims[k] as number));
      j += (idx + (pads[k] as number)) * mul;
      mul *= outDims[k] as number;
    }
    out.data[j] = at(x.data, i);
  }
  return out;
}

function refTranspose(x: T, perm: number[]): T {
  const r = x.dims.length;
  const outDims = perm.map((p) => x.dims[p] as number);
  const out = tensor(outDims);
  const inStrides = x.dims.map((_, k) => size(x.dims.slice(k + 1)));
  for (let i = 0; i < out.data.length; i++) {
    let rem = i;
    let src = 0;
    for (let k = r - 1; k >= 0; k--) {
      const idx = rem % (outDims[k] as number);
      rem = Math.floor(rem / (outDims[k] as number));
      src += idx * (inStrides[perm[k] as number] as number);
    }
    out.data[i] = at(x.data, src);
  }
  return out;
}

/** Batched `[..., M, K] · [K, N]`. */
function refMatMul(a: T, bw: Float32Array, bDims: number[]): T {
  const k = a.dims[a.dims.length - 1] as number;
  const nOut = bDims[1] as number;
  const rows = a.data.length / k;
  const out = tensor([...a.dims.slice(0, -1), nOut]);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < nOut; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += at(a.data, i * k + q) * at(bw, q * nOut + j);
      out.data[i * nOut + j] = s;
    }
  return out;
}

// ---------------------------------------------------------------------------
// Model A: Conv+Relu+Conv+Add+Relu+Clip+MaxPool+(dilated depthwise Conv)+Concat+GAP+Flatten+Gemm+Softmax
// ---------------------------------------------------------------------------

interface ModelA {
  bytes: Uint8Array;
  graph: OnnxGraph;
  reference: (x: T) => { probs: T; features: T; clipped: number };
  w1: Float32Array;
  fcW: Float32Array;
}

function buildModelA(opsetVersion = 13): ModelA {
  const rand = mulberry32(42);
  const w1 = randomF32(rand, 8 * 3 * 3 * 3, -0.5, 0.5);
  const b1 = randomF32(rand, 8, -0.1, 0.1);
  const w2 = randomF32(rand, 8 * 8 * 3 * 3, -0.3, 0.3);
  const b2 = randomF32(rand, 8, -0.1, 0.1);
  const wd = randomF32(rand, 8 * 1 * 3 * 3, -0.5, 0.5);
  const fcW = randomF32(rand, 10 * 16, -1, 1);
  const fcB = randomF32(rand, 10, -0.1, 0.1);

  const g = new OnnxGraph({
    producerVersion: '9.8.7',
    opsetVersion,
    graphName: 'small_cnn',
    docString: 'test model A',
    graphDocString: 'graph of model A',
    metadata: { source: 'onnx-writer.test', layout: 'NCHW' },
  });
  g.setMetadata('pruned', 'false');
  const x = g.addInput('x', ['batch', 3, 8, 8], { docString: 'image' });
  g.addOutput('probs', ['batch', 10]);
  g.addOutput('features', ['batch', 16, 4, 4]);
  const same3 = { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1] };
  const c1 = addConv(g, x, { name: 'conv1', weight: { data: w1, dims: [8, 3, 3, 3] }, bias: { data: b1, dims: [8] }, ...same3 });
  const r1 = addRelu(g, c1, { name: 'relu1' });
  const c2 = addConv(g, r1, { name: 'conv2', weight: { data: w2, dims: [8, 8, 3, 3] }, bias: { data: b2, dims: [8] }, pads: [1, 1, 1, 1] });
  const sum = addAdd(g, c2, r1, { name: 'residual' });
  const r2 = addRelu(g, sum);
  const clip = addClip(g, r2, { name: 'relu6ish', min: 0, max: 0.5 });
  const pool = addMaxPool(g, clip, { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const dw = addConv(g, pool, {
    name: 'dw',
    weight: { data: wd, dims: [8, 1, 3, 3] },
    group: 8,
    dilations: [2, 2],
    pads: [2, 2, 2, 2],
  });
  const cat = addConcat(g, [pool, dw], { axis: 1, output: 'features' });
  const gap = addGlobalAveragePool(g, cat);
  const flat = addFlatten(g, gap, { axis: 1 });
  const logits = addGemm(g, flat, { name: 'fc', weight: { data: fcW, dims: [10, 16] }, bias: { data: fcB, dims: [10] }, transB: true });
  addSoftmax(g, logits, { axis: -1, output: 'probs' });

  const reference = (input: T): { probs: T; features: T; clipped: number } => {
    const rc1 = refConv(input, w1, [8, 3, 3, 3], b1, { ...same3, group: 1 });
    const rr1 = map(rc1, (v) => Math.max(v, 0));
    const rc2 = refConv(rr1, w2, [8, 8, 3, 3], b2, { ...same3, group: 1 });
    const rr2 = map(
      refBinary(rc2, rr1, (p, q) => p + q),
      (v) => Math.max(v, 0),
    );
    const clipped = rr2.data.filter((v) => v > 0.5).length;
    const rclip = map(rr2, (v) => Math.min(Math.max(v, 0), 0.5));
    const rpool = refPool(rclip, 'max', [3, 3], [2, 2], [1, 1, 1, 1]);
    const rdw = refConv(rpool, wd, [8, 1, 3, 3], undefined, { strides: [1, 1], pads: [2, 2, 2, 2], dilations: [2, 2], group: 8 });
    const features = refConcat1(rpool, rdw);
    const g0 = refGap(features);
    const flatT = { data: g0.data, dims: [g0.dims[0] as number, 16] };
    const probs = refSoftmaxLast(refGemmTransB(flatT, fcW, [10, 16], fcB));
    return { probs, features, clipped };
  };
  return { bytes: g.encode(), graph: g, reference, w1, fcW };
}

// ---------------------------------------------------------------------------
// Model B: Pad+AveragePool+BatchNormalization+LeakyRelu+Mul+Transpose+Reshape+MatMul
// ---------------------------------------------------------------------------

function buildModelB(): { bytes: Uint8Array; reference: (x: T) => T } {
  const rand = mulberry32(7);
  const gamma = randomF32(rand, 4, 0.5, 1.5);
  const beta = randomF32(rand, 4, -0.5, 0.5);
  const mean = randomF32(rand, 4, -0.2, 0.2);
  const variance = randomF32(rand, 4, 0.5, 2);
  const scale = randomF32(rand, 4, -2, 2);
  const mm = randomF32(rand, 4 * 6, -1, 1);
  const pads = [0, 0, 1, 0, 0, 0, 0, 1];

  const g = new OnnxGraph({ producerVersion: '9.8.7' });
  const y = g.addInput('y', ['batch', 4, 5, 4]);
  g.addOutput('z', ['batch', 9, 6]);
  const p = addPad(g, y, { pads, value: 0.5 }); // [N, 4, 6, 5]
  // The last column of windows overlaps the end pad: count_include_pad matters.
  const ap = addAveragePool(g, p, { kernelShape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] });
  const bn = addBatchNormalization(g, ap, {
    scale: { data: gamma, dims: [4] },
    bias: { data: beta, dims: [4] },
    mean: { data: mean, dims: [4] },
    variance: { data: variance, dims: [4] },
    epsilon: 1e-3,
  });
  const lr = addLeakyRelu(g, bn, { alpha: 0.2 });
  const mul = addMul(g, lr, { data: scale, dims: [1, 4, 1, 1] });
  const tr = addTranspose(g, mul, { perm: [0, 2, 3, 1] });
  const rs = addReshape(g, tr, { shape: [0, 9, 4] });
  addMatMul(g, rs, { data: mm, dims: [4, 6] }, { output: 'z' });

  const reference = (input: T): T => {
    const rp = refPadConstant(input, pads, 0.5);
    const rap = refPool(rp, 'avg', [2, 2], [2, 2], [0, 0, 1, 1]);
    const c = (i: number): number => Math.floor(i / 9) % 4;
    const rbn = map(rap, (v, i) => ((v - at(mean, c(i))) / Math.sqrt(at(variance, c(i)) + 1e-3)) * at(gamma, c(i)) + at(beta, c(i)));
    const rlr = map(rbn, (v) => (v < 0 ? 0.2 * v : v));
    const rmul = map(rlr, (v, i) => v * at(scale, c(i)));
    const rtr = refTranspose(rmul, [0, 2, 3, 1]);
    const n = input.dims[0] as number;
    return refMatMul({ data: rtr.data, dims: [n, 9, 4] }, mm, [4, 6]);
  };
  return { bytes: g.encode(), reference };
}

function randomInput(seed: number, dims: number[]): { f32: Float32Array; t: T } {
  const f32 = randomF32(mulberry32(seed), size(dims), -1, 1);
  return { f32, t: { data: Float64Array.from(f32), dims } };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

test('ORT runs model A at batch 1 and 3 and matches the TypeScript reference', { timeout: 10_000 }, async () => {
  const { bytes, reference } = buildModelA();
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual([...session.inputNames], ['x']);
  assert.deepEqual([...session.outputNames].sort(), ['features', 'probs']);
  for (const batch of [1, 3]) {
    const { f32, t } = randomInput(100 + batch, [batch, 3, 8, 8]);
    const out = await session.run({ x: new ort.Tensor('float32', f32, [batch, 3, 8, 8]) });
    const ref = reference(t);
    assert.ok(ref.clipped > 0, 'the Clip upper bound must be active for the test to mean something');
    const probs = out['probs'];
    const features = out['features'];
    assert.ok(probs !== undefined && features !== undefined);
    assert.deepEqual([...probs.dims], [batch, 10]);
    assert.deepEqual([...features.dims], [batch, 16, 4, 4]);
    assertClose(probs.data as Float32Array, ref.probs.data, `probs (batch ${batch})`, 1e-4, 1e-6);
    assertClose(features.data as Float32Array, ref.features.data, `features (batch ${batch})`, 1e-4, 1e-5);
    // Rows are distributions and differ between batch items.
    const row = (i: number): number[] => [...(probs.data as Float32Array).slice(i * 10, i * 10 + 10)];
    assert.ok(Math.abs(row(0).reduce((a, b) => a + b, 0) - 1) < 1e-5);
    if (batch > 1) assert.notDeepEqual(row(0), row(1));
  }
});

test(
  'ORT runs model B (Pad, AveragePool, BatchNormalization, LeakyRelu, Mul, Transpose, Reshape, MatMul) at batch 2 and 5',
  { timeout: 10_000 },
  async () => {
    const { bytes, reference } = buildModelB();
    const session = await ort.InferenceSession.create(bytes);
    for (const batch of [2, 5]) {
      const { f32, t } = randomInput(200 + batch, [batch, 4, 5, 4]);
      const out = await session.run({ y: new ort.Tensor('float32', f32, [batch, 4, 5, 4]) });
      const z = out['z'];
      assert.ok(z !== undefined);
      assert.deepEqual([...z.dims], [batch, 9, 6]);
      assertClose(z.data as Float32Array, reference(t).data, `z (batch ${batch})`, 1e-4, 1e-5);
    }
  },
);

test('read-back returns what was written', { timeout: 10_000 }, async (t) => {
  const { bytes, w1, fcW } = buildModelA();
  const m = decodeModel(bytes, 'model A');
  assert.equal(m.irVersion, 7);
  assert.equal(m.opsetVersion, 13);
  assert.deepEqual(m.opsetImports, [{ domain: '', version: 13 }]);
  assert.equal(m.producerName, 'latprune');
  assert.equal(m.producerVersion, '9.8.7');
  assert.equal(m.docString, 'test model A');
  assert.equal(m.graphName, 'small_cnn');
  assert.equal(m.graphDocString, 'graph of model A');
  assert.deepEqual(m.metadata, { source: 'onnx-writer.test', layout: 'NCHW', pruned: 'false' });
  assert.deepEqual(m.inputs, [{ name: 'x', elemType: 'float32', shape: ['batch', 3, 8, 8], docString: 'image' }]);
  assert.deepEqual(
    m.outputs.map((o) => [o.name, o.shape]),
    [
      ['probs', ['batch', 10]],
      ['features', ['batch', 16, 4, 4]],
    ],
  );
  assert.deepEqual(
    m.nodes.map((n) => n.opType),
    ['Conv', 'Relu', 'Conv', 'Add', 'Relu', 'Clip', 'MaxPool', 'Conv', 'Concat', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Softmax'],
  );
  const conv1 = m.nodes[0];
  assert.ok(conv1 !== undefined);
  assert.equal(conv1.name, 'conv1');
  assert.deepEqual(conv1.inputs, ['x', 'conv1.weight', 'conv1.bias']);
  assert.deepEqual(conv1.attributes, {
    kernel_shape: { type: 'ints', value: [3, 3] },
    strides: { type: 'ints', value: [1, 1] },
    pads: { type: 'ints', value: [1, 1, 1, 1] },
    dilations: { type: 'ints', value: [1, 1] },
    group: { type: 'int', value: 1 },
  });
  const dw = m.nodes.find((n) => n.name === 'dw');
  assert.deepEqual(dw?.attributes['group'], { type: 'int', value: 8 });
  assert.deepEqual(dw?.attributes['dilations'], { type: 'ints', value: [2, 2] });
  assert.deepEqual(dw?.inputs, ['MaxPool_out', 'dw.weight'], 'a bias-free conv has two inputs');
  const clip = m.nodes.find((n) => n.opType === 'Clip');
  assert.deepEqual(clip?.inputs.slice(1), ['relu6ish.min', 'relu6ish.max']);
  const gemm = m.nodes.find((n) => n.opType === 'Gemm');
  assert.deepEqual(gemm?.attributes['transB'], { type: 'int', value: 1 });
  assert.deepEqual(gemm?.attributes['alpha'], { type: 'float', value: 1 });
  assert.deepEqual(m.nodes.at(-1)?.attributes['axis'], { type: 'int', value: -1 });
  assert.deepEqual(m.nodes.at(-1)?.outputs, ['probs']);

  const init = new Map(m.initializers.map((t) => [t.name, t]));
  assert.deepEqual(init.get('conv1.weight')?.dims, [8, 3, 3, 3]);
  assert.deepEqual(init.get('conv1.weight')?.data, w1);
  assert.deepEqual(init.get('fc.weight')?.data, fcW);
  assert.deepEqual(init.get('relu6ish.max'), {
    name: 'relu6ish.max',
    elemType: 'float32',
    dataType: 1,
    dims: [],
    data: new Float32Array([0.5]),
  });

  // Model B: int64 initializers, float and string attributes, opset default.
  const b = decodeModel(buildModelB().bytes);
  const shape = b.initializers.find((t) => t.name === 'Reshape.shape');
  assert.equal(shape?.elemType, 'int64');
  assert.deepEqual(shape?.data, new BigInt64Array([0n, 9n, 4n]));
  assert.deepEqual(b.initializers.find((t) => t.name === 'Pad.pads')?.data, BigInt64Array.from([0n, 0n, 1n, 0n, 0n, 0n, 0n, 1n]));
  assert.deepEqual(b.nodes.find((n) => n.opType === 'LeakyRelu')?.attributes['alpha'], { type: 'float', value: Math.fround(0.2) });
  assert.deepEqual(b.nodes.find((n) => n.opType === 'Pad')?.attributes['mode'], { type: 'string', value: 'constant' });
  assert.deepEqual(b.nodes.find((n) => n.opType === 'AveragePool')?.attributes['count_include_pad'], { type: 'int', value: 0 });

  // Through a file: atomic write leaves only the target behind.
  const dir = await tempDir(t, 'latprune-onnx-');
  const path = join(dir, 'sub', 'a.onnx');
  await writeModelFile(path, bytes);
  await writeModelFile(path, bytes); // overwrite in place
  assert.deepEqual(await readdir(join(dir, 'sub')), ['a.onnx']);
  assert.deepEqual(await readModelFile(path), m);
});

test(
  'the reader also decodes tensors stored in typed fields (float_data, int64_data) as other exporters write them',
  { timeout: 10_000 },
  () => {
    const { graph, w1 } = buildModelA();
    const proto = graph.toModelProto();
    const inits = proto.graph?.initializer ?? [];
    const conv1 = inits.find((t) => t.name === 'conv1.weight');
    assert.ok(conv1 !== undefined);
    conv1.rawData = null;
    conv1.floatData = Array.from(w1);
    inits.push({ name: 'extra.shape', dataType: 7, dims: [3], int64Data: [-1, 4, 2] });
    const m = decodeModel(onnx.ModelProto.encode(proto).finish());
    const byName = new Map(m.initializers.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('conv1.weight')?.data, w1);
    assert.deepEqual(byName.get('extra.shape')?.data, BigInt64Array.from([-1n, 4n, 2n]));
    conv1.floatData = Array.from(w1.subarray(1));
    assert.throws(
      () => decodeModel(onnx.ModelProto.encode(proto).finish(), 'short.onnx'),
      /short\.onnx is not a valid ONNX model .*holds 215 values/,
    );
  },
);

test('the builder rejects graphs that are not topologically valid, with the node named', { timeout: 10_000 }, () => {
  const g = new OnnxGraph({ producerVersion: '1' });
  const x = g.addInput('x', ['batch', 4]);
  assert.throws(
    () => g.addNode({ opType: 'Add', name: 'late_add', inputs: [x, 'not_yet'] }),
    (e: unknown) => e instanceof LatpruneError && e.code === 'BAD_ARGUMENT' && /late_add/.test(e.message) && /"not_yet"/.test(e.message),
  );
  const [r] = g.addNode({ opType: 'Relu', inputs: [x] });
  assert.equal(r, 'Relu_out');
  assert.equal(g.addNode({ opType: 'Relu', inputs: [x] })[0], 'Relu_1_out', 'generated node and value names are unique');
  assert.throws(() => g.addNode({ opType: 'Relu', inputs: [x], outputs: [x] }), /already defined \(graph input\)/);
  assert.throws(() => g.addNode({ opType: 'Relu', name: 'Relu', inputs: [x] }), /Node name "Relu" \(Relu\) is already used/);
  assert.throws(() => g.addNode({ opType: 'Relu', inputs: [x], attributes: { k: intAttr(1.5) } }), /attribute "k": int value 1.5/);
  assert.throws(() => g.addInitializer('w', { data: [1, 2, 3], dims: [2, 2] }), /3 elements but dims \[2, 2\] need 4/);
  assert.throws(() => g.addInitializer('s', { data: [1.5], dims: [1], elemType: 'int64' }), /not an integer/);
  assert.throws(() => g.addInput('bad', ['batch', -1]), /graph input "bad"/);
  assert.equal(g.uniqueName('x'), 'x_1');
  g.addOutput('y', ['batch', 4]);
  assert.throws(() => g.encode(), /Graph output "y" is not produced/);
  addRelu(g, r as string, { output: 'y' });
  assert.ok(g.encode().length > 0);
  assert.throws(() => new OnnxGraph({ producerVersion: '1', opsetVersion: 9 }), /opset 9 is not supported/);
  assert.equal(irVersionForOpset(13), 7);
  assert.equal(irVersionForOpset(17), 8);
});

function pythonOnnxAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  return r.status === 0;
}

test('the official onnx checker (full_check) accepts the models', { timeout: 10_000 }, async (t) => {
  if (!pythonOnnxAvailable()) {
    t.skip('python3 with the onnx package is not installed (/usr/bin/python3 -c "import onnx" failed)');
    return;
  }
  const dir = await tempDir(t, 'latprune-onnx-check-');
  const models: [string, Uint8Array][] = [
    ['a13.onnx', buildModelA(13).bytes],
    ['a11.onnx', buildModelA(11).bytes],
    ['a17.onnx', buildModelA(17).bytes],
    ['b13.onnx', buildModelB().bytes],
  ];
  for (const [file, bytes] of models) {
    const path = join(dir, file);
    await writeModelFile(path, bytes);
    const r = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', path],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `checker rejected ${file}: ${r.stderr}`);
  }
  // A broken model must fail the checker, so the check above can fail.
  const broken = join(dir, 'broken.onnx');
  await writeFile(broken, buildModelA().bytes.slice(0, 100));
  const bad = spawnSync('/usr/bin/python3', [
    '-c',
    'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)',
    broken,
  ]);
  assert.notEqual(bad.status, 0);
});

test('ORT also loads the opset 11 and 17 variants (IR 6 and 8)', { timeout: 10_000 }, async () => {
  for (const opset of [11, 17]) {
    const { bytes, reference } = buildModelA(opset);
    assert.equal(decodeModel(bytes).irVersion, irVersionForOpset(opset));
    const session = await ort.InferenceSession.create(bytes);
    const { f32, t } = randomInput(300, [2, 3, 8, 8]);
    const out = await session.run({ x: new ort.Tensor('float32', f32, [2, 3, 8, 8]) });
    assertClose(out['probs']?.data as Float32Array, reference(t).probs.data, `probs (opset ${opset})`, 1e-4, 1e-6);
  }
});

test('corrupt or truncated bytes give a BAD_FILE error naming the file', { timeout: 10_000 }, async (t) => {
  const { bytes } = buildModelA();
  const isBadFile = (name: string) => (e: unknown) =>
    e instanceof LatpruneError && e.code === 'BAD_FILE' && e.message.includes(name) && e.message.includes('is not a valid ONNX model');
  const cases: [string, Uint8Array][] = [
    ['half.onnx', bytes.slice(0, Math.floor(bytes.length / 2))],
    ['minus-one.onnx', bytes.slice(0, bytes.length - 1)],
    ['empty.onnx', new Uint8Array(0)],
    ['text.onnx', new TextEncoder().encode('{"format": "layers-model", "weights": []}\n')],
    ['random.onnx', Uint8Array.from(randomF32(mulberry32(3), 256, 0, 256), (v) => Math.floor(v))],
  ];
  for (const [name, data] of cases) assert.throws(() => decodeModel(data, name), isBadFile(name), name);
  // Every prefix that cuts the graph must fail too (the graph is the bulk of the file).
  for (let n = 16; n < bytes.length - 200; n += 97)
    assert.throws(() => decodeModel(bytes.slice(0, n), `prefix ${n}`), isBadFile(`prefix ${n}`));

  const dir = await tempDir(t, 'latprune-onnx-bad-');
  const path = join(dir, 'truncated.onnx');
  await writeFile(path, bytes.slice(0, 1000));
  await assert.rejects(readModelFile(path), isBadFile(path));
  await assert.rejects(
    readModelFile(join(dir, 'missing.onnx')),
    (e: unknown) => e instanceof LatpruneError && e.code === 'NOT_FOUND' && e.message.includes('missing.onnx'),
  );
});
