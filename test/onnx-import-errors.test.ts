/**
 * ONNX import errors a user can act on: truncated and non-ONNX bytes,
 * unsupported ops, attributes and patterns (naming the node, its op type,
 * the path from the input and what to do), dynamic spatial sizes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LatpruneError } from '../src/errors.js';
import { initBackend } from '../src/backend/index.js';
import { OnnxGraph, addConv, addRelu, floatAttr, importOnnx, type OnnxDim } from '../src/onnx/index.js';
import { fixturePath } from './helpers/onnx-import.js';

/** input [N,3,8,8] -> Conv "conv1" -> Relu "relu1" -> <op> -> output. */
function tiny(op: (g: OnnxGraph, x: string) => string, inputDims: OnnxDim[] = ['N', 3, 8, 8]): Uint8Array {
  const g = new OnnxGraph({ producerVersion: 'test', opsetVersion: 13 });
  const x = g.addInput('image', inputDims);
  const w = new Float32Array(4 * 3 * 3 * 3).fill(0.1);
  const c = addConv(g, x, { name: 'conv1', weight: { data: w, dims: [4, 3, 3, 3] }, pads: [1, 1, 1, 1] });
  const r = addRelu(g, c, { name: 'relu1' });
  g.addOutput(op(g, r), undefined);
  return g.encode();
}

async function rejects(bytes: Uint8Array, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(importOnnx(bytes, { source: 'my.onnx' }), (e: unknown) => {
    assert.ok(e instanceof LatpruneError, String(e));
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('truncated and non-ONNX bytes are named BAD_FILE errors', { timeout: 30000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const good = readFileSync(fixturePath('opzoo_op11')!);
  await rejects(good.subarray(0, Math.floor(good.length / 2)), 'BAD_FILE', /my\.onnx is not a valid ONNX model/, /truncate/);
  await rejects(new TextEncoder().encode('this is not an onnx file at all'), 'BAD_FILE', /my\.onnx is not a valid ONNX model/);
  await rejects(new Uint8Array(0), 'BAD_FILE', /my\.onnx/);
});

test('an unsupported op names the node, its op type, the path from the input and what to do', { timeout: 30000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const bytes = tiny((g, x) => g.addNode({ opType: 'Tanh', inputs: [x], name: 'my_tanh' })[0]!);
  await rejects(
    bytes,
    'UNSUPPORTED_LAYER',
    /node "my_tanh" \(op Tanh\)/,
    /Path: image -> conv1 \(Conv\) -> relu1 \(Relu\) -> my_tanh \(Tanh\)/,
    /Supported: Conv, BatchNormalization/,
  );
});

test('unsupported attributes and patterns are named with the node and a remedy', { timeout: 30000 }, async () => {
  await initBackend({ requested: 'wasm' });
  // Clip other than ReLU/ReLU6
  const clip = tiny((g, x) => {
    const lo = g.addInitializer('lo', { data: [-1], dims: [] });
    const hi = g.addInitializer('hi', { data: [1], dims: [] });
    return g.addNode({ opType: 'Clip', inputs: [x, lo, hi], name: 'hardtanh' })[0]!;
  });
  await rejects(clip, 'UNSUPPORTED_LAYER', /node "hardtanh" \(op Clip\)/, /min -1/, /ReLU6/);
  // reflect padding
  const pad = tiny((g, x) => {
    const p = g.addInitializer('pads', { data: [0, 0, 1, 1, 0, 0, 1, 1], dims: [8], elemType: 'int64' });
    return g.addNode({ opType: 'Pad', inputs: [x, p], name: 'reflect', attributes: { mode: { type: 'string', value: 'reflect' } } })[0]!;
  });
  await rejects(pad, 'UNSUPPORTED_LAYER', /node "reflect" \(op Pad\)/, /reflect padding/, /zero padding/);
  // a constant multiplied in
  const mul = tiny((g, x) => {
    const k = g.addInitializer('k', { data: [2], dims: [] });
    return g.addNode({ opType: 'Mul', inputs: [x, k], name: 'scale' })[0]!;
  });
  await rejects(mul, 'UNSUPPORTED_LAYER', /node "scale" \(op Mul\)/, /constant/, /fold/);
  // max pool with padding tfjs cannot place on a possibly negative input
  const mp = tiny((g, x) => {
    const y = g.addNode({ opType: 'LeakyRelu', inputs: [x], name: 'leaky', attributes: { alpha: floatAttr(0.1) } })[0]!;
    return g.addNode({
      opType: 'MaxPool',
      inputs: [y],
      name: 'pool',
      attributes: {
        kernel_shape: { type: 'ints', value: [3, 3] },
        strides: { type: 'ints', value: [2, 2] },
        pads: { type: 'ints', value: [1, 1, 1, 1] },
      },
    })[0]!;
  });
  await rejects(mp, 'UNSUPPORTED_LAYER', /node "pool" \(op MaxPool\)/, /may be negative/, /after a ReLU/);
});

test('dynamic spatial sizes need inputShape; the same file imports with it', { timeout: 30000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const bytes = tiny((g, x) => g.addNode({ opType: 'GlobalAveragePool', inputs: [x], name: 'gap' })[0]!, ['N', 3, 'H', 'W']);
  await rejects(bytes, 'BAD_ARGUMENT', /input "image" has dims \[N, 3, H, W\]/, /pass inputShape/);
  await assert.rejects(importOnnx(bytes, { inputShape: [1, 8, 8] }), /inputShape \[1, 8, 8\] does not fit/);
  // a flattened feature map as output is refused (its element order differs between NCHW and NHWC)
  await rejects(
    tiny((g, x) => g.addNode({ opType: 'Flatten', inputs: [x], name: 'flat' })[0]!),
    'UNSUPPORTED_LAYER',
    /flattened feature map/,
    /End the model with a linear layer/,
  );
  const ok = tiny(
    (g, x) => {
      const p = g.addNode({ opType: 'GlobalAveragePool', inputs: [x], name: 'gap' })[0]!;
      return g.addNode({ opType: 'Flatten', inputs: [p], name: 'flat' })[0]!;
    },
    ['N', 3, 'H', 'W'],
  );
  const { model, info } = await importOnnx(ok, { inputShape: [3, 16, 12] });
  assert.deepEqual(model.inputs[0]!.shape, [null, 16, 12, 3]);
  assert.deepEqual(info.input.dynamicAxes, [0, 2, 3]);
  assert.equal(info.batchDim, 'N');
  model.dispose();
});
