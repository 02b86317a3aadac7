/**
 * Channel-group analysis on the zoo models and on two hand-made models
 * (Concatenate + Add + Flatten→Dense; depthwise multiplier 2, SeparableConv2D,
 * squeeze-excitation Multiply, broadcast gate, Reshape, softmax). Checks:
 * - group counts and members against hand-derived expectations;
 * - zeroing a random selection gives the same outputs as a model with those
 *   channels physically absent, built here by an independent reference slicer
 *   (its own channel propagation over the model JSON and per-class weight
 *   slicing; it only shares the Selection and a hand-written map from
 *   channel-creating layers to their group's channels);
 * - params/MACs under a selection equal `modelStats` of the sliced model.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildZooModel, modelStats } from '../src/zoo/index.js';
import {
  analyzeModel,
  layerClass,
  LAYER_CLASSES,
  applySelection,
  fullSelection,
  layerWidths,
  selectionCost,
  type ChannelGraph,
  type ChannelGroup,
  type Selection,
} from '../src/graph/index.js';
import { seededRandom } from '../src/util/random.js';

before(async () => {
  await tf.setBackend('cpu');
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
});

// ---------------------------------------------------------------- models

/** Concatenate with offsets, Add of a concat with a conv, a sigmoid conv without BN, Flatten -> Dense. */
function concatFlattenModel(seed = 1): tf.LayersModel {
  let s = seed;
  const k = () => tf.initializers.glorotUniform({ seed: s++ });
  const input = tf.input({ shape: [12, 12, 3], name: 'input' });
  const conv = (
    x: tf.SymbolicTensor,
    name: string,
    filters: number,
    size: number,
    extra: { strides?: number; useBias?: boolean; activation?: 'sigmoid' } = {},
  ) =>
    tf.layers
      .conv2d({ name, filters, kernelSize: size, padding: 'same', kernelInitializer: k(), useBias: false, ...extra })
      .apply(x) as tf.SymbolicTensor;
  const bnRelu = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.reLU({ name: `${name}_relu` }).apply(tf.layers.batchNormalization({ name: `${name}_bn` }).apply(x)) as tf.SymbolicTensor;
  const a = bnRelu(conv(input, 'a', 8, 3), 'a');
  const b = bnRelu(conv(input, 'b', 6, 1), 'b');
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as tf.SymbolicTensor;
  const f = conv(input, 'f', 14, 1, { useBias: true });
  const sum = tf.layers.add({ name: 'sum' }).apply([cat, f]) as tf.SymbolicTensor;
  const c = bnRelu(conv(sum, 'c', 10, 3, { strides: 2 }), 'c');
  const e = tf.layers
    .maxPooling2d({ name: 'e_pool', poolSize: 2 })
    .apply(conv(sum, 'e', 4, 1, { useBias: true, activation: 'sigmoid' })) as tf.SymbolicTensor;
  const cat2 = tf.layers.concatenate({ name: 'cat2' }).apply([c, e]) as tf.SymbolicTensor;
  const pool = tf.layers.averagePooling2d({ name: 'pool', poolSize: 2 }).apply(cat2) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(pool) as tf.SymbolicTensor;
  const fc1 = tf.layers.dense({ name: 'fc1', units: 16, activation: 'relu', kernelInitializer: k() }).apply(flat) as tf.SymbolicTensor;
  const drop = tf.layers.dropout({ name: 'drop', rate: 0.5 }).apply(fc1) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'fc', units: 5, kernelInitializer: k() }).apply(drop) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'concat_flatten' });
}

