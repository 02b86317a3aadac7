/**
 * Run as a child process by `webgpu-train.test.ts`, in the environment that
 * selects a Vulkan driver (see `vulkan.ts`). Training on tfjs' WebGPU
 * backend against the CPU backends, in one process, from the same weights
 * and batches:
 * - `grads`: loss and gradients of the zoo's ResNet-20 (28x28x1, training
 *   mode) on webgpu against tfjs' reference cpu backend (batch 2: the cpu
 *   backend's convolution gradients take ~15 s) and wasm with latprune's
 *   kernels (batch 8). Same batch seed for both: on some batches the CPU
 *   backends disagree with each other by 2e-2 (see docs/backends.md);
 * - `prune`: a short HALP run (2 prunes, 3 scoring iterations each, a
 *   latency table from a fake runtime) of a half-width ResNet-20 on wasm, then
 *   on webgpu: every step's selection, loss and the final weights.
 * Prints one line `webgpu-train: <JSON>`, or `webgpu-train: unavailable
 * <reason>` when the webgpu backend cannot be brought up.
 *
 *   node dist/test/helpers/webgpu-train.js grads|prune TMPDIR
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { embeddedSubsetDir, loadDataset, BatchIterator } from '../../src/data/index.js';
import { analyzeModel } from '../../src/graph/index.js';
import { ImportanceAccumulator, taylorImportance } from '../../src/importance/index.js';
import { LatencyEstimator, profileModel } from '../../src/latency/index.js';
import { PruneEngine, pruneMethod, type PruneConfig } from '../../src/prune/index.js';
import { Trainer, type HostBatch } from '../../src/train/index.js';
import { localGradients, trainableVariables } from '../../src/train/gradients.js';
import { buildZooModel } from '../../src/zoo/index.js';
import { FakeRuntime, ORT_RULES } from './fake-runtime.js';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'grads' && mode !== 'prune') || !dir) throw new Error('usage: webgpu-train.js grads|prune TMPDIR');

const print = (what: string) => process.stdout.write(`webgpu-train: ${what}\n`);
const LOSS = { numClasses: 10, labelSmoothing: 0 };
/** The prune run's learning rate (argument 3; default 0.05). */
const LR = Number(process.argv[4] ?? 0.05);

async function weightsOf(m: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(m.weights.map(async (w) => ((await w.read().data()) as Float32Array).slice()));
}

function rebuild(init: readonly Float32Array[], width?: number): tf.LayersModel {
  const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1, ...(width ? { width } : {}) });
  m.setWeights(m.weights.map((w, i) => tf.tensor(init[i]!, w.shape as number[])));
  return m;
}

async function batchesOf(n: number, size: number, seed: number): Promise<HostBatch[]> {
  const data = await loadDataset('fashion-mnist', { dir: embeddedSubsetDir()! });
  const it = new BatchIterator(data.train, { batchSize: size, seed });
  return Array.from({ length: n }, () => {
    const b = it.next();
    return { x: b.x, shape: b.shape, labels: b.labels };
  });
}

/** Loss and gradients (in trainable-variable order) of `m` on `batch`. */
async function gradients(m: tf.LayersModel, batch: HostBatch): Promise<{ loss: number; grads: Float32Array[]; names: string[] }> {
  const vars = trainableVariables(m);
  const r = await localGradients(m, vars, batch, LOSS);
  try {
    return {
      loss: r.loss,
      grads: await Promise.all(vars.map(async (v) => (await r.grads[v.name]!.data()) as Float32Array)),
      names: vars.map((v) => v.name),
    };
  } finally {
    tf.dispose(r.grads);
  }
}

/**
 * Largest per-variable relative difference, max |a - b| / max |a| over each
 * gradient (`rel`, and the variable), and the same in L2 norms (`l2`).
 */
function worst(
  ref: readonly Float32Array[],
  got: readonly Float32Array[],
  names: readonly string[],
): { rel: number; variable: string; l2: number } {
  let rel = 0;
  let l2 = 0;
  let variable = '';
  ref.forEach((a, k) => {
    const b = got[k]!;
    let diff = 0;
    let scale = 0;
    let d2 = 0;
    let a2 = 0;
    for (let j = 0; j < a.length; j++) {
      diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
      scale = Math.max(scale, Math.abs(a[j]!));
      d2 += (a[j]! - b[j]!) ** 2;
      a2 += a[j]! ** 2;
    }
    const r = diff / (scale || 1);
    l2 = Math.max(l2, Math.sqrt(d2 / (a2 || 1)));
    if (r > rel || Number.isNaN(r)) {
      rel = r;
      variable = names[k]!;
    }
  });
  return { rel, variable, l2 };
}

