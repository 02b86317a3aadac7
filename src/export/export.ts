/**
 * `latprune export`: a finished pruning run (or any tfjs model) to a compact
 * ONNX file, checked against the tfjs model on real images before anything
 * is written.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { LatpruneError } from '../errors.js';
import { latpruneVersion } from '../util/version.js';
import { assembleBatch, defaultNormalization, loadDataset, type DatasetName } from '../data/index.js';
import { analyzeModel, type Selection } from '../graph/index.js';
import { exportInterfaceOf, modelToOnnxAsync, writeModelFile, type ImportInfo, type ToOnnxOptions } from '../onnx/index.js';
import { compactModel, isOnnxPath, loadModel, loadOnnxModel } from '../model/index.js';

/** Result of the parity check. */
export interface ParityReport {
  readonly images: number;
  readonly maxAbsDiff: number;
  /** maxAbsDiff / max |reference output|. */
  readonly relDiff: number;
  /** Fraction of images whose top-1 class agrees. */
  readonly top1Agreement: number;
}

/**
 * Runs `onnx` with ORT and `model` with tfjs on `images` (NHWC, normalised)
 * and compares the outputs.
 */
export async function checkParity(model: tf.LayersModel, onnx: Uint8Array, images: Float32Array, shape: readonly [number, number, number, number]): Promise<ParityReport> {
  const [n, h, w, c] = shape;
  // asynchronous reads, as a GPU backend needs
  const read = async (f: () => tf.Tensor): Promise<Float32Array> => {
    const t = tf.tidy(f);
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  };
  const ref = await read(() => model.predict(tf.tensor4d(images, [n, h, w, c])) as tf.Tensor);
  const nchw = await read(() => tf.transpose(tf.tensor4d(images, [n, h, w, c]), [0, 3, 1, 2]));
  const session = await ort.InferenceSession.create(onnx);
  let out: Float32Array;
  try {
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', nchw, [n, c, h, w]) });
    out = r[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
  if (out.length !== ref.length) throw new LatpruneError('RUNTIME', `ONNX output has ${out.length} values, tfjs ${ref.length}: the export is wrong; please report this model.`);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]! - out[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  const k = ref.length / n;
  let agree = 0;
  for (let b = 0; b < n; b++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < k; j++) {
      if (ref[b * k + j]! > ref[b * k + ia]!) ia = j;
      if (out[b * k + j]! > out[b * k + ib]!) ib = j;
    }
    if (ia === ib) agree++;
  }
  return { images: n, maxAbsDiff: maxAbs, relDiff: scale > 0 ? maxAbs / scale : maxAbs, top1Agreement: agree / n };
}

/** Options of {@link exportOnnx}. */
export interface ExportOptions {
  /** A run directory of `latprune prune` (config.json, selection.json, model/). */
  readonly run?: string;
  /** Or a tfjs model.json / folder. */
  readonly model?: string;
  readonly out: string;
  readonly opset?: number;
  readonly foldBn?: boolean;
  /** Dataset for the parity check (default: the run's, else fashion-mnist). */
  readonly dataset?: DatasetName;
  readonly dataDir?: string;
  /** Images for the parity check (default 64). */
  readonly parityImages?: number;
  /** Largest relative difference accepted (default 1e-4). */
  readonly tolerance?: number;
  /** Recorded in the file (default: this latprune's version). */
  readonly producerVersion?: string;
}

/** What was exported. */
export interface ExportResult {
  readonly out: string;
  readonly parity: ParityReport;
  readonly params: number;
  readonly metadata: Record<string, string>;
}

/**
 * Compacts (for a run) and exports to ONNX; checks parity on real images and
 * writes the file only if it passes.
 *
 * @throws LatpruneError naming the run file that is missing, or `RUNTIME` when
 *   parity fails (nothing is written)
 */
export async function exportOnnx(o: ExportOptions): Promise<ExportResult> {
  if (!o.run === !o.model) throw new LatpruneError('BAD_ARGUMENT', 'give exactly one of --run <dir> and --model <model.json>.');
  let model: tf.LayersModel;
  /** The ONNX file the model was imported from, if any: the export keeps its input/output names and batch dimension. */
  let source: string | undefined;
  /** Its import record, once read. */
  let imported: ImportInfo | undefined;
  let dataset: DatasetName = o.dataset ?? 'fashion-mnist';
  const metadata: Record<string, string> = {};
  if (o.run) {
    const need = ['config.json', 'selection.json', join('model', 'model.json')];
    for (const f of need) {
      if (!existsSync(join(o.run, f))) throw new LatpruneError('NOT_FOUND', `--run ${o.run}: ${f} is missing; the run has no finished selection (finish it with \`latprune prune --resume\`).`);
    }
    const cfg = JSON.parse(await readFile(join(o.run, 'config.json'), 'utf8')) as { model: string; dataset: DatasetName; lut: string; targetMs: number; tableBatch: number };
    const selFile = JSON.parse(await readFile(join(o.run, 'selection.json'), 'utf8')) as { selection: Selection; kept: Record<string, number>; latency_ms: number; target_ms: number };
    dataset = o.dataset ?? cfg.dataset;
    source = cfg.model;
    const masked = await loadModel(join(o.run, 'model'));
    const graph = analyzeModel(masked);
    model = await compactModel(masked, graph, selFile.selection);
    masked.dispose();
    Object.assign(metadata, {
      'latprune.source_model': cfg.model,
      'latprune.run': o.run,
      'latprune.lut': cfg.lut,
      'latprune.table_batch': String(cfg.tableBatch),
      'latprune.target_latency_ms': String(selFile.target_ms),
      'latprune.predicted_latency_ms': String(selFile.latency_ms),
      'latprune.kept': JSON.stringify(selFile.kept),
    });
  } else if (isOnnxPath(o.model!)) {
    ({ model, info: imported } = await loadOnnxModel(o.model!));
    metadata['latprune.source_model'] = o.model!;
  } else {
    model = await loadModel(o.model!);
    metadata['latprune.source_model'] = o.model!;
  }
  try {
    metadata['latprune.version'] = o.producerVersion ?? latpruneVersion();
    metadata['latprune.params'] = String(model.countParams());
    // a run pruned from an ONNX file: its import record, from the file the run started from
    if (imported === undefined && source !== undefined && isOnnxPath(source) && existsSync(source)) {
      const again = await loadOnnxModel(source);
      again.model.dispose();
      imported = again.info;
    }
    let io: ToOnnxOptions['io'];
    if (imported !== undefined) {
      // same interface out as in: the original input/output names, dynamic batch, source hash
      const iface = exportInterfaceOf(imported);
      io = iface.io;
      Object.assign(metadata, iface.metadata);
    }
    const bytes = await modelToOnnxAsync(model, { producerVersion: o.producerVersion ?? latpruneVersion(), opset: o.opset ?? 13, foldBn: o.foldBn ?? true, metadata, ...(io ? { io } : {}) });
    const data = await loadDataset(dataset, o.dataDir ? { dir: o.dataDir } : {});
    const inShape = model.inputs[0]!.shape;
    if (inShape[1] !== data.test.height || inShape[2] !== data.test.width || inShape[3] !== data.test.channels) {
      throw new LatpruneError('BAD_ARGUMENT', `the model takes ${inShape.slice(1).join('x')} images but ${dataset} has ${data.test.height}x${data.test.width}x${data.test.channels}; pass --data for the model's dataset.`);
    }
    const n = Math.min(o.parityImages ?? 64, data.test.count);
    const b = assembleBatch(data.test, Uint32Array.from({ length: n }, (_, i) => i), defaultNormalization(data.name));
    const parity = await checkParity(model, bytes, b.x, [n, data.test.height, data.test.width, data.test.channels]);
    const tol = o.tolerance ?? 1e-4;
    if (!(parity.relDiff <= tol)) {
      throw new LatpruneError('RUNTIME', `parity check failed: ONNX Runtime differs from tfjs by ${parity.relDiff.toExponential(2)} relative (max abs ${parity.maxAbsDiff.toExponential(2)}, top-1 agreement ${(100 * parity.top1Agreement).toFixed(1)}%) on ${n} ${dataset} images, above ${tol}; ${o.out} was not written.`);
    }
    await writeModelFile(o.out, bytes);
    return { out: o.out, parity, params: model.countParams(), metadata };
  } finally {
    model.dispose();
  }
}
