/**
 * The fast training-mode batch norm (kernels + tfjs-layers patch) against
 * tfjs' own implementation: forward output, gradients with respect to x,
 * gamma and beta, and the moving statistics, on the wasm and cpu backends.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { BN_TRAIN } from '../src/backend/batchnorm/kernels.js';
import { batchNormTrain, batchNormTrainOps } from '../src/backend/batchnorm/op.js';
import { maxRelErr } from './helpers/numeric.js';

/** tfjs' generic path: moments + batchNorm, differentiated by autodiff. */
function reference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, dy: tf.Tensor4D, eps: number) {
  const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(xi, [0, 1, 2]);
    return tf.batchNorm(xi, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, eps);
  };
  const y = f(x, gamma, beta);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), dy)))([x, gamma, beta]);
  return [y, ...grads].map((t) => Array.from(t.dataSync()));
}

function ours(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, dy: tf.Tensor4D, eps: number, bn = batchNormTrain) {
  const { y, mean, variance } = bn(x, gamma, beta, eps);
  tf.dispose([mean, variance]);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
    const r = bn(a, b as tf.Tensor1D, c as tf.Tensor1D, eps);
    tf.dispose([r.mean, r.variance]);
    return tf.sum(tf.mul(r.y, dy));
  })([x, gamma, beta]);
  return [y, ...grads].map((t) => Array.from(t.dataSync()));
}

test(
  'batchNormTrain (kernels) and batchNormTrainOps (the webgpu path) match tfjs moments+batchNorm autodiff (wasm and cpu)',
  { timeout: 10_000 },
  async () => {
    await initBackend({ requested: 'wasm' });
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      for (const shape of [
        [4, 5, 3, 7],
        [8, 6, 6, 16],
      ] as const) {
        const x = tf.add(tf.mul(tf.randomNormal([...shape], 0, 1, 'float32', 1), 3), 2) as tf.Tensor4D;
        const dy = tf.randomNormal([...shape], 0, 1, 'float32', 2) as tf.Tensor4D;
        const gamma = tf.randomUniform([shape[3]], 0.5, 1.5, 'float32', 3) as tf.Tensor1D;
        const beta = tf.randomNormal([shape[3]], 0, 1, 'float32', 4) as tf.Tensor1D;
        const ref = reference(x, gamma, beta, dy, 1e-3);
        const names = ['y', 'dx', 'dgamma', 'dbeta'];
        for (const [path, bn] of [
          ['kernels', batchNormTrain],
          ['ops', batchNormTrainOps],
        ] as const) {
          const got = ours(x, gamma, beta, dy, 1e-3, bn);
          for (let i = 0; i < 4; i++) {
            const e = maxRelErr(got[i]!, ref[i]!);
            assert.ok(e <= 1e-4, `${backend} ${path} ${shape.join('x')} ${names[i]}: rel err ${e}`);
          }
        }
      }
    }
  },
);

test('patched BatchNormalization layer: same output, gradients and moving stats as tfjs', { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const run = async (backend: string, fast: boolean) => {
    await tf.setBackend(backend);
    const saved = tf.getKernel(BN_TRAIN, backend);
    if (!fast && saved) tf.unregisterKernel(BN_TRAIN, backend);
    try {
      const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
      const x = tf.randomNormal([6, 4, 4, 5], 1, 2, 'float32', 7);
      layer.apply(x, { training: false }); // build
      layer.setWeights([tf.linspace(0.5, 1.5, 5), tf.linspace(-1, 1, 5), tf.zeros([5]), tf.ones([5])]);
      const dy = tf.randomNormal([6, 4, 4, 5], 0, 1, 'float32', 8);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, dy)) as tf.Scalar,
        layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      );
      const out = [value, ...Object.values(grads), ...layer.getWeights().slice(2)].map((t) => Array.from(t.dataSync()));
      return out;
    } finally {
      if (!fast && saved) tf.registerKernel(saved);
    }
  };
  for (const backend of ['wasm', 'cpu']) {
    const ref = await run('cpu', false);
    const got = await run(backend, true);
    assert.equal(got.length, ref.length);
    for (let i = 0; i < ref.length; i++) assert.ok(maxRelErr(got[i]!, ref[i]!) <= 1e-4, `${backend} output ${i}`);
  }
});
