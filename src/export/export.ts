/**
 * `latprune export`: a finished pruning run (or any tfjs model) to a compact
 * ONNX file, checked against the tfjs model on real images before anything
 * is written.
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { LatpruneError } from '../errors.js';
import { latpruneVersion } from '../util/version.js';
import {
  IMAGE_FOLDER_DATASET,
  dataKind,
  findPreprocessSidecar,
  openData,
  preprocessFromMetadata,
  specNormalization,
  runDataSpec,
  sidecarPathFor,
  type DataSpec,
  type PreprocessSpec,
  type RunDataOptions,
} from '../data/index.js';
import { analyzeModel, type Selection } from '../graph/index.js';
import {
  MAX_OPSET,
  MIN_OPSET,
  exportInterfaceOf,
  modelToOnnxAsync,
  writeModelFile,
  type ImportInfo,
  type ToOnnxOptions,
} from '../onnx/index.js';
import { compactModel, isOnnxPath, loadModel, loadOnnxModel, readModelMetadata } from '../model/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parseOptions, wholeNumber } from '../util/options.js';
import { z } from 'zod';

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
export async function checkParity(
  model: tf.LayersModel,
  onnx: Uint8Array,
  images: Float32Array,
  shape: readonly [number, number, number, number],
): Promise<ParityReport> {
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
  if (out.length !== ref.length)
    throw new LatpruneError(
      'RUNTIME',
      `ONNX output has ${out.length} values, tfjs ${ref.length}: the export is wrong; please report this model.`,
    );
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
  /** Dataset for the parity check: a built-in name or `folder` (default: the run's, else fashion-mnist when the model takes its images). */
  readonly dataset?: string;
  /** Its directory, or the image folder. */
  readonly dataDir?: string;
  /** More of the data (image-folder options, normalisation); `dataset`/`dataDir` win. */
  readonly data?: DataSpec;
  /** Images for the parity check (default 64). */
  readonly parityImages?: number;
  /** Largest relative difference accepted (default 1e-4). */
  readonly tolerance?: number;
  /** Recorded in the file (default: this latprune's version). */
  readonly producerVersion?: string;
}

const path = z.string().min(1, 'must not be empty');

/** The options of {@link exportOnnx} as a schema: checked (and defaulted) before anything is read or written. */
export const exportOptionsSchema = z
  .object({
    run: path.optional(),
    model: path.optional(),
    out: z.string().min(1, 'give the ONNX file to write'),
    opset: wholeNumber(MIN_OPSET, `from ${MIN_OPSET} to ${MAX_OPSET}`)
      .max(MAX_OPSET, `must be from ${MIN_OPSET} to ${MAX_OPSET}`)
      .default(13),
    foldBn: z.boolean().default(true),
    dataset: path.optional(),
    dataDir: path.optional(),
    // an image folder's options, checked where the data is opened
    data: z.custom<DataSpec>((v) => v !== null && typeof v === 'object', 'must be a data spec object').optional(),
    parityImages: wholeNumber(1).default(64),
    tolerance: z.number().finite().positive('must be a number > 0').default(1e-4),
    producerVersion: path.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (!o.run === !o.model)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [],
        message: 'give exactly one of --run <dir> and --model <model.json | model.onnx>',
      });
  });

/** The `latprune export` flag of each option. */
export const EXPORT_FLAGS: Readonly<Record<string, string>> = {
  run: '--run',
  model: '--model',
  out: '--out',
  opset: '--opset',
  foldBn: '--no-fold-bn',
  dataset: '--dataset',
  dataDir: '--data',
};

/** What was exported. */
export interface ExportResult {
  readonly out: string;
  readonly parity: ParityReport;
  readonly params: number;
  readonly metadata: Record<string, string>;
  /** What the parity check ran on (e.g. `64 fashion-mnist test images`). */
  readonly parityData: string;
  /** The preprocessing file written next to the ONNX file (input size, mean/std, classes), when known. */
  readonly preprocessFile?: string;
}

/**
 * Inputs of the parity check: the first test images of the data (`spec`, preprocessed for
 * the model), or, when no data was named and the default does not fit the model, seeded
 * normal noise (parity compares two runtimes on the same inputs; real images are better
 * because they exercise realistic activations).
 */
async function parityImages(
  model: tf.LayersModel,
  spec: DataSpec,
  pre: PreprocessSpec | undefined,
  explicit: boolean,
  count: number,
): Promise<{ x: Float32Array; shape: readonly [number, number, number, number]; what: string }> {
  const s = model.inputs[0]!.shape;
  const [h, w, c] = [s[1]!, s[2]!, s[3]!];
  const kind = await dataKind(spec);
  const fits = kind === IMAGE_FOLDER_DATASET || (kind === 'cifar10' ? h === 32 && w === 32 && c === 3 : h === 28 && w === 28 && c === 1);
  if (!explicit && !fits) {
    const t = tf.randomNormal([count, h, w, c], 0, 1, 'float32', 7);
    const x = (await t.data()) as Float32Array;
    t.dispose();
    return { x, shape: [count, h, w, c], what: `${count} random inputs (no --data given)` };
  }
  const saved = pre && specNormalization(pre);
  const data = await openData({
    ...spec,
    dataset: kind,
    ...(kind === IMAGE_FOLDER_DATASET ? { input: [h, w] as [number, number], channels: c === 1 ? 1 : 3 } : {}),
    ...(spec.normalization === undefined && saved ? { normalization: saved } : {}),
  });
  const [dh, dw, dc] = data.imageShape;
  if (dh !== h || dw !== w || dc !== c) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `the model takes ${h}x${w}x${c} images but ${data.name} has ${dh}x${dw}x${dc}; pass --data for the model's dataset.`,
    );
  }
  const src = data.openTest(Math.min(count, data.testCount));
  try {
    const b = await src.next();
    return { x: b.x, shape: b.shape, what: `${b.shape[0]} ${data.name} ${data.kind === 'image-folder' ? 'val' : 'test'} images` };
  } finally {
    await src.close();
  }
}