/** Depthwise multiplier 2, SeparableConv2D, SE Multiply, broadcast gate, ZeroPadding, LeakyReLU, relu6 Activation, softmax output. */
function coverageModel(seed = 7): tf.LayersModel {
  let s = seed;
  const k = () => tf.initializers.glorotUniform({ seed: s++ });
  const input = tf.input({ shape: [8, 8, 4], name: 'input' });
  let x = tf.layers
    .conv2d({ name: 'c0', filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: k() })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ name: 'lrelu', alpha: 0.1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.zeroPadding2d({ name: 'pad', padding: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, depthwiseInitializer: k() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'dw_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ name: 'dw_act', activation: 'relu6' }).apply(x) as tf.SymbolicTensor;
  const sep = tf.layers
    .separableConv2d({
      name: 'sep',
      filters: 8,
      kernelSize: 3,
      depthMultiplier: 2,
      padding: 'same',
      depthwiseInitializer: k(),
      pointwiseInitializer: k(),
    })
    .apply(x) as tf.SymbolicTensor;
  const sq = tf.layers.globalAveragePooling2d({ name: 'se_gap' }).apply(sep) as tf.SymbolicTensor;
  const e1 = tf.layers.dense({ name: 'se_fc1', units: 4, activation: 'relu', kernelInitializer: k() }).apply(sq) as tf.SymbolicTensor;
  const e2 = tf.layers.dense({ name: 'se_fc2', units: 8, activation: 'sigmoid', kernelInitializer: k() }).apply(e1) as tf.SymbolicTensor;
  const r = tf.layers.reshape({ name: 'se_rs', targetShape: [1, 1, 8] }).apply(e2) as tf.SymbolicTensor;
  const se = tf.layers.multiply({ name: 'se_mul' }).apply([sep, r]) as tf.SymbolicTensor;
  const gate = tf.layers
    .conv2d({ name: 'gate', filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: k() })
    .apply(se) as tf.SymbolicTensor;
  x = tf.layers.multiply({ name: 'gate_mul' }).apply([se, gate]) as tf.SymbolicTensor;
  x = tf.layers.averagePooling2d({ name: 'ap', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'fc', units: 3, kernelInitializer: k() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'coverage' });
}

// ---------------------------------------------------------------- helpers

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const sorted = (v: readonly string[]): string[] => [...v].sort();

function group(graph: ChannelGraph, id: string): ChannelGroup {
  const g = graph.groups.find((x) => x.id === id);
  assert.ok(g, `no group ${id}; groups: ${graph.groups.map((x) => x.id).join(', ')}`);
  return g;
}

function expectGroup(graph: ChannelGraph, id: string, size: number, producers: string[], consumers: string[], bns: string[]): void {
  const g = group(graph, id);
  assert.equal(g.size, size, `${id} size`);
  assert.deepEqual(sorted(g.producers), sorted(producers), `${id} producers`);
  assert.deepEqual(sorted(g.consumers), sorted(consumers), `${id} consumers`);
  assert.deepEqual(sorted(g.batchNorms), sorted(bns), `${id} batch norms`);
}

function randomSelection(graph: ChannelGraph, seed: number): Selection {
  const rnd = seededRandom(seed);
  const sel: Record<string, number[]> = {};
  for (const g of graph.groups) {
    const k = g.size === 1 ? 1 : g.minKeep + Math.floor(rnd() * (g.size - g.minKeep));
    const idx = range(g.size);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    sel[g.id] = idx.slice(0, k).sort((a, b) => a - b);
  }
  return sel;
}

/** Random weights everywhere (non-trivial BN statistics and biases); moving variances in [0.5, 1.5]. */
function randomizeWeights(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const vals = layer.weights.map((w) => {
      const name = w.originalName ?? w.name;
      const shape = w.shape as number[];
      return name.endsWith('moving_variance')
        ? tf.randomUniform(shape, 0.5, 1.5, 'float32', s++)
        : tf.randomUniform(shape, -1, 1, 'float32', s++);
    });
    layer.setWeights(vals);
    tf.dispose(vals);
  }
}

type Json = Record<string, unknown>;
type KeepOut = (layer: string, width: number) => number[];

function lastDim(model: tf.LayersModel, name: string): number {
  const s = model.getLayer(name).outputShape as number[];
  return s[s.length - 1]!;
}

/**
 * Reference slicer, independent of the analysis: propagates kept channel
 * indices through the model JSON and slices weights per layer class.
 * `keepOut` gives the kept output channels of channel-creating layers.
 */
async function slicedModel(model: tf.LayersModel, keepOut: KeepOut): Promise<tf.LayersModel> {
  const json = JSON.parse(JSON.stringify(model.toJSON(undefined, false))) as Json;
  const layers = (json['config'] as Json)['layers'] as Json[];
  const kept = new Map<string, number[]>();
  const inKept = new Map<string, number[][]>();
  for (const l of layers) {
    const name = String(l['name']);
    const cls = String(l['class_name']);
    const cfg = l['config'] as Json;
    const nodes = l['inbound_nodes'] as unknown[][][];
    const ins = nodes.length ? nodes[0]!.map((e) => String(e[0])) : [];
    const ik = ins.map((n) => kept.get(n)!);
    inKept.set(name, ik);
    const width = lastDim(model, name);
    let out: number[];
    switch (cls) {
      case 'InputLayer':
        out = range(width);
        break;
      case 'Conv2D':
      case 'SeparableConv2D':
      case 'Dense': {
        out = model.outputNames.includes(name) ? range(width) : keepOut(name, width);
        if (cls === 'Dense') cfg['units'] = out.length;
        else cfg['filters'] = out.length;
        // tfjs' SeparableConv2D config omits depth_multiplier; restore it from the kernel shape.
        if (cls === 'SeparableConv2D') cfg['depth_multiplier'] = (model.getLayer(name).weights[0]!.shape as number[])[3];
        break;
      }
      case 'DepthwiseConv2D': {
        const m = (model.getLayer(name).weights[0]!.shape as number[])[3]!;
        out = ik[0]!.flatMap((c) => range(m).map((j) => c * m + j));
        break;
      }
      case 'Add':
      case 'Multiply': {
        const full = ins.filter((n) => lastDim(model, n) === width).map((n) => kept.get(n)!);
        for (const f of full) assert.deepEqual(f, full[0], `reference slicer: inputs of ${name} keep different channels`);
        out = full[0]!;
        break;
      }
      case 'Concatenate': {
        out = [];
        let off = 0;
        ins.forEach((n, i) => {
          out.push(...ik[i]!.map((c) => c + off));
          off += lastDim(model, n);
        });
        break;
      }
      case 'Flatten': {
        const src = model.getLayer(ins[0]!).outputShape as number[];
        const C = src[src.length - 1]!;
        const P = src.slice(1, -1).reduce((a, b) => a * b, 1);
        out = range(P).flatMap((p) => ik[0]!.map((c) => p * C + c));
        break;
      }
      case 'Reshape': {
        out = ik[0]!;
        const t = cfg['target_shape'] as number[];
        t[t.length - 1] = out.length;
        break;
      }
      default:
        out = ik[0]!;
    }
    kept.set(name, out);
  }
  const sliced = await tf.models.modelFromJSON({ modelTopology: json } as unknown as tf.io.ModelJSON);
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const cls = layer.getClassName();
    const ik = inKept.get(layer.name)![0]!;
    const ok = kept.get(layer.name)!;
    const m = cls === 'SeparableConv2D' ? (layer.weights[0]!.shape as number[])[3]! : 1;
    const values = layer.getWeights().map((w, i) => {
      const wn = layer.weights[i]!.originalName.split('/').pop()!;
      const g = (t: tf.Tensor, idx: number[], axis: number) => tf.gather(t, tf.tensor1d(idx, 'int32'), axis);
      if (cls === 'BatchNormalization' || wn === 'bias') return g(w, ok, 0);
      if (cls === 'Conv2D') return g(g(w, ik, 2), ok, 3);
      if (cls === 'Dense') return g(g(w, ik, 0), ok, 1);
      if (wn === 'depthwise_kernel') return g(w, ik, 2);
      if (wn === 'pointwise_kernel')
        return g(
          g(
            w,
            ik.flatMap((c) => range(m).map((j) => c * m + j)),
            2,
          ),
          ok,
          3,
        );
      throw new Error(`reference slicer: no rule for ${layer.name}/${wn}`);
    });
    sliced.getLayer(layer.name).setWeights(values);
  }
  return sliced;
}

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);
}

