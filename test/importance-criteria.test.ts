/**
 * Importance criteria against hand computation on a plain-data model with a
 * residual Add (two BNs in one group) and a conv without BN; the BN branch of
 * the Taylor criterion must contribute on its own (a known Torch-Pruning bug
 * skipped it); accumulation over steps through the trainer's hook, average
 * and reset.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { analyzeGraph, analyzeModel, type LayerSpec, type ModelSpec } from '../src/graph/index.js';
import {
  ImportanceAccumulator,
  magnitudeImportance,
  scoreGroups,
  taylorImportance,
  type ImportanceCriterion,
} from '../src/importance/index.js';
import type { LatpruneError } from '../src/errors.js';
import { randomFloats } from '../src/util/random.js';

before(async () => {
  await tf.setBackend('cpu');
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
});

const w = (layer: string, name: string, shape: number[], trainable = true) => ({ name, variable: `${layer}/${name}`, shape, trainable });
const layer = (name: string, className: string, inbound: string[], out: number[], weights: LayerSpec['weights'] = []): LayerSpec => ({
  name,
  className,
  config: {},
  inbound: inbound.map((l) => ({ layer: l, tensor: 0 })),
  calls: 1,
  outputShapes: [out],
  weights,
});
const bnWeights = (n: string) => ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((x, i) => w(n, x, [3], i < 2));

/** input 2x2x2 -> {c1 -> bn1, c2 -> bn2} -> add -> relu -> c3 (1x1, 2, bias, no BN) -> gap -> fc. */
const SPEC: ModelSpec = {
  name: 'res',
  inputs: [{ layer: 'input', tensor: 0 }],
  outputs: [{ layer: 'fc', tensor: 0 }],
  layers: [
    layer('input', 'InputLayer', [], [2, 2, 2]),
    layer('c1', 'Conv2D', ['input'], [2, 2, 3], [w('c1', 'kernel', [1, 1, 2, 3])]),
    layer('bn1', 'BatchNormalization', ['c1'], [2, 2, 3], bnWeights('bn1')),
    layer('c2', 'Conv2D', ['input'], [2, 2, 3], [w('c2', 'kernel', [1, 1, 2, 3])]),
    layer('bn2', 'BatchNormalization', ['c2'], [2, 2, 3], bnWeights('bn2')),
    layer('add', 'Add', ['bn1', 'bn2'], [2, 2, 3]),
    layer('relu', 'ReLU', ['add'], [2, 2, 3]),
    layer('c3', 'Conv2D', ['relu'], [2, 2, 2], [w('c3', 'kernel', [1, 1, 3, 2]), w('c3', 'bias', [2])]),
    layer('gap', 'GlobalAveragePooling2D', ['c3'], [2]),
    layer('fc', 'Dense', ['gap'], [2], [w('fc', 'kernel', [2, 2]), w('fc', 'bias', [2])]),
  ],
};

function data(seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let s = seed;
  for (const l of SPEC.layers)
    for (const x of l.weights)
      out.set(
        x.variable,
        randomFloats(
          x.shape.reduce((a, b) => a * b, 1),
          s++,
        ),
      );
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, msg: string) => {
  assert.equal(a.length, b.length, msg);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(b[i]!)), `${msg}[${i}]: ${a[i]} vs ${b[i]}`);
};

test(
  "Taylor, BN form: |sum over the group's BNs of gamma*dgamma + beta*dbeta|, signed terms summed before |.|",
  { timeout: 10_000 },
  () => {
    const g = analyzeGraph(SPEC);
    assert.deepEqual(
      g.groups.map((x) => [x.id, x.batchNorms]),
      [
        ['c1', ['bn1', 'bn2']],
        ['c3', []],
      ],
    );
    const v = new Map([
      ['bn1/gamma', Float32Array.of(1, 2, 3)],
      ['bn1/beta', Float32Array.of(0.5, -1, 0)],
      ['bn2/gamma', Float32Array.of(-1, 1, 2)],
      ['bn2/beta', Float32Array.of(0, 0, 1)],
    ]);
    const gr = new Map([
      ['bn1/gamma', Float32Array.of(1, 1, 0)],
      ['bn1/beta', Float32Array.of(2, 0, 0)],
      ['bn2/gamma', Float32Array.of(2, 0, 0)],
      ['bn2/beta', Float32Array.of(0, 0, 4)],
    ]);
    const s = scoreGroups(g, taylorImportance(), v, gr, ['c1']);
    // ch0: 1*1 + 0.5*2 + (-1)*2 + 0 = 0; ch1: 2*1 + 0 + 0 + 0 = 2; ch2: 0 + 0 + 0 + 1*4 = 4 (beta term alone).
    close(s['c1']!, [0, 2, 4], 'taylor bn');
  },
);

test('Taylor: only the BN term non-zero gives non-zero scores (kernel gradients all zero)', { timeout: 10_000 }, () => {
  const g = analyzeGraph(SPEC);
  const v = data(1);
  const zeros = new Map([...v].map(([k, x]) => [k, new Float32Array(x.length)]));
  zeros.set('bn1/gamma', Float32Array.of(0.3, -0.2, 0.1));
  zeros.set('bn2/beta', Float32Array.of(0, 0.4, -0.5));
  const s = scoreGroups(g, taylorImportance(), v, zeros, ['c1'])['c1']!;
  assert.ok(
    s.every((x) => x > 0),
    `BN-only gradients must score: ${[...s]}`,
  );
  const gamma1 = v.get('bn1/gamma')!;
  const beta2 = v.get('bn2/beta')!;
  close(
    s,
    [0, 1, 2].map((j) => Math.abs(gamma1[j]! * zeros.get('bn1/gamma')![j]! + beta2[j]! * zeros.get('bn2/beta')![j]!)),
    'bn-only',
  );
  // And with the BN gradients zero too, every score is zero.
  const none = new Map([...v].map(([k, x]) => [k, new Float32Array(x.length)]));
  assert.ok(scoreGroups(g, taylorImportance(), v, none, ['c1'])['c1']!.every((x) => x === 0));
});

