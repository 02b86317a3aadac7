import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildResNetCifar, buildZooModel, modelStats, zooNames } from '../src/zoo/index.js';
import type { LatpruneError } from '../src/errors.js';

before(async () => {
  await tf.setBackend('cpu');
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
});

const layerNames = (m: tf.LayersModel): string[] => m.layers.map((l) => l.name);

test('registry lists the models and rejects unknown names with the valid list', { timeout: 10_000 }, () => {
  const names = zooNames();
  for (const n of ['resnet20', 'resnet32', 'resnet56', 'resnet50', 'mobilenet_v1', 'vgg_small']) assert.ok(names.includes(n), n);
  assert.throws(
    () => buildZooModel('resnet18'),
    (e: LatpruneError) => e.code === 'NOT_FOUND' && e.message.includes('"resnet18"') && e.message.includes('resnet20, resnet32'),
  );
  assert.throws(
    () => buildResNetCifar({ depth: 21 }),
    (e: LatpruneError) => e.code === 'BAD_ARGUMENT' && /6n\+2/.test(e.message),
  );
  assert.throws(() => buildZooModel('vgg_small', { numClasses: 0 }), /numClasses/);
});

test('ResNet-20 (1x28x28 input, 10 classes): hand-computed params and MACs, names, forward shape', { timeout: 10_000 }, async () => {
  const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const s = modelStats(m);
  // Trainable parameters (conv kernels without bias, BN gamma+beta = 2 per channel, fc kernel + bias):
  //   stem: conv 3*3*1*16 = 144, bn 32                                              ->     176
  //   stage 1 (16 ch), 3 blocks x (2 convs 3*3*16*16 = 2304 each + 2 BN of 32)     -> 3 * 4672 = 14,016
  //   stage 2 (32 ch): block 0: 3*3*16*32 = 4608 + 3*3*32*32 = 9216 + 2 BN 64 = 128
  //                    + shortcut 1*1*16*32 = 512 + BN 64                           -> 14,528
  //                    blocks 1,2: 2 * (2 * 9216 + 128) = 2 * 18,560                -> 37,120
  //   stage 3 (64 ch): block 0: 3*3*32*64 = 18,432 + 3*3*64*64 = 36,864 + 2 BN 128 = 256
  //                    + shortcut 32*64 = 2048 + BN 128                             -> 57,728
  //                    blocks 1,2: 2 * (2 * 36,864 + 256) = 2 * 73,984              -> 147,968
  //   fc: 64*10 + 10                                                                 ->     650
  //   total = 176 + 14,016 + 14,528 + 37,120 + 57,728 + 147,968 + 650 = 272,186
  // Non-trainable BN moving mean+var: 2 * (16 + 6*16 + 7*32 + 7*64) = 2 * 784 = 1,568.
  assert.equal(s.trainableParams, 272_186);
  assert.equal(s.nonTrainableParams, 1_568);
  assert.equal(s.params, 273_754);
  // MACs at 28x28: stem 784*144 = 112,896; stage 1: 6 * 784*2304 = 10,838,016;
  // stage 2 at 14x14: 196*(4608 + 9216 + 512 + 4*9216) = 10,035,200;
  // stage 3 at 7x7: 49*(18,432 + 36,864 + 2048 + 4*36,864) = 10,035,200; fc 640.
  assert.equal(s.macs, 112_896 + 10_838_016 + 10_035_200 + 10_035_200 + 640);
  const names = layerNames(m);
  for (const n of [
    'input',
    'stem_conv',
    'stem_bn',
    'stem_relu',
    's1_b0_conv1',
    's1_b0_bn1',
    's1_b0_relu1',
    's1_b0_add',
    's1_b0_out',
    's2_b0_down_conv',
    's2_b0_down_bn',
    's3_b2_add',
    'gap',
    'fc',
  ]) {
    assert.ok(names.includes(n), `missing layer ${n}`);
  }
  assert.ok(!names.includes('s1_b0_down_conv'), 'stage 1 block 0 keeps an identity shortcut');
  assert.equal(names.filter((n) => n.endsWith('_add')).length, 9);
  assert.equal(m.getLayer('s2_b0_conv1').getConfig().strides?.toString(), '2,2');
  const x = tf.randomNormal([2, 28, 28, 1]);
  const y = m.predict(x) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 10]);
  assert.ok((await y.data()).every(Number.isFinite));
  // The same seed gives the same weights; another seed different ones.
  const m2 = buildZooModel('resnet20', { inputShape: [28, 28, 1], seed: 1 });
  const m3 = buildZooModel('resnet20', { inputShape: [28, 28, 1], seed: 2 });
  const k = (mm: tf.LayersModel): Float32Array => mm.getLayer('s2_b1_conv2').getWeights()[0].dataSync() as Float32Array;
  assert.deepEqual(k(m2), k(m));
  assert.notDeepEqual(k(m3), k(m));
  tf.dispose([x, y]);
  [m, m2, m3].forEach((mm) => mm.dispose());
});

