/**
 * Pure tests of the analysis on hand-written plain-data model specs (no
 * tfjs): JSON round trip, selections (validation, top-k), minimum kept
 * counts, compaction metadata for a depthwise multiplier-2 conv, masks,
 * parameter/MAC counts against hand arithmetic, spec-level rejections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeGraph,
  fullSelection,
  layerKeep,
  layerWidths,
  selectionCost,
  selectionMasks,
  topKSelection,
  validateSelection,
  type LayerSpec,
  type ModelSpec,
} from '../src/graph/index.js';
import type { LatpruneError } from '../src/errors.js';

const w = (layer: string, name: string, shape: number[], trainable = true) => ({ name, variable: `${layer}/${name}`, shape, trainable });
const layer = (
  name: string,
  className: string,
  inbound: string[],
  out: number[],
  weights: LayerSpec['weights'] = [],
  config: Record<string, unknown> = {},
): LayerSpec => ({
  name,
  className,
  config,
  inbound: inbound.map((l) => ({ layer: l, tensor: 0 })),
  calls: 1,
  outputShapes: [out],
  weights,
});

/** input 4x4x3 -> c1 (3x3, 4) -> bn -> dw (x2) -> c2 (1x1, 5) -> gap -> fc (2). */
function spec(): ModelSpec {
  const bnw = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n, i) => w('c1_bn', n, [4], i < 2));
  return {
    name: 'tiny',
    inputs: [{ layer: 'input', tensor: 0 }],
    outputs: [{ layer: 'fc', tensor: 0 }],
    layers: [
      layer('input', 'InputLayer', [], [4, 4, 3]),
      layer('c1', 'Conv2D', ['input'], [4, 4, 4], [w('c1', 'kernel', [3, 3, 3, 4]), w('c1', 'bias', [4])]),
      layer('c1_bn', 'BatchNormalization', ['c1'], [4, 4, 4], bnw, { axis: -1 }),
      layer('dw', 'DepthwiseConv2D', ['c1_bn'], [4, 4, 8], [w('dw', 'depthwise_kernel', [3, 3, 4, 2])], { depth_multiplier: 2 }),
      layer('c2', 'Conv2D', ['dw'], [4, 4, 5], [w('c2', 'kernel', [1, 1, 8, 5])]),
      layer('gap', 'GlobalAveragePooling2D', ['c2'], [5]),
      layer('fc', 'Dense', ['gap'], [2], [w('fc', 'kernel', [5, 2]), w('fc', 'bias', [2])]),
    ],
  };
}

test('plain-data specs: groups, JSON round trip', { timeout: 10_000 }, () => {
  const s = spec();
  const g = analyzeGraph(s);
  assert.deepEqual(
    g.groups.map((x) => [x.id, x.size, x.minKeep]),
    [
      ['c1', 4, 1],
      ['c2', 5, 1],
    ],
  );
  assert.deepEqual(g.groups[0]!.producers, ['c1', 'dw']);
  assert.deepEqual(g.groups[0]!.consumers, ['dw', 'c2']);
  assert.deepEqual(analyzeGraph(JSON.parse(JSON.stringify(s)) as ModelSpec), g);
});

test('selections: validation names the group and the problem; top-k keeps the best channels', { timeout: 10_000 }, () => {
  const g = analyzeGraph(spec(), { minKeepFraction: 0.5 });
  assert.deepEqual(
    g.groups.map((x) => x.minKeep),
    [2, 3],
  );
  validateSelection(g, fullSelection(g));
  const bad = (sel: Record<string, number[]>, re: RegExp) =>
    assert.throws(
      () => validateSelection(g, sel),
      (e: LatpruneError) => e.code === 'BAD_ARGUMENT' && re.test(e.message),
    );
  bad({ c1: [0, 1] }, /no entry for group "c2"/);
  bad({ c1: [1, 0], c2: [0, 1, 2] }, /sorted/);
  bad({ c1: [0, 0], c2: [0, 1, 2] }, /sorted ascending without duplicates/);
  bad({ c1: [0, 4], c2: [0, 1, 2] }, /out of range 0\.\.3/);
  bad({ c1: [0], c2: [0, 1, 2] }, /keeps 1 of 4 channels; the group must keep at least 2/);
  bad({ c1: [0, 1], c2: [0, 1, 2], zz: [0] }, /group "zz"/);
  const sel = topKSelection(g, { c1: 2, c2: 3 }, { c1: [0.1, 0.9, 0.5, 0.7], c2: [3, 1, 2, 5, 0] });
  assert.deepEqual(sel, { c1: [1, 3], c2: [0, 2, 3] });
  assert.throws(() => topKSelection(g, { c1: 1 }, { c1: [1, 2, 3, 4], c2: [1, 2, 3, 4, 5] }), /outside \[2, 4\]/);
  const byLayer = analyzeGraph(spec(), { minKeepByLayer: { dw: 0.75 } });
  assert.deepEqual(
    byLayer.groups.map((x) => x.minKeep),
    [3, 1],
  );
});

