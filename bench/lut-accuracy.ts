/**
 * bench:lut-accuracy — how well latency tables predict whole networks.
 *
 * For ResNet-20 (28x28x1, batch 128) and MobileNet-V1 (224x224x3, batch 1):
 * 30 random selections (each group keeps a uniform 20-100% of its channels,
 * so most widths are off the runtime's fast multiples), each exported as a
 * compact ONNX model (random weights) and timed with ONNX Runtime (every
 * selection once per round, median of 3 rounds); compared
 * with latprune's estimate from the committed table and with the HALP-style
 * sum of each conv timed alone. Prints median and p90 of
 * |predicted - measured| / measured, and a final JSON line.
 *
 *   npm run bench:lut-accuracy [-- --samples 30 --models resnet20,mobilenet_v1 --lut-dir latency-tables --align 1 --rounds 3]
 *
 * `--align 4` samples only widths on the table's channel multiple (what
 * `latprune prune` produces by default).
 *
 * Control group (`--control 8`): the first N networks the table was
 * calibrated on are timed again in the same rounds. Their now / then ratio
 * (`control_drift`) says how far the machine has moved since calibration;
 * `latprune_*_err_drift_corrected` scales the estimates by it, which
 * separates the estimator's own error from the machine's drift.
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
  keepToSelection,
  loadTable,
  median,
  randomKeep,
  signedLayers,
} from '../src/latency/index.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '30' },
    models: { type: 'string', default: 'resnet20,mobilenet_v1' },
    'lut-dir': { type: 'string', default: 'latency-tables' },
    seed: { type: 'string', default: '2024' },
    /** Kept counts rounded to multiples of this (4 = ORT CPU's channel multiple here: every layer on the blocked kernels). */
    align: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    control: { type: 'string', default: '8' },
  },
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
};

await initBackend({ requested: 'cpu' });
const rt = await OrtRuntime.create({ threads: os.cpus().length });
const result: Record<string, unknown> = { bench: 'lut-accuracy', device: deviceFingerprint(), ort: rt.version, threads: rt.threads };
const timing = { warmup: 3, minRuns: 10, maxRuns: 40, relCi: 0.02, capSeconds: 4 };
try {
  for (const name of values.models!.split(',')) {
    const c = CASES[name];
    if (!c) throw new Error(`unknown model ${name}; choose from ${Object.keys(CASES).join(', ')}`);
    const path = defaultTablePath(values['lut-dir']!, deviceFingerprint(), c.tag, c.batch, 'ort');
    if (!existsSync(path)) throw new Error(`${path} is missing: build it with \`latprune profile --model ${c.zoo} --input ${c.input.join('x')} --batch ${c.batch}\``);
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
      for (let i = 0; i < all.length; i++) times[i]!.push((await rt.measureNetwork({ model, coutOf: coutOfKeep(graph, all[i]!), batch: c.batch }, { ...timing, sessions: 1 })).ms);
      process.stderr.write(`${name}: round ${r + 1}/${rounds} measured\n`);
    }
    // control group: the calibration's own networks, then and now
    const drifts = controls.map((s, j) => median(times[n + j]!) / s.measuredMs);
    const drift = drifts.length ? median(drifts) : 1;
    if (controls.length) process.stderr.write(`${name}: control (calibration networks) now / at calibration: median ${drift.toFixed(3)} (${drifts.map((d) => d.toFixed(2)).join(' ')})\n`);
    for (let i = 0; i < n; i++) {
      const widths = widthsOf[i]!;
      const ms = median(times[i]!);
      measured.push(ms);
      const e = est.estimate(widths);
      ours.push(e.totalMs);
      let sum = 0;
      for (const l of layers) {
        const cin = widths[l.layer]!.inputs[0]!;
        const cout = widths[l.layer]!.outputs[0]!;
        const key = `${l.key}|${cin}|${cout}`;
        if (!alone.has(key)) alone.set(key, await rt.measureStandalone(l.signature, cin, cout, c.batch, { warmup: 2, minRuns: 5, maxRuns: 30, capSeconds: 1 }));
        sum += alone.get(key)!;
      }
      halp.push(sum);
      process.stderr.write(`${name} ${i + 1}/${n}: measured ${ms.toFixed(2)} ms (rounds ${times[i]!.map((t) => t.toFixed(2)).join(' ')}), latprune ${ours.at(-1)!.toFixed(2)} (plain-kernel part ${e.plainMs.toFixed(2)}), HALP-style ${sum.toFixed(2)}\n`);
    }
    const eo = errorStats(ours, measured);
    const ec = errorStats(ours.map((p) => p * drift), measured);
    const eh = errorStats(halp, measured);
    const dense = est.total(Object.fromEntries(graph.groups.map((g) => [g.id, g.size])));
    process.stderr.write(`${name}: latprune median ${(100 * eo.median).toFixed(1)}% p90 ${(100 * eo.p90).toFixed(1)}% (drift-corrected ${(100 * ec.median).toFixed(1)}% / ${(100 * ec.p90).toFixed(1)}%); HALP-style median ${(100 * eh.median).toFixed(1)}% p90 ${(100 * eh.p90).toFixed(1)}%\n`);
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
      halp_median_err: Number(eh.median.toFixed(4)),
      halp_p90_err: Number(eh.p90.toFixed(4)),
      measured_ms_median: Number([...measured].sort((a, b) => a - b)[Math.floor(n / 2)]!.toFixed(3)),
      dense_estimate_ms: Number(dense.toFixed(3)),
    };
    model.dispose();
  }
} finally {
  await rt.dispose();
}
console.log(JSON.stringify(result));
