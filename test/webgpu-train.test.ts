/**
 * Training and pruning on tfjs' WebGPU backend (Dawn) against the CPU
 * backends, on whatever Vulkan driver the environment selects: in CI Mesa's
 * software driver lavapipe (`bench/gpu/lavapipe.sh`; correctness only, its
 * speed means nothing). Skips, saying why, when no Vulkan driver Dawn accepts
 * can be brought up. The GPU work runs in a child process with the driver's
 * environment (`helpers/webgpu-train.ts`, `helpers/vulkan.ts`).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers/cli.js';
import { vulkanEnv } from './helpers/vulkan.js';

/** Runs the helper in `mode`; the parsed JSON line, or undefined after skipping `t` with the reason. */
function runHelper<T>(t: TestContext, args: readonly string[], limitMs: number): T | undefined {
  const v = vulkanEnv();
  if ('skip' in v) {
    t.skip(v.skip);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'latprune-webgpu-train-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'test', 'helpers', 'webgpu-train.js'), args[0]!, dir, ...args.slice(1)], {
      env: v.env,
      encoding: 'utf8',
      timeout: limitMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('webgpu-train: '));
    if (line?.startsWith('webgpu-train: unavailable ')) {
      t.skip(
        `no WebGPU device with this Vulkan environment (VK_ICD_FILENAMES=${v.env['VK_ICD_FILENAMES'] ?? ''}): ${line.slice('webgpu-train: unavailable '.length)}`,
      );
      return undefined;
    }
    assert.ok(line, `the WebGPU run printed no result (exit ${r.status}, signal ${r.signal}):\n${(r.stderr ?? '').slice(-3000)}`);
    return JSON.parse(line.slice('webgpu-train: '.length)) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface GradsResult {
  backend: string;
  results: Array<{
    against: string;
    images: number;
    variables: number;
    refVariables: number;
    lossRef: number;
    loss: number;
    maxRel: number;
    maxL2Rel: number;
    worstVariable: string;
    seconds: number;
    refSeconds: number;
  }>;
}

test("webgpu: ResNet-20 (28x28x1) loss and gradients equal the cpu and wasm backends' within 1e-4 relative", { timeout: 240_000 }, (t) => {
  const res = runHelper<GradsResult>(t, ['grads'], 220_000);
  if (!res) return;
  t.diagnostic(res.backend);
  assert.match(res.backend, /tfjs backend 'webgpu'/);
  if (/llvmpipe|lavapipe/i.test(res.backend))
    assert.match(res.backend, /software adapter/, 'lavapipe is recognised as a software adapter (auto-selection refuses it)');
  assert.deepEqual(
    res.results.map((r) => r.against),
    ['cpu', 'wasm'],
  );
  for (const r of res.results) {
    t.diagnostic(
      `vs ${r.against} (batch ${r.images}, ${r.variables} variables): loss ${r.loss} vs ${r.lossRef}; max relative gradient difference ${r.maxRel.toExponential(2)} (${r.worstVariable}), in L2 ${r.maxL2Rel.toExponential(2)}; ${r.seconds.toFixed(1)} s on webgpu, ${r.refSeconds.toFixed(1)} s on ${r.against}`,
    );
    assert.ok(
      r.variables > 60 && r.variables === r.refVariables,
      `every trainable variable of ResNet-20 compared (${r.variables} of ${r.refVariables})`,
    );
    assert.ok(Math.abs(r.loss - r.lossRef) <= 1e-4 * Math.abs(r.lossRef), `loss ${r.loss} vs ${r.lossRef}`);
    assert.ok(r.maxRel <= 1e-4, `gradient of ${r.worstVariable} differs by ${r.maxRel} relative`);
  }
});

interface PruneResultJson {
  runs: Array<{
    backend: string;
    steps: Array<{ phase: string; kept: Record<string, number>; active: Record<string, number[]> }>;
    losses: number[];
    seconds: number;
  }>;
  finalWeightsMaxRel: number;
}

test('webgpu: a short HALP run selects the same channels as on wasm from the same weights and batches', { timeout: 240_000 }, (t) => {
  // lr 0.005: at 0.05 this random-init network's first steps are chaotic (on wasm alone, a 1e-7 relative
  // change of the initial weights moves the loss by 1e-2 within 7 steps), so the second prune's scores differ
  // on any two backends; at 0.005 the difference stays at float rounding and the selections must agree
  const res = runHelper<PruneResultJson>(t, ['prune', '0.005'], 220_000);
  if (!res) return;
  const [cpu, gpu] = res.runs as [PruneResultJson['runs'][0], PruneResultJson['runs'][0]];
  assert.equal(cpu.backend, 'wasm');
  assert.equal(gpu.backend, 'webgpu');
  t.diagnostic(
    `losses wasm ${cpu.losses.map((l) => l.toFixed(5)).join(' ')}; webgpu ${gpu.losses.map((l) => l.toFixed(5)).join(' ')}; final weights max rel diff ${res.finalWeightsMaxRel.toExponential(2)}; ${cpu.seconds.toFixed(1)} s on wasm, ${gpu.seconds.toFixed(1)} s on webgpu`,
  );
  assert.equal(cpu.steps.length, 2, 'two HALP prunes');
  assert.equal(gpu.steps.length, cpu.steps.length);
  cpu.steps.forEach((s, i) => {
    assert.deepEqual(gpu.steps[i]!.kept, s.kept, `kept counts of prune ${i}`);
    assert.deepEqual(gpu.steps[i]!.active, s.active, `channels selected at prune ${i}`);
  });
  assert.ok(
    Object.values(cpu.steps[1]!.kept).reduce((a, b) => a + b, 0) < Object.values(cpu.steps[0]!.kept).reduce((a, b) => a + b, 0),
    'the second prune removed channels',
  );
  assert.equal(gpu.losses.length, 8);
  gpu.losses.forEach((l, i) =>
    assert.ok(Math.abs(l - cpu.losses[i]!) <= 1e-3 * cpu.losses[i]!, `iteration ${i + 1}: loss ${l} on webgpu, ${cpu.losses[i]} on wasm`),
  );
});
