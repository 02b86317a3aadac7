/**
 * ONNX import of the torchvision fixtures (64x64 inputs, random weights) in
 * the ignored cache .latprune-cache/onnx-fixtures/, written by
 * `/usr/bin/python3 scripts/fixtures/export_onnx_fixtures.py`. Each test skips
 * with the reason when its file is absent. ORT on the original file vs tfjs
 * on the imported model; compaction of a random selection, exported with the
 * original interface, vs the masked model.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { analyzeModel } from '../src/graph/index.js';
import { importOnnx } from '../src/onnx/index.js';
import { compactAndExport, fixturePath, ortRun, relDiff, tfjsRun } from './helpers/onnx-import.js';

/** name, expected group count, whether to check compaction too (kept to the fast ones). */
const ZOO: Array<[string, number, boolean]> = [
  ['resnet18_op17', 12, true],
  ['resnet50_op11', 37, true],
  ['mobilenet_v2_op13', 25, true],
  ['mobilenet_v3_small_op11', 27, true],
  ['mobilenet_v3_small_op17', 27, true],
  ['regnet_x_400mf_op17', 49, true],
  ['vgg11_bn_op13', 10, true],
  ['densenet121_op13', 120, true],
];

for (const [name, groups, compact] of ZOO) {
  test(`import ${name}: ORT parity${compact ? ', compact export parity' : ''}`, { timeout: 60000 }, async (t) => {
    const file = fixturePath(name);
    if (!file)
      return t.skip(
        `${name}.onnx is not in .latprune-cache/onnx-fixtures; run /usr/bin/python3 scripts/fixtures/export_onnx_fixtures.py (needs python3-torch, python3-torchvision)`,
      );
    await initBackend({ requested: 'wasm' });
    const { model, info } = await importOnnx(readFileSync(file), { source: file });
    assert.deepEqual(info.input.dynamicAxes, [0]);
    const dims = [2, ...info.inputShape];
    const x = tf.tidy(() => tf.randomNormal(dims, 0, 1, 'float32', 23).dataSync() as Float32Array);
    const ref = await ortRun(file, info.input.name, info.outputs[0]!.name, x, dims);
    const d = relDiff(ref, tfjsRun(model, x, dims));
    assert.ok(d <= 1e-4, `${name}: ORT vs imported rel diff ${d}`);
    t.diagnostic(`${name}: ORT vs imported rel diff ${d.toExponential(2)}`);
    assert.equal(analyzeModel(model).groups.length, groups);
    if (compact) {
      const { bytes, masked, before, after } = await compactAndExport(model, info, x, dims, 3);
      assert.ok(after < before);
      const dc = relDiff(masked, await ortRun(bytes, info.input.name, info.outputs[0]!.name, x, dims));
      assert.ok(dc <= 1e-4, `${name}: exported compact vs masked rel diff ${dc}`);
      t.diagnostic(`${name}: exported compact (${after}/${before} params) vs masked rel diff ${dc.toExponential(2)}`);
    }
    model.dispose();
  });
}