test('ResNet-32/56 depth and width multiplier', { timeout: 10_000 }, () => {
  const r56 = buildZooModel('resnet56');
  assert.equal(r56.layers.filter((l) => l.getClassName() === 'Conv2D').length, 55 + 2);
  assert.deepEqual(r56.inputs[0].shape, [null, 32, 32, 3]);
  const r32 = buildZooModel('resnet32', { width: 0.5, numClasses: 100 });
  assert.equal(r32.getLayer('s3_b4_conv2').getWeights()[0].shape[3], 32);
  assert.deepEqual(r32.outputs[0].shape, [null, 100]);
  r56.dispose();
  r32.dispose();
});

test('ResNet-50: 25,557,032 trainable parameters (torchvision), stride on the 3x3 conv, ~4.09 GMACs', { timeout: 10_000 }, () => {
  const m = buildZooModel('resnet50');
  const s = modelStats(m);
  // torchvision's resnet50 count: conv kernels + BN weight/bias + fc; BN running stats are buffers.
  assert.equal(s.trainableParams, 25_557_032);
  assert.equal(s.nonTrainableParams, 53_120);
  assert.ok(Math.abs(s.macs - 4.09e9) < 0.01e9, `MACs ${s.macs}`);
  assert.deepEqual(m.outputs[0].shape, [null, 1000]);
  const strides = (n: string): string => String(m.getLayer(n).getConfig().strides);
  assert.equal(strides('s2_b0_conv1'), '1,1');
  assert.equal(strides('s2_b0_conv2'), '2,2');
  assert.equal(strides('s2_b0_down_conv'), '2,2');
  assert.deepEqual(m.getLayer('s4_b2_out').outputShape, [null, 7, 7, 2048]);
  assert.equal(layerNames(m).filter((n) => n.endsWith('_down_conv')).length, 4);
  m.dispose();
});

test('MobileNet-V1 alpha 1.0 has ~4.23M params; alpha 0.5 at 64x64 runs a forward pass', { timeout: 10_000 }, async () => {
  const m = buildZooModel('mobilenet_v1');
  const s = modelStats(m);
  assert.equal(s.trainableParams, 4_231_976);
  assert.ok(Math.abs(s.macs - 569e6) < 1e6, `MACs ${s.macs}`);
  assert.equal(m.getLayer('b13_pw').outputShape.toString(), ',7,7,1024');
  assert.equal(m.getLayer('b1_dw').getClassName(), 'DepthwiseConv2D');
  assert.equal(m.getLayer('b1_dw_relu').getConfig().maxValue, 6);
  m.dispose();
  const small = buildZooModel('mobilenet_v1', { width: 0.5, inputShape: [64, 64, 3], numClasses: 5 });
  assert.equal(small.getLayer('b13_pw').getWeights()[0].shape[3], 512);
  const x = tf.zeros([1, 64, 64, 3]);
  const y = small.predict(x) as tf.Tensor;
  assert.deepEqual(y.shape, [1, 5]);
  tf.dispose([x, y]);
  small.dispose();
});

test('vgg_small: Dense after Flatten, parameter count, forward shape', { timeout: 10_000 }, () => {
  const m = buildZooModel('vgg_small', { seed: 0 });
  const s = modelStats(m);
  // convs: 3*3*(3*32 + 32*32 + 32*64 + 64*64 + 64*128 + 128*128) = 9 * 31,840 = 286,560
  // BN gamma+beta: 2 * 2 * (32 + 64 + 128) = 896; fc1: 4*4*128*256 + 256 = 524,544; fc2: 2570
  assert.equal(s.trainableParams, 286_560 + 896 + 524_544 + 2_570);
  assert.deepEqual(m.getLayer('flatten').outputShape, [null, 2048]);
  assert.equal(m.getLayer('fc1').getClassName(), 'Dense');
  const y = tf.tidy(() => (m.predict(tf.ones([2, 32, 32, 3])) as tf.Tensor).shape);
  assert.deepEqual(y, [2, 10]);
  m.dispose();
});