/** Zeroes `sel` in `model` and compares with the physically sliced model, in inference mode. */
async function checkExact(
  model: tf.LayersModel,
  graph: ChannelGraph,
  sel: Selection,
  keepOut: KeepOut,
  x: tf.Tensor,
): Promise<tf.LayersModel> {
  const sliced = await slicedModel(model, keepOut);
  const report = applySelection(model, graph, sel);
  assert.ok(report.zeroed > 0, 'the random selection removes something');
  const y1 = model.predict(x) as tf.Tensor;
  const y2 = sliced.predict(x) as tf.Tensor;
  const scale = maxAbs(y2);
  const diff = maxAbs(tf.sub(y1, y2));
  assert.ok(scale > 1e-3, `outputs are not trivially zero (${scale})`);
  assert.ok(diff <= 1e-5 * scale, `zeroed vs sliced: max abs diff ${diff} vs output scale ${scale}`);
  // Parameter and MAC counts under the selection are those of the sliced model.
  const stats = modelStats(sliced);
  const cost = selectionCost(graph, sel);
  assert.equal(cost.macs, stats.macs, 'MACs under the selection');
  assert.equal(cost.params, stats.params, 'params under the selection');
  assert.equal(cost.trainableParams, stats.trainableParams, 'trainable params under the selection');
  // Per-layer widths as in the sliced model.
  const widths = layerWidths(graph, sel);
  for (const l of sliced.layers) assert.equal(widths[l.name]!.outputs[0], lastDim(sliced, l.name), `output width of ${l.name}`);
  tf.dispose([y1, y2]);
  return sliced;
}

