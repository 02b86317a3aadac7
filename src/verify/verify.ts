/**
 * `latprune verify`: measures an ONNX model's throughput with ONNX Runtime
 * (warm-up, then a tinybench task; median and p10/p90 latency, FPS = batch /
 * median) against a target FPS and, with a latency table, against the
 * table's prediction for the model.
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { Bench } from 'tinybench';
import { LatpruneError } from '../errors.js';
import { decodeModel } from '../onnx/index.js';
import { analyzeModel } from '../graph/index.js';
import { LatencyEstimator, deviceMismatchWarning, loadTable } from '../latency/index.js';
import { loadModel } from '../train/index.js';
import { buildZooModel, zooNames } from '../zoo/index.js';
import { randomFloats } from '../util/random.js';

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
}

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
  readonly verdict: string;
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/** Measures `o.model` and compares it with the target and the table. */
export async function verifyOnnx(o: VerifyOptions, warn: (l: string) => void = () => {}): Promise<VerifyResult> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(o.model));
  } catch {
    throw new LatpruneError('NOT_FOUND', `${o.model} does not exist; export one with \`latprune export\`.`);
  }
  const summary = decodeModel(bytes, o.model);
  const meta = summary.metadata;
  const inp = summary.inputs[0];
  if (!inp?.shape || inp.shape.length < 2) throw new LatpruneError('BAD_FILE', `${o.model}: the model has no input with a known shape.`);
  const dims = inp.shape;
  const tableBatch = meta['latprune.table_batch'] ? Number(meta['latprune.table_batch']) : undefined;
  const batch = o.batch ?? (typeof dims[0] === 'number' ? dims[0] : tableBatch ?? 1);
  if (typeof dims[0] === 'number' && dims[0] !== batch) {
    throw new LatpruneError('BAD_ARGUMENT', `--batch ${batch}: ${o.model} has a fixed batch of ${dims[0]}; omit --batch or export with a dynamic batch.`);
  }
  if (dims.slice(1).some((d) => typeof d !== 'number')) throw new LatpruneError('BAD_FILE', `${o.model}: input '${inp.name}' has symbolic non-batch dims [${dims.join(', ')}]; latprune verifies fixed image sizes.`);
  const shape = [batch, ...(dims.slice(1) as number[])];
  const ep = o.ep ?? 'cpu';
  const available = ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
  if (!available.includes(ep)) throw new LatpruneError('RUNTIME', `--ep ${ep}: not in this onnxruntime-node build (available: ${available.join(', ')}).`);
  const threads = o.threads ?? os.cpus().length;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  let samples: number[];
  try {
    const x = new ort.Tensor('float32', randomFloats(shape.reduce((a, b) => a * b, 1), 3), shape);
    const feeds = { [inp.name]: x };
    const bench = new Bench({ time: o.timeMs ?? 3000, iterations: o.minRuns ?? 20, warmupTime: 500, warmupIterations: 5, retainSamples: true, throws: true });
    bench.add('run', async () => {
      await session.run(feeds);
    });
    await bench.run();
    const r = bench.tasks[0]!.result;
    if (r.state !== 'completed') throw new LatpruneError('RUNTIME', `timing ended in state ${r.state}`);
    samples = [...(r.latency.samples ?? [])].sort((a, b) => a - b);
    if (!samples.length) samples = [r.latency.p50];
  } finally {
    await session.release();
  }
  const median = quantile(samples, 0.5);
  const fps = (batch * 1000) / median;
  let predicted: number | undefined;
  if (o.lut) {
    const table = await loadTable(o.lut);
    const w = deviceMismatchWarning(table, o.lut);
    if (w) warn(w);
    const source = meta['latprune.source_model'];
    if (!source) throw new LatpruneError('BAD_ARGUMENT', `--lut: ${o.model} has no latprune metadata naming its source model; export it with \`latprune export\`.`);
    const classes = summary.outputs[0]?.shape?.[1];
    const model = zooNames().includes(source) ? buildZooModel(source, { inputShape: table.input, ...(typeof classes === 'number' ? { numClasses: classes } : {}), seed: 1 }) : await loadModel(source);
    try {
      const graph = analyzeModel(model);
      const est = LatencyEstimator.create(model, table, graph);
      const kept = meta['latprune.kept'] ? (JSON.parse(meta['latprune.kept']) as Record<string, number>) : Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
      predicted = (est.total(kept) * batch) / table.batch;
    } finally {
      model.dispose();
    }
  }
  const met = o.targetFps === undefined ? undefined : fps >= o.targetFps;
  const verdict =
    (o.targetFps === undefined ? `${fps.toFixed(1)} FPS` : `${met ? 'PASS' : 'FAIL'}: ${fps.toFixed(1)} FPS ${met ? '>=' : '<'} target ${o.targetFps}`) +
    ` (median ${median.toFixed(3)} ms at batch ${batch}, ${ep}, ${threads} threads)` +
    (predicted !== undefined ? `; table predicted ${predicted.toFixed(3)} ms (${(((median - predicted) / predicted) * 100).toFixed(1)}%)` : '');
  return {
    model: o.model,
    batch,
    ep,
    threads,
    runs: samples.length,
    median_ms: median,
    p10_ms: quantile(samples, 0.1),
    p90_ms: quantile(samples, 0.9),
    fps,
    ...(o.targetFps !== undefined ? { target_fps: o.targetFps, met: met! } : {}),
    ...(predicted !== undefined ? { predicted_ms: predicted, predicted_fps: (batch * 1000) / predicted, prediction_error: (median - predicted) / predicted } : {}),
    verdict,
  };
}