async function webgpu(): Promise<string | undefined> {
  try {
    const info = await initBackend({ requested: 'webgpu' });
    return info.summary;
  } catch (err) {
    print(`unavailable ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

if (mode === 'grads') {
  const refs = [
    { backend: 'cpu', batch: (await batchesOf(1, 2, 1))[0]! },
    { backend: 'wasm', batch: (await batchesOf(1, 8, 1))[0]! },
  ];
  let init: Float32Array[] | undefined;
  const ref: Array<{ backend: string; images: number; loss: number; grads: Float32Array[]; names: string[]; seconds: number }> = [];
  for (const r of refs) {
    await initBackend({ requested: r.backend });
    const m = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    if (init) m.setWeights(m.weights.map((w, i) => tf.tensor(init![i]!, w.shape as number[])));
    else init = await weightsOf(m);
    const t0 = performance.now();
    ref.push({ backend: r.backend, images: r.batch.shape[0], ...(await gradients(m, r.batch)), seconds: (performance.now() - t0) / 1000 });
    m.dispose();
  }
  const summary = await webgpu();
  if (summary) {
    const m = rebuild(init!);
    const out = [];
    for (const [k, r] of refs.entries()) {
      const t0 = performance.now();
      const g = await gradients(m, r.batch);
      const seconds = (performance.now() - t0) / 1000;
      const w = worst(ref[k]!.grads, g.grads, g.names);
      out.push({
        against: r.backend,
        images: ref[k]!.images,
        variables: g.names.length,
        refVariables: ref[k]!.names.length,
        lossRef: ref[k]!.loss,
        loss: g.loss,
        maxRel: w.rel,
        maxL2Rel: w.l2,
        worstVariable: w.variable,
        seconds,
        refSeconds: ref[k]!.seconds,
      });
    }
    print(JSON.stringify({ backend: summary, results: out }));
  }
} else {
  const batches = await batchesOf(8, 16, 1);
  let init: Float32Array[] | undefined;
  let table: Awaited<ReturnType<typeof profileModel>> | undefined;
  const runs: Array<{
    backend: string;
    steps: Array<{ phase: string; kept: Record<string, number>; active: Record<string, number[]> }>;
    losses: number[];
    weights: Float32Array[];
    seconds: number;
  }> = [];
  for (const backend of ['wasm', 'webgpu']) {
    if (backend === 'webgpu') {
      if (!(await webgpu())) break;
    } else await initBackend({ requested: backend });
    const model = buildZooModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, seed: 4, width: 0.5 });
    if (init) model.setWeights(model.weights.map((w, i) => tf.tensor(init![i]!, w.shape as number[])));
    else init = await weightsOf(model);
    const graph = analyzeModel(model);
    table ??= await profileModel(model, {
      modelName: 'r',
      batch: 16,
      runtime: new FakeRuntime({ conv: ORT_RULES.conv! }, 2),
      out: join(dir, 't.json'),
      grid: { step: 8, points: 3, refine: 0 },
      progress: false,
    });
    const est = LatencyEstimator.create(model, table, graph);
    const dense = est.total(Object.fromEntries(graph.groups.map((g) => [g.id, g.size])));
    const cfg: PruneConfig = {
      method: 'halp',
      budgetMs: dense * 0.6,
      totalIterations: 8,
      H: 1,
      J: 1,
      Q: 1,
      T: 1,
      omega: 0.3,
      schedule: 'cosine',
      explore: false,
      freeze: false,
      zeroInit: false,
      steps: 2,
      interval: 3,
      granularity: 1,
    };
    const trainer = await Trainer.create(
      model,
      { loss: LOSS, sgd: { momentum: 0.9, weightDecay: 5e-4 }, schedule: { baseLr: LR, totalSteps: 8 }, workers: 1 },
      backend,
    );
    const engine = await PruneEngine.create(
      cfg,
      trainer,
      graph,
      est,
      new ImportanceAccumulator(model, graph, taylorImportance()),
      pruneMethod(cfg.method),
    );
    const steps: (typeof runs)[number]['steps'] = [];
    const losses: number[] = [];
    let i = 0;
    const t0 = performance.now();
    await engine.run({
      nextBatch: () => batches[i++ % batches.length]!,
      onIteration: (_it, loss) => void losses.push(loss),
      onStep: (r) => void steps.push({ phase: r.phase, kept: r.kept, active: engine.state().active }),
    });
    runs.push({ backend, steps, losses, weights: await weightsOf(model), seconds: (performance.now() - t0) / 1000 });
    await trainer.dispose();
    model.dispose();
  }
  if (runs.length === 2) {
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const w = worst(
      a.weights,
      b.weights,
      a.weights.map((_x, k) => `weight ${k}`),
    );
    print(
      JSON.stringify({
        runs: runs.map((r) => ({ backend: r.backend, steps: r.steps, losses: r.losses, seconds: r.seconds })),
        finalWeightsMaxRel: w.rel,
      }),
    );
  }
}
