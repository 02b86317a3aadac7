/**
 * `latprune demo` (the README's main command): on the shipped pretrained
 * ResNet-20 and Fashion-MNIST (Debian's, or the shipped subset), reuse the
 * committed latency table for this device (or profile one), prune with HALP
 * and distillation to 2x the dense model's FPS, export ONNX, verify FPS with
 * ONNX Runtime, and print the comparison with the dense model. Outputs in
 * runs/demo/.
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatpruneError } from '../errors.js';
import { loadDataset, defaultNormalization } from '../data/index.js';
import { analyzeModel, fullSelection, selectionCost } from '../graph/index.js';
import { LatencyEstimator, defaultTablePath, deviceFingerprint, loadTable, refreshCalibration } from '../latency/index.js';
import { runPrune } from '../prune/index.js';
import { exportOnnx } from '../export/index.js';
import { verifyOnnx } from '../verify/index.js';
import { compareRuns } from '../report/index.js';
import { evaluate } from '../train/index.js';
import { loadModel } from '../model/index.js';
import { latpruneVersion } from './doctor.js';
import { profileCommand } from './profile.js';

/** Repository root (works from src/ and dist/src/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Default length of the demo's pruning run (iterations of batch 128; see the README for its time and accuracy). */
export const DEMO_ITERATIONS = 400;

/**
 * The demo's safety margin: its selection aims 10% above 2x, not prune's
 * default 5%. On the 2-core host the demo is run on, one pair of files timed
 * in alternation measured 2.084x during pruning and 1.930x at the final
 * verification minutes later (the host's speed moves differently for the
 * pruned and the dense network's kernels); the demo's verdict must not flip
 * on such a swing.
 */
export const DEMO_MARGIN = 0.1;

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly out: string;
  /** Training iterations of the demo's pruning run (batch 128). */
  readonly iterations: number;
  readonly workers: number;
  readonly backend: string;
}