test('depthwise x2 compaction metadata, masks and costs follow the kept channels', { timeout: 10_000 }, () => {
  const g = analyzeGraph(spec());
  const sel = { c1: [0, 2], c2: [1, 3, 4] };
  const plan = new Map(layerKeep(g, sel).map((l) => [l.name, l]));
  const dw = plan.get('dw')!;
  assert.deepEqual(dw.inputs, [[0, 2]]);
  assert.deepEqual(dw.outputs, [[0, 1, 4, 5]]);
  assert.deepEqual(dw.weights[0]!.axes, [
    { axis: 2, keep: [0, 2] },
    { axis: 3, keep: [0, 1] },
  ]);
  assert.deepEqual(dw.weights[0]!.keptShape, [3, 3, 2, 2]);
  const c2 = plan.get('c2')!.weights[0]!;
  assert.deepEqual(c2.axes, [
    { axis: 2, keep: [0, 1, 4, 5] },
    { axis: 3, keep: [1, 3, 4] },
  ]);
  assert.deepEqual(
    plan.get('fc')!.weights.map((x) => x.keptShape),
    [[3, 2], [2]],
  );
  assert.deepEqual(
    plan.get('c1_bn')!.weights.map((x) => x.keptShape),
    [[2], [2], [2], [2]],
  );
  assert.deepEqual(layerWidths(g, sel)['c2'], { inputs: [4], outputs: [3] });

  const masks = new Map(selectionMasks(g, sel).map((m) => [m.variable, m]));
  const k2 = masks.get('c2/kernel')!;
  // c2 kernel [1,1,8,5]: element (i, o) kept iff input i in {0,1,4,5} and output o in {1,3,4}.
  for (let i = 0; i < 8; i++) {
    for (let o = 0; o < 5; o++)
      assert.equal(k2.data[i * 5 + o], [0, 1, 4, 5].includes(i) && [1, 3, 4].includes(o) ? 1 : 0, `c2 kernel (${i}, ${o})`);
  }
  assert.equal(k2.removed, 40 - 12);
  assert.deepEqual([...masks.get('c1/bias')!.data], [1, 0, 1, 0]);
  assert.deepEqual([...masks.get('fc/kernel')!.data], [0, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
  assert.ok(!masks.has('fc/bias'), 'untouched weights have no mask');

  // MACs: c1 16*9*3*2 = 864; dw 16*9*2*2 = 576; c2 16*4*3 = 192; fc 3*2 = 6.
  const cost = selectionCost(g, sel);
  assert.equal(cost.macs, 864 + 576 + 192 + 6);
  // params: c1 54+2, bn 4*2, dw 36, c2 12, fc 6+2.
  assert.equal(cost.params, 56 + 8 + 36 + 12 + 8);
  assert.equal(cost.trainableParams, 56 + 4 + 36 + 12 + 8);
});

test('spec-level rejections: channels_first, channel-mixing reshape, shared layers', { timeout: 10_000 }, () => {
  const s = spec();
  const replace = (i: number, l: LayerSpec): ModelSpec => ({ ...s, layers: s.layers.map((x, j) => (j === i ? l : x)) });
  const cf = replace(1, { ...s.layers[1]!, config: { data_format: 'channels_first' } });
  assert.throws(
    () => analyzeGraph(cf),
    (e: LatpruneError) =>
      e.code === 'UNSUPPORTED_LAYER' && /channels_last/.test(e.message) && /input -> c1 \(class Conv2D\)/.test(e.message),
  );
  const shared = replace(4, { ...s.layers[4]!, calls: 2 });
  assert.throws(
    () => analyzeGraph(shared),
    (e: LatpruneError) => e.code === 'UNSUPPORTED_LAYER' && /shared layer called 2 times/.test(e.message),
  );
  // Reshape [4,4,8] -> [4,4,2,4] regroups channels: rejected; [4,4,8] -> [16,8] keeps them.
  const mk = (target: number[]): ModelSpec => ({
    ...s,
    layers: [
      ...s.layers.slice(0, 4),
      layer('rs', 'Reshape', ['dw'], target),
      { ...s.layers[4]!, inbound: [{ layer: 'rs', tensor: 0 }] },
      ...s.layers.slice(5),
    ],
  });
  assert.throws(
    () => analyzeGraph(mk([4, 4, 2, 4])),
    (e: LatpruneError) => e.code === 'UNSUPPORTED_LAYER' && /mixes channels/.test(e.message),
  );
  assert.equal(analyzeGraph(mk([16, 8])).groups.length, 2);
});
