/**
 * `--data DIR` with an image folder, through the commands a user runs: eval, train and
 * prune (of an imported ONNX model) read Fashion-MNIST exported as PNG folders exactly
 * as they read the IDX files, print what preprocessing they used, and resume.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { embeddedSubsetDir, loadIdxSplit } from '../src/data/index.js';
import { initBackend } from '../src/backend/index.js';
import { runTraining } from '../src/train/index.js';
import { runPrune, type PruneRunOptions } from '../src/prune/index.js';
import { profileModel } from '../src/latency/index.js';
import { loadOnnxModel } from '../src/model/index.js';
import { FakeRuntime } from './helpers/fake-runtime.js';
import { exportPng } from './helpers/image-folder.js';
import { fileTempDir } from './helpers/tmp.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { trainRunOptions } from './helpers/train-options.js';

const root = fileTempDir('latprune-folder-run-');
const folder = join(root, 'fmnist');
const subset = embeddedSubsetDir()!;

before(async () => {
  await exportPng(await loadIdxSplit(subset, 'train', 'fashion-mnist'), join(folder, 'train'));
  await exportPng(await loadIdxSplit(subset, 'test', 'fashion-mnist'), join(folder, 'val'));
});

test(
  "eval: the PNG folder scores exactly what the IDX files do, with the model's preprocess.json; bad flags are named",
  { timeout: 120_000 },
  async () => {
    const model = join(repoRoot, 'models', 'resnet20-fashion-mnist');
    const idx = await runCli(['eval', '--model', model, '--data', subset, '--json']);
    const png = await runCli(['eval', '--model', model, '--data', folder, '--json']);
    assert.equal(idx.code, 0, idx.stderr);
    assert.equal(png.code, 0, png.stderr);
    const a = JSON.parse(idx.stdout) as { top1: number; count: number; normalization_from: string; mean: number[] };
    const b = JSON.parse(png.stdout) as { top1: number; count: number; normalization_from: string; mean: number[]; input: number[] };
    assert.equal(b.count, 1000);
    assert.equal(b.top1, a.top1, 'same pixels, same normalisation: the same predictions');
    assert.ok(a.top1 > 0.9, `the pretrained model scores ${a.top1}`);
    assert.match(b.normalization_from, /preprocess\.json$/, "the folder run read the model's sidecar");
    assert.deepEqual(b.mean, [0.286]);
    assert.deepEqual(b.input, [28, 28, 1]);
    // ImageNet's normalisation (what a folder gets without the sidecar or flags) scores less: the flags matter
    const imagenet = await runCli(['eval', '--model', model, '--data', folder, '--mean', '0.449', '--std', '0.226', '--json']);
    assert.ok((JSON.parse(imagenet.stdout) as { top1: number }).top1 < a.top1 - 0.05);
    // a zoo model has no input size of its own: the folder needs --input
    const zoo = await runCli(['eval', '--model', 'resnet20', '--data', folder]);
    assert.equal(zoo.code, 2);
    assert.match(zoo.stderr, /image folder.*give --input HxW/);
    const half = await runCli(['eval', '--model', model, '--data', folder, '--mean', '0.5']);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /give --mean and --std together/);
    const size = await runCli(['eval', '--model', model, '--data', folder, '--input', '32x32']);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /--input 32x32 does not match .* which takes 28x28/);
  },
);

test(
  'train: the same seed gives the same top-1 on the PNG folder (file-name order) as on the IDX files',
  { timeout: 300_000 },
  async (t) => {
    const info = await initBackend({ requested: 'wasm' });
    const { dataset: _d, maxSteps: _m, ...short } = trainRunOptions(join(root, 'train-idx'), { batchSize: 64, labelSmoothing: 0 });
    const common = { ...short, trainSubset: 1024, mean: [0.286], std: [0.353] };
    const idx = await runTraining({ ...common, dataDir: subset }, info.tfjsName, () => {});
    const lines: string[] = [];
    const png = await runTraining(
      { ...common, dataDir: folder, dataOrder: 'file-name', input: [28, 28], out: join(root, 'train-png') },
      info.tfjsName,
      (l) => lines.push(l),
    );
    assert.ok(idx.finished && png.finished);
    assert.equal(png.steps, idx.steps);
    assert.ok(Math.abs(png.testTop1! - idx.testTop1!) <= 0.001, `top-1 ${png.testTop1} on the folder vs ${idx.testTop1} on the IDX files`);
    assert.ok(idx.testTop1! > 0.3, `16 steps learn something (top-1 ${idx.testTop1})`);
    assert.ok(
      lines.some((l) => /image folder .*fmnist \(train-val\): 10 classes/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /input: 28x28x1, normalization mean \[0\.286\] std \[0\.353\] from --mean\/--std/.test(l)),
      lines.join('\n'),
    );
    await t.test('the run records its data options and a resume must keep them', async () => {
      const cfg = JSON.parse(await readFile(join(root, 'train-png', 'config.json'), 'utf8')) as { dataOrder: string; input: number[] };
      assert.equal(cfg.dataOrder, 'file-name');
      assert.deepEqual(cfg.input, [28, 28]);
      await assert.rejects(
        runTraining(
          { ...common, dataDir: folder, dataOrder: 'torchvision', input: [28, 28], out: join(root, 'train-png'), resume: true, epochs: 2 },
          info.tfjsName,
          () => {},
        ),
        /--dataOrder is "torchvision" but the run .* used "file-name"/,
      );
    });
  },
);

test(
  'prune: an imported ONNX model on an image folder runs end to end, and a resumed run ends bit-identical',
  { timeout: 480_000 },
  async () => {
    const info = await initBackend({ requested: 'wasm' });
    const src = join(repoRoot, 'test', 'fixtures', 'onnx', 'resnet20_op11.onnx');
    const { model } = await loadOnnxModel(src);
    const lut = join(root, 'r20.json');
    const table = await profileModel(model, {
      modelName: 'r20',
      modelSource: src,
      batch: 16,
      runtime: new FakeRuntime(),
      out: lut,
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
    assert.equal(table.source, src, 'the table records the model file it was profiled from');
    model.dispose();
    const base: PruneRunOptions = {
      model: src,
      fromScratch: false,
      dataDir: folder,
      input: [28, 28],
      mean: [0.286],
      std: [0.353],
      lut,
      target: { speedup: 1.6 },
      method: 'halp',
      criterion: 'taylor',
      epochs: 1,
      iterations: 20,
      batchSize: 16,
      lr: 0.02,
      weightDecay: 5e-4,
      seed: 2,
      workers: 1,
      H: 3,
      J: 3,
      Q: 3,
      T: 2,
      omega: 0.05,
      schedule: 'cosine',
      explore: true,
      freeze: true,
      zeroInit: false,
      steps: 2,
      interval: 4,
      granularity: 1,
      trainSubset: 256,
      out: join(root, 'p-a'),
      resume: false,
      command: 'test',
    };
    const lines: string[] = [];
    const a = await runPrune(base, info.tfjsName, (l) => lines.push(l));
    assert.ok(a.finished);
    assert.ok(
      lines.some((l) => /image folder .*fmnist/.test(l)),
      lines.join('\n'),
    );
    assert.ok(a.latency_ms <= a.target_latency_ms, `estimated ${a.latency_ms} ms for a target of ${a.target_latency_ms}`);
    // random weights: the verdict says the model learned nothing, never PASS
    assert.match(a.verdict, /^FAIL: the pruned model learned nothing/);
    await runPrune({ ...base, out: join(root, 'p-b'), maxIterations: 10 }, info.tfjsName, () => {});
    const b = await runPrune({ ...base, out: join(root, 'p-b'), resume: true }, info.tfjsName, () => {});
    assert.deepEqual(b.kept, a.kept);
    assert.equal(b.top1, a.top1);
    const wa = await readFile(join(root, 'p-a', 'model', 'weights.bin'));
    const wb = await readFile(join(root, 'p-b', 'model', 'weights.bin'));
    assert.ok(wa.equals(wb), "the resumed run's weights equal the uninterrupted run's bit for bit");
    const saved = JSON.parse(await readFile(join(root, 'p-a', 'model', 'model.json'), 'utf8')) as {
      userDefinedMetadata: { latprune: { preprocess: { mean: number[]; input: number[] } } };
    };
    assert.deepEqual(saved.userDefinedMetadata.latprune.preprocess.mean, [0.286]);
    assert.deepEqual(saved.userDefinedMetadata.latprune.preprocess.input, [28, 28]);
  },
);
