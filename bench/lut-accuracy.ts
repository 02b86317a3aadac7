/**
 * bench:lut-accuracy — how well latency tables predict whole networks.
 *
 * For ResNet-20 (28x28x1, batch 128) and MobileNet-V1 (224x224x3, batch 1):
 * 30 random selections (each group keeps a uniform 20-100% of its channels,
 * so most widths are off the runtime's fast multiples), each exported as a
 * compact ONNX model (random weights) and timed with ONNX Runtime (every
 * selection once per round, median of 5 rounds); compared
 * with latprune's estimate from the committed table and with the HALP-style
 * sum of each conv timed alone. Prints median and p90 of
 * |predicted - measured| / measured, and a final JSON line (with every
 * network's kept counts, per-round times and estimate).
 *
 *   npm run bench:lut-accuracy [-- --samples 30 --models resnet20,mobilenet_v1 --lut-dir latency-tables --align 1 --rounds 5 --control 32 --no-halp]
 *   npm run bench:lut-accuracy -- --models resnet20 --save   # also store it in bench/results/ and RESULTS.md
 *   npm run bench:lut-accuracy -- --ep webgpu --models resnet50,resnet50_b32,mobilenet_v1 [--lut PATH]
 *
 * `--ep webgpu` times on the GPU (ORT's WebGPU EP) against the tables under
 * `<lut-dir>/<gpu fingerprint>/` (`<model>-b<batch>-ort-webgpu.json`);
 * `--lut` names the table itself (one model). `resnet50_b32` is ResNet-50 at
 * batch 32.
 *
 * `--align 4` samples only widths on the table's channel multiple (what
 * `latprune prune` produces by default). `--no-halp` skips the HALP-style
 * sum (timing every conv alone is most of the bench's time).
 *
 * Control group (`--control 24`): the first N networks the table was
 * calibrated on are timed again in the same rounds. Three figures separate
 * the estimator's error from the machine's:
 * - `control_drift`: the controls' now / then ratio, how far the machine has
 *   moved since calibration; `latprune_*_err_drift_corrected` scales the
 *   estimates by it;
 * - `latprune_*_err_refit`: the table's calibration model refitted on the
 *   controls as timed now, then applied to the random networks (which it has
 *   not seen): the estimator with a fresh calibration
 *   (`latprune profile --recalibrate` refits a table the same way);
 * - `noise_floor_*_err`: each random network's median over the odd rounds
 *   against its median over the even rounds, i.e. the error of an oracle that
 *   timed the network itself in the same run. When that is above the target,
 *   the machine is too noisy at that moment to show the target.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { initBackend } from '../src/backend/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { analyzeModel, layerWidths } from '../src/graph/index.js';
import { seededRandom } from '../src/util/random.js';
import {
  LatencyEstimator,
  OrtRuntime,
  coutOfKeep,
  defaultTablePath,
  deviceFingerprint,
  errorStats,
  GPU_TIMING,
  gpuFingerprint,
  gpuSummary,
  keepToSelection,
  loadTable,
  median,
  randomKeep,
  applyCalibration,
  chooseCalibration,
  type CalibrationSample,
  signedLayers,
} from '../src/latency/index.js';
import { saveLutAccuracyRun } from './store.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '30' },
    models: { type: 'string', default: 'resnet20,mobilenet_v1' },
    'lut-dir': { type: 'string', default: 'latency-tables' },
    seed: { type: 'string', default: '2024' },
    /** Kept counts rounded to multiples of this (4 = ORT CPU's channel multiple here: every layer on the blocked kernels). */
    align: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    control: { type: 'string', default: '32' },
    /** Also time every conv alone for the HALP-style sum (the slow part of the bench); `--no-halp` skips it. */
    halp: { type: 'boolean', default: true },
    /** Execution provider: cpu (default) or webgpu. */
    ep: { type: 'string', default: 'cpu' },
    /** Also store the run in bench/results/lut-accuracy.json and rebuild bench/RESULTS.md. */
    save: { type: 'boolean', default: false },
    /** The table to use (one model) instead of the default path. */
    lut: { type: 'string' },
    /** Input size for the zoo model (HxWxC) instead of the case's (smoke runs). */
    input: { type: 'string' },
    /** Batch instead of the case's (smoke runs). */
    batch: { type: 'string' },
  },
  allowNegative: true,
});

interface Case {
  readonly zoo: string;
  readonly tag: string;
  readonly input: [number, number, number];
  readonly classes: number;
  readonly batch: number;
}
const CASES: Record<string, Case> = {
  resnet20: { zoo: 'resnet20', tag: 'resnet20-28x28x1', input: [28, 28, 1], classes: 10, batch: 128 },
  mobilenet_v1: { zoo: 'mobilenet_v1', tag: 'mobilenet_v1', input: [224, 224, 3], classes: 1000, batch: 1 },
  resnet50: { zoo: 'resnet50', tag: 'resnet50', input: [224, 224, 3], classes: 1000, batch: 1 },
  resnet50_b32: { zoo: 'resnet50', tag: 'resnet50', input: [224, 224, 3], classes: 1000, batch: 32 },
};

