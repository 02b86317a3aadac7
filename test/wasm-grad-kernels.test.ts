/**
 * latprune's wasm gradient kernels against the tfjs `cpu` backend's reference
 * kernels, over a grid of shapes, strides, paddings and kernel sizes; then
 * whole-model gradients of a small network (conv, strided conv, depthwise,
 * batch norm, residual add) on wasm vs cpu.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { randomFloats } from '../src/util/random.js';
import { maxRelErr } from './helpers/numeric.js';

const rand = (n: number, seed: number): Float32Array => randomFloats(n, seed);

async function onBackend(name: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(name);
  const t = fn();
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
}

const cases: Case[] = [];
for (const k of [1, 3, 5, 7])
  for (const s of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const [h, w] of [
        [9, 9],
        [8, 11],
      ] as const)
        if (!(pad === 'valid' && k > h)) cases.push({ n: 2, h, w, cin: 3, cout: 5, k, s, pad });
cases.push({ n: 4, h: 16, w: 16, cin: 16, cout: 32, k: 3, s: 2, pad: 'same' });
cases.push({
  n: 3,
  h: 7,
  w: 7,
  cin: 8,
  cout: 8,
  k: 3,
  s: 1,
  pad: [
    [0, 0],
    [2, 0],
    [1, 1],
    [0, 0],
  ] as unknown as 'same',
});

test('wasm backend with latprune kernels initialises', { timeout: 10_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // the cpu reference backend must stay available for comparisons
  assert.ok(tf.findBackend('cpu'));
});

for (const c of cases) {
  const label = `k${c.k} s${c.s} ${JSON.stringify(c.pad)} ${c.h}x${c.w} ${c.cin}->${c.cout}`;
  test(`Conv2DBackpropFilter / Conv2DBackpropInput match cpu: ${label}`, { timeout: 10_000 }, async () => {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
    const fShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    await tf.setBackend('cpu');
    const y = tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(fShape) as tf.Tensor4D, c.s, c.pad);
    const yShape = y.shape.slice();
    y.dispose();
    const x = rand(
      xShape.reduce((a, b) => a * b),
      1,
    );
    const dy = rand(
      yShape.reduce((a, b) => a * b),
      2,
    );
    const f = rand(
      fShape.reduce((a, b) => a * b),
      3,
    );
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const dW = (name: string) =>
      onBackend(
        name,
        () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, xShape), dy: tf.tensor(dy, yShape) }, {
            ...attrs,
            filterShape: fShape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    const dX = (name: string) =>
      onBackend(
        name,
        () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dy, yShape), filter: tf.tensor4d(f, fShape) }, {
            ...attrs,
            inputShape: xShape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    assert.ok(maxRelErr(await dW('wasm'), await dW('cpu')) <= 1e-4, 'dW');
    assert.ok(maxRelErr(await dX('wasm'), await dX('cpu')) <= 1e-4, 'dX');
  });
}

for (const c of cases.filter((c) => c.cin === c.cout || c.k === 3)) {
  const ch = 6;
  for (const mult of [1, 2]) {
    const label = `k${c.k} s${c.s} ${JSON.stringify(c.pad)} ${c.h}x${c.w} c${ch} m${mult}`;
    test(`DepthwiseConv2dNative backprop filter/input match cpu: ${label}`, { timeout: 10_000 }, async () => {
      const xShape: [number, number, number, number] = [c.n, c.h, c.w, ch];
      const fShape: [number, number, number, number] = [c.k, c.k, ch, mult];
      await tf.setBackend('cpu');
      const y = tf.depthwiseConv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(fShape) as tf.Tensor4D, c.s, c.pad);
      const yShape = y.shape.slice();
      y.dispose();
      const x = rand(
        xShape.reduce((a, b) => a * b),
        4,
      );
      const dy = rand(
        yShape.reduce((a, b) => a * b),
        5,
      );
      const f = rand(
        fShape.reduce((a, b) => a * b),
        6,
      );
      const attrs = { strides: [c.s, c.s], pad: c.pad, dilations: [1, 1], dimRoundingMode: undefined };
      const dW = (name: string) =>
        onBackend(
          name,
          () =>
            tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(x, xShape), dy: tf.tensor(dy, yShape) }, {
              ...attrs,
              filterShape: fShape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        );
      const dX = (name: string) =>
        onBackend(
          name,
          () =>
            tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dy, yShape), filter: tf.tensor4d(f, fShape) }, {
              ...attrs,
              inputShape: xShape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        );
      assert.ok(maxRelErr(await dW('wasm'), await dW('cpu')) <= 1e-4, 'dW');
      assert.ok(maxRelErr(await dX('wasm'), await dX('cpu')) <= 1e-4, 'dX');
    });
  }
}

/** A small network with every layer kind whose gradient the wasm kernels touch. */
function smallNet(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  let x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  let y = tf.layers
    .conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(2) })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(3) })
    .apply(y) as tf.SymbolicTensor;
  const sc = tf.layers
    .conv2d({ filters: 16, kernelSize: 1, strides: 2, useBias: false, kernelInitializer: init(4) })
    .apply(x) as tf.SymbolicTensor;
  let z = tf.layers.add().apply([y, sc]) as tf.SymbolicTensor;
  z = tf.layers.reLU({ maxValue: 6 }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.globalAveragePooling2d({}).apply(z) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, kernelInitializer: init(5) }).apply(z) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test(
  'whole-network training gradients on wasm (latprune kernels) equal tfjs cpu, and training steps run',
  { timeout: 10_000 },
  async () => {
    const xData = rand(8 * 12 * 12 * 3, 11);
    const labels = [0, 1, 2, 3, 0, 1, 2, 3];
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const model = smallNet();
      const x = tf.tensor4d(xData, [8, 12, 12, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
      const { grads: g } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      );
      const out = Object.keys(g)
        .sort()
        .map((k) => [k, Array.from(g[k]!.dataSync())] as const);
      model.dispose();
      return { out, model };
    };
    const ref = await grads('cpu');
    const got = await grads('wasm');
    assert.equal(got.out.length, ref.out.length);
    assert.ok(ref.out.length >= 10, 'all trainable weights have gradients');
    for (let i = 0; i < ref.out.length; i++) {
      const e = maxRelErr(Float32Array.from(got.out[i]![1]), Float32Array.from(ref.out[i]![1]));
      assert.ok(e <= 1e-4, `gradient of ${ref.out[i]![0]}: rel err ${e}`);
    }

    // a few real optimiser steps on wasm: no engine re-entry problems, loss goes down, no leaks
    await tf.setBackend('wasm');
    const model = smallNet();
    const x = tf.tensor4d(xData, [8, 12, 12, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
    const opt = tf.train.momentum(0.1, 0.9);
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let i = 0; i < 30; i++) {
      const cost = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
      if (i === 1) tensorsAfterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'a training step leaks no tensors');
    assert.ok(losses.at(-1)! < losses[0]! * 0.7, `loss decreases: ${losses[0]} -> ${losses.at(-1)}`);
  },
);
