/**
 * bench:halp-vs-iee — the pruning-engine experiment: HALP vs IEE (and IEE
 * from scratch, and three IEE ablations) on full Fashion-MNIST, ResNet-20 from
 * the shipped pretrained model, the committed ORT CPU table at batch 128,
 * target 2x the dense model's estimated FPS, the same epochs and seed for
 * HALP and IEE. Every run is exported to ONNX and its FPS measured with ORT.
 *
 *   npm run bench:halp-vs-iee [-- --epochs 5 --scratch-epochs 5 --ablation-images 20000 --workers 2 --only iee,halp]
 *
 * Runs are resumable (re-running continues unfinished ones and reuses
 * finished ones). Writes bench/results/halp-vs-iee.json and
 * bench/RESULTS.md, and prints a final JSON line.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { loadDataset, defaultNormalization } from '../src/data/index.js';
import { analyzeModel } from '../src/graph/index.js';
import { LatencyEstimator, defaultTablePath, deviceFingerprint, loadTable } from '../src/latency/index.js';
import { runPrune, type PruneRunOptions } from '../src/prune/index.js';
import { exportOnnx } from '../src/export/index.js';
import { verifyOnnx } from '../src/verify/index.js';
import { evaluate, loadModel } from '../src/train/index.js';
import { markdownTable, readRun } from '../src/report/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '5' },
    'scratch-epochs': { type: 'string', default: '5' },
    'ablation-images': { type: 'string', default: '20000' },
    workers: { type: 'string', default: String(Math.min(2, os.cpus().length)) },
    only: { type: 'string' },
    out: { type: 'string', default: 'runs/bench' },
  },
});
const info = await initBackend({});
const model = 'models/resnet20-fashion-mnist';
const lut = defaultTablePath('latency-tables', deviceFingerprint(), 'resnet20-28x28x1', 128, 'ort');
if (!existsSync(lut)) throw new Error(`${lut} is missing: build it with \`latprune profile --model resnet20 --input 28x28x1 --batch 128\``);
const epochs = Number(values.epochs);
const base: Omit<PruneRunOptions, 'out' | 'method'> = {
  model, fromScratch: false, dataset: 'fashion-mnist', lut, target: { speedup: 2 }, criterion: 'taylor', epochs, batchSize: 128, lr: 0.01,
  weightDecay: 5e-4, seed: 1, workers: Number(values.workers), H: 100, J: 100, Q: 100, T: 5, omega: 0.3, schedule: 'cosine',
  explore: true, freeze: true, zeroInit: false, steps: 30, interval: 40, granularity: 0, resume: false, command: '',
};
const sub = Number(values['ablation-images']);
const runs: Record<string, PruneRunOptions> = {
  halp: { ...base, method: 'halp', out: '' },
  iee: { ...base, method: 'iee', out: '' },
  iee_scratch: { ...base, method: 'iee', fromScratch: true, model: 'resnet20', epochs: Number(values['scratch-epochs']), lr: 0.1, out: '' },
  ablation_iee: { ...base, method: 'iee', trainSubset: sub, out: '' },
  ablation_no_explore: { ...base, method: 'iee', trainSubset: sub, explore: false, out: '' },
  ablation_no_freeze: { ...base, method: 'iee', trainSubset: sub, freeze: false, out: '' },
  ablation_zero_init: { ...base, method: 'iee', trainSubset: sub, zeroInit: true, out: '' },
};
const only = values.only ? new Set(values.only.split(',')) : undefined;
const results: Record<string, Record<string, unknown>> = {};
await mkdir('bench/results', { recursive: true });
// dense reference
{
  const table = await loadTable(lut);
  const m = await loadModel(model);
  const graph = analyzeModel(m);
  const dense = LatencyEstimator.create(m, table, graph).total(Object.fromEntries(graph.groups.map((g) => [g.id, g.size])));
  const data = await loadDataset('fashion-mnist');
  const top1 = evaluate(m, data.test, { normalization: defaultNormalization(data.name) }).top1;
  const onnx = join(values.out!, 'dense.onnx');
  await exportOnnx({ model, out: onnx, producerVersion: 'bench' });
  const v = await verifyOnnx({ model: onnx, batch: 128, threads: os.cpus().length });
  results['dense'] = { top1, latency_ms: dense, fps: (128 * 1000) / dense, measured_fps: v.fps, measured_ms: v.median_ms, train_seconds: 0, images_seen: 0 };
  m.dispose();
}
for (const [name, o] of Object.entries(runs)) {
  if (only && !only.has(name)) continue;
  const out = join(values.out!, name);
  const command = `latprune prune --model ${o.model} --lut ${lut} --speedup 2 --method ${o.method}${o.fromScratch ? ' --from-scratch' : ''} --epochs ${o.epochs} --lr ${o.lr} --workers ${o.workers} --H ${o.H} --J ${o.J} --Q ${o.Q} --T ${o.T} --steps ${o.steps} --interval ${o.interval}${o.trainSubset ? ` --train-subset ${o.trainSubset}` : ''}${o.explore ? '' : ' --no-explore'}${o.freeze ? '' : ' --no-freeze'}${o.zeroInit ? ' --zero-init' : ''} --out ${out}`;
  if (!existsSync(join(out, 'selection.json'))) {
    await runPrune({ ...o, out, resume: existsSync(join(out, 'checkpoint.ckpt')), command }, info.tfjsName, (l) => process.stderr.write(`${name}: ${l}\n`));
  }
  const onnx = join(out, 'model.onnx');
  await exportOnnx({ run: out, out: onnx, producerVersion: 'bench' });
  const r = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
  const v = await verifyOnnx({ model: onnx, batch: 128, targetFps: r.fps, lut, threads: os.cpus().length });
  await writeFile(join(out, 'verify.json'), JSON.stringify(v, null, 2));
  results[name] = { ...r, measured_fps: v.fps, measured_ms: v.median_ms, predicted_ms: v.predicted_ms, command };
}
await writeFile('bench/results/halp-vs-iee.json', `${JSON.stringify(results, null, 2)}\n`);
const rows = [];
for (const name of Object.keys(runs)) if (existsSync(join(values.out!, name, 'result.json'))) rows.push(await readRun(join(values.out!, name)));
await writeFile('bench/RESULTS.md', `# HALP vs IEE (Fashion-MNIST, ResNet-20, 2x FPS)\n\nGenerated by \`npm run bench:halp-vs-iee\`; dense top-1 ${(100 * Number(results['dense']!['top1'])).toFixed(2)}%, ${Number(results['dense']!['measured_fps']).toFixed(0)} FPS measured.\n\n${markdownTable(rows)}`);
console.log(JSON.stringify({ bench: 'halp-vs-iee', ...results }));
