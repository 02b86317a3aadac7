/**
 * Models ending in softmax train on their pre-softmax logits (main thread,
 * gradient workers, distillation teacher) and are saved unchanged; a final
 * softmax latprune cannot switch off is refused before training; and
 * `train --max-steps N --save-model DIR` saves the partly trained model.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { embeddedSubsetDir } from '../src/data/index.js';
import { LatpruneError } from '../src/errors.js';
import { Trainer, runTraining, type TrainerConfig } from '../src/train/index.js';
import { loadModel, saveModel } from '../src/model/index.js';
import { localGradients, outputView, trainableVariables, type HostBatch } from '../src/train/gradients.js';
import { trainRunOptions } from './helpers/train-options.js';
import { tempDir } from './helpers/tmp.js';

const CLASSES = 10;
/** Cross-entropy of softmax applied twice has this floor on 10 classes: log(1 + 9/e). */
const DOUBLE_SOFTMAX_FLOOR = Math.log(1 + (CLASSES - 1) / Math.E);

type Ending = 'dense' | 'activation' | 'softmax-layer';

function softmaxModel(ending: Ending, seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const layers: tf.layers.Layer[] = [tf.layers.flatten({ inputShape: [4, 4, 1] })];
  if (ending === 'dense') layers.push(tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(seed) }));
  else {
    layers.push(tf.layers.dense({ units: CLASSES, kernelInitializer: init(seed) }));
    layers.push(ending === 'activation' ? tf.layers.activation({ activation: 'softmax' }) : tf.layers.softmax());
  }
  return tf.sequential({ layers });
}

/** A separable 10-class problem: each class a fixed 4x4 pattern plus a little noise. */
function batchAt(step: number, n = 40): HostBatch {
  const x = new Float32Array(n * 16);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = (i + step) % CLASSES;
    labels[i] = c;
    for (let j = 0; j < 16; j++) x[i * 16 + j] = Math.sin(3.1 * c + 1.7 * j) * 2 + 0.1 * Math.sin(97 * (i + 31 * step) + j);
  }
  return { x, shape: [n, 4, 4, 1], labels };
}

function config(workers: number, steps: number): TrainerConfig {
  return {
    loss: { numClasses: CLASSES, labelSmoothing: 0 },
    sgd: { momentum: 0.9, weightDecay: 0 },
    schedule: { baseLr: 0.5, totalSteps: steps },
    workers,
  };
}

async function train(
  model: tf.LayersModel,
  backend: string,
  workers: number,
  steps: number,
): Promise<{ losses: number[]; notes: readonly string[] }> {
  const trainer = await Trainer.create(model, config(workers, steps), backend);
  try {
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push((await trainer.trainStep(batchAt(s))).loss);
    return { losses, notes: trainer.notes };
  } finally {
    await trainer.dispose();
  }
}

for (const ending of ['dense', 'activation', 'softmax-layer'] as const) {
  test(
    `a model ending in softmax (${ending}) trains on its logits, far below the double-softmax floor, and keeps its softmax`,
    { timeout: 60_000 },
    async () => {
      const info = await initBackend({ requested: 'wasm' });
      const model = softmaxModel(ending);
      const { losses, notes } = await train(model, info.tfjsName, 1, 60);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /the model ends in softmax .*: training on its pre-softmax logits/);
      assert.ok(losses[0]! > 1.5, `first loss ${losses[0]}`);
      const last = losses.at(-1)!;
      assert.ok(last < 0.8, `loss ${last} should fall far below the double-softmax floor ${DOUBLE_SOFTMAX_FLOOR.toFixed(3)}`);
      // the model itself still gives probabilities
      const p = (model.predict(tf.tensor4d(batchAt(0).x, [40, 4, 4, 1])) as tf.Tensor2D).sum(1).dataSync();
      for (const s of p) assert.ok(Math.abs(s - 1) < 1e-4, `row sums to ${s}`);
      model.dispose();
    },
  );
}

test('without the logits view the same model floors at the double-softmax loss (what the fix avoids)', { timeout: 60_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const model = softmaxModel('dense');
  const vars = trainableVariables(model);
  const opt = tf.train.sgd(0.5);
  let loss = 0;
  for (let s = 0; s < 60; s++) {
    const b = batchAt(s);
    const x = tf.tensor4d(b.x, [40, 4, 4, 1]);
    const y = tf.oneHot(tf.tensor1d(b.labels, 'int32'), CLASSES);
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true, vars)!;
    loss = l.dataSync()[0]!;
    tf.dispose([x, y, l]);
  }
  assert.ok(loss > DOUBLE_SOFTMAX_FLOOR - 1e-3, `naive loss ${loss} is bounded below by ${DOUBLE_SOFTMAX_FLOOR}`);
  opt.dispose();
  model.dispose();
});

test('gradient workers rebuild the model from its topology and train on the same logits', { timeout: 60_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  const a = softmaxModel('activation', 4);
  const b = softmaxModel('activation', 4);
  b.setWeights(a.getWeights());
  const one = await train(a, info.tfjsName, 1, 60);
  const two = await train(b, info.tfjsName, 2, 60);
  // no batch norm: the sharded gradient is the full-batch gradient
  one.losses.forEach((l, i) => assert.ok(Math.abs(l - two.losses[i]!) < 1e-4, `step ${i}: ${l} vs ${two.losses[i]} with a worker`));
  assert.ok(two.losses.at(-1)! < DOUBLE_SOFTMAX_FLOOR);
  a.dispose();
  b.dispose();
});

