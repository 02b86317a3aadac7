/**
 * bench:halp-vs-iee — the pruning-engine experiment: HALP vs IEE (and IEE
 * from scratch, and three IEE ablations) on full Fashion-MNIST, ResNet-20 from
 * the shipped pretrained model, the committed ORT CPU table at batch 128,
 * target 2x the dense model's estimated FPS, the same epochs and seed for
 * HALP and IEE. Every run is exported to ONNX and its FPS measured with ORT.
 *
 *   npm run bench:halp-vs-iee [-- --epochs 5 --scratch-epochs 5 --ablation-images 20000 --ablation-epochs 3 --ablation-hjq 30 --ablation-steps 3 --workers 2 --rounds 5 --only iee,halp --with-kd --with-ramp --with-descent --with-grow --no-check --measure-only]
 *
 * `--with-kd` adds runs with knowledge distillation from the dense model
 * (`--distill`, alpha 0.5, T 4): halp_kd and iee_kd at the main budget, and
 * ablation_halp, ablation_halp_kd (10 prune steps 20 iterations apart) and
 * ablation_iee_kd at the ablation budget (a pilot next to ablation_iee).
 * `--with-ramp` adds IEE with a gradual first prune (iee_ramp, ablation_iee_ramp);
 * `--with-descent` adds IEE whose step 0 is HALP's own descent (30 prunes 40
 * iterations apart; 10 x 20 at the ablation budget) followed by small updates
 * (`--omega 0.05`): iee_descent, ablation_iee_descent, and iee_descent_kd with
 * `--with-kd`. It keeps the structure HALP's descent finds (docs/pruning.md).
 * `--measure-only` also measures any other finished run found in `--out`.
 * `--no-check` trains every run without the on-device check (names get a
 * `_nc` suffix): all runs then share the estimator budget.
 * `--with-grow` adds IEE with the other grow rules (iee_joint, iee_noregrow,
 * iee_evaluated and their ablation_* runs; see `PruneConfig.grow`).
 *
 * Runs are resumable (re-running continues unfinished ones and reuses
 * finished ones). FPS is measured at the end, with no training running, over
 * all exported models in interleaved rounds. Writes bench/results/halp-vs-iee.json
 * (entries of runs not measured in this pass are kept from the previous file,
 * each stamped with the pass it was measured in), rebuilds bench/RESULTS.md
 * from bench/results/ (bench/report.ts), and prints a final JSON line.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { DATA_ENV_VAR, SYSTEM_DATA_DIRS, loadDataset, defaultNormalization, resolveDataDir } from '../src/data/index.js';
import { analyzeModel, selectionCost } from '../src/graph/index.js';
import { LatencyEstimator, defaultTablePath, deviceFingerprint, loadTable, median, refreshCalibration } from '../src/latency/index.js';
import { runPrune, type PruneResult, type PruneRunOptions } from '../src/prune/index.js';
import { exportOnnx } from '../src/export/index.js';
import { verifyOnnx, verifyVerdict, type VerifyResult } from '../src/verify/index.js';
import { evaluate } from '../src/train/index.js';
import { loadModel } from '../src/model/index.js';
import { writeReport } from './report.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '5' },
    'scratch-epochs': { type: 'string', default: '5' },
    'ablation-images': { type: 'string', default: '20000' },
    'ablation-epochs': { type: 'string', default: '3' },
    /** IEE's H = J = Q and T for the ablations: their short budget must still fit several IEE steps. */
    'ablation-hjq': { type: 'string', default: '30' },
    'ablation-steps': { type: 'string', default: '3' },
    workers: { type: 'string', default: String(Math.min(2, os.cpus().length)) },
    only: { type: 'string' },
    /** Interleaved measurement rounds over all exported models (median of the rounds' medians). */
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'runs/bench' },
    'with-kd': { type: 'boolean', default: false },
    /** IEE with a gradual initial descent (`--ramp 5`, `--ramp 3` at the ablation budget). */
    'with-ramp': { type: 'boolean', default: false },
    /** IEE from HALP's descent with small updates (`--ramp 30 --ramp-interval 40 --omega 0.05`; 10 x 20 at the ablation budget). */
    'with-descent': { type: 'boolean', default: false },
    /** IEE with the other grow rules (`--grow joint`, `--grow no-regrow`, `--grow evaluated`), at the main and the ablation budget. */
    'with-grow': { type: 'boolean', default: false },
    /**
     * Without the on-device check (`--no-check-latency`): every run is pruned to the same
     * estimator budget, and only training differs. The runs are named with a `_nc` suffix.
     */
    'no-check': { type: 'boolean', default: false },
    /** Train nothing: export and measure the finished runs in `--out` (a final pass over runs trained at different times). */
    'measure-only': { type: 'boolean', default: false },
  },
});
const info = await initBackend({});
const model = 'models/resnet20-fashion-mnist';
const lut = defaultTablePath('latency-tables', deviceFingerprint(), 'resnet20-28x28x1', 128, 'ort');
if (!existsSync(lut)) throw new Error(`${lut} is missing: build it with \`latprune profile --model resnet20 --input 28x28x1 --batch 128\``);
// the experiment is defined on full Fashion-MNIST: the subset shipped for tests would give
// accuracies that compare with nothing
if (resolveDataDir('fashion-mnist').origin === 'embedded') {
  throw new Error(
    `full Fashion-MNIST not found (only the subset shipped with latprune): install Debian's dataset-fashion-mnist (${SYSTEM_DATA_DIRS['fashion-mnist'].join(', ')}) or set ${DATA_ENV_VAR}=DIR`,
  );
}
const epochs = Number(values.epochs);
const base: Omit<PruneRunOptions, 'out' | 'method'> = {
  model,
  fromScratch: false,
  dataset: 'fashion-mnist',
  lut,
  target: { speedup: 2 },
  criterion: 'taylor',
  epochs,
  batchSize: 128,
  lr: 0.01,
  weightDecay: 5e-4,
  seed: 1,
  workers: Number(values.workers),
  H: 100,
  J: 100,
  Q: 100,
  T: 5,
  omega: 0.3,
  schedule: 'cosine',
  explore: true,
  freeze: true,
  zeroInit: false,
  steps: 30,
  interval: 40,
  granularity: 0,
  checkLatency: true,
  resume: false,
  command: '',
};
const sub = Number(values['ablation-images']);
const hjq = Number(values['ablation-hjq']);
const abl = { trainSubset: sub, epochs: Number(values['ablation-epochs']), H: hjq, J: hjq, Q: hjq, T: Number(values['ablation-steps']) };
const runs: Record<string, PruneRunOptions> = {
  halp: { ...base, method: 'halp', out: '' },
  iee: { ...base, method: 'iee', out: '' },
  iee_scratch: { ...base, method: 'iee', fromScratch: true, model: 'resnet20', epochs: Number(values['scratch-epochs']), lr: 0.1, out: '' },
  ablation_iee: { ...base, ...abl, method: 'iee', out: '' },
  ablation_no_explore: { ...base, ...abl, method: 'iee', explore: false, out: '' },
  ablation_no_freeze: { ...base, ...abl, method: 'iee', freeze: false, out: '' },
  ablation_zero_init: { ...base, ...abl, method: 'iee', zeroInit: true, out: '' },
};
if (values['with-kd']) {
  const kd = { teacher: model, alpha: 0.5, temperature: 4 };
  Object.assign(runs, {
    halp_kd: { ...base, method: 'halp', distill: kd, out: '' },
    iee_kd: { ...base, method: 'iee', distill: kd, out: '' },
    // HALP's 30 x 40 prune iterations do not fit the ablation budget (468 iterations): 10 x 20
    ablation_halp: { ...base, ...abl, method: 'halp', steps: 10, interval: 20, out: '' },
    ablation_halp_kd: { ...base, ...abl, method: 'halp', steps: 10, interval: 20, distill: kd, out: '' },
    ablation_iee_kd: { ...base, ...abl, method: 'iee', distill: kd, out: '' },
  });
}
if (values['with-ramp']) {
  Object.assign(runs, {
    iee_ramp: { ...base, method: 'iee', ramp: 5, out: '' },
    ablation_iee_ramp: { ...base, ...abl, method: 'iee', ramp: 3, out: '' },
  });
}
if (values['with-descent']) {
  const descent = { method: 'iee' as const, ramp: base.steps, rampInterval: base.interval, omega: 0.05 };
  Object.assign(runs, {
    iee_descent: { ...base, ...descent, out: '' },
    ablation_iee_descent: { ...base, ...abl, ...descent, ramp: 10, rampInterval: 20, out: '' },
    ...(values['with-kd']
      ? { iee_descent_kd: { ...base, ...descent, distill: { teacher: model, alpha: 0.5, temperature: 4 }, out: '' } }
      : {}),
  });
}
if (values['with-grow']) {
  Object.assign(runs, {
    iee_joint: { ...base, method: 'iee', grow: 'joint', out: '' },
    iee_noregrow: { ...base, method: 'iee', grow: 'no-regrow', out: '' },
    ablation_iee_joint: { ...base, ...abl, method: 'iee', grow: 'joint', out: '' },
    ablation_iee_noregrow: { ...base, ...abl, method: 'iee', grow: 'no-regrow', out: '' },
    iee_evaluated: { ...base, method: 'iee', grow: 'evaluated', out: '' },
    ablation_iee_evaluated: { ...base, ...abl, method: 'iee', grow: 'evaluated', out: '' },
  });
}
if (values['no-check']) {
  for (const [name, o] of Object.entries(runs)) {
    delete runs[name];
    runs[`${name}_nc`] = { ...o, checkLatency: false };
  }
}
const only = values.only ? new Set(values.only.split(',')) : undefined;
const results: Record<string, Record<string, unknown>> = {};
await mkdir('bench/results', { recursive: true });
await mkdir(values.out!, { recursive: true });
const threads = os.cpus().length;
// dense reference (cached: evaluating and exporting it again gives the same figures)
const denseDir = join(values.out!, 'dense');
const denseOnnx = join(denseDir, 'model.onnx');
if (!existsSync(join(denseDir, 'result.json'))) {
  const table = await loadTable(lut);
  const m = await loadModel(model);
  const graph = analyzeModel(m);
  const full = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
  // the calibration prune and verify estimate with (a stale one is refitted in memory), so the dense
  // model's estimate is on the same scale as every run's
  const dense = LatencyEstimator.create(m, refreshCalibration(m, table).table, graph).total(full);
  const data = await loadDataset('fashion-mnist');
  const top1 = (await evaluate(m, data.test, { normalization: defaultNormalization(data.name) })).top1;
  const cost = selectionCost(graph, Object.fromEntries(graph.groups.map((g) => [g.id, Array.from({ length: g.size }, (_, i) => i)])));
  await mkdir(denseDir, { recursive: true });
  await exportOnnx({ model, out: denseOnnx, producerVersion: 'bench' });
  const r = {
    method: 'dense',
    dense: true,
    top1,
    latency_ms: dense,
    fps: (128 * 1000) / dense,
    dense_latency_ms: dense,
    target_latency_ms: dense,
    train_seconds: 0,
    images_seen: 0,
    params: cost.params,
    macs: cost.macs,
    kept: full,
    finished: true,
  };
  await writeFile(join(denseDir, 'result.json'), JSON.stringify(r, null, 2));
  m.dispose();
}
/** The `latprune prune` command a run directory's config.json records, if any. */
async function recordedCommand(dir: string): Promise<string | undefined> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  const c = (JSON.parse(await readFile(file, 'utf8')) as { command?: unknown }).command;
  return typeof c === 'string' && c.startsWith('latprune ') ? c : undefined;
}
const commands: Record<string, string> = {};
const extra: string[] = [];
for (const [name, o] of Object.entries(runs)) {
  const out = join(values.out!, name);
  commands[name] =
    `latprune prune --model ${o.model} --lut ${lut} --speedup 2 --method ${o.method}${o.fromScratch ? ' --from-scratch' : ''} --epochs ${o.epochs} --lr ${o.lr} --workers ${o.workers} --H ${o.H} --J ${o.J} --Q ${o.Q} --T ${o.T} --steps ${o.steps} --interval ${o.interval}${o.trainSubset ? ` --train-subset ${o.trainSubset}` : ''}${o.explore ? '' : ' --no-explore'}${o.freeze ? '' : ' --no-freeze'}${o.zeroInit ? ' --zero-init' : ''}${o.ramp && o.ramp > 1 ? ` --ramp ${o.ramp}` : ''}${o.ramp && o.ramp > 1 && o.rampInterval !== undefined ? ` --ramp-interval ${o.rampInterval}` : ''}${o.method === 'iee' && o.omega !== base.omega ? ` --omega ${o.omega}` : ''}${o.grow && o.grow !== 'explored' ? ` --grow ${o.grow}` : ''}${o.distill ? ` --distill ${o.distill.teacher} --distill-alpha ${o.distill.alpha} --distill-temperature ${o.distill.temperature}` : ''}${o.checkLatency ? '' : ' --no-check-latency'} --out ${out}`;
  // a run trained by hand (or by an earlier version of this bench) records the command it was run with
  const recorded = await recordedCommand(out);
  if (recorded) commands[name] = recorded;
  if (only && !only.has(name)) continue;
  if (!existsSync(join(out, 'selection.json'))) {
    if (values['measure-only']) continue;
    await runPrune({ ...o, out, resume: existsSync(join(out, 'checkpoint.ckpt')), command: commands[name]! }, info.tfjsName, (l) =>
      process.stderr.write(`${name}: ${l}\n`),
    );
  }
  if (!existsSync(join(out, 'model.onnx'))) await exportOnnx({ run: out, out: join(out, 'model.onnx'), producerVersion: 'bench' });
}
// FPS of every exported model, measured at the end with nothing training: rounds
// over all models in turn (interleaved A/B), median of the rounds' medians
// a measure-only pass also takes any other finished run in --out (runs trained by hand, or named
// by other flags of an earlier pass), with the command its config.json records
if (values['measure-only']) {
  for (const e of await readdir(values.out!, { withFileTypes: true })) {
    const dir = join(values.out!, e.name);
    if (e.name === 'dense' || e.name in runs || !(e.isDirectory() || e.isSymbolicLink()) || !existsSync(join(dir, 'selection.json')))
      continue;
    if (only && !only.has(e.name)) continue;
    const recorded = await recordedCommand(dir);
    if (recorded) commands[e.name] = recorded;
    extra.push(e.name);
    if (!existsSync(join(dir, 'model.onnx'))) await exportOnnx({ run: dir, out: join(dir, 'model.onnx'), producerVersion: 'bench' });
  }
}
const finished = ['dense', ...Object.keys(runs), ...extra].filter(
  (n) => existsSync(join(values.out!, n, 'model.onnx')) && existsSync(join(values.out!, n, 'result.json')),
);
const perRound: Record<string, VerifyResult[]> = Object.fromEntries(finished.map((n) => [n, []]));
const resultOf: Record<string, PruneResult & { dense?: boolean }> = {};
for (const name of finished)
  resultOf[name] = JSON.parse(await readFile(join(values.out!, name, 'result.json'), 'utf8')) as PruneResult & { dense?: boolean };
