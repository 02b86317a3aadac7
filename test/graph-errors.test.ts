/**
 * Unsupported layers: a named UNSUPPORTED_LAYER error with the class and the
 * path from the input; `ignoredLayers` makes the same model analysable with
 * the channels around the ignored layer fixed.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { analyzeModel, applySelection, fullSelection, selectionCost, selectionMasks } from '../src/graph/index.js';
import { modelStats } from '../src/zoo/index.js';
import { LatpruneError } from '../src/errors.js';

before(async () => {
  await tf.setBackend('cpu');
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
});

/** A user-defined layer latprune knows nothing about. */
class Lambda extends tf.layers.Layer {
  static className = 'Lambda';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2));
  }
}

function modelWith(odd: (x: tf.SymbolicTensor) => tf.SymbolicTensor): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: 'input' });
  let x = tf.layers.conv2d({ name: 'stem_conv', filters: 8, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  x = odd(x);
  x = tf.layers.conv2d({ name: 'head', filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'head_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'head_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'fc', units: 3 }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'odd' });
}

test('an unsupported layer names itself, its class and its path from the input', { timeout: 10_000 }, () => {
  const m = modelWith((x) => new Lambda({ name: 'foo' }).apply(x) as tf.SymbolicTensor);
  assert.throws(
    () => analyzeModel(m),
    (e: unknown) =>
      e instanceof LatpruneError &&
      e.code === 'UNSUPPORTED_LAYER' &&
      e.message.includes('input -> stem_conv -> foo (class Lambda)') &&
      e.message.includes('"foo"') &&
      e.message.includes('ignoredLayers'),
  );
  const ln = modelWith((x) => tf.layers.layerNormalization({ name: 'ln' }).apply(x) as tf.SymbolicTensor);
  assert.throws(
    () => analyzeModel(ln),
    (e: LatpruneError) => e.code === 'UNSUPPORTED_LAYER' && e.message.includes('input -> stem_conv -> ln (class LayerNormalization)'),
  );
  assert.throws(
    () => analyzeModel(m, { ignoredLayers: ['bar'] }),
    (e: LatpruneError) => e.code === 'BAD_ARGUMENT' && /no layer "bar"/.test(e.message),
  );
});

test("ignoredLayers: the model becomes analysable; the ignored layer's input and output channels are fixed", { timeout: 10_000 }, () => {
  const m = modelWith((x) => new Lambda({ name: 'foo' }).apply(x) as tf.SymbolicTensor);
  const g = analyzeModel(m, { ignoredLayers: ['foo'] });
  assert.deepEqual(g.ignoredLayers, ['foo']);
  // stem_conv feeds foo: fixed. head is prunable (it is read by fc through GAP).
  assert.deepEqual(
    g.groups.map((x) => x.id),
    ['head'],
  );
  assert.deepEqual(g.groups[0]!.consumers, ['fc']);
  const layer = (n: string) => g.layers.find((l) => l.name === n)!;
  assert.ok(layer('stem_conv').outputs[0]!.group.every((x) => x === -1));
  assert.ok(layer('foo').ignored);
  assert.ok(layer('foo').outputs[0]!.group.every((x) => x === -1));
  assert.ok(layer('head').inputs[0]!.group.every((x) => x === -1));
  // Pruning head touches head, head_bn and fc only; the MAC count still matches (foo costs none).
  const sel = { head: [0, 2, 5] };
  const touched = new Set(selectionMasks(g, sel).map((w) => w.layer));
  assert.deepEqual([...touched].sort(), ['fc', 'head', 'head_bn']);
  assert.equal(selectionCost(g, fullSelection(g)).macs, modelStats(m).macs);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 1);
  const before = (m.predict(x) as tf.Tensor).dataSync().slice();
  applySelection(m, g, fullSelection(g));
  assert.deepEqual((m.predict(x) as tf.Tensor).dataSync(), before, 'the full selection changes nothing');
});

test('ignoring a supported layer fixes its channels too', { timeout: 10_000 }, () => {
  const m = modelWith((x) => tf.layers.reLU({ name: 'mid' }).apply(x) as tf.SymbolicTensor);
  assert.deepEqual(
    analyzeModel(m).groups.map((x) => x.id),
    ['stem_conv', 'head'],
  );
  assert.deepEqual(
    analyzeModel(m, { ignoredLayers: ['head'] }).groups.map((x) => x.id),
    [],
  );
});