// ---------------------------------------------------------------- ResNet-20

test(
  'ResNet-20: 12 groups (3 stage residuals, 9 conv1), members as in the architecture, full selection = modelStats',
  { timeout: 10_000 },
  () => {
    const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const g = analyzeModel(m);
    assert.equal(g.groups.length, 12);
    // Stage 1 residual: the stem plus every block's conv2 (identity shortcuts), read by all stage-1 conv1s
    // and by stage 2's first block (conv1 and the downsampling shortcut).
    expectGroup(
      g,
      'stem_conv',
      16,
      ['stem_conv', 's1_b0_conv2', 's1_b1_conv2', 's1_b2_conv2'],
      ['s1_b0_conv1', 's1_b1_conv1', 's1_b2_conv1', 's2_b0_conv1', 's2_b0_down_conv'],
      ['stem_bn', 's1_b0_bn2', 's1_b1_bn2', 's1_b2_bn2'],
    );
    expectGroup(
      g,
      's2_b0_conv2',
      32,
      ['s2_b0_conv2', 's2_b0_down_conv', 's2_b1_conv2', 's2_b2_conv2'],
      ['s2_b1_conv1', 's2_b2_conv1', 's3_b0_conv1', 's3_b0_down_conv'],
      ['s2_b0_bn2', 's2_b0_down_bn', 's2_b1_bn2', 's2_b2_bn2'],
    );
    expectGroup(
      g,
      's3_b0_conv2',
      64,
      ['s3_b0_conv2', 's3_b0_down_conv', 's3_b1_conv2', 's3_b2_conv2'],
      ['s3_b1_conv1', 's3_b2_conv1', 'fc'],
      ['s3_b0_bn2', 's3_b0_down_bn', 's3_b1_bn2', 's3_b2_bn2'],
    );
    for (const [s, w] of [
      [1, 16],
      [2, 32],
      [3, 64],
    ] as const) {
      for (const b of [0, 1, 2]) {
        const p = `s${s}_b${b}_`;
        expectGroup(g, `${p}conv1`, w, [`${p}conv1`], [`${p}conv2`], [`${p}bn1`]);
      }
    }
    // The residual group's channel j is channel j of every member (no offsets); the classifier output is fixed.
    const res3 = group(g, 's3_b0_conv2');
    for (const mem of res3.members) assert.deepEqual(mem.groupChannels, mem.layerChannels, `${mem.layer} ${mem.role}`);
    const fc = g.layers.find((l) => l.name === 'fc')!;
    assert.ok(
      fc.outputs[0]!.group.every((x) => x === -1),
      'logits are fixed',
    );
    assert.ok(
      g.layers.find((l) => l.name === 'input')!.outputs[0]!.group.every((x) => x === -1),
      'input channels are fixed',
    );
    const full = selectionCost(g, fullSelection(g));
    const stats = modelStats(m);
    assert.deepEqual([full.macs, full.params, full.trainableParams], [stats.macs, stats.params, stats.trainableParams]);
  },
);

