/**
 * Paired timing: the alternating-blocks helper on workloads of known
 * cost, and ONNX Runtime's paired network measurement on networks of known
 * order.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { OrtRuntime, median, timeAlternating, type TimedWorkload } from '../src/latency/index.js';

/** Busy-waits `ms` of wall-clock time (exact whatever the machine's load). */
function spin(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
  return Promise.resolve();
}

test(
  'timeAlternating: blocks alternate A B / B A, each opens and closes its workload, and times only its own runs',
  { timeout: 10_000 },
  async () => {
    const events: string[] = [];
    const workload = (name: string, ms: number): TimedWorkload => ({
      open: () => {
        events.push(`open ${name}`);
        return Promise.resolve({
          run: () => {
            events.push(name);
            return spin(ms);
          },
          close: () => {
            events.push(`close ${name}`);
            return Promise.resolve();
          },
        });
      },
    });
    const r = await timeAlternating(workload('a', 1), workload('b', 10), { pairs: 4, blockMs: 20, minRuns: 3, warmup: 2 });
    assert.equal(r.a.length, 4);
    assert.equal(r.b.length, 4);
    // blocks in the order a b, b a, a b, b a; a block never overlaps another
    const blocks = events.filter((e) => e.startsWith('open')).map((e) => e.slice(5));
    assert.deepEqual(blocks, ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
    let open: string | undefined;
    for (const e of events) {
      if (e.startsWith('open')) {
        assert.equal(open, undefined, 'a block opened while another was open');
        open = e.slice(5);
      } else if (e.startsWith('close')) {
        open = undefined;
      } else assert.equal(e, open, `a run of ${e} outside its block`);
    }
    // warm-up runs are not timed: each block ran 2 more times than it timed
    const runsOf = (name: string) => events.filter((e) => e === name).length;
    assert.equal(runsOf('a'), r.a.flat().length + 4 * 2);
    assert.equal(runsOf('b'), r.b.flat().length + 4 * 2);
    assert.ok(r.a.every((t) => t.length >= 3) && r.b.every((t) => t.length >= 3));
    // each sample times its own workload only (a busy machine can only add to it)
    assert.ok(r.a.flat().every((t) => t >= 1) && r.b.flat().every((t) => t >= 10));
    const ratio = median(r.a.map((t, i) => median(r.b[i]!) / median(t)));
    // 10x the work; no upper bound: on a loaded machine the longer workload is preempted more
    assert.ok(ratio > 2, `ratio ${ratio}`);
  },
);

test(
  'OrtRuntime.measureNetworkPair: a much narrower network measures several times faster; mismatched inputs are refused',
  { timeout: 10_000 },
  async () => {
    await initBackend({ requested: 'wasm' });
    const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const wide = buildZooModel('resnet20', { inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
    const rt = await OrtRuntime.create({ threads: 1 });
    try {
      // every conv at 4 channels against the dense widths (16/32/64): ~40x fewer multiply-adds
      const p = await rt.measureNetworkPair(
        { model, coutOf: () => 4, batch: 16 },
        { model, coutOf: () => undefined, batch: 16 },
        { minRuns: 10, capSeconds: 0.3, sessions: 2 },
      );
      assert.ok(p.ratio > 2, `speed-up ${p.ratio}`);
      assert.ok(p.bMs > p.aMs);
      assert.equal(p.pairs, 2);
      await assert.rejects(
        rt.measureNetworkPair({ model, coutOf: () => 4, batch: 16 }, { model: wide, coutOf: () => undefined, batch: 16 }),
        /same input shape/,
      );
      await assert.rejects(
        rt.measureNetworkPair({ model, coutOf: () => 4, batch: 16 }, { model, coutOf: () => undefined, batch: 8 }),
        /one batch size/,
      );
    } finally {
      await rt.dispose();
      model.dispose();
      wide.dispose();
    }
  },
);