test("distillation reads the teacher's pre-softmax logits too", { timeout: 60_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const student = softmaxModel('dense', 5);
  const teacher = softmaxModel('softmax-layer', 6);
  // the teacher computes the same function as the student
  teacher.setWeights(student.getWeights());
  const cfg = { numClasses: CLASSES, labelSmoothing: 0, distill: { alpha: 1, temperature: 2 } };
  const { loss, grads } = await localGradients(student, trainableVariables(student), batchAt(0), cfg, teacher);
  tf.dispose(grads);
  // KL(teacher || student) of identical logits is 0; of the teacher's probabilities taken as logits it is not
  assert.ok(Math.abs(loss) < 1e-5, `distillation loss ${loss} for a teacher identical to the student`);
  assert.match(outputView(teacher).note ?? '', /ends in softmax/);
  student.dispose();
  teacher.dispose();
});

test('a final softmax over another axis is refused before training, naming the layer', { timeout: 60_000 }, async () => {
  const info = await initBackend({ requested: 'wasm' });
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [4, 4, 1] }),
      tf.layers.dense({ units: CLASSES }),
      tf.layers.softmax({ axis: 0, name: 'odd_softmax' }),
    ],
  });
  await assert.rejects(Trainer.create(model, config(1, 10), info.tfjsName), (e: unknown) => {
    assert.ok(e instanceof LatpruneError && e.code === 'UNSUPPORTED_LAYER', String(e));
    assert.match(
      e.message,
      /the model ends in softmax \(layer "odd_softmax", Softmax\), and its softmax runs over axis 0.*Make the last layer linear/,
    );
    return true;
  });
  model.dispose();
});

test(
  'train --max-steps with --save-model saves the partly trained model (a user model ending in softmax)',
  { timeout: 60_000 },
  async (t) => {
    const info = await initBackend({ requested: 'wasm' });
    const dir = await tempDir(t, 'latprune-softmax-');
    const user = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    await saveModel(user, join(dir, 'user'));
    user.dispose();
    const lines: string[] = [];
    const opts = trainRunOptions(join(dir, 'run'), {
      model: join(dir, 'user'),
      labelSmoothing: 0,
      seed: 1,
      maxSteps: 3,
      saveModel: join(dir, 'saved'),
      command: 'latprune train --max-steps 3 --save-model saved',
    });
    const r = await runTraining(opts, info.tfjsName, (l) => lines.push(l));
    assert.equal(r.steps, 3);
    assert.equal(r.finished, false);
    assert.ok((await stat(join(dir, 'saved', 'model.json'))).isFile());
    assert.equal(r.savedModel, join(dir, 'saved'));
    const log = lines.join('\n');
    assert.match(
      log,
      /the model ends in softmax \(its last layer "dense_\w+" \(Dense\) has activation 'softmax'\): training on its pre-softmax logits/,
    );
    assert.match(log, /saved the partly trained model \(step 3 of \d+, stopped by --max-steps\) to /);
    const card = await readFile(join(dir, 'saved', 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /stopped at step 3 of \d+ \(--max-steps\): partly trained/);
    assert.match(card, /test top-1 \| \d+\.\d\d%/);
    // saved unchanged: it still ends in softmax
    const back = await loadModel(join(dir, 'saved'));
    const cfg = back.layers.at(-1)!.getConfig() as { activation?: string };
    assert.equal(cfg.activation, 'softmax');
    back.dispose();
  },
);

test(
  'an error after the trainer started its gradient workers (a checkpoint that does not fit) stops them: the process exits',
  { timeout: 60_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-softmax-');
    // run in a child: with a worker thread left alive it would never exit
    const script = `
    const { initBackend } = await import(${JSON.stringify(new URL('../src/backend/index.js', import.meta.url).href)});
    const { runTraining } = await import(${JSON.stringify(new URL('../src/train/index.js', import.meta.url).href)});
    const { saveModel } = await import(${JSON.stringify(new URL('../src/model/index.js', import.meta.url).href)});
    const tf = await import(${JSON.stringify(import.meta.resolve('@tensorflow/tfjs'))});
    const info = await initBackend({ requested: 'wasm' });
    const dir = ${JSON.stringify(dir)};
    const mk = (units) => tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units }), tf.layers.dense({ units: 10 })] });
    const opts = { model: dir + '/user', dataset: 'fashion-mnist', dataDir: ${JSON.stringify(embeddedSubsetDir()!)}, epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0, warmupEpochs: 0, labelSmoothing: 0, seed: 1, workers: 2, out: dir + '/run', resume: false, checkpointEvery: 100, maxSteps: 1, command: 'test' };
    await saveModel(mk(8), dir + '/user');
    await runTraining(opts, info.tfjsName, () => {});
    // the user's file now holds another architecture: the checkpoint no longer fits
    await saveModel(mk(6), dir + '/user');
    try {
      await runTraining({ ...opts, resume: true }, info.tfjsName, () => {});
      console.log('NO ERROR');
    } catch (e) {
      console.log('ERROR ' + e.message);
    }
  `;
    const { spawn } = await import('node:child_process');
    await writeFile(join(dir, 'child.mjs'), script);
    const child = spawn(process.execPath, [join(dir, 'child.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | string>((res) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        res('hung');
      }, 40_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        res(c ?? 'signal');
      });
    });
    assert.equal(code, 0, `child ${code}: ${out}`);
    assert.match(out, /ERROR .*checkpoint\.ckpt: checkpoint has no weight '.*'; it belongs to a different model/);
  },
);