test(
  'ResNet-20: zeroing a random selection equals the physically pruned model (inference and training mode)',
  { timeout: 10_000 },
  async () => {
    const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    randomizeWeights(m, 100);
    const g = analyzeModel(m);
    const sel = randomSelection(g, 5);
    const residual: Record<number, string> = { 1: 'stem_conv', 2: 's2_b0_conv2', 3: 's3_b0_conv2' };
    const keepOut: KeepOut = (name) => {
      const mm = /^s(\d)_b\d_(conv1|conv2|down_conv)$/.exec(name);
      if (name === 'stem_conv') return [...sel['stem_conv']!];
      if (mm && mm[2] === 'conv1') return [...sel[name]!];
      if (mm) return [...sel[residual[Number(mm[1])]!]!];
      throw new Error(`unexpected layer ${name}`);
    };
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 9);
    const sliced = await checkExact(m, g, sel, keepOut, x);
    // Training mode (batch statistics): a zeroed channel has batch mean 0 and variance 0, so BN emits beta,
    // which is zeroed too; outputs still match.
    const yt1 = m.apply(x, { training: true }) as tf.Tensor;
    const yt2 = sliced.apply(x, { training: true }) as tf.Tensor;
    const scale = maxAbs(yt2);
    assert.ok(maxAbs(tf.sub(yt1, yt2)) <= 1e-4 * scale, 'training-mode outputs match');
  },
);

// ---------------------------------------------------------------- ResNet-50

test(
  'ResNet-50: 37 groups (stem, 16 blocks x 2 internal, 4 stage residuals); the stem is not in stage 1 residual',
  { timeout: 10_000 },
  () => {
    const m = buildZooModel('resnet50', { inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 1 });
    const g = analyzeModel(m);
    assert.equal(g.groups.length, 1 + 16 * 2 + 4);
    // The stem (conv, BN, ReLU, max-pool) feeds block s1_b0's conv1 and its projection shortcut only.
    expectGroup(g, 'stem_conv', 16, ['stem_conv'], ['s1_b0_conv1', 's1_b0_down_conv'], ['stem_bn']);
    assert.ok(group(g, 'stem_conv').members.some((x) => x.layer === 'stem_pool'));
    const blocks = [3, 4, 6, 3];
    blocks.forEach((n, si) => {
      const s = si + 1;
      const w = [16, 32, 64, 128][si]!;
      const conv3 = range(n).map((b) => `s${s}_b${b}_conv3`);
      const readers = [
        ...range(n - 1, 1).map((b) => `s${s}_b${b}_conv1`),
        ...(s < 4 ? [`s${s + 1}_b0_conv1`, `s${s + 1}_b0_down_conv`] : ['fc']),
      ];
      const bns = [...range(n).map((b) => `s${s}_b${b}_bn3`), `s${s}_b0_down_bn`];
      expectGroup(g, `s${s}_b0_conv3`, 4 * w, [...conv3, `s${s}_b0_down_conv`], readers, bns);
      for (const b of range(n)) {
        const p = `s${s}_b${b}_`;
        expectGroup(g, `${p}conv1`, w, [`${p}conv1`], [`${p}conv2`], [`${p}bn1`]);
        expectGroup(g, `${p}conv2`, w, [`${p}conv2`], [`${p}conv3`], [`${p}bn2`]);
      }
    });
    const full = selectionCost(g, fullSelection(g));
    const stats = modelStats(m);
    assert.deepEqual([full.macs, full.params, full.trainableParams], [stats.macs, stats.params, stats.trainableParams]);
  },
);

// ---------------------------------------------------------------- MobileNet-V1

test('MobileNet-V1: 14 groups; each pointwise group carries the next depthwise conv in and out', { timeout: 10_000 }, () => {
  const m = buildZooModel('mobilenet_v1', { inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 1 });
  const g = analyzeModel(m);
  assert.equal(g.groups.length, 14);
  expectGroup(g, 'stem_conv', 8, ['stem_conv', 'b1_dw'], ['b1_dw', 'b1_pw'], ['stem_bn', 'b1_dw_bn']);
  for (let i = 1; i <= 12; i++) {
    expectGroup(
      g,
      `b${i}_pw`,
      group(g, `b${i}_pw`).size,
      [`b${i}_pw`, `b${i + 1}_dw`],
      [`b${i + 1}_dw`, `b${i + 1}_pw`],
      [`b${i}_pw_bn`, `b${i + 1}_dw_bn`],
    );
    const dw = group(g, `b${i}_pw`).members.filter((x) => x.layer === `b${i + 1}_dw`);
    assert.deepEqual(dw.map((x) => x.role).sort(), ['input', 'output']);
  }
  expectGroup(g, 'b13_pw', 256, ['b13_pw'], ['fc'], ['b13_pw_bn']);
  const full = selectionCost(g, fullSelection(g));
  const stats = modelStats(m);
  assert.deepEqual([full.macs, full.params, full.trainableParams], [stats.macs, stats.params, stats.trainableParams]);
});

