/**
 * `latprune verify`: measures an ONNX model's throughput with ONNX Runtime
 * (on the CPU, or the GPU with `--ep webgpu`: sessions are then warmed up
 * until their runs are stable, past shader compilation)
 * (warm-up, then a tinybench task; median and p10/p90 latency, FPS = batch /
 * median) against a target FPS and, with a latency table, against the
 * table's prediction for the model.
 *
 * With a baseline (`--baseline dense.onnx`) the two models are timed in
 * alternating sessions (A B, B A, ...; see `timeAlternating`) and the
 * speed-up is the median over the pairs of the ratio of their median
 * latencies: on a shared machine whose speed drifts by several percent within
 * minutes, a ratio timed this way holds where absolute FPS does not
 * (`--target-speedup` checks it).
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { Bench } from 'tinybench';
import { LatpruneError } from '../errors.js';
import { decodeModel } from '../onnx/index.js';
import { analyzeModel } from '../graph/index.js';
import {
  LatencyEstimator,
  alternatingSpeedup,
  describeGpu,
  deviceMismatchWarning,
  isWebGpu,
  warmUpUntilStable,
  loadTable,
  median as medianOf,
  refittedCalibrationNote,
  refreshCalibration,
  sessionWorkload,
  timeAlternating,
  timedRun,
} from '../latency/index.js';
import { loadModel } from '../model/index.js';
import { buildZooModel, zooNames } from '../zoo/index.js';
import { randomFloats } from '../util/random.js';
import { parseOptions, wholeNumber } from '../util/options.js';
import { z } from 'zod';

/** Options of {@link verifyOnnx}. */
export interface VerifyOptions {
  readonly model: string;
  readonly targetFps?: number;
  /** Batch size (default: the export's table batch, else 1). */
  readonly batch?: number;
  readonly ep?: string;
  /** Intra-op threads (default: one per core, as `latprune profile`). */
  readonly threads?: number;
  readonly lut?: string;
  /** Timed milliseconds (default 3000) and at least this many runs (default 20). */
  readonly timeMs?: number;
  readonly minRuns?: number;
  /** Another ONNX model with the same input size (e.g. the dense one), timed in alternation with `model`. */
  readonly baseline?: string;
  /** Required speed-up over `baseline` (baseline latency / model latency). */
  readonly targetSpeedup?: number;
}

const positive = z.number().finite().positive('must be a number > 0');
const whole = wholeNumber(1);

/** The options of {@link verifyOnnx} as a schema: checked (and defaulted) before any model is read. */
export const verifyOptionsSchema = z
  .object({
    model: z.string().min(1, 'give the ONNX file to time'),
    targetFps: positive.optional(),
    batch: whole.optional(),
    ep: z.string().min(1).default('cpu'),
    threads: whole.optional(),
    lut: z.string().min(1).optional(),
    timeMs: positive.optional(),
    minRuns: whole.optional(),
    baseline: z.string().min(1).optional(),
    targetSpeedup: positive.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.targetSpeedup !== undefined && !o.baseline)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['targetSpeedup'],
        message: 'needs --baseline <model.onnx> (the model the speed-up is measured against)',
      });
  });

/** The `latprune verify` flag of each option. */
export const VERIFY_FLAGS: Readonly<Record<string, string>> = {
  model: '<model.onnx>',
  targetFps: '--target-fps',
  batch: '--batch',
  ep: '--ep',
  threads: '--threads',
  lut: '--lut',
  baseline: '--baseline',
  targetSpeedup: '--target-speedup',
};

/** Measured and predicted figures. */
export interface VerifyResult {
  readonly model: string;
  readonly batch: number;
  readonly ep: string;
  readonly threads: number;
  readonly runs: number;
  readonly median_ms: number;
  readonly p10_ms: number;
  readonly p90_ms: number;
  readonly fps: number;
  readonly target_fps?: number;
  readonly met?: boolean;
  readonly predicted_ms?: number;
  readonly predicted_fps?: number;
  /** (measured - predicted) / predicted. */
  readonly prediction_error?: number;
  /** With a baseline: its median latency in the interleaved runs, ms. */
  readonly baseline_median_ms?: number;
  /** With a baseline: median over the interleaved pairs of baseline / model latency. */
  readonly speedup?: number;
  readonly target_speedup?: number;
  readonly speedup_met?: boolean;
  readonly verdict: string;
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

interface OpenedModel {
  readonly bytes: Uint8Array;
  readonly summary: ReturnType<typeof decodeModel>;
  readonly inputName: string;
  /** Input dims after the batch. */
  readonly dims: readonly number[];
  readonly fixedBatch?: number;
}

async function openModel(path: string, what: string): Promise<OpenedModel> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    throw new LatpruneError('NOT_FOUND', `${what}${path} does not exist; export one with \`latprune export\`.`);
  }
  const summary = decodeModel(bytes, path);
  const inp = summary.inputs[0];
  if (!inp?.shape || inp.shape.length < 2)
    throw new LatpruneError('BAD_FILE', `${what}${path}: the model has no input with a known shape.`);
  const dims = inp.shape;
  if (dims.slice(1).some((d) => typeof d !== 'number'))
    throw new LatpruneError(
      'BAD_FILE',
      `${what}${path}: input '${inp.name}' has symbolic non-batch dims [${dims.join(', ')}]; latprune verifies fixed image sizes.`,
    );
  return {
    bytes,
    summary,
    inputName: inp.name,
    dims: dims.slice(1) as number[],
    ...(typeof dims[0] === 'number' ? { fixedBatch: dims[0] } : {}),
  };
}

