/**
 * A latency-targeted channel selection from a latency table, without
 * training: for the GPU check of `bench/gpu/run-h200.sh` (random weights:
 * latency does not depend on them).
 *
 *   node dist/bench/gpu/select.js --lut T.json --model resnet50 --speedup 2 --out DIR
 *     [--input 224x224x3 --classes 1000 --margin 0.1 --seed 1 --granularity auto]
 *
 * Importance is random (seeded), the latency model is the table's estimator
 * (coupled solver, as `latprune prune` solves each step). Writes into DIR:
 * - `problem.json`: the knapsack problem linearised at the solution (solve
 *   it again with `latprune solve --problem DIR/problem.json`);
 * - `dense.onnx`, `pruned.onnx`: the dense and the selected network at the
 *   table's batch with random weights and latprune's metadata, ready for
 *   `latprune verify DIR/pruned.onnx --baseline DIR/dense.onnx --lut T.json`;
 * - `selection.json`: kept counts and the estimates.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/backend/index.js';
import { modelToOnnx } from '../../src/onnx/index.js';
import { analyzeModel } from '../../src/graph/index.js';
import { LatencyEstimator, channelMultiple, coutOfKeep, loadTable } from '../../src/latency/index.js';
import { domainOf } from '../../src/prune/index.js';
import { linearise, problemToJson, seededRandom, solveCoupled, type CoupledProblem } from '../../src/solver/index.js';
import { buildZooModel } from '../../src/zoo/index.js';

const { values } = parseArgs({
  options: {
    lut: { type: 'string' },
    model: { type: 'string', default: 'resnet50' },
    input: { type: 'string' },
    classes: { type: 'string', default: '1000' },
    speedup: { type: 'string', default: '2' },
    margin: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    granularity: { type: 'string', default: 'auto' },
    out: { type: 'string' },
  },
});
if (!values.lut || !values.out) throw new Error('usage: select.js --lut TABLE --out DIR [--model resnet50 --speedup 2 --margin 0.1]');

await initBackend({ requested: 'cpu' });
const table = await loadTable(values.lut);
const input = (values.input ? values.input.split('x').map(Number) : table.input) as [number, number, number];
const model = buildZooModel(values.model!, { inputShape: input, numClasses: Number(values.classes), seed: 1 });
const graph = analyzeModel(model);
const est = LatencyEstimator.create(model, table, graph);
const full = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
const denseMs = est.total(full);
const speedup = Number(values.speedup);
const budget = (denseMs / speedup) * (1 - Number(values.margin));
const granularity = values.granularity === 'auto' ? channelMultiple(table.layout) : Number(values.granularity);
const rnd = seededRandom(Number(values.seed));
const problem: CoupledProblem = {
  budget,
  groups: graph.groups.map((g) => {
    const min = Math.min(g.size, Math.max(granularity, Math.ceil(Math.max(1, g.minKeep) / granularity) * granularity));
    return {
      id: g.id,
      values: Array.from({ length: g.size }, () => rnd()).sort((a, b) => b - a),
      domain: domainOf(min, g.size, granularity),
    };
  }),
};
const sol = solveCoupled(problem, est, { start: full });
await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, 'problem.json'), problemToJson(linearise(problem, est, sol.keep)));
const meta = (keep: Record<string, number>) => ({
  'latprune.source_model': values.model!,
  'latprune.kept': JSON.stringify(keep),
  'latprune.table_batch': String(table.batch),
});
const exportAt = async (name: string, keep: Record<string, number>) => {
  const bytes = modelToOnnx(model, {
    producerVersion: 'latprune',
    batch: table.batch,
    synthetic: { coutOf: coutOfKeep(graph, keep) },
    metadata: meta(keep),
  });
  await writeFile(join(values.out!, name), bytes);
};
await exportAt('dense.onnx', full);
await exportAt('pruned.onnx', sol.keep);
const prunedMs = est.total(sol.keep);
const summary = {
  lut: values.lut,
  model: values.model,
  batch: table.batch,
  granularity,
  status: sol.status,
  dense_estimate_ms: Number(denseMs.toFixed(4)),
  budget_ms: Number(budget.toFixed(4)),
  pruned_estimate_ms: Number(prunedMs.toFixed(4)),
  estimated_speedup: Number((denseMs / prunedMs).toFixed(3)),
  kept_fraction: Number((Object.values(sol.keep).reduce((a, b) => a + b, 0) / Object.values(full).reduce((a, b) => a + b, 0)).toFixed(3)),
  keep: sol.keep,
};
await writeFile(join(values.out, 'selection.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify({ ...summary, keep: undefined }));
model.dispose();
if (sol.status !== 'feasible') process.exitCode = 1;