test('MobileNet-V1 (32x32, alpha 0.25): zeroing equals the physically pruned model', { timeout: 10_000 }, async () => {
  const m = buildZooModel('mobilenet_v1', { inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 3 });
  randomizeWeights(m, 200);
  const g = analyzeModel(m);
  const sel = randomSelection(g, 11);
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4);
  await checkExact(m, g, sel, (name) => [...sel[name]!], x);
});

// ---------------------------------------------------------------- hand-made models

test(
  'Concatenate/Add/Flatten model: offsets through concat, Add merges both concat inputs with the conv, Dense rows p*C + c',
  { timeout: 10_000 },
  () => {
    const m = concatFlattenModel();
    const g = analyzeModel(m);
    assert.deepEqual(
      g.groups.map((x) => [x.id, x.size]),
      [
        ['a', 14],
        ['c', 10],
        ['e', 4],
        ['fc1', 16],
      ],
    );
    expectGroup(g, 'a', 14, ['a', 'b', 'f'], ['c', 'e'], ['a_bn', 'b_bn']);
    expectGroup(g, 'c', 10, ['c'], ['fc1'], ['c_bn']);
    expectGroup(g, 'e', 4, ['e'], ['fc1'], []);
    expectGroup(g, 'fc1', 16, ['fc1'], ['fc'], []);
    const a = group(g, 'a');
    const out = (layer: string) => a.members.find((x) => x.layer === layer && x.role === 'output')!;
    assert.deepEqual(out('a').groupChannels, range(8));
    assert.deepEqual(out('b').layerChannels, range(6));
    assert.deepEqual(out('b').groupChannels, range(6, 8), 'b sits at offset 8 of the concat');
    assert.deepEqual(out('f').groupChannels, range(14));
    // fc1 reads the flattened 3x3x14 tensor: row p*14 + c carries channel c of cat2 (c: 0..9 from conv c, 10..13 from e).
    const rowsC = group(g, 'c').members.find((x) => x.layer === 'fc1' && x.role === 'input')!;
    const rowsE = group(g, 'e').members.find((x) => x.layer === 'fc1' && x.role === 'input')!;
    assert.deepEqual(
      rowsC.layerChannels,
      range(9).flatMap((p) => range(10).map((c) => p * 14 + c)),
    );
    assert.deepEqual(
      rowsC.groupChannels,
      range(9).flatMap(() => range(10)),
    );
    assert.deepEqual(
      rowsE.layerChannels,
      range(9).flatMap((p) => range(4).map((c) => p * 14 + 10 + c)),
    );
    assert.deepEqual(
      rowsE.groupChannels,
      range(9).flatMap(() => range(4)),
    );
    assert.deepEqual(
      rowsC.weights.map((w) => [w.name, w.axis.axis]),
      [['kernel', 0]],
    );
    const full = selectionCost(g, fullSelection(g));
    const stats = modelStats(m);
    assert.deepEqual([full.macs, full.params, full.trainableParams], [stats.macs, stats.params, stats.trainableParams]);
  },
);

test('Concatenate/Add/Flatten model: zeroing equals the physically pruned model', { timeout: 10_000 }, async () => {
  const m = concatFlattenModel(3);
  randomizeWeights(m, 300);
  const g = analyzeModel(m);
  const sel = randomSelection(g, 21);
  const a = sel['a']!;
  const keepOut: KeepOut = (name) => {
    if (name === 'a') return a.filter((j) => j < 8);
    if (name === 'b') return a.filter((j) => j >= 8).map((j) => j - 8);
    if (name === 'f') return [...a];
    return [...sel[name]!];
  };
  const x = tf.randomNormal([3, 12, 12, 3], 0, 1, 'float32', 5);
  await checkExact(m, g, sel, keepOut, x);
});