/**
 * Measures `options.model` and compares it with the target and the table.
 *
 * @param options - see {@link VerifyOptions}; validated against {@link verifyOptionsSchema} first
 * @param warn - receives warnings (busy host, table mismatch)
 * @throws LatpruneError `BAD_ARGUMENT` naming a bad option by its flag; `NOT_FOUND`/`BAD_FILE` for a model that cannot be read; `RUNTIME` for an unavailable execution provider
 */
export async function verifyOnnx(options: VerifyOptions, warn: (l: string) => void = () => {}): Promise<VerifyResult> {
  const o = parseOptions(verifyOptionsSchema, options, { flags: VERIFY_FLAGS }, 'verify');
  const m = await openModel(o.model, '');
  const summary = m.summary;
  const meta = summary.metadata;
  const tableBatch = meta['latprune.table_batch'] ? Number(meta['latprune.table_batch']) : undefined;
  const batch = o.batch ?? m.fixedBatch ?? tableBatch ?? 1;
  if (m.fixedBatch !== undefined && m.fixedBatch !== batch) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--batch ${batch}: ${o.model} has a fixed batch of ${m.fixedBatch}; omit --batch or export with a dynamic batch.`,
    );
  }
  const base = o.baseline ? await openModel(o.baseline, '--baseline: ') : undefined;
  if (base) {
    if (base.dims.join('x') !== m.dims.join('x'))
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--baseline: ${o.baseline} takes inputs of [${base.dims.join(', ')}] but ${o.model} takes [${m.dims.join(', ')}]; compare models of the same input size.`,
      );
    if (base.fixedBatch !== undefined && base.fixedBatch !== batch)
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--baseline: ${o.baseline} has a fixed batch of ${base.fixedBatch}, the model is timed at batch ${batch}; export both with a dynamic batch or the same one.`,
      );
  }
  const shape = [batch, ...m.dims];
  const ep = o.ep;
  const available = ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name);
  if (!available.includes(ep))
    throw new LatpruneError('RUNTIME', `--ep ${ep}: not in this onnxruntime-node build (available: ${available.join(', ')}).`);
  const threads = o.threads ?? os.cpus().length;
  const gpu = isWebGpu(ep);
  if (gpu) {
    const g = describeGpu();
    if (!g.available)
      throw new LatpruneError(
        'RUNTIME',
        `--ep webgpu: ONNX Runtime could not open a WebGPU device (${g.reason}); Vulkan devices seen: ${g.vulkanDevices.join(', ') || 'none'}.`,
      );
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const x = new ort.Tensor(
    'float32',
    randomFloats(
      shape.reduce((a, b) => a * b, 1),
      3,
    ),
    shape,
  );
  let samples: number[];
  let pairs: { a: number[][]; b: number[][] } | undefined;
  if (base) {
    // sessions in alternating blocks (A B, B A, ...): each block's session is released before
    // the next opens, so one session's spinning threads never slow the other's runs
    const n = 4;
    pairs = await timeAlternating(sessionWorkload(m.bytes, sessionOptions, x, gpu), sessionWorkload(base.bytes, sessionOptions, x, gpu), {
      pairs: n,
      blockMs: (o.timeMs ?? 3000) / n,
      minRuns: Math.ceil((o.minRuns ?? 20) / n),
      warmup: 5,
    });
    samples = pairs.a.flat().sort((p, q) => p - q);
  } else {
    const session = await ort.InferenceSession.create(m.bytes, sessionOptions);
    try {
      const feeds = { [m.inputName]: x };
      // on the GPU the first runs compile the shaders (seconds): past them before tinybench's own warm-up
      if (gpu) await warmUpUntilStable(timedRun(session, feeds), 1);
      const bench = new Bench({
        time: o.timeMs ?? 3000,
        iterations: o.minRuns ?? 20,
        warmupTime: 500,
        warmupIterations: 5,
        retainSamples: true,
        throws: true,
      });
      bench.add('run', async () => {
        await session.run(feeds);
      });
      await bench.run();
      const r = bench.tasks[0]!.result;
      if (r.state !== 'completed') throw new LatpruneError('RUNTIME', `timing ended in state ${r.state}`);
      samples = [...(r.latency.samples ?? [])].sort((p, q) => p - q);
      if (!samples.length) samples = [r.latency.p50];
    } finally {
      await session.release();
    }
  }
  const median = quantile(samples, 0.5);
  const fps = (batch * 1000) / median;
  let predicted: number | undefined;
  if (o.lut) {
    const table = await loadTable(o.lut);
    const w = deviceMismatchWarning(table, o.lut);
    if (w) warn(w);
    const source = meta['latprune.source_model'];
    if (!source)
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--lut: ${o.model} has no latprune metadata naming its source model; export it with \`latprune export\`.`,
      );
    const classes = summary.outputs[0]?.shape?.[1];
    const model = zooNames().includes(source)
      ? buildZooModel(source, { inputShape: table.input, ...(typeof classes === 'number' ? { numClasses: classes } : {}), seed: 1 })
      : await loadModel(source);
    try {
      const graph = analyzeModel(model);
      const fresh = refreshCalibration(model, table);
      if (fresh.refitted) warn(refittedCalibrationNote(o.lut, table));
      const est = LatencyEstimator.create(model, fresh.table, graph);
      const kept = meta['latprune.kept']
        ? (JSON.parse(meta['latprune.kept']) as Record<string, number>)
        : Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
      predicted = (est.total(kept) * batch) / table.batch;
    } finally {
      model.dispose();
    }
  }
  const fpsMet = o.targetFps === undefined ? undefined : fps >= o.targetFps;
  // per pair of blocks: baseline median / model median; the median over the pairs
  const speedup = pairs ? alternatingSpeedup(pairs) : undefined;
  const baseMs = pairs ? medianOf(pairs.b.flat()) : undefined;
  const speedupMet = o.targetSpeedup === undefined || speedup === undefined ? undefined : speedup >= o.targetSpeedup;
  const met = fpsMet === undefined && speedupMet === undefined ? undefined : fpsMet !== false && speedupMet !== false;
  const figures: Omit<VerifyResult, 'verdict'> = {
    model: o.model,
    batch,
    ep,
    threads,
    runs: samples.length,
    median_ms: median,
    p10_ms: quantile(samples, 0.1),
    p90_ms: quantile(samples, 0.9),
    fps,
    ...(o.targetFps !== undefined ? { target_fps: o.targetFps } : {}),
    ...(met !== undefined ? { met } : {}),
    ...(predicted !== undefined
      ? { predicted_ms: predicted, predicted_fps: (batch * 1000) / predicted, prediction_error: (median - predicted) / predicted }
      : {}),
    ...(speedup !== undefined ? { baseline_median_ms: baseMs!, speedup } : {}),
    ...(o.targetSpeedup !== undefined ? { target_speedup: o.targetSpeedup, speedup_met: speedupMet! } : {}),
  };
  return { ...figures, verdict: verifyVerdict(figures, pairs ? { file: o.baseline!, pairs: pairs.a.length } : undefined) };
}

