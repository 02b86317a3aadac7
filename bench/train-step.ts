/**
 * bench:train-step — one full training step (forward, backward, SGD with
 * momentum) of a CIFAR-style ResNet-20 (16/32/64, batch norm, residual adds)
 * on 28x28x1 inputs at batch 128, on the active tfjs backend.
 *
 *   npm run bench:train-step [-- --batch 128 --iterations 10 --backend wasm --workers 2 --profile]
 *   npm run bench:train-step -- --backend webgpu --batch 512   # a GPU (bench/gpu/run-h200.sh --only train)
 *   npm run bench:train-step -- --workers 2 --save   # also store the line in bench/results/ and RESULTS.md
 *
 * Each step reads its loss back to the host (as the trainer does), so on a
 * GPU a step's time includes one round trip; the first (warm-up) steps
 * compile the GPU programs.
 *
 * --workers N splits each batch over N threads (the main thread and N-1
 * gradient workers, see src/train/gradients.ts); default 1 (single thread).
 *
 * Prints a human summary, an optional per-kernel breakdown (--profile), and a
 * final JSON line:
 *   {"bench":"train-step","backend":...,"img_per_s":...,"ms_per_step":...}
 * ms_per_step is the median over the timed iterations (tinybench).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { createGradientEngine } from '../src/train/gradients.js';
import { saveBenchLine } from './store.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' },
    iterations: { type: 'string', default: '10' },
    backend: { type: 'string' },
    profile: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    save: { type: 'boolean', default: false },
  },
});
const batch = Number(values.batch);
const iterations = Number(values.iterations);
const workers = Number(values.workers);

const info = await initBackend({ requested: values.backend });
process.stderr.write(`${info.summary}\n`);

const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
const optimizer = tf.train.momentum(0.05, 0.9);
const xs = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 2);
const labels = (await tf.randomUniform([batch], 0, 10, 'int32', 3).data()) as Int32Array;
const hostBatch = { x: (await xs.data()) as Float32Array, shape: [batch, 28, 28, 1] as const, labels };
const engine = await createGradientEngine(model, { numClasses: 10, labelSmoothing: 0 }, workers, info.tfjsName);

async function step(): Promise<number> {
  const { loss, grads } = await engine.compute(hostBatch);
  optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
  tf.dispose(grads);
  return loss;
}

const bench = new Bench({ iterations, warmupIterations: 2, time: 0, warmupTime: 0, throws: true });
bench.add('resnet20-train-step', async () => {
  await step();
});
await bench.run();
const task = bench.tasks[0]!;
const result = task.result;
if (result.state !== 'completed') throw new Error(`bench task ended in state ${result.state}`);
const ms = result.latency.p50;
const imgPerS = (batch * 1000) / ms;
process.stderr.write(
  `resnet20 train step, batch ${batch}, backend ${info.name}, ${workers} thread(s): median ${ms.toFixed(1)} ms ` +
    `(min ${result.latency.min.toFixed(1)}, p75 ${result.latency.p75.toFixed(1)}, n=${result.latency.samplesCount}), ${imgPerS.toFixed(1)} img/s\n`,
);

let breakdown: Record<string, number> | undefined;
if (values.profile) {
  const prof = await tf.profile(async () => {
    await step();
  });
  const agg = new Map<string, number>();
  for (const k of prof.kernels) {
    // op-level wrappers (`*__op`) and scopes nest real kernels: count kernels only
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  }
  const total = [...agg.values()].reduce((a, b) => a + b, 0);
  breakdown = {};
  process.stderr.write(`kernel time breakdown (tf.profile, one step, ${total.toFixed(0)} ms in kernels):\n`);
  for (const [name, msK] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    breakdown[name] = Number(((100 * msK) / total).toFixed(1));
    process.stderr.write(`  ${name.padEnd(30)} ${msK.toFixed(1).padStart(8)} ms  ${breakdown[name]}%\n`);
  }
}

const line = {
  bench: 'train-step',
  backend: info.name,
  ...(info.adapter ? { adapter: info.adapter } : {}),
  model: 'resnet20',
  input: [28, 28, 1],
  batch,
  threads: workers,
  img_per_s: Number(imgPerS.toFixed(1)),
  ms_per_step: Number(ms.toFixed(1)),
  iterations: result.latency.samplesCount,
  ...(breakdown ? { kernel_pct: breakdown } : {}),
};
if (values.save) {
  const file = await saveBenchLine('train-step', `${info.name} b${batch} x${workers}`, line);
  process.stderr.write(`stored in ${file}; bench/RESULTS.md rebuilt\n`);
}
console.log(JSON.stringify(line));
await engine.dispose();