test('coverage model: depthwise x2, separable, SE multiply, broadcast gate pinned, softmax output', { timeout: 10_000 }, async () => {
  const m = coverageModel();
  const g = analyzeModel(m);
  assert.deepEqual(
    g.groups.map((x) => [x.id, x.size]),
    [
      ['c0', 6],
      ['sep', 8],
      ['se_fc1', 4],
    ],
  );
  expectGroup(g, 'c0', 6, ['c0', 'dw'], ['dw', 'sep'], ['dw_bn']);
  expectGroup(g, 'sep', 8, ['sep', 'se_fc2'], ['se_fc1', 'gate', 'fc'], []);
  expectGroup(g, 'se_fc1', 4, ['se_fc1'], ['se_fc2'], []);
  // Depthwise multiplier 2: output channel 2c+k carries group channel c; BN follows the 12 outputs.
  const dwOut = group(g, 'c0').members.find((x) => x.layer === 'dw' && x.role === 'output')!;
  assert.deepEqual(
    dwOut.groupChannels,
    range(12).map((o) => Math.floor(o / 2)),
  );
  const sepIn = group(g, 'c0').members.find((x) => x.layer === 'sep' && x.role === 'input')!;
  assert.deepEqual(
    sepIn.weights.map((w) => [w.name, w.axis.axis, w.axis.div]),
    [
      ['depthwise_kernel', 2, 1],
      ['pointwise_kernel', 2, 2],
    ],
  );
  // The 1-channel gate broadcasts over channels: fixed.
  assert.deepEqual(g.layers.find((l) => l.name === 'gate')!.outputs[0]!.group, [-1]);
  const full = selectionCost(g, fullSelection(g));
  const stats = modelStats(m);
  assert.deepEqual([full.macs, full.params, full.trainableParams], [stats.macs, stats.params, stats.trainableParams]);

  randomizeWeights(m, 400);
  const sel = randomSelection(g, 31);
  const keepOut: KeepOut = (name, width) => {
    if (name === 'se_fc2') return [...sel['sep']!];
    if (name === 'gate') return [0];
    if (name === 'fc') return range(width); // read by the softmax output: fixed
    return [...sel[name]!];
  };
  await checkExact(m, g, sel, keepOut, tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 6));
});

test('Sequential models are analysed like functional ones', { timeout: 10_000 }, () => {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 5, kernelSize: 3, name: 'q1' }),
      tf.layers.batchNormalization({ name: 'q1_bn' }),
      tf.layers.reLU({ name: 'q1_relu' }),
      tf.layers.conv2d({ filters: 7, kernelSize: 3, name: 'q2' }),
      tf.layers.flatten({ name: 'q_flat' }),
      tf.layers.dense({ units: 3, name: 'q_fc' }),
    ],
  });
  const g = analyzeModel(m);
  expectGroup(g, 'q1', 5, ['q1'], ['q2'], ['q1_bn']);
  expectGroup(g, 'q2', 7, ['q2'], ['q_fc'], []);
  assert.equal(g.groups.length, 2);
  const full = selectionCost(g, fullSelection(g));
  assert.equal(full.macs, modelStats(m).macs);
});

test(
  'one table of layer classes: rules, weight axes, MACs, latency operator and folding come from LAYER_CLASSES',
  { timeout: 10_000 },
  () => {
    assert.equal(layerClass('toString'), undefined, 'no prototype keys');
    assert.equal(layerClass('Conv3D'), undefined);
    for (const [name, c] of Object.entries(LAYER_CLASSES)) {
      // a class that costs MACs has a kernel among its channel-indexed weights
      if (c.macs) assert.ok(c.weightAxes, `${name} has weight axes`);
      if (c.latencyOp) assert.ok(c.macs, `${name} is timed, so it costs MACs`);
    }
    assert.deepEqual(
      Object.entries(LAYER_CLASSES)
        .filter(([, c]) => c.latencyOp)
        .map(([n, c]) => `${n}:${c.latencyOp}`),
      ['Conv2D:conv', 'Dense:gemm', 'DepthwiseConv2D:dwconv'],
    );
    assert.deepEqual(
      Object.entries(LAYER_CLASSES)
        .filter(([, c]) => c.folded)
        .map(([n]) => n),
      ['BatchNormalization', 'Dropout'],
    );
    assert.ok(layerClass('GroupedConv2D')?.macs, 'grouped convolutions (imported from ONNX) count their MACs');
  },
);