/** Runs the demo; returns the exit code (1 when the pruned model misses its FPS target). */
export async function runDemo(o: DemoOptions, log: (l: string) => void, out: (l: string) => void): Promise<number> {
  const root = repoRoot();
  const modelDir = join(root, 'models', 'resnet20-fashion-mnist');
  if (!existsSync(join(modelDir, 'model.json'))) {
    throw new LatpruneError('NOT_FOUND', `the pretrained default ${modelDir} is missing; train it with the command in models/README.md.`);
  }
  const demo = resolve(o.out);
  await mkdir(demo, { recursive: true });
  const data = await loadDataset('fashion-mnist');
  log(`[1/6] data: Fashion-MNIST from ${data.dir} (${data.origin}); model: ${modelDir}`);

  const committed = defaultTablePath(join(root, 'latency-tables'), deviceFingerprint(), 'resnet20-28x28x1', 128, 'ort');
  let lut = committed;
  if (existsSync(committed) && (await loadTable(committed)).calibration) {
    log(`[2/6] latency table: reusing ${committed} (built on this kind of device)`);
  } else {
    lut = join(demo, 'lut-resnet20-b128.json');
    log(`[2/6] latency table: none committed for ${deviceFingerprint()}; profiling into ${lut} (coarse grid)`);
    await profileCommand(
      {
        model: modelDir,
        batch: 128,
        runtime: 'ort',
        ep: 'cpu',
        grid: { step: 8, points: 5, refine: 1 },
        calibrate: 8,
        out: lut,
        tablesRoot: join(root, 'latency-tables'),
      },
      log,
    );
  }
  const table = await loadTable(lut);

  const runDir = join(demo, 'pruned');
  const finished = existsSync(join(runDir, 'result.json')) && existsSync(join(runDir, 'model', 'model.json'));
  log(
    `[3/6] prune: HALP with distillation to 2x the dense model's FPS, ${o.iterations} iterations of batch 128 (${finished ? 'reusing the finished run' : existsSync(join(runDir, 'checkpoint.ckpt')) ? 'resuming' : 'new run'})`,
  );
  const result = finished
    ? undefined
    : await runPrune(
        {
          // HALP's descent early (planned: about a third of the run), fine-tuning the rest, distilled from the
          // dense model: at this budget the best setting of bench/RESULTS.md (HALP+KD ahead of IEE+KD)
          model: modelDir,
          fromScratch: false,
          dataset: 'fashion-mnist',
          lut,
          target: { speedup: 2 },
          method: 'halp',
          criterion: 'taylor',
          epochs: 1,
          iterations: o.iterations,
          batchSize: 128,
          lr: 0.01,
          weightDecay: 5e-4,
          seed: 1,
          workers: o.workers,
          omega: 0.05,
          minKeepFraction: 0.25,
          schedule: 'cosine',
          explore: true,
          freeze: true,
          zeroInit: false,
          granularity: 0,
          checkLatency: true,
          distill: { teacher: modelDir, alpha: 0.5, temperature: 4 },
          margin: DEMO_MARGIN,
          out: runDir,
          resume: existsSync(join(runDir, 'checkpoint.ckpt')),
          command: 'latprune demo',
        },
        o.backend,
        log,
      );
  if (result) log(`      ${result.verdict}`);
  if (result && result.target_met === false) {
    out(`the pruning run did not meet its target: ${result.verdict}`);
    return 1;
  }

  log('[4/6] export: compact ONNX with a parity check on real images');
  const onnx = join(runDir, 'model.onnx');
  const ex = await exportOnnx({ run: runDir, out: onnx, producerVersion: latpruneVersion() });
  log(
    `      ${onnx}: ${ex.params} parameters, parity ${ex.parity.relDiff.toExponential(1)} relative, top-1 agreement ${(100 * ex.parity.top1Agreement).toFixed(0)}%`,
  );

  log('[5/6] verify: ONNX Runtime speed-up over the dense model (timed in alternation), FPS against the target and the table');
  const model = await loadModel(modelDir);
  const graph = analyzeModel(model);
  const est = LatencyEstimator.create(model, refreshCalibration(model, table).table, graph);
  const denseMs = est.total(Object.fromEntries(graph.groups.map((g) => [g.id, g.size])));
  const targetFps = (2 * table.batch * 1000) / denseMs;
  const denseDir = join(demo, 'dense');
  const denseOnnx = join(denseDir, 'model.onnx');
  await exportOnnx({ model: modelDir, out: denseOnnx, producerVersion: latpruneVersion() });
  // pass/fail on the speed-up over the dense model, both timed in alternation: the machine's speed
  // drifts by several percent within minutes here, which moves absolute FPS but cancels in the ratio
  const v = await verifyOnnx({ model: onnx, baseline: denseOnnx, targetSpeedup: 2, batch: table.batch, lut, threads: os.cpus().length });
  await writeFile(join(runDir, 'verify.json'), JSON.stringify(v, null, 2));
  log(`      ${v.verdict}`);
  log(
    `      absolute: ${v.fps.toFixed(0)} FPS measured, target ${targetFps.toFixed(0)} FPS (2x the table's dense estimate): ${v.fps >= targetFps ? 'met' : 'missed'} in this measurement`,
  );
  const dv = {
    model: denseOnnx,
    batch: v.batch,
    ep: v.ep,
    threads: v.threads,
    runs: v.runs,
    median_ms: v.baseline_median_ms!,
    fps: (table.batch * 1000) / v.baseline_median_ms!,
    timed_with: onnx,
  };
  await writeFile(join(denseDir, 'verify.json'), JSON.stringify(dv, null, 2));
  // the dense model on the same test split as the pruned one (the shipped subset has its own 1,000 images)
  const pruned = JSON.parse(await readFile(join(runDir, 'result.json'), 'utf8')) as { dense_top1?: number | null };
  const top1 = pruned.dense_top1 ?? (await evaluate(model, data.test, { normalization: defaultNormalization(data.name) })).top1;
  const cost = selectionCost(graph, fullSelection(graph));
  await writeFile(
    join(denseDir, 'result.json'),
    JSON.stringify(
      {
        method: 'dense',
        dense: true,
        top1,
        latency_ms: denseMs,
        fps: (table.batch * 1000) / denseMs,
        dense_latency_ms: denseMs,
        params: cost.params,
        macs: cost.macs,
        train_seconds: 0,
        images_seen: 0,
      },
      null,
      2,
    ),
  );
  model.dispose();

  log(`[6/6] compare -> ${join(demo, 'report')}`);
  out(await compareRuns([denseDir, runDir], join(demo, 'report')));
  out(
    `measured speed-up ${v.speedup!.toFixed(2)}x over the dense model (target 2x; ${v.fps.toFixed(0)} FPS, ${targetFps.toFixed(0)} FPS = 2x the table's dense estimate); ${v.verdict}`,
  );
  return v.met === false ? 1 : 0;
}
