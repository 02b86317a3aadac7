/**
 * verifyVerdict: the one line `latprune verify` prints, also written by the
 * halp-vs-iee bench for a pass's median.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { verifyVerdict } from '../src/verify/index.js';

test('verifyVerdict: target, median, speed-up over a baseline and the table prediction in one line', { timeout: 5_000 }, () => {
  const base = { batch: 128, ep: 'cpu', threads: 2, median_ms: 17.5, fps: (128 * 1000) / 17.5 };
  assert.equal(
    verifyVerdict({ ...base, target_fps: 7000, met: true, predicted_ms: 17 }),
    'PASS: 7314.3 FPS >= target 7000 (median 17.500 ms at batch 128, cpu, 2 threads); table predicted 17.000 ms (2.9%)',
  );
  assert.equal(
    verifyVerdict(
      { ...base, met: false, speedup: 1.9, baseline_median_ms: 33.25, target_speedup: 2, speedup_met: false },
      { file: 'dense.onnx', pairs: 4 },
    ),
    'FAIL: 7314.3 FPS (median 17.500 ms at batch 128, cpu, 2 threads); 1.900x the speed of dense.onnx (33.250 ms; 4 pairs of alternating sessions) < target 2x',
  );
  assert.equal(verifyVerdict(base), '7314.3 FPS (median 17.500 ms at batch 128, cpu, 2 threads)');
});
