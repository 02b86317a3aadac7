/**
 * Gradient engines: the data-parallel engine (main thread + worker threads)
 * gives the gradient of the full-batch mean loss.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { createGradientEngine, shardBatch, type HostBatch } from '../src/train/gradients.js';
import { maxRelErr } from './helpers/numeric.js';

function net(withBn: boolean): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 2] });
  let x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  if (withBn) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function batch(n: number): HostBatch {
  const x = new Float32Array(n * 8 * 8 * 2);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) + Math.cos(i * 0.11);
  return { x, shape: [n, 8, 8, 2], labels: Int32Array.from({ length: n }, (_, i) => (i * 7) % 5) };
}

test('shardBatch splits into near-equal contiguous shards covering the batch', { timeout: 10_000 }, () => {
  const b = batch(7);
  const shards = shardBatch(b, 3);
  assert.deepEqual(
    shards.map((s) => s.shape[0]),
    [3, 2, 2],
  );
  assert.deepEqual(Array.from(shards.flatMap((s) => Array.from(s.labels))), Array.from(b.labels));
  assert.equal(
    shards.reduce((a, s) => a + s.x.length, 0),
    b.x.length,
  );
  assert.deepEqual(
    shardBatch(batch(1), 4).map((s) => s.shape[0]),
    [1],
  );
});

test('data-parallel gradients (2 and 3 threads) equal the single-thread full-batch gradient', { timeout: 10_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  const model = net(false);
  const b = batch(9);
  const loss = { numClasses: 5, labelSmoothing: 0.1 };
  const local = await createGradientEngine(model, loss, 1, info.tfjsName);
  const ref = await local.compute(b);
  for (const replicas of [2, 3]) {
    const dp = await createGradientEngine(model, loss, replicas, info.tfjsName);
    try {
      assert.equal(dp.replicas, replicas);
      const got = await dp.compute(b);
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${got.loss} vs ${ref.loss}`);
      const names = Object.keys(ref.grads);
      assert.deepEqual(Object.keys(got.grads).sort(), names.sort());
      for (const k of names) {
        const e = maxRelErr(got.grads[k]!.dataSync(), ref.grads[k]!.dataSync());
        assert.ok(e <= 1e-5, `${replicas} threads, ${k}: rel err ${e}`);
      }
      tf.dispose(got.grads);
    } finally {
      await dp.dispose();
    }
  }
  tf.dispose(ref.grads);
});

test('with batch norm, each shard normalises with its own statistics (ghost batch norm)', { timeout: 10_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  const model = net(true);
  const b = batch(8);
  const loss = { numClasses: 5, labelSmoothing: 0 };
  const local = await createGradientEngine(model, loss, 1, info.tfjsName);
  const [s0, s1] = shardBatch(b, 2) as [HostBatch, HostBatch];
  const g0 = await local.compute(s0);
  const g1 = await local.compute(s1);
  const dp = await createGradientEngine(model, loss, 2, info.tfjsName);
  try {
    const got = await dp.compute(b);
    assert.ok(Math.abs(got.loss - (g0.loss + g1.loss) / 2) <= 1e-5);
    for (const k of Object.keys(got.grads)) {
      const want = tf.tidy(() => tf.div(tf.add(g0.grads[k]!, g1.grads[k]!), 2).dataSync());
      const a = got.grads[k]!.dataSync();
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - want[i]!) <= 1e-5 + 1e-4 * Math.abs(want[i]!), `${k}[${i}]`);
    }
  } finally {
    await dp.dispose();
  }
});

test('bad worker count is a clear error', { timeout: 10_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  await assert.rejects(
    createGradientEngine(net(false), { numClasses: 5, labelSmoothing: 0 }, 0, info.tfjsName),
    /--workers must be a positive integer/,
  );
});

/** Reference distillation loss in plain JS: (1 - a) CE + a T^2 KL(softmax(t/T) || softmax(s/T)), batch mean. */
function refDistill(s: Float32Array, t: Float32Array, labels: ArrayLike<number>, k: number, a: number, T: number): number {
  const logSoftmax = (v: number[]) => {
    const m = Math.max(...v);
    const z = Math.log(v.reduce((acc, x) => acc + Math.exp(x - m), 0)) + m;
    return v.map((x) => x - z);
  };
  let total = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const si = Array.from(s.subarray(i * k, (i + 1) * k));
    const ti = Array.from(t.subarray(i * k, (i + 1) * k));
    const ce = -logSoftmax(si)[labels[i]!]!;
    const lt = logSoftmax(ti.map((x) => x / T));
    const ls = logSoftmax(si.map((x) => x / T));
    const kl = lt.reduce((acc, l, j) => acc + Math.exp(l) * (l - ls[j]!), 0);
    total += (1 - a) * ce + a * T * T * kl;
  }
  return total / n;
}

test(
  'distillation: the loss matches a plain-JS reference, and data-parallel threads each distil their shard (same loss and gradients as one thread)',
  { timeout: 10_000 },
  async () => {
    const info = await initBackend({ requested: 'wasm' });
    const student = net(false);
    const teacher = net(true);
    // a teacher that differs from the student and is not at its initial BN statistics
    teacher.setWeights(
      teacher.getWeights().map((w, i) =>
        tf.tidy(() =>
          tf.add(
            w,
            tf.mul(
              tf.sin(
                tf
                  .range(0, w.size)
                  .reshape(w.shape)
                  .mul(0.7 + i),
              ),
              0.3,
            ),
          ),
        ),
      ),
    );
    const b = batch(9);
    const loss = { numClasses: 5, labelSmoothing: 0, distill: { alpha: 0.7, temperature: 3 } };
    const x = tf.tensor4d(b.x, b.shape as [number, number, number, number]);
    const s = (student.apply(x, { training: true }) as tf.Tensor).dataSync() as Float32Array;
    const t = (teacher.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array;
    x.dispose();
    const want = refDistill(s, t, b.labels, 5, 0.7, 3);
    const local = await createGradientEngine(student, loss, 1, info.tfjsName, teacher);
    const ref = await local.compute(b);
    assert.ok(Math.abs(ref.loss - want) <= 1e-5 * Math.abs(want), `loss ${ref.loss} vs reference ${want}`);
    const plain = await (await createGradientEngine(student, { numClasses: 5, labelSmoothing: 0 }, 1, info.tfjsName)).compute(b);
    assert.ok(Math.abs(plain.loss - ref.loss) > 1e-3, 'the teacher changes the loss');
    tf.dispose(plain.grads);
    const dp = await createGradientEngine(student, loss, 2, info.tfjsName, teacher);
    try {
      const got = await dp.compute(b);
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `2 threads: loss ${got.loss} vs ${ref.loss}`);
      for (const k of Object.keys(ref.grads)) {
        const e = maxRelErr(got.grads[k]!.dataSync(), ref.grads[k]!.dataSync());
        assert.ok(e <= 1e-5, `${k}: rel err ${e}`);
      }
      tf.dispose(got.grads);
    } finally {
      await dp.dispose();
    }
    tf.dispose(ref.grads);
    await assert.rejects(
      createGradientEngine(student, loss, 1, info.tfjsName),
      /distillation is configured but no teacher model was given/,
    );
  },
);
