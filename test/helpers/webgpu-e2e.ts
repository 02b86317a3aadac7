/**
 * Run as a child process by `webgpu-ort.test.ts`, in the environment that
 * selects a Vulkan driver (lavapipe's variables must be set before the
 * process starts: the dynamic loader reads LD_LIBRARY_PATH only then).
 * End to end on ORT's WebGPU EP: probes the vec4 layout rule (widths 1..8),
 * builds a tiny table (a few entries, few runs), exports a small ResNet-20
 * and verifies it on the GPU, and compares its outputs with the CPU EP's.
 * Prints one JSON line.
 *
 *   node dist/test/helpers/webgpu-e2e.js OUTDIR
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/backend/index.js';
import { modelToOnnx } from '../../src/onnx/index.js';
import { OrtRuntime, loadTable, profileModel } from '../../src/latency/index.js';
import { randomFloats } from '../../src/util/random.js';
import { verifyOnnx } from '../../src/verify/index.js';
import { buildZooModel } from '../../src/zoo/index.js';

const out = process.argv[2];
if (!out) throw new Error('usage: webgpu-e2e.js OUTDIR');
await initBackend({ requested: 'cpu' });
const model = buildZooModel('resnet20', { inputShape: [8, 8, 1], numClasses: 4, seed: 3 });
const rt = await OrtRuntime.create({ ep: 'webgpu', threads: 1 });
const result: Record<string, unknown> = { gpu: rt.gpu };
try {
  let t0 = performance.now();
  const layout = await rt.probeLayout(8);
  result['probe'] = { layout, seconds: (performance.now() - t0) / 1000 };
  t0 = performance.now();
  const lut = join(out, 'table.json');
  await profileModel(model, {
    modelName: 'resnet20-8x8x1',
    batch: 1,
    runtime: rt,
    out: lut,
    grid: { step: 4, points: 2, refine: 0 },
    layout,
    maxEntries: 6,
    referenceEvery: 0,
    progress: false,
    timing: { warmup: 1, minRuns: 3, maxRuns: 3 },
  });
  const table = await loadTable(lut);
  result['table'] = {
    seconds: (performance.now() - t0) / 1000,
    entries: table.stats.entries,
    device: table.device,
    runtime: table.runtime,
    layout: table.layout,
    points: Object.values(table.signatures).flatMap((s) => s.points),
  };
  // export (random weights, BN folded) and verify on the GPU
  const onnx = join(out, 'resnet20.onnx');
  await writeFile(onnx, modelToOnnx(model, { producerVersion: 'latprune-test', batch: 2 }));
  t0 = performance.now();
  const v = await verifyOnnx({ model: onnx, ep: 'webgpu', timeMs: 300, minRuns: 3, threads: 1 });
  result['verify'] = {
    seconds: (performance.now() - t0) / 1000,
    ep: v.ep,
    runs: v.runs,
    median_ms: v.median_ms,
    fps: v.fps,
    verdict: v.verdict,
  };
  // parity: the same input on the CPU and the WebGPU EP
  const bytes = new Uint8Array(modelToOnnx(model, { producerVersion: 'latprune-test', batch: 2 }));
  const x = new ort.Tensor('float32', randomFloats(2 * 8 * 8 * 1, 17), [2, 1, 8, 8]);
  const outputs: Float32Array[] = [];
  for (const ep of ['cpu', 'webgpu']) {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
    try {
      const r = await s.run({ [s.inputNames[0]!]: x });
      outputs.push(Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array));
    } finally {
      await s.release();
    }
  }
  const [cpu, gpu] = outputs as [Float32Array, Float32Array];
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < cpu.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(cpu[i]! - gpu[i]!));
    scale = Math.max(scale, Math.abs(cpu[i]!));
  }
  result['parity'] = { elements: cpu.length, maxAbsDiff: maxAbs, maxAbsCpu: scale };
} finally {
  await rt.dispose();
  model.dispose();
}
process.stdout.write(`\nwebgpu-e2e: ${JSON.stringify(result)}\n`);
