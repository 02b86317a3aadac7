/**
 * ONNX import on the committed fixtures (exported by PyTorch 1.13, see
 * scripts/fixtures/export_onnx_fixtures.py): ORT on the original file vs
 * tfjs on the imported model; the import record; channel coupling of
 * residual adds, grouped and depthwise convs, squeeze-excitation and concat;
 * compaction + export with the original interface vs the masked model
 * through ORT; onnx.checker on the exported file.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { embeddedSubsetDir } from '../src/data/index.js';
import { exportOnnx } from '../src/export/index.js';
import { analyzeModel, type ChannelGraph } from '../src/graph/index.js';
import { decodeModel, importOnnx, writeModelFile } from '../src/onnx/index.js';
import {
  compactAndExport,
  fixturePath,
  manifestEntry,
  onnxCheck,
  onnxCheckerMissing,
  ortRun,
  relDiff,
  tfjsRun,
} from './helpers/onnx-import.js';

const SMALL = ['resnet20_op11', 'resnet20_op11_nofold', 'resnet20_op17', 'opzoo_op11', 'opzoo_op17_nofold'];

async function load(name: string) {
  await initBackend({ requested: 'wasm' });
  const file = fixturePath(name);
  assert.ok(file, `${name}.onnx is committed under test/fixtures/onnx`);
  const bytes = readFileSync(file);
  return { file, bytes, ...(await importOnnx(bytes, { source: file })) };
}

function groupOf(g: ChannelGraph, producer: string) {
  const gr = g.groups.find((x) => x.producers.includes(producer));
  assert.ok(gr, `a group produced by ${producer}`);
  return gr;
}

for (const name of SMALL) {
  test(`import ${name}: tfjs matches ORT on the original file; compact export matches the masked model`, { timeout: 60000 }, async (t) => {
    const { file, bytes, model, info } = await load(name);
    const entry = manifestEntry(name)!;
    assert.equal(info.sha256, entry.sha256);
    assert.equal(info.input.name, entry.input);
    assert.deepEqual(
      info.outputs.map((o) => o.name),
      [entry.output],
    );
    assert.deepEqual(info.input.dynamicAxes, [0]);
    assert.deepEqual(info.outputs[0]!.dynamicAxes, [0]);
    assert.deepEqual([...info.inputShape], entry.input_shape);
    assert.equal(info.opset, entry.opset);
    const dims = [3, ...info.inputShape];
    const x = tf.tidy(() => tf.randomNormal(dims, 0, 1, 'float32', 17).dataSync() as Float32Array);
    const ref = await ortRun(file, info.input.name, info.outputs[0]!.name, x, dims);
    const got = tfjsRun(model, x, dims);
    const d = relDiff(ref, got);
    assert.ok(d <= 1e-4, `${name}: ORT vs imported rel diff ${d}`);
    t.diagnostic(`${name}: ORT vs imported rel diff ${d.toExponential(2)}`);

    const { bytes: out, masked, before, after } = await compactAndExport(model, info, x, dims, 5);
    assert.ok(after < before, `compaction removed parameters (${before} -> ${after})`);
    const ortCompact = await ortRun(out, info.input.name, info.outputs[0]!.name, x, dims);
    const dc = relDiff(masked, ortCompact);
    assert.ok(dc <= 1e-4, `${name}: exported compact vs masked rel diff ${dc}`);
    t.diagnostic(`${name}: exported compact (${after}/${before} params) vs masked rel diff ${dc.toExponential(2)}`);
    const summary = decodeModel(out);
    assert.equal(summary.inputs[0]!.name, info.input.name);
    assert.equal(summary.inputs[0]!.shape![0], 'batch');
    assert.deepEqual(summary.inputs[0]!.shape!.slice(1), [...info.inputShape]);
    assert.deepEqual(
      summary.outputs.map((o) => o.name),
      info.outputs.map((o) => o.name),
    );
    assert.equal(summary.outputs[0]!.shape![0], 'batch');
    assert.equal(summary.metadata['latprune.source_sha256'], info.sha256);
    assert.equal(summary.metadata['latprune.source_file'], file);
    assert.ok(bytes.length > 0);
    model.dispose();
  });
}

test(
  'coupling of an imported ResNet-20 (1x1-conv shortcuts): 12 groups, stage residuals join conv2s and the shortcut conv',
  { timeout: 30000 },
  async () => {
    const { model } = await load('resnet20_op11');
    const g = analyzeModel(model);
    assert.equal(g.groups.length, 12);
    const stem = groupOf(g, 'conv1_Conv');
    assert.deepEqual(
      [...stem.producers].sort(),
      ['conv1_Conv', 'layers_layers.0_conv2_Conv', 'layers_layers.1_conv2_Conv', 'layers_layers.2_conv2_Conv'].sort(),
    );
    const s2 = groupOf(g, 'layers_layers.3_shortcut_shortcut.0_Conv');
    assert.equal(s2.size, 32);
    assert.deepEqual(
      [...s2.producers].sort(),
      [
        'layers_layers.3_conv2_Conv',
        'layers_layers.3_shortcut_shortcut.0_Conv',
        'layers_layers.4_conv2_Conv',
        'layers_layers.5_conv2_Conv',
      ].sort(),
    );
    assert.ok(s2.consumers.includes('layers_layers.6_conv1_Conv'));
    const fc = g.groups.find((gr) => gr.consumers.includes('linear_Gemm'));
    assert.equal(fc?.size, 64, 'the stage-3 residual feeds the classifier');
    model.dispose();
  },
);

test('coupling of grouped and depthwise convs, squeeze-excitation and concat (opzoo)', { timeout: 30000 }, async () => {
  const { model } = await load('opzoo_op17_nofold');
  const g = analyzeModel(model);
  // grouped conv g1 (16 -> 32, 4 groups): its input keeps the same channel of every group
  const stem = groupOf(g, 'stem_Conv');
  assert.equal(stem.size, 4);
  const stemOut = g.layers.find((l) => l.name === 'stem_Conv')!.outputs[0]!;
  for (let j = 0; j < 4; j++) for (let gi = 1; gi < 4; gi++) assert.equal(stemOut.channel[gi * 4 + j], stemOut.channel[j]);
  // g1's 32 outputs = 8 per group; the depthwise conv (x2) and the SE's fc2 (multiplied in) join them
  const g1 = groupOf(g, 'g1_Conv');
  assert.equal(g1.size, 8);
  assert.deepEqual([...g1.producers].sort(), ['dw_Conv', 'g1_Conv', 'se_fc2_Conv']);
  assert.ok(g1.consumers.includes('se_fc1_Conv') && g1.consumers.includes('pw_Conv'));
  // residual y + hardswish(g2(y)) with g2 grouped (2 groups) and se2 multiplying in
  const pw = groupOf(g, 'pw_Conv');
  assert.equal(pw.size, 16);
  assert.deepEqual([...pw.producers].sort(), ['g2_Conv', 'pw_Conv', 'se2_fc2_Conv']);
  // concat of pool(y) (32) and pool(sigmoid(branch)) (16) read by fc1 after Flatten
  const branch = groupOf(g, 'branch_Conv');
  assert.equal(branch.size, 16);
  const fc1 = g.layers.find((l) => l.name === 'fc1_Gemm')!.inputs[0]!;
  assert.equal(fc1.group.length, 48 * 16);
  assert.equal(fc1.group[32], branch.index, 'element (h=0, w=0, c=32) is branch channel 0');
  assert.equal(fc1.channel[32], 0);
  assert.equal(fc1.group[0], pw.index);
  model.dispose();
});

test('the exported compact model of an imported file passes onnx.checker', { timeout: 60000 }, async (t) => {
  const missing = onnxCheckerMissing();
  if (missing) return t.skip(`${missing}; install Debian's python3-onnx to run the checker`);
  const dir = await mkdtemp(join(tmpdir(), 'latprune-onnx-import-'));
  try {
    for (const name of ['opzoo_op11', 'resnet20_op17']) {
      const { model, info } = await load(name);
      const dims = [1, ...info.inputShape];
      const x = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5);
      const { bytes } = await compactAndExport(model, info, x, dims, 9);
      const file = join(dir, `${name}.onnx`);
      await writeModelFile(file, bytes);
      assert.equal(onnxCheck(file), '', `${name}: onnx.checker`);
      model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'latprune export --model x.onnx writes the original interface back (names, symbolic batch, source hash)',
  { timeout: 60_000 },
  async () => {
    await initBackend({ requested: 'wasm' });
    const file = fixturePath('resnet20_op11')!;
    const source = decodeModel(readFileSync(file), file);
    const dir = await mkdtemp(join(tmpdir(), 'latprune-onnx-export-'));
    try {
      const out = join(dir, 'same.onnx');
      const r = await exportOnnx({ model: file, out, dataDir: embeddedSubsetDir()! });
      assert.ok(r.parity.relDiff <= 1e-4, `parity ${r.parity.relDiff}`);
      const summary = decodeModel(readFileSync(out), out);
      assert.equal(summary.inputs[0]!.name, source.inputs[0]!.name);
      assert.equal(summary.inputs[0]!.shape![0], source.inputs[0]!.shape![0]);
      assert.equal(typeof summary.inputs[0]!.shape![0], 'string', 'the batch dimension stays symbolic');
      assert.deepEqual(
        summary.outputs.map((o) => o.name),
        source.outputs.map((o) => o.name),
      );
      assert.equal(summary.metadata['latprune.source_file'], file);
      assert.match(summary.metadata['latprune.source_sha256'] ?? '', /^[0-9a-f]{64}$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'deferred initializer decoding: same values as eager decoding; aligned weights are views of the file, unaligned ones copies',
  { timeout: 20000 },
  () => {
    const file = fixturePath('resnet20_op11');
    assert.ok(file);
    const original = readFileSync(file);
    const eager = decodeModel(original, file);
    let views = 0;
    let copies = 0;
    // the same file at the four byte offsets of a buffer: every weight is 4-byte aligned at one of them
    for (let shift = 0; shift < 4; shift++) {
      const bytes = new Uint8Array(original.length + shift).subarray(shift);
      bytes.set(original);
      const lazy = decodeModel(bytes, file, { deferInitializerData: true });
      assert.equal(lazy.initializers.length, eager.initializers.length);
      for (const [i, e] of eager.initializers.entries()) {
        const l = lazy.initializers[i]!;
        assert.equal(l.name, e.name);
        assert.deepEqual(l.dims, e.dims);
        const d = l.data;
        assert.ok(d !== null && e.data !== null);
        assert.deepEqual(Array.from(d as ArrayLike<number | bigint>), Array.from(e.data as ArrayLike<number | bigint>), e.name);
        assert.notEqual(e.data.buffer, original.buffer, 'eager data never aliases the file');
        if (d.buffer === bytes.buffer) views++;
        else copies++;
        assert.notEqual(l.data, d, 'each read decodes afresh: nothing is cached on the summary');
      }
    }
    assert.ok(views > 0 && copies > 0, `views ${views}, copies ${copies}`);
  },
);
