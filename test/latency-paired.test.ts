/**
 * Paired (interleaved) timing: the alternation helper on workloads of known
 * cost, and ONNX Runtime's paired network measurement on networks of known
 * order.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { OrtRuntime, median, timeInterleaved } from '../src/latency/index.js';

/** Busy-waits `ms` of wall-clock time (exact whatever the machine's load). */
function spin(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
  return Promise.resolve();
}

test('timeInterleaved alternates A B / B A and times each workload separately', async () => {
  const order: string[] = [];
  const r = await timeInterleaved(
    () => {
      order.push('a');
      return spin(1);
    },
    () => {
      order.push('b');
      return spin(10);
    },
    100,
    8,
  );
  assert.equal(r.a.length, r.b.length);
  assert.ok(r.a.length >= 8);
  // each sample times its own workload only (a busy machine can only add to it)
  assert.ok(r.a.every((t) => t >= 1) && r.b.every((t) => t >= 10));
  const ratio = median(r.a.map((t, i) => r.b[i]! / t));
  // 10x the work; no upper bound: on a loaded machine the longer workload is preempted more
  assert.ok(ratio > 2, `ratio ${ratio}`);
  // after the warm-up pairs (always A B), timed pairs alternate A B, B A
  const timed = order.slice(order.length - 2 * r.a.length);
  for (let i = 0; i < r.a.length; i++) assert.equal(timed.slice(2 * i, 2 * i + 2).join(''), i % 2 === 0 ? 'ab' : 'ba', `pair ${i}`);
});

test('OrtRuntime.measureNetworkPair: a much narrower network measures several times faster; mismatched inputs are refused', async () => {
  await initBackend({ requested: 'wasm' });
  const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const wide = buildZooModel('resnet20', { inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
  const rt = await OrtRuntime.create({ threads: 1 });
  try {
    // every conv at 4 channels against the dense widths (16/32/64): ~40x fewer multiply-adds
    const p = await rt.measureNetworkPair({ model, coutOf: () => 4, batch: 16 }, { model, coutOf: () => undefined, batch: 16 }, { minRuns: 10, capSeconds: 0.3, sessions: 2 });
    assert.ok(p.ratio > 2, `speed-up ${p.ratio}`);
    assert.ok(p.bMs > p.aMs);
    assert.ok(p.pairs >= 20);
    await assert.rejects(rt.measureNetworkPair({ model, coutOf: () => 4, batch: 16 }, { model: wide, coutOf: () => undefined, batch: 16 }), /same input shape/);
    await assert.rejects(rt.measureNetworkPair({ model, coutOf: () => 4, batch: 16 }, { model, coutOf: () => undefined, batch: 8 }), /one batch size/);
  } finally {
    await rt.dispose();
    model.dispose();
    wide.dispose();
  }
});
