/**
 * A model trained in PyTorch (models/resnet20-fmnist-torch, made by
 * scripts/fixtures/train_fmnist_torch.py): latprune's import gives PyTorch's
 * logits and accuracy, with the normalisation read from the model's sidecar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { embeddedSubsetDir, loadIdxSplit, normalizationLut } from '../src/data/index.js';
import { loadOnnxModel } from '../src/model/index.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { noBatchNormAdvice } from '../src/train/index.js';
import { buildZooModel } from '../src/zoo/index.js';

const dir = join(repoRoot, 'models', 'resnet20-fmnist-torch');
const ref = JSON.parse(readFileSync(join(dir, 'pytorch-eval.json'), 'utf8')) as {
  test_full: { top1: number; count: number };
  test_subset: { top1: number; count: number };
  logits_first8: number[][];
};
const SYSTEM = '/usr/share/datasets/fashion-mnist';

test("the imported PyTorch model gives PyTorch's logits on the first test images", { timeout: 60_000 }, async (t) => {
  const { model } = await loadOnnxModel(join(dir, 'model.onnx'));
  const src = existsSync(join(SYSTEM, 't10k-images-idx3-ubyte.gz')) ? SYSTEM : undefined;
  if (!src) {
    model.dispose();
    t.skip(`the logits are of the full test set's first images; ${SYSTEM} is not installed (apt install dataset-fashion-mnist)`);
    return;
  }
  const ds = await loadIdxSplit(src, 'test', 'fashion-mnist');
  const lut = normalizationLut({ mean: [0.5], std: [0.5] }, 1);
  const x = Float32Array.from(ds.images.subarray(0, 8 * 784), (v) => lut[v]!);
  const y = tf.tidy(() => (model.predict(tf.tensor4d(x, [8, 28, 28, 1])) as tf.Tensor).arraySync() as number[][]);
  model.dispose();
  let maxAbs = 0;
  let scale = 0;
  ref.logits_first8.forEach((row, i) =>
    row.forEach((v, j) => {
      maxAbs = Math.max(maxAbs, Math.abs(v - y[i]![j]!));
      scale = Math.max(scale, Math.abs(v));
    }),
  );
  assert.ok(maxAbs / scale <= 1e-4, `max relative difference ${(maxAbs / scale).toExponential(2)}`);
});

test(
  'latprune eval --model model.onnx scores what PyTorch computed (within 0.05 points), reading model.preprocess.json',
  { timeout: 180_000 },
  async () => {
    const full = existsSync(join(SYSTEM, 't10k-images-idx3-ubyte.gz'));
    const cases: Array<[string, { top1: number; count: number }]> = [[embeddedSubsetDir()!, ref.test_subset]];
    if (full) cases.push([SYSTEM, ref.test_full]);
    else console.log(`# the full test set (${SYSTEM}) is not installed: checking the shipped subset only`);
    for (const [data, want] of cases) {
      const r = await runCli(['eval', '--model', join(dir, 'model.onnx'), '--data', data, '--json'], {}, 170);
      assert.equal(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { top1: number; count: number; mean: number[]; std: number[]; normalization_from: string };
      assert.equal(got.count, want.count);
      assert.ok(
        Math.abs(got.top1 - want.top1) * 100 <= 0.05,
        `${data}: latprune ${(100 * got.top1).toFixed(2)}% vs PyTorch ${(100 * want.top1).toFixed(2)}%`,
      );
      assert.deepEqual([got.mean, got.std], [[0.5], [0.5]]);
      assert.match(got.normalization_from, /model\.preprocess\.json$/);
    }
  },
);

test(
  'a PyTorch export has its batch norms folded: training warns to lower --lr; a zoo model with batch norm gets no advice',
  { timeout: 60_000 },
  async () => {
    const { model } = await loadOnnxModel(join(dir, 'model.onnx'));
    assert.ok(!model.layers.some((l) => l.getClassName() === 'BatchNormalization'), 'PyTorch folded every BatchNorm into its Conv');
    assert.match(
      noBatchNormAdvice(model, 0.02)?.line ?? '',
      /^WARNING: the model has 21 convolutions and no batch normalisation .* --lr 0\.02 is likely to diverge: use --lr 0\.002/,
    );
    assert.match(noBatchNormAdvice(model, 0.002)?.line ?? '', /^note: /);
    model.dispose();
    const zoo = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10 });
    assert.equal(noBatchNormAdvice(zoo, 0.1), undefined);
    zoo.dispose();
  },
);