const rounds = Number(values.rounds);
for (let r = 0; r < rounds; r++) {
  for (const name of finished) {
    perRound[name]!.push(
      await verifyOnnx({
        model: join(values.out!, name, 'model.onnx'),
        batch: 128,
        targetFps: (128 * 1000) / resultOf[name]!.target_latency_ms,
        lut,
        threads,
        timeMs: 2000,
      }),
    );
  }
  process.stderr.write(`measured round ${r + 1}/${rounds}\n`);
}
for (const name of finished) {
  const dir = join(values.out!, name);
  const r = resultOf[name]!;
  const vs = perRound[name]!;
  const ms = median(vs.map((v) => v.median_ms));
  const targetFps = (128 * 1000) / r.target_latency_ms;
  const fps = (128 * 1000) / ms;
  // the pass as a whole: every figure (and the verdict) from the median over the rounds, none from one round
  const predicted = vs[0]!.predicted_ms;
  const met = fps >= targetFps;
  const figures = {
    model: vs[0]!.model,
    batch: vs[0]!.batch,
    ep: vs[0]!.ep,
    threads: vs[0]!.threads,
    runs: vs.reduce((a, x) => a + x.runs, 0),
    median_ms: ms,
    fps,
    target_fps: targetFps,
    met,
    ...(predicted !== undefined
      ? { predicted_ms: predicted, predicted_fps: (128 * 1000) / predicted, prediction_error: (ms - predicted) / predicted }
      : {}),
  };
  const v = { ...figures, verdict: verifyVerdict(figures), rounds: vs.map((x) => Number(x.median_ms.toFixed(3))) };
  // speed-up over the dense model timed in the same round: the machine's drift (the same file
  // measured 7-12% apart twenty minutes apart here) cancels, what the pruning bought does not
  const denseRounds = perRound['dense'] ?? [];
  const speedup = denseRounds.length === vs.length ? median(vs.map((x, i) => denseRounds[i]!.median_ms / x.median_ms)) : undefined;
  // asked: 2x the dense model's estimate under the table the run was pruned with (runs kept from
  // an earlier pass may have used an older calibration of the table)
  const askedSpeedup = r.dense_latency_ms > 0 ? r.dense_latency_ms / r.target_latency_ms : undefined;
  await writeFile(join(dir, 'verify.json'), JSON.stringify(v, null, 2));
  results[name] = {
    ...r,
    measured_ms: Number(ms.toFixed(3)),
    measured_fps: Number(fps.toFixed(1)),
    target_fps: Number(targetFps.toFixed(1)),
    ...(r.dense
      ? {}
      : {
          target_met: met,
          within_10pct: met && fps <= 1.1 * targetFps,
          // the table's estimate (a checked run's latency_ms is what its check measured)
          predicted_error: Number((((r.estimated_latency_ms ?? r.latency_ms) - ms) / ms).toFixed(4)),
        }),
    ...(!r.dense && speedup !== undefined && askedSpeedup !== undefined
      ? {
          measured_speedup: Number(speedup.toFixed(4)),
          asked_speedup: Number(askedSpeedup.toFixed(4)),
          speedup_met: speedup >= askedSpeedup,
          speedup_within_10pct: speedup >= askedSpeedup && speedup <= 1.1 * askedSpeedup,
        }
      : {}),
    ...(commands[name] ? { command: commands[name] } : {}),
  };
}
/**
 * The speed-up the on-device check measured for the selection the run kept
 * (the last check record, or the round it restored; records of an attempt
 * interrupted by a kill come before the last attempt's round 0), and the
 * number of selections it timed.
 */
