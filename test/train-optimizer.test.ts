/**
 * SGD with momentum / Nesterov / weight decay against a scalar reference, the
 * update mask (frozen elements stay bit-identical), and the LR schedule.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { SgdMomentum, cosineWithWarmup, validateSchedule } from '../src/train/index.js';

/** PyTorch's SGD, one element at a time, in float64. */
function referenceSgd(w: number[], grads: number[][], lrs: number[], mu: number, wd: number, nesterov: boolean): number[] {
  const v = w.map(() => 0);
  const x = w.slice();
  grads.forEach((g, t) => {
    for (let i = 0; i < x.length; i++) {
      const gi = g[i]! + wd * x[i]!;
      v[i] = mu * v[i]! + gi;
      x[i] = x[i]! - lrs[t]! * (nesterov ? gi + mu * v[i]! : v[i]!);
    }
  });
  return x;
}

test('SgdMomentum matches the reference (momentum, Nesterov, weight decay, decay exclusions)', { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const w0 = [0.5, -1.25, 2, 0.1];
  const grads = [
    [0.1, -0.2, 0.3, 0.0],
    [-0.4, 0.1, 0.2, 0.5],
    [0.05, 0.05, -0.3, 0.2],
  ];
  const lrs = [0.1, 0.05, 0.2];
  for (const nesterov of [false, true]) {
    const kernel = tf.variable(tf.tensor1d(w0), true, `layer_n${nesterov}/kernel`);
    const gamma = tf.variable(tf.tensor1d(w0), true, `bn_n${nesterov}/gamma`);
    const opt = new SgdMomentum({ momentum: 0.9, nesterov, weightDecay: 0.01 });
    grads.forEach((g, t) => {
      const gt = { [kernel.name]: tf.tensor1d(g), [gamma.name]: tf.tensor1d(g) };
      opt.step([kernel, gamma], gt, lrs[t]!);
      tf.dispose(Object.values(gt));
    });
    const wantDecay = referenceSgd(w0, grads, lrs, 0.9, 0.01, nesterov);
    const wantNoDecay = referenceSgd(w0, grads, lrs, 0.9, 0, nesterov);
    Array.from(kernel.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - wantDecay[i]!) < 1e-6, `kernel[${i}] nesterov=${nesterov}`));
    Array.from(gamma.dataSync()).forEach((v, i) =>
      assert.ok(Math.abs(v - wantNoDecay[i]!) < 1e-6, `gamma[${i}] (no decay) nesterov=${nesterov}`),
    );
    opt.dispose();
  }
});

test('update masks freeze elements bit-identically (value and velocity); state round-trips', { timeout: 10_000 }, async () => {
  await initBackend({ requested: 'wasm' });
  const v = tf.variable(tf.tensor1d([1, 2, 3, 4]), true, 'm/kernel');
  const opt = new SgdMomentum({ momentum: 0.9, weightDecay: 1e-3 });
  const g = { 'm/kernel': tf.tensor1d([0.3, 0.3, 0.3, 0.3]) };
  opt.step([v], g, 0.1);
  const before = Array.from(v.dataSync());
  const velBefore = Array.from(opt.getState().velocities['m/kernel']!.data);
  const mask = { 'm/kernel': tf.tensor1d([1, 0, 1, 0]) };
  opt.step([v], g, 0.1, mask);
  const after = Array.from(v.dataSync());
  const velAfter = Array.from(opt.getState().velocities['m/kernel']!.data);
  assert.equal(after[1], before[1]);
  assert.equal(after[3], before[3]);
  assert.equal(velAfter[1], velBefore[1]);
  assert.notEqual(after[0], before[0]);
  // state round trip: a restored optimizer continues identically
  const state = opt.getState();
  const clone = new SgdMomentum({ momentum: 0.9, weightDecay: 1e-3 });
  clone.setState(state);
  const v2 = tf.variable(v.clone(), true, 'm2/kernel');
  const g2 = { 'm2/kernel': g['m/kernel'] };
  clone.setState({ velocities: { 'm2/kernel': state.velocities['m/kernel']! } });
  opt.step([v], g, 0.05);
  clone.step([v2], g2, 0.05);
  assert.deepEqual(Array.from(v2.dataSync()), Array.from(v.dataSync()));
});

test('cosine schedule with warm-up', { timeout: 10_000 }, () => {
  const s = { baseLr: 0.1, totalSteps: 100, warmupSteps: 10, minLr: 0 };
  assert.ok(Math.abs(cosineWithWarmup(s, 0) - 0.01) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(s, 9) - 0.1) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(s, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(s, 55) - 0.05) < 1e-12);
  assert.equal(cosineWithWarmup(s, 100), 0);
  for (let t = 10; t < 99; t++) assert.ok(cosineWithWarmup(s, t + 1) <= cosineWithWarmup(s, t));
  assert.throws(() => validateSchedule({ baseLr: 0.1, totalSteps: 10, warmupSteps: 10 }), /--warmup must be shorter/);
  assert.throws(() => validateSchedule({ baseLr: 0, totalSteps: 10 }), /--lr must be > 0/);
});
