/**
 * Compaction, ONNX export and FPS verification: compacted models equal the
 * masked ones; exported ONNX matches tfjs through ONNX Runtime and passes the
 * official checker; verify's verdict and exit code; bad input.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile, readFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { analyzeModel, applySelection } from '../src/graph/index.js';
import { checkParity, exportOnnx } from '../src/export/index.js';
import { compactModel } from '../src/model/index.js';
import { modelToOnnx } from '../src/onnx/index.js';
import { writeModelFile } from '../src/onnx/index.js';
import { saveModel } from '../src/model/index.js';
import { main } from '../src/cli/main.js';
import { randomFloats } from '../src/util/random.js';
import { tempDir } from './helpers/tmp.js';
import { randomSelection } from './helpers/selection.js';
import { capture } from './helpers/capture.js';

function concatFlattenModel(): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const x = tf.input({ shape: [12, 12, 3] });
  const a = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'a', kernelInitializer: init(1) })
    .apply(x) as tf.SymbolicTensor;
  const b = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'b', kernelInitializer: init(2) })
    .apply(x) as tf.SymbolicTensor;
  const cat = tf.layers
    .concatenate({ name: 'cat' })
    .apply([tf.layers.batchNormalization({ name: 'a_bn' }).apply(a) as tf.SymbolicTensor, b]) as tf.SymbolicTensor;
  const f = tf.layers.conv2d({ filters: 14, kernelSize: 1, name: 'f', kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  let y = tf.layers.add({ name: 'sum' }).apply([cat, f]) as tf.SymbolicTensor;
  y = tf.layers.reLU({ name: 'relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten({ name: 'flat' }).apply(y) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, name: 'fc', kernelInitializer: init(4) }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: out, name: 'catflat' });
}

function randomize(m: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const l of m.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(l.getWeights().map((w, i) => tf.tensor(randomFloats(w.size, s++, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5), w.shape)));
  }
}

const cases: Array<[string, () => tf.LayersModel, [number, number, number]]> = [
  ['resnet20', () => buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 }), [28, 28, 1]],
  ['mobilenet_v1', () => buildZooModel('mobilenet_v1', { inputShape: [32, 32, 3], width: 0.25, seed: 2 }), [32, 32, 3]],
  ['concat+flatten', concatFlattenModel, [12, 12, 3]],
];

for (const [name, build, shape] of cases) {
  test(`compaction equals the masked model and the ONNX export matches through ORT: ${name}`, { timeout: 10_000 }, async () => {
    await initBackend({ requested: 'wasm' });
    const m = build();
    randomize(m, 11);
    const g = analyzeModel(m);
    const sel = randomSelection(g, 7);
    const compact = await compactModel(m, g, sel);
    assert.ok(compact.countParams() < m.countParams(), 'fewer parameters');
    applySelection(m, g, sel);
    const x = tf.randomNormal([3, ...shape], 0, 1, 'float32', 5);
    const a = (m.predict(x) as tf.Tensor).dataSync();
    const b = (compact.predict(x) as tf.Tensor).dataSync();
    let err = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      err = Math.max(err, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    assert.ok(err / scale <= 1e-5, `compact vs masked rel err ${err / scale}`);
    for (const foldBn of [true, false]) {
      const bytes = modelToOnnx(compact, { producerVersion: 'test', foldBn });
      const p = await checkParity(compact, bytes, x.dataSync() as Float32Array, [3, ...shape]);
      assert.ok(p.relDiff <= 1e-4, `ONNX parity (foldBn ${foldBn}) rel ${p.relDiff}`);
      assert.equal(p.top1Agreement, 1);
    }
    m.dispose();
    compact.dispose();
  });
}

test('the exported ONNX passes the official checker (python3-onnx)', { timeout: 10_000 }, async (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return t.skip(
      `python3-onnx is not installed (${(probe.stderr || 'no /usr/bin/python3').trim().split('\n').pop()}); install Debian's python3-onnx to run the checker`,
    );
  await initBackend({ requested: 'wasm' });
  const dir = await tempDir(t, 'latprune-onnx-');
  for (const [name, build] of cases) {
    const file = join(dir, `${name}.onnx`);
    await writeModelFile(file, modelToOnnx(build(), { producerVersion: 'test', metadata: { 'latprune.test': '1' } }));
    const r = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
});

test('verify: PASS exits 0, an impossible target exits 1; bad files and flags are named errors', { timeout: 30_000 }, async (t) => {
  await initBackend({ requested: 'wasm' });
  const dir = await tempDir(t, 'latprune-verify-');
  const file = join(dir, 'm.onnx');
  await writeModelFile(
    file,
    modelToOnnx(buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }), { producerVersion: 'test' }),
  );
  await t.test('a reachable target: PASS, exit 0, consistent JSON figures', async () => {
    const ok = capture();
    assert.equal(await main(['verify', file, '--target-fps', '1', '--batch', '8', '--json'], ok), 0);
    const r = JSON.parse(ok.outLines.at(-1)!);
    assert.equal(r.met, true);
    assert.ok(r.fps > 1 && r.p10_ms <= r.median_ms && r.median_ms <= r.p90_ms);
    assert.ok(Math.abs(r.fps - (8 * 1000) / r.median_ms) < 1e-9);
  });
  await t.test('an impossible target: FAIL, exit 1', async () => {
    const bad = capture();
    assert.equal(await main(['verify', file, '--target-fps', '1e9', '--batch', '8'], bad), 1);
    assert.match(bad.outLines.at(-1)!, /^FAIL: .* FPS < target 1000000000/);
  });
  await t.test('a file that is not ONNX, or truncated, is a named error', async () => {
    await writeFile(join(dir, 'x.onnx'), 'hello');
    const e1 = capture();
    assert.equal(await main(['verify', join(dir, 'x.onnx')], e1), 2);
    assert.match(e1.errLines.join('\n'), /x\.onnx is not a valid ONNX model/);
    const bytes = await readFile(file);
    await writeFile(join(dir, 'cut.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e2 = capture();
    assert.equal(await main(['verify', join(dir, 'cut.onnx')], e2), 2);
    assert.match(e2.errLines.join('\n'), /cut\.onnx is not a valid ONNX model/);
  });
  await t.test('a model with a fixed batch refuses another --batch', async () => {
    await writeModelFile(
      join(dir, 'b4.onnx'),
      modelToOnnx(buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }), { producerVersion: 'test', batch: 4 }),
    );
    const e3 = capture();
    assert.equal(await main(['verify', join(dir, 'b4.onnx'), '--batch', '8'], e3), 2);
    assert.match(e3.errLines.join('\n'), /--batch 8: .*b4\.onnx has a fixed batch of 4/);
  });
  await t.test('export from a run without a finished selection: named error, nothing written', async () => {
    await mkdir(join(dir, 'run'), { recursive: true });
    await writeFile(join(dir, 'run', 'config.json'), '{}');
    const e4 = capture();
    assert.equal(await main(['export', '--run', join(dir, 'run'), '--out', join(dir, 'run.onnx')], e4), 2);
    assert.match(e4.errLines.join('\n'), /selection\.json is missing; the run has no finished selection/);
    assert.equal(existsSync(join(dir, 'run.onnx')), false);
  });
});

test(
  'verify --baseline: speed-up over a model timed in alternation, --target-speedup sets the exit code; mismatched baselines are named errors',
  { timeout: 90_000 },
  async (t) => {
    await initBackend({ requested: 'wasm' });
    const dir = await tempDir(t, 'latprune-verify-');
    const dense = join(dir, 'dense.onnx');
    const small = join(dir, 'small.onnx');
    const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    await writeModelFile(dense, modelToOnnx(model, { producerVersion: 'test' }));
    // every conv at 4 channels: about 1/40 of the dense model's multiply-adds
    await writeModelFile(small, modelToOnnx(model, { producerVersion: 'test', synthetic: { coutOf: () => 4 } }));
    const ok = capture();
    assert.equal(await main(['verify', small, '--batch', '16', '--baseline', dense, '--target-speedup', '1.5', '--json'], ok), 0);
    const r = JSON.parse(ok.outLines.at(-1)!);
    assert.equal(r.speedup_met, true);
    assert.equal(r.met, true);
    assert.ok(r.speedup >= 1.5, `speed-up ${r.speedup}`);
    assert.ok(r.baseline_median_ms > r.median_ms);
    const slow = capture();
    assert.equal(await main(['verify', small, '--batch', '16', '--baseline', dense, '--target-speedup', '1000'], slow), 1);
    assert.match(slow.outLines.at(-1)!, /^FAIL: .*x the speed of .*dense\.onnx .* < target 1000x/);
    const e1 = capture();
    assert.equal(await main(['verify', small, '--target-speedup', '2'], e1), 2);
    assert.match(e1.errLines.join('\n'), /verify: --target-speedup: needs --baseline/);
    // options are checked against the schema before any file is read
    const e3 = capture();
    assert.equal(await main(['verify', join(dir, 'missing.onnx'), '--batch', '0', '--threads', '1.5'], e3), 2);
    assert.match(e3.errLines.join('\n'), /verify: --batch: must be at least 1, got 0; --threads: must be a whole number, got 1\.5\./);
    const other = join(dir, 'other.onnx');
    await writeModelFile(
      other,
      modelToOnnx(buildZooModel('resnet20', { inputShape: [32, 32, 1], numClasses: 10, seed: 1 }), { producerVersion: 'test' }),
    );
    const e2 = capture();
    assert.equal(await main(['verify', small, '--baseline', other], e2), 2);
    assert.match(e2.errLines.join('\n'), /--baseline: .*other\.onnx takes inputs of \[1, 32, 32\] but .*small\.onnx takes \[1, 28, 28\]/);
    model.dispose();
  },
);

test(
  'export --model checks parity on real images and writes metadata; a wrong dataset is refused without output',
  { timeout: 10_000 },
  async (t) => {
    await initBackend({ requested: 'wasm' });
    const dir = await tempDir(t, 'latprune-export-');
    const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 9 });
    await saveModel(m, join(dir, 'm'));
    const { embeddedSubsetDir } = await import('../src/data/index.js');
    const r = await exportOnnx({ model: join(dir, 'm'), out: join(dir, 'm.onnx'), dataDir: embeddedSubsetDir()!, producerVersion: 'test' });
    assert.ok(r.parity.relDiff <= 1e-4 && r.parity.top1Agreement === 1 && r.parity.images === 64);
    const { decodeModel } = await import('../src/onnx/index.js');
    const meta = decodeModel(new Uint8Array(await readFile(join(dir, 'm.onnx')))).metadata;
    assert.equal(meta['latprune.version'], 'test');
    assert.equal(meta['latprune.params'], String(m.countParams()));
    const c = buildZooModel('resnet20', { inputShape: [32, 32, 3], numClasses: 10, seed: 9 });
    await saveModel(c, join(dir, 'c'));
    await assert.rejects(
      exportOnnx({ model: join(dir, 'c'), out: join(dir, 'c.onnx'), dataDir: embeddedSubsetDir()!, producerVersion: 'test' }),
      /takes 32x32x3 images but fashion-mnist has 28x28x1/,
    );
    assert.equal(existsSync(join(dir, 'c.onnx')), false);
  },
);

test("a Sequential tfjs model exports too (the converter reads the graph module's model description)", { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [10, 10, 2],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  randomize(m, 3);
  const x = tf.randomNormal([2, 10, 10, 2], 0, 1, 'float32', 4);
  const p = await checkParity(m, modelToOnnx(m, { producerVersion: 'test' }), x.dataSync() as Float32Array, [2, 10, 10, 2]);
  assert.ok(p.relDiff <= 1e-4, `rel ${p.relDiff}`);
  m.dispose();
});

test(
  'export: options are checked against the schema before anything is read or written; each bad one is named by its flag',
  { timeout: 10_000 },
  async (t) => {
    const dir = await tempDir(t, 'latprune-export-opts-');
    const out = join(dir, 'x.onnx');
    const both = capture();
    assert.equal(await main(['export', '--run', join(dir, 'nope'), '--model', join(dir, 'm.json'), '--out', out], both), 2);
    assert.match(both.errLines.join('\n'), /export: give exactly one of --run <dir> and --model/);
    const opset = capture();
    assert.equal(await main(['export', '--model', join(dir, 'missing.json'), '--out', out, '--opset', '9'], opset), 2);
    assert.match(
      opset.errLines.join('\n'),
      /export: --opset: must be from 11 to 21, got 9\./,
      'the opset is refused before the (missing) model is read',
    );
    await assert.rejects(
      exportOnnx({ model: join(dir, 'missing.json'), out, tolerance: 0, parityImages: 2.5 }),
      /export: parityImages: must be a whole number, got 2\.5; tolerance: must be a number > 0, got 0\./,
    );
    assert.equal(existsSync(out), false);
  },
);
