/**
 * Training runs end to end on the shipped Fashion-MNIST subset: checkpoint
 * round trip, bit-identical resume, divergence handling, model files (a
 * user's saved model trains like a zoo model), evaluation, bad input.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { embeddedSubsetDir, loadDataset } from '../src/data/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { Trainer, decodeCheckpoint, encodeCheckpoint, evaluate, readMetrics, runTraining } from '../src/train/index.js';
import { loadModel, saveModel } from '../src/model/index.js';
import { LatpruneError } from '../src/errors.js';
import { trainRunOptions } from './helpers/train-options.js';
import { openRunCheckpoint, saveCheckpoint, weightKey } from '../src/train/checkpoint.js';
import { tempDir } from './helpers/tmp.js';

const mini = embeddedSubsetDir()!;

const opts = trainRunOptions;

test('resume from a mid-run checkpoint continues bit-identically', { timeout: 20_000 }, async (t) => {
  const info = await initBackend({ requested: 'wasm' });
  const dir = await tempDir(t, 'latprune-train-');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await runTraining(opts(a, { maxSteps: 6 }), info.tfjsName, () => {});
  await runTraining(opts(b, { maxSteps: 3 }), info.tfjsName, () => {});
  await assert.rejects(
    runTraining(opts(b, { maxSteps: 3 }), info.tfjsName, () => {}),
    /already holds a run.*--resume/,
  );
  await assert.rejects(
    runTraining(opts(b, { maxSteps: 3, resume: true, lr: 0.1 }), info.tfjsName, () => {}),
    /--lr is 0.1 but the run .* used 0.05/,
  );
  const r = await runTraining(opts(b, { maxSteps: 3, resume: true }), info.tfjsName, () => {});
  assert.equal(r.steps, 6);
  const ca = decodeCheckpoint<{ step: number }>(new Uint8Array(await readFile(join(a, 'checkpoint.ckpt'))), 'a');
  const cb = decodeCheckpoint<{ step: number }>(new Uint8Array(await readFile(join(b, 'checkpoint.ckpt'))), 'b');
  assert.equal(ca.meta.step, 6);
  assert.equal(cb.meta.step, 6);
  assert.equal(ca.weights.size, cb.weights.size);
  for (const [name, w] of ca.weights) assert.deepEqual(cb.weights.get(name)!.data, w.data, `weight ${name} differs after resume`);
  for (const [name, v] of Object.entries(ca.optimizer.velocities))
    assert.deepEqual(cb.optimizer.velocities[name]!.data, v.data, `velocity ${name}`);
  const ma = (await readMetrics(a)).filter((m) => m['kind'] === 'train');
  const mb = (await readMetrics(b)).filter((m) => m['kind'] === 'train');
  assert.equal(ma.at(-1)!['step'], 6);
  assert.equal(mb.at(-1)!['step'], 6);
  // b's last window holds steps 4..6 only; a's holds 1..6: compare through the checkpoints instead
  assert.ok(Number.isFinite(mb.at(-1)!['loss'] as number));
});

test(
  'resume: an option a run saved before it existed stands for its default; any other difference is named',
  { timeout: 10_000 },
  async (t) => {
    await initBackend({ requested: 'wasm' });
    const dir = await tempDir(t, 'latprune-train-');
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    try {
      const path = join(dir, 'checkpoint.ckpt');
      // a run from before --grow and --ramp: its options lack them
      await saveCheckpoint(path, model, { velocities: {} }, { options: { lr: 0.05 } });
      const keys = ['lr', 'grow', 'ramp'];
      const defaults = { grow: 'explored', ramp: 1 };
      assert.ok(await openRunCheckpoint(path, dir, true, { lr: 0.05, grow: 'explored', ramp: 1 }, keys, defaults));
      assert.ok(await openRunCheckpoint(path, dir, true, { lr: 0.05 }, keys, defaults));
      await assert.rejects(
        openRunCheckpoint(path, dir, true, { lr: 0.05, grow: 'joint' }, keys, defaults),
        /--grow is "joint" but the run in .* used "explored"/,
      );
      await assert.rejects(
        openRunCheckpoint(path, dir, true, { lr: 0.05, grow: 'explored' }, keys),
        /--grow is "explored" but the run in .* used undefined/,
      );
      await assert.rejects(openRunCheckpoint(path, dir, false, { lr: 0.05 }, keys, defaults), /already holds a run/);
    } finally {
      model.dispose();
    }
  },
);

test('checkpoint encoding round-trips and corrupt files are named errors', { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
  const bytes = await encodeCheckpoint(model, { velocities: { 'x/kernel': { shape: [2], data: new Float32Array([1, 2]) } } }, { step: 7 });
  const c = decodeCheckpoint<{ step: number }>(bytes, 'mem.ckpt');
  assert.equal(c.meta.step, 7);
  assert.deepEqual(Array.from(c.optimizer.velocities['x/kernel']!.data), [1, 2]);
  const w = model.weights[0]!;
  assert.deepEqual(c.weights.get(weightKey(w))!.data, w.read().dataSync());
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 8), 'cut.ckpt'),
    (e: unknown) => e instanceof LatpruneError && /cut\.ckpt: .*truncated payload/.test(e.message),
  );
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode('hello world, not a checkpoint'), 'x.ckpt'),
    /x\.ckpt: not a valid latprune checkpoint \(wrong magic\)/,
  );
  model.dispose();
});

test('a NaN loss stops with DIVERGED and leaves the weights untouched', { timeout: 10_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 1] }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  // an absurd learning rate: the first update blows the weights up, the next loss is not finite
  const trainer = await Trainer.create(
    model,
    { loss: { numClasses: 3, labelSmoothing: 0 }, sgd: { momentum: 0.9 }, schedule: { baseLr: 1e38, totalSteps: 10 }, workers: 1 },
    info.tfjsName,
  );
  const x = new Float32Array(4 * 64);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
  const batch = { x, shape: [4, 8, 8, 1] as const, labels: new Int32Array([0, 1, 2, 0]) };
  let steps = 0;
  let before: Float32Array[] = [];
  let error: unknown;
  while (steps < 5 && !error) {
    before = model.weights.map((w) => w.read().dataSync().slice() as Float32Array);
    try {
      await trainer.trainStep(batch);
      steps++;
    } catch (e) {
      error = e;
    }
  }
  assert.ok(error instanceof LatpruneError && error.code === 'DIVERGED', `expected DIVERGED, got ${String(error)}`);
  assert.match((error as Error).message, new RegExp(`loss is (NaN|-?Infinity) at step ${steps}`));
  model.weights.forEach((w, i) => {
    if (w.trainable) assert.deepEqual(w.read().dataSync(), before[i], `${w.name} changed by the diverged step`);
  });
  assert.equal(trainer.step, steps);
  await trainer.dispose();
  model.dispose();
});

test("a user's saved model loads, predicts identically, trains like a zoo model; bad files are named", { timeout: 10_000 }, async (t) => {
  const info = await initBackend({ requested: 'wasm' });
  const dir = await tempDir(t, 'latprune-model-');
  const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  await saveModel(model, join(dir, 'm'), { note: 'test' });
  await t.test('it loads and predicts identically', async () => {
    const loaded = await loadModel(join(dir, 'm'));
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 9);
    assert.deepEqual((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
  });
  await t.test('it trains like a zoo model', async () => {
    const r = await runTraining(opts(join(dir, 'run'), { model: join(dir, 'm', 'model.json'), maxSteps: 2 }), info.tfjsName, () => {});
    assert.equal(r.steps, 2);
  });
  await t.test('a missing path, a JSON that is not a model and a missing weights file are named', async () => {
    await assert.rejects(loadModel(join(dir, 'nope')), /nope does not exist.*zoo name/);
    await writeFile(join(dir, 'bad.json'), '{"hello": 1}');
    await assert.rejects(loadModel(join(dir, 'bad.json')), /bad\.json: not a tfjs LayersModel model\.json/);
    await rm(join(dir, 'm', 'weights.bin'));
    await assert.rejects(loadModel(join(dir, 'm')), /weights\.bin: weights file listed in .*model\.json is missing/);
  });
});

test('evaluate: top-1 equals a hand count of argmax hits', { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const data = await loadDataset('fashion-mnist', { dir: mini });
  const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const sub = { ...data.test, count: 64, images: data.test.images.subarray(0, 64 * 784), labels: data.test.labels.subarray(0, 64) };
  const r = await evaluate(model, sub, { batchSize: 20 });
  const { assembleBatch, defaultNormalization } = await import('../src/data/index.js');
  const b = assembleBatch(
    sub,
    Uint32Array.from({ length: 64 }, (_, i) => i),
    defaultNormalization('fashion-mnist'),
  );
  const pred = (model.predict(tf.tensor4d(b.x, [64, 28, 28, 1])) as tf.Tensor2D).argMax(1).dataSync();
  let hits = 0;
  for (let i = 0; i < 64; i++) if (pred[i] === sub.labels[i]) hits++;
  assert.equal(r.count, 64);
  assert.equal(r.top1, hits / 64);
  assert.ok(r.loss > 0 && Number.isFinite(r.loss));
});
