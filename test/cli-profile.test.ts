/**
 * `latprune profile` naming: where a table is written for a zoo model at its
 * default input, at another input, and for a model folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableModelName } from '../src/cli/profile.js';

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