/**
 * Checks `options` against {@link exportOptionsSchema} and fills in its
 * defaults: what {@link exportOnnx} does first, for a caller (the CLI) that
 * wants bad options refused before it sets anything up.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming every bad option by its flag
 */
export function parseExportOptions(options: ExportOptions): z.output<typeof exportOptionsSchema> {
  return parseOptions(exportOptionsSchema, options, { flags: EXPORT_FLAGS }, 'export');
}

/**
 * Compacts (for a run) and exports to ONNX; checks parity on real images and
 * writes the file only if it passes.
 *
 * @param options - see {@link ExportOptions}; validated against {@link exportOptionsSchema} first
 * @throws LatpruneError `BAD_ARGUMENT` naming a bad option by its flag; naming the run file that is missing; or `RUNTIME` when
 *   parity fails (nothing is written)
 */
export async function exportOnnx(options: ExportOptions): Promise<ExportResult> {
  const o = parseExportOptions(options);
  let model: tf.LayersModel;
  /** The ONNX file the model was imported from, if any: the export keeps its input/output names and batch dimension. */
  let source: string | undefined;
  /** Its import record, once read. */
  let imported: ImportInfo | undefined;
  /** The data the parity check reads: the run's, overridden by the options. */
  let spec: DataSpec = {};
  /** What the model expects (written next to the file as `<out>.preprocess.json`). */
  let preprocess: PreprocessSpec | undefined;
  const metadata: Record<string, string> = {};
  if (o.run) {
    const need = ['config.json', 'selection.json', join('model', 'model.json')];
    for (const f of need) {
      if (!existsSync(join(o.run, f)))
        throw new LatpruneError(
          'NOT_FOUND',
          `--run ${o.run}: ${f} is missing; the run has no finished selection (finish it with \`latprune prune --resume\`).`,
        );
    }
    const cfg = JSON.parse(await readFile(join(o.run, 'config.json'), 'utf8')) as RunDataOptions & {
      model: string;
      lut: string;
      targetMs: number;
      tableBatch: number;
    };
    const selFile = JSON.parse(await readFile(join(o.run, 'selection.json'), 'utf8')) as {
      selection: Selection;
      kept: Record<string, number>;
      latency_ms: number;
      target_ms: number;
    };
    spec = runDataSpec(cfg);
    preprocess = preprocessFromMetadata(await readModelMetadata(join(o.run, 'model')).catch(() => ({})), join(o.run, 'model'));
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
    preprocess = (await findPreprocessSidecar(o.model!, false))?.spec;
  } else {
    model = await loadModel(o.model!);
    metadata['latprune.source_model'] = o.model!;
    const isDir = await stat(o.model!).then(
      (st) => st.isDirectory(),
      () => false,
    );
    preprocess =
      (await findPreprocessSidecar(o.model!, isDir))?.spec ??
      preprocessFromMetadata(await readModelMetadata(o.model!).catch(() => ({})), o.model!);
  }
  spec = {
    ...spec,
    ...o.data,
    ...(o.dataset !== undefined ? { dataset: o.dataset } : {}),
    ...(o.dataDir !== undefined ? { dir: o.dataDir } : {}),
  };
  const explicitData = o.dataset !== undefined || o.dataDir !== undefined || o.data !== undefined || o.run !== undefined;
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
    const bytes = await modelToOnnxAsync(model, {
      producerVersion: o.producerVersion ?? latpruneVersion(),
      opset: o.opset,
      foldBn: o.foldBn,
      metadata,
      ...(io ? { io } : {}),
    });
    const inShape = model.inputs[0]!.shape;
    const [h, w, c] = [inShape[1]!, inShape[2]!, inShape[3]!];
    const parityInput = await parityImages(model, spec, preprocess, explicitData, o.parityImages);
    const n = parityInput.shape[0];
    const parity = await checkParity(model, bytes, parityInput.x, [n, h, w, c]);
    const tol = o.tolerance;
    if (!(parity.relDiff <= tol)) {
      throw new LatpruneError(
        'RUNTIME',
        `parity check failed: ONNX Runtime differs from tfjs by ${parity.relDiff.toExponential(2)} relative (max abs ${parity.maxAbsDiff.toExponential(2)}, top-1 agreement ${(100 * parity.top1Agreement).toFixed(1)}%) on ${n} ${parityInput.what}, above ${tol}; ${o.out} was not written.`,
      );
    }
    await writeModelFile(o.out, bytes);
    // what the model expects travels with it: the next eval/verify/prune of the file reads it
    const sidecar = preprocess ? sidecarPathFor(o.out, false) : undefined;
    if (preprocess && sidecar) await writeFileAtomic(sidecar, `${JSON.stringify(preprocess, null, 1)}\n`);
    return {
      out: o.out,
      parity,
      params: model.countParams(),
      metadata,
      parityData: parityInput.what,
      ...(sidecar ? { preprocessFile: sidecar } : {}),
    };
  } finally {
    model.dispose();
  }
}