const round3 = (v: number): number => Number(v.toFixed(3));

await initBackend({ requested: 'cpu' });
const ep = values.ep!;
const rt = await OrtRuntime.create({ ep, threads: os.cpus().length });
const fingerprint = rt.gpu ? gpuFingerprint(rt.gpu) : deviceFingerprint();
const tableTag = ep === 'cpu' ? 'ort' : `ort-${ep}`;
const result: Record<string, unknown> = {
  bench: 'lut-accuracy',
  device: fingerprint,
  ep,
  ...(rt.gpu ? { gpu: gpuSummary(rt.gpu) } : {}),
  ort: rt.version,
  threads: rt.threads,
};
// the GPU's protocol (GPU_TIMING) for its steadier timings; the CPU's as it was
const timing = rt.gpu ? { ...GPU_TIMING, sessions: 1 } : { warmup: 3, minRuns: 10, maxRuns: 40, relCi: 0.02, capSeconds: 4 };
try {
  for (const name of values.models!.split(',')) {
    const c0 = CASES[name];
    if (!c0) throw new Error(`unknown model ${name}; choose from ${Object.keys(CASES).join(', ')}`);
    const input = values.input ? (values.input.split('x').map(Number) as [number, number, number]) : undefined;
    const c: Case = {
      ...c0,
      ...(input ? { input, tag: `${c0.zoo}-${input.join('x')}` } : {}),
      ...(values.batch ? { batch: Number(values.batch) } : {}),
    };
    const path = values.lut ?? defaultTablePath(values['lut-dir']!, fingerprint, c.tag, c.batch, tableTag);
    if (!existsSync(path))
      throw new Error(
        `${path} is missing: build it with \`latprune profile --model ${c.zoo} --input ${c.input.join('x')} --batch ${c.batch}${ep === 'cpu' ? '' : ` --ep ${ep}`}\``,
      );
    const table = await loadTable(path);
    const model = buildZooModel(c.zoo, { inputShape: c.input, numClasses: c.classes, seed: 1 });
    const graph = analyzeModel(model);
    const est = LatencyEstimator.create(model, table, graph);
    const layers = signedLayers(model).filter((l) => l.signature.op !== 'gemm');
    const rnd = seededRandom(Number(values.seed));
    const alone = new Map<string, number>();
    const ours: number[] = [];
    const halp: number[] = [];
    const measured: number[] = [];
    const detail: {
      keep: Record<string, number>;
      measured_ms: number;
      rounds_ms: number[];
      latprune_ms: number;
      plain_ms: number;
      halp_ms?: number;
    }[] = [];
    const n = Number(values.samples);
    const rounds = Number(values.rounds);
    const keeps = Array.from({ length: n }, () => randomKeep(graph, rnd, 0.2, Number(values.align)));
    const controls = (table.calibration?.samples ?? []).slice(0, Number(values.control));
    const all = [...keeps, ...controls.map((s) => s.keep)];
    const widthsOf = keeps.map((keep) => layerWidths(graph, keepToSelection(graph, keep)));
    // every selection once per round (one session each), median over the rounds: minute-scale
    // drift of the machine then hits all selections alike
    const times: number[][] = all.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < all.length; i++)
        times[i]!.push(
          (await rt.measureNetwork({ model, coutOf: coutOfKeep(graph, all[i]!), batch: c.batch }, { ...timing, sessions: 1 })).ms,
        );
      process.stderr.write(`${name}: round ${r + 1}/${rounds} measured\n`);
    }
    // control group: the calibration's own networks, then and now
    const drifts = controls.map((s, j) => median(times[n + j]!) / s.measuredMs);
    const drift = drifts.length ? median(drifts) : 1;
    if (controls.length)
      process.stderr.write(
        `${name}: control (calibration networks) now / at calibration: median ${drift.toFixed(3)} (${drifts.map((d) => d.toFixed(2)).join(' ')})\n`,
      );
    for (let i = 0; i < n; i++) {
      const widths = widthsOf[i]!;
      const ms = median(times[i]!);
      measured.push(ms);
      const e = est.estimate(widths);
      ours.push(e.totalMs);
      let sum = 0;
      for (const l of values.halp ? layers : []) {
        const cin = widths[l.layer]!.inputs[0]!;
        const cout = widths[l.layer]!.outputs[0]!;
        const key = `${l.key}|${cin}|${cout}`;
        if (!alone.has(key))
          alone.set(
            key,
            await rt.measureStandalone(l.signature, cin, cout, c.batch, { warmup: 2, minRuns: 5, maxRuns: 30, capSeconds: 1 }),
          );
        sum += alone.get(key)!;
      }
      if (values.halp) halp.push(sum);
      detail.push({
        keep: keeps[i]!,
        measured_ms: round3(ms),
        rounds_ms: times[i]!.map(round3),
        latprune_ms: round3(e.totalMs),
        plain_ms: round3(e.plainMs),
        ...(values.halp ? { halp_ms: round3(sum) } : {}),
      });
      process.stderr.write(
        `${name} ${i + 1}/${n}: measured ${ms.toFixed(2)} ms (rounds ${times[i]!.map((t) => t.toFixed(2)).join(' ')}), latprune ${ours.at(-1)!.toFixed(2)} (plain-kernel part ${e.plainMs.toFixed(2)})${values.halp ? `, HALP-style ${sum.toFixed(2)}` : ''}\n`,
      );
    }
    const eo = errorStats(ours, measured);
    const ec = errorStats(
      ours.map((p) => p * drift),
      measured,
    );
    const eh = values.halp ? errorStats(halp, measured) : undefined;
    // fresh calibration: the table's calibration model refitted on the control networks as timed now
    // (same rounds as the random ones), then applied to the random networks, which it has not seen
    const featuresOf = (keep: Record<string, number>, ms: number): CalibrationSample => {
      const b = est.estimate(layerWidths(graph, keepToSelection(graph, keep)));
      return { measuredMs: ms, partsMs: b.layersMs + b.reorderMs, plainMs: b.plainMs, otherMElems: b.otherMElems };
    };
    const refit = controls.length >= 4 ? chooseCalibration(controls.map((s, j) => featuresOf(s.keep, median(times[n + j]!)))) : undefined;
    const er = refit
      ? errorStats(
          keeps.map((k, i) => applyCalibration(refit, featuresOf(k, measured[i]!))),
          measured,
        )
      : undefined;
    // noise floor: each random network's median over the odd rounds predicted by its median over
    // the even rounds (an oracle that knows the network); no estimator can beat this here and now
    const ef =
      rounds >= 2
        ? errorStats(
            times.slice(0, n).map((t) => median(t.filter((_, r) => r % 2 === 1))),
            times.slice(0, n).map((t) => median(t.filter((_, r) => r % 2 === 0))),
          )
        : undefined;
    const control = controls.map((s, j) => ({
      keep: s.keep,
      calibration_ms: round3(s.measuredMs),
      measured_ms: round3(median(times[n + j]!)),
      rounds_ms: times[n + j]!.map(round3),
      latprune_ms: round3(est.total(s.keep)),
    }));
    const dense = est.total(Object.fromEntries(graph.groups.map((g) => [g.id, g.size])));
    const pc = (e: { median: number; p90: number }): string => `${(100 * e.median).toFixed(1)}% / ${(100 * e.p90).toFixed(1)}%`;
    process.stderr.write(
      `${name}: latprune median ${(100 * eo.median).toFixed(1)}% p90 ${(100 * eo.p90).toFixed(1)}% (drift-corrected ${pc(ec)}${er ? `; calibration refitted on the ${controls.length} control networks: ${pc(er)}` : ''}${ef ? `; noise floor (odd vs even rounds): ${pc(ef)}` : ''})${eh ? `; HALP-style median ${(100 * eh.median).toFixed(1)}% p90 ${(100 * eh.p90).toFixed(1)}%` : ''}\n`,
    );
    result[name] = {
      table: path,
      batch: c.batch,
      samples: n,
      align: Number(values.align),
      rounds: Number(values.rounds),
      latprune_median_err: Number(eo.median.toFixed(4)),
      latprune_p90_err: Number(eo.p90.toFixed(4)),
      control_networks: controls.length,
      control_drift: Number(drift.toFixed(4)),
      latprune_median_err_drift_corrected: Number(ec.median.toFixed(4)),
      latprune_p90_err_drift_corrected: Number(ec.p90.toFixed(4)),
      ...(er ? { latprune_median_err_refit: Number(er.median.toFixed(4)), latprune_p90_err_refit: Number(er.p90.toFixed(4)) } : {}),
      ...(ef ? { noise_floor_median_err: Number(ef.median.toFixed(4)), noise_floor_p90_err: Number(ef.p90.toFixed(4)) } : {}),
      ...(eh ? { halp_median_err: Number(eh.median.toFixed(4)), halp_p90_err: Number(eh.p90.toFixed(4)) } : {}),
      measured_ms_median: Number([...measured].sort((a, b) => a - b)[Math.floor(n / 2)]!.toFixed(3)),
      dense_estimate_ms: Number(dense.toFixed(3)),
      networks: detail,
      control,
    };
    model.dispose();
  }
} finally {
  await rt.dispose();
}
if (values.save) {
  const file = await saveLutAccuracyRun(process.argv.slice(2), result);
  process.stderr.write(`stored in ${file}; bench/RESULTS.md rebuilt\n`);
}
console.log(JSON.stringify(result));