async function checkedSpeedup(dir: string): Promise<{ speedup: number; rounds: number } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
  } catch {
    return undefined;
  }
  const recs = text
    .split('\n')
    .filter((l) => l.includes('"latency-check"'))
    .map((l) => JSON.parse(l) as { round?: number; measured_speedup?: number; restored_round?: number });
  // records written before check rounds were numbered: one attempt, the last selection kept
  const start = recs.some((r) => r.round !== undefined) ? recs.map((r) => r.round).lastIndexOf(0) : 0;
  const attempt = recs.slice(Math.max(0, start));
  const last = attempt.at(-1);
  if (!last) return undefined;
  const kept = last.restored_round !== undefined ? attempt[last.restored_round] : last;
  return kept?.measured_speedup === undefined ? undefined : { speedup: kept.measured_speedup, rounds: attempt.length };
}
for (const n of finished) {
  const c = await checkedSpeedup(join(values.out!, n));
  if (c && results[n]) Object.assign(results[n]!, { check_speedup: Number(c.speedup.toFixed(4)), check_rounds: c.rounds });
}
// one measurement pass: every entry it measured carries its time. Entries of runs this pass
// did not measure (run directories of earlier passes, not kept) stay as they were, with
// their own pass time, so the file keeps every method's latest figures
const pass = new Date().toISOString();
for (const r of Object.values(results)) r['measured_at'] = pass;
const resultsFile = 'bench/results/halp-vs-iee.json';
const previous = existsSync(resultsFile) ? (JSON.parse(await readFile(resultsFile, 'utf8')) as Record<string, unknown>) : {};
const kept = Object.fromEntries(
  Object.entries(previous).filter(([k, v]) => !(k in results) && v !== null && typeof v === 'object' && 'top1' in v),
);
await writeFile(
  `${resultsFile}.tmp`,
  `${JSON.stringify({ device: deviceFingerprint(), lut, epochs, scratch_epochs: Number(values['scratch-epochs']), ablation: abl, ...kept, ...results }, null, 2)}\n`,
);
await rename(`${resultsFile}.tmp`, resultsFile);
// the report is rebuilt from the stored results (bench/report.ts; `npm run bench:report` does the same)
writeReport();
console.log(JSON.stringify({ bench: 'halp-vs-iee', ...results }));