/**
 * The one-line verdict of a measurement (what `latprune verify` prints):
 * PASS/FAIL when it had a target, FPS against the target, the median, the
 * speed-up over a baseline, and the table's prediction.
 *
 * @param r - the measured figures
 * @param baseline - with a speed-up: the baseline file and how many pairs of alternating sessions timed it
 */
export function verifyVerdict(
  r: Pick<
    VerifyResult,
    | 'fps'
    | 'target_fps'
    | 'met'
    | 'median_ms'
    | 'batch'
    | 'ep'
    | 'threads'
    | 'predicted_ms'
    | 'speedup'
    | 'baseline_median_ms'
    | 'target_speedup'
    | 'speedup_met'
  >,
  baseline?: { readonly file: string; readonly pairs: number },
): string {
  const fpsMet = r.target_fps === undefined ? undefined : r.fps >= r.target_fps;
  return (
    (r.met === undefined ? '' : `${r.met ? 'PASS' : 'FAIL'}: `) +
    (r.target_fps === undefined ? `${r.fps.toFixed(1)} FPS` : `${r.fps.toFixed(1)} FPS ${fpsMet ? '>=' : '<'} target ${r.target_fps}`) +
    ` (median ${r.median_ms.toFixed(3)} ms at batch ${r.batch}, ${r.ep}, ${r.threads} threads)` +
    (r.speedup !== undefined && baseline
      ? `; ${r.speedup.toFixed(3)}x the speed of ${baseline.file} (${r.baseline_median_ms!.toFixed(3)} ms; ${baseline.pairs} pairs of alternating sessions)` +
        (r.target_speedup !== undefined ? ` ${r.speedup_met ? '>=' : '<'} target ${r.target_speedup}x` : '')
      : '') +
    (r.predicted_ms !== undefined
      ? `; table predicted ${r.predicted_ms.toFixed(3)} ms (${(((r.median_ms - r.predicted_ms) / r.predicted_ms) * 100).toFixed(1)}%)`
      : '')
  );
}