test(
  'Taylor, weight form for a group without BN: |sum of w*dL/dw over the kernel slice and bias computing the channel|',
  { timeout: 10_000 },
  () => {
    const g = analyzeGraph(SPEC);
    const v = data(2);
    const gr = data(3);
    const s = scoreGroups(g, taylorImportance(), v, gr, ['c3'])['c3']!;
    const k = v.get('c3/kernel')!;
    const dk = gr.get('c3/kernel')!;
    const b = v.get('c3/bias')!;
    const db = gr.get('c3/bias')!;
    // c3 kernel [1,1,3,2]: output channel o owns elements i*2 + o.
    const expected = [0, 1].map((o) => Math.abs([0, 1, 2].reduce((a, i) => a + k[i * 2 + o]! * dk[i * 2 + o]!, 0) + b[o]! * db[o]!));
    close(s, expected, 'taylor weight form');
    assert.throws(
      () => scoreGroups(g, taylorImportance(), v, new Map(), ['c3']),
      (e: LatpruneError) => e.code === 'BAD_ARGUMENT' && /no gradient .* c3\/kernel/.test(e.message),
    );
  },
);

test('magnitude L1/L2: per member slice norms (producer filters and consumer input slices), summed', { timeout: 10_000 }, () => {
  const g = analyzeGraph(SPEC);
  const v = data(4);
  const k1 = v.get('c1/kernel')!; // [1,1,2,3]: out j owns i*3 + j
  const k2 = v.get('c2/kernel')!;
  const k3 = v.get('c3/kernel')!; // [1,1,3,2]: in j owns j*2 + o
  const slices = (j: number) => [[0, 1].map((i) => k1[i * 3 + j]!), [0, 1].map((i) => k2[i * 3 + j]!), [0, 1].map((o) => k3[j * 2 + o]!)];
  const l1 = [0, 1, 2].map((j) => slices(j).reduce((a, s) => a + s.reduce((x, y) => x + Math.abs(y), 0), 0));
  const l2 = [0, 1, 2].map((j) => slices(j).reduce((a, s) => a + Math.sqrt(s.reduce((x, y) => x + y * y, 0)), 0));
  close(scoreGroups(g, magnitudeImportance(), v, undefined, ['c1'])['c1']!, l1, 'L1');
  close(scoreGroups(g, magnitudeImportance({ p: 2 }), v, undefined, ['c1'])['c1']!, l2, 'L2');
  // Criteria are plug-ins: a custom one sees the requested slices and returns per-channel scores.
  const count: ImportanceCriterion = {
    name: 'slice-count',
    needsGradients: false,
    slices: (group) => group.members.flatMap((member) => member.weights.map((weight) => ({ member, weight }))),
    score: (t) => new Float32Array(t.group.size).fill(t.slices.length),
  };
  // c1 group: c1 kernel (out), bn1 x4, c2 kernel (out), bn2 x4, c3 kernel (in) = 11 slices.
  assert.deepEqual([...scoreGroups(g, count, v, undefined, ['c1'])['c1']!], [11, 11, 11]);
});

test('accumulator: trainer hook averages per-step scores over steps; reset clears', { timeout: 10_000 }, async () => {
  const input = tf.input({ shape: [4, 4, 2], name: 'input' });
  let x = tf.layers.conv2d({ name: 'k1', filters: 3, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'k1_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'fc', units: 2 }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x });
  const g = analyzeModel(m);
  const bn = m.getLayer('k1_bn');
  const varName = (i: number) => (bn.weights[i] as unknown as { val: tf.Variable }).val.name;
  bn.setWeights([tf.tensor1d([1, 2, -1]), tf.tensor1d([0.5, 0, 1]), tf.zeros([3]), tf.ones([3])]);
  const acc = new ImportanceAccumulator(m, g, taylorImportance());
  const hooks = acc.hooks();
  const grads = (dg: number[], db: number[]): tf.NamedTensorMap => ({ [varName(0)]: tf.tensor1d(dg), [varName(1)]: tf.tensor1d(db) });
  const ctx = (step: number, gr: tf.NamedTensorMap) => ({ step, lr: 0.1, loss: 1, vars: [], grads: gr });
  await hooks.afterGradients!(ctx(0, grads([1, 1, 1], [0, 0, 0]))); // |g*dg + b*db| = [1, 2, 1]
  await acc.afterGradients(ctx(1, grads([0, 0, 0], [2, 1, -3]))); // [1, 0, 3]
  assert.equal(acc.count, 2);
  close(acc.scores()['k1']!, [1, 1, 2], 'mean over two steps');
  acc.reset();
  assert.equal(acc.count, 0);
  assert.throws(() => acc.scores(), /no steps accumulated/);
  await acc.accumulate(grads([0, 0, 0], [0, 4, 0]));
  close(acc.scores()['k1']!, [0, 0, 0], 'after reset');
  // Magnitude needs no gradients.
  const mag = new ImportanceAccumulator(m, g, magnitudeImportance());
  await mag.accumulate({});
  assert.equal(mag.scores()['k1']!.length, 3);
});
