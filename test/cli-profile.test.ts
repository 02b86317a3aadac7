/**
 * `latprune profile`: where a table is written for a zoo model at its
 * default input, at another input, and for a model folder; its options schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tableModelName } from '../src/cli/profile.js';
import { main } from '../src/cli/main.js';
import { initBackend } from '../src/backend/index.js';
import { profile, profileOptionsSchema } from '../src/latency/index.js';
import { tempDir } from './helpers/tmp.js';
import { capture } from './helpers/capture.js';

test('profile: tables of zoo models at their default input keep the plain name; other inputs are tagged', { timeout: 10_000 }, () => {
  assert.equal(tableModelName('mobilenet_v1', true), 'mobilenet_v1');
  assert.equal(tableModelName('mobilenet_v1', true, [224, 224, 3]), 'mobilenet_v1', 'an explicit default input names the same table');
  assert.equal(tableModelName('resnet20', true, [28, 28, 1]), 'resnet20-28x28x1');
  assert.equal(tableModelName('models/resnet20-fashion-mnist/model.json', false), 'resnet20-fashion-mnist');
  assert.equal(tableModelName('models/resnet20-fashion-mnist', false, [28, 28, 1]), 'resnet20-fashion-mnist');
  assert.equal(tableModelName('exports/resnet18.onnx', false), 'resnet18', 'an ONNX file is named without its extension');
  assert.equal(
    tableModelName('models/resnet20-fmnist-torch/model.onnx', false),
    'resnet20-fmnist-torch',
    'model.onnx is named for its folder',
  );
  assert.throws(() => tableModelName('resnet21', true, [28, 28, 1]), /Unknown zoo model "resnet21"/);
});

test(
  'profile: options are checked against the schema before the model is read; each bad one is named by its flag',
  { timeout: 20_000 },
  async (t) => {
    await initBackend({});
    const dir = await tempDir(t, 'latprune-profile-opts-');
    const missing = join(dir, 'missing.onnx');
    const bad = capture();
    assert.equal(
      await main(
        ['profile', '--model', missing, '--batch', '0', '--ep', 'foo', '--threads', '1.5', '--points', '1', '--calibrate', 'abc'],
        bad,
      ),
      2,
    );
    const text = bad.errLines.join('\n');
    assert.match(
      text,
      /profile: --batch: must be at least 1, got 0; --ep: must be cpu, webgpu or cuda, got "foo"; --threads: must be a whole number, got 1\.5/,
    );
    assert.match(text, /--points \(grid\.points\): must be at least 2, got 1/);
    assert.match(text, /--calibrate: must be a number, got NaN/, 'a flag that is not a number is named with what it became');
    assert.doesNotMatch(text, /does not exist/, 'the options are refused before the (missing) model is read');
    const rules = capture();
    assert.equal(await main(['profile', '--model', missing, '--runtime', 'tfjs', '--ep', 'webgpu'], rules), 2);
    assert.match(rules.errLines.join('\n'), /--ep webgpu is an ONNX Runtime execution provider, but --runtime tfjs/);
    await assert.rejects(
      profile({ model: missing, shard: { index: 2, count: 2 }, tablesRoot: dir }),
      /profile: --shard must be i\/n with 0 <= i < n \(e\.g\. 0\/2\), got 2\/2\./,
    );
    await assert.rejects(
      profile({ model: missing, shard: { index: 0, count: 2 }, recalibrate: true, tablesRoot: dir }),
      /merge the shards with `latprune lut merge` first/,
    );
    // defaults come from the schema
    const d = profileOptionsSchema.parse({ model: 'resnet20' });
    assert.deepEqual([d.batch, d.runtime, d.ep, d.calibrate, d.grid], [1, 'ort', 'cpu', 32, { step: 8, points: 8, refine: 2 }]);
    assert.deepEqual(await readdir(dir), [], 'nothing was written');
  },
);
