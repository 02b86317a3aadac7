/**
 * Taylor sanity on a trained model: train a tiny conv net on the shipped
 * Fashion-MNIST subset (wasm backend, main thread, batch 32), accumulate
 * Taylor (BN form) scores over the last training steps through the trainer's
 * hook, then zero each channel of the three conv groups alone and measure the
 * actual increase of the loss. Their Spearman rank correlation over all 40
 * channels must be >= 0.5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import {
  BatchIterator,
  assembleBatch,
  defaultNormalization,
  embeddedSubsetDir,
  loadDataset,
  subsetDataset,
  type ImageDataset,
} from '../src/data/index.js';
import { Trainer, classificationLoss, evaluate } from '../src/train/index.js';
import { analyzeModel, applySelection, fullSelection, type Selection } from '../src/graph/index.js';
import { ImportanceAccumulator, taylorImportance } from '../src/importance/index.js';

function tinyNet(): tf.LayersModel {
  let s = 11;
  const input = tf.input({ shape: [28, 28, 1], name: 'input' });
  let x: tf.SymbolicTensor = input;
  for (const [name, filters, stride] of [
    ['c1', 8, 2],
    ['c2', 16, 2],
    ['c3', 16, 1],
  ] as const) {
    x = tf.layers
      .conv2d({
        name,
        filters,
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: s++ }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `${name}_relu` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({ name: 'fc', units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: s }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'tiny' });
}

/** Ranks with ties averaged (1-based). */
function ranks(v: readonly number[]): number[] {
  const idx = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (ra.length + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i]! - mean) * (rb[i]! - mean);
    saa += (ra[i]! - mean) ** 2;
    sbb += (rb[i]! - mean) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

test('spearman helper: perfect, reversed and tied rankings', { timeout: 10_000 }, () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.deepEqual(ranks([5, 1, 5, 2]), [3.5, 1, 3.5, 2]);
});

/**
 * Mean loss over `set` in batches of 250 with batch statistics (training-mode
 * BN), i.e. as if the BN statistics were recalibrated after the change. The
 * forward pass updates the moving statistics, so the caller restores weights.
 */
function batchStatLoss(model: tf.LayersModel, set: ImageDataset): number {
  const bs = 250;
  let sum = 0;
  for (let start = 0; start < set.count; start += bs) {
    const idx = Array.from({ length: Math.min(bs, set.count - start) }, (_, i) => start + i);
    const b = assembleBatch(set, idx, defaultNormalization(set.name));
    sum += tf.tidy(() => {
      const logits = model.apply(tf.tensor4d(b.x, [idx.length, set.height, set.width, set.channels]), { training: true }) as tf.Tensor;
      return classificationLoss(logits, tf.tensor1d(b.labels, 'int32'), { numClasses: 10, labelSmoothing: 0 }).dataSync()[0]! * idx.length;
    });
  }
  return sum / set.count;
}

test(
  'Taylor (BN form) scores rank channels like the actual loss increase when each is zeroed (Spearman >= 0.5)',
  { timeout: 90_000 },
  async () => {
    const info = await initBackend({ requested: 'wasm' });
    const data = await loadDataset('fashion-mnist', { dir: embeddedSubsetDir() });
    const model = tinyNet();
    const graph = analyzeModel(model);
    assert.deepEqual(
      graph.groups.map((g) => g.id),
      ['c1', 'c2', 'c3'],
    );
    const steps = 300;
    const accSteps = 60;
    const trainer = await Trainer.create(
      model,
      {
        loss: { numClasses: 10, labelSmoothing: 0 },
        sgd: { momentum: 0.9, weightDecay: 5e-4 },
        schedule: { baseLr: 0.05, totalSteps: steps, warmupSteps: 10, minLr: 0.005 },
        workers: 1,
      },
      info.tfjsName,
    );
    const it = new BatchIterator(data.train, { batchSize: 32, seed: 1 });
    const next = () => {
      const b = it.next();
      return { x: b.x, shape: b.shape, labels: b.labels };
    };
    const t0 = performance.now();
    await trainer.trainSteps(next, steps - accSteps);
    const acc = new ImportanceAccumulator(model, graph, taylorImportance());
    await trainer.trainSteps(next, accSteps, acc.hooks());
    await trainer.dispose();
    assert.equal(acc.count, accSteps);
    const scores = acc.scores();

    // Zero each channel alone (applySelection: producer, BN and consumer slices) and measure the loss on
    // 1,000 training images. Taylor's gradients flow through batch-statistics BN, so the like-for-like
    // measure uses batch statistics too (BN recalibrated after pruning); the inference-mode loss with the
    // stale moving statistics is reported alongside.
    const evalSet = subsetDataset(
      data.train,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    const snapshot = model.getWeights().map((t) => t.clone());
    const base = await evaluate(model, evalSet);
    assert.ok(base.top1 > 0.6, `the tiny net learned something (top-1 ${base.top1})`);
    const baseBatch = batchStatLoss(model, evalSet);
    model.setWeights(snapshot);
    const taylor: number[] = [];
    const batchInc: number[] = [];
    const inferInc: number[] = [];
    const perGroup: string[] = [];
    for (const g of graph.groups) {
      const t: number[] = [];
      const db: number[] = [];
      const di: number[] = [];
      for (let j = 0; j < g.size; j++) {
        const sel: Selection = { ...fullSelection(graph), [g.id]: Array.from({ length: g.size }, (_, i) => i).filter((i) => i !== j) };
        applySelection(model, graph, sel);
        di.push((await evaluate(model, evalSet)).loss - base.loss);
        db.push(batchStatLoss(model, evalSet) - baseBatch);
        model.setWeights(snapshot);
        t.push(scores[g.id]![j]!);
      }
      perGroup.push(`${g.id} ${spearman(t, db).toFixed(2)} (inference ${spearman(t, di).toFixed(2)})`);
      taylor.push(...t);
      batchInc.push(...db);
      inferInc.push(...di);
    }
    tf.dispose(snapshot);
    const rho = spearman(taylor, batchInc);
    const rhoInference = spearman(taylor, inferInc);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `taylor sanity over ${taylor.length} channels: spearman ${rho.toFixed(3)} with batch-statistics loss increase, ` +
        `${rhoInference.toFixed(3)} with inference-mode loss increase; per group: ${perGroup.join(', ')}; ` +
        `base loss ${base.loss.toFixed(3)}, top-1 ${base.top1.toFixed(3)}; ${seconds.toFixed(1)} s`,
    );
    assert.ok(rho >= 0.5, `Spearman(Taylor, loss increase) = ${rho}`);
  },
);
