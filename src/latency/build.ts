/**
 * Building a latency table for a model on this device: the library's
 * `profile()`, behind `latprune profile`.
 */
import os from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { analyzeModel } from '../graph/index.js';
import { resolveModel } from '../model/index.js';
import { parseOptions, wholeNumber } from '../util/options.js';
import { startProgress } from '../util/progress.js';
import { latpruneVersion } from '../util/version.js';
import { zooEntry } from '../zoo/index.js';
import { calibrateTable, calibrationWarning } from './calibrate.js';
import { deviceFingerprint } from './device.js';
import { gpuFingerprint } from './gpu.js';
import { DEFAULT_GRID, type GridOptions } from './grid.js';
import { profileModel } from './profile.js';
import type { LatencyRuntime } from './runtime.js';
import { OrtRuntime } from './runtime-ort.js';
import { TfjsRuntime } from './runtime-tfjs.js';
import { defaultTablePath, saveTable, type CalibrationCoefficients, type LatencyTable } from './table.js';

/** Options of {@link profile}. */
export interface ProfileTableOptions {
  /** Zoo name, tfjs model.json / folder, or a loaded model (then give `modelName`). */
  readonly model: string | tf.LayersModel;
  /** Name the table is stored under (default: the zoo name or the model folder's name). */
  readonly modelName?: string;
  /** Batch size the table is built for (default 1). */
  readonly batch?: number;
  /** Input shape `[H, W, C]` of a zoo model (default: the zoo model's). */
  readonly input?: readonly [number, number, number];
  /** Classes of a zoo model. */
  readonly classes?: number;
  /** `ort` (ONNX Runtime, default) or `tfjs` (the active tfjs backend). */
  readonly runtime?: 'ort' | 'tfjs';
  /** ONNX Runtime execution provider (default `cpu`). */
  readonly ep?: string;
  /** Intra-op threads (default: one per core). */
  readonly threads?: number;
  /** Channel grid (defaults: step 8, 8 points, 2 refinement passes). */
  readonly grid?: Partial<GridOptions>;
  /** Entries between drift-reference timings (0: off; default 4). */
  readonly referenceEvery?: number;
  /** Profile only shard `index` of `count` (join with `mergeTables`). */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Whole networks timed to calibrate the estimate (0: skip; default 32). */
  readonly calibrate?: number;
  /** Time the networks again and refit the calibration of a finished table. */
  readonly recalibrate?: boolean;
  /** Table file (default `<tablesRoot>/<device>/<model>-b<batch>-<runtime>.json`); an unfinished one is resumed. */
  readonly out?: string;
  /** Root of the default table path (default `latency-tables`). */
  readonly tablesRoot?: string;
}

/** The form of `--shard` (`ProfileTableOptions.shard`), said by the flag's parser and the schema alike. */
export const SHARD_FORM = 'i/n with 0 <= i < n (e.g. 0/2)';

/**
 * The options of {@link profile} as a schema: checked (and defaulted) before
 * the model is read or anything is timed.
 */
export const profileOptionsSchema = z
  .object({
    model: z.union([
      z.string().min(1, 'give a zoo name, a tfjs model.json / folder, or an ONNX file'),
      z.custom<tf.LayersModel>(
        (v) => v !== null && typeof v === 'object' && 'layers' in v,
        'must be a model name, a path or a tfjs LayersModel',
      ),
    ]),
    modelName: z.string().min(1, 'must not be empty').optional(),
    batch: wholeNumber(1).default(1),
    input: z.tuple([wholeNumber(1), wholeNumber(1), wholeNumber(1)]).optional(),
    classes: wholeNumber(2).optional(),
    runtime: z.enum(['ort', 'tfjs'], { errorMap: () => ({ message: 'must be ort or tfjs' }) }).default('ort'),
    ep: z.enum(['cpu', 'webgpu', 'cuda'], { errorMap: () => ({ message: 'must be cpu, webgpu or cuda' }) }).default('cpu'),
    threads: wholeNumber(1).optional(),
    grid: z
      .object({
        step: wholeNumber(1).default(DEFAULT_GRID.step),
        points: wholeNumber(2).default(DEFAULT_GRID.points),
        refine: wholeNumber(0, '0 or more').default(DEFAULT_GRID.refine),
      })
      .strict()
      .default({}),
    referenceEvery: wholeNumber(0, '0 (off) or more').optional(),
    shard: z
      .object({ index: wholeNumber(0, '0 or more'), count: wholeNumber(1) })
      .strict()
      .optional(),
    calibrate: wholeNumber(0, '0 (skip) or more').default(32),
    recalibrate: z.boolean().default(false),
    out: z.string().min(1, 'must not be empty').optional(),
    tablesRoot: z.string().min(1, 'must not be empty').default('latency-tables'),
  })
  .strict()
  .superRefine((o, ctx) => {
    // rules over several options: the message names the flags
    const issue = (message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [], message });
    if (o.shard && o.shard.index >= o.shard.count) issue(`--shard must be ${SHARD_FORM}, got ${o.shard.index}/${o.shard.count}`);
    if (o.runtime === 'tfjs' && o.ep !== 'cpu')
      issue(
        `--ep ${o.ep} is an ONNX Runtime execution provider, but --runtime tfjs times the active tfjs backend: drop --ep, or use --runtime ort`,
      );
    if (o.shard && o.recalibrate)
      issue('--recalibrate calibrates a whole table: merge the shards with `latprune lut merge` first, then recalibrate the merged table');
  });

/** The `latprune profile` flag of each option. */
export const PROFILE_FLAGS: Readonly<Record<string, string>> = {
  model: '--model',
  batch: '--batch',
  input: '--input',
  classes: '--classes',
  runtime: '--runtime',
  ep: '--ep',
  threads: '--threads',
  'grid.step': '--step',
  'grid.points': '--points',
  'grid.refine': '--refine',
  referenceEvery: '--reference-every',
  shard: '--shard',
  calibrate: '--calibrate',
  recalibrate: '--recalibrate',
  out: '--out',
};

/** What {@link profile} built. */
export interface ProfileTableResult {
  readonly table: LatencyTable;
  /** Where it was written. */
  readonly path: string;
  /** A warning when the calibration's leave-one-out error is high (see `calibrationWarning`). */
  readonly warning?: string;
}

/**
 * The model name a table is stored under: a zoo name, with the input size
 * appended when it is not the zoo model's default (`resnet20-28x28x1`; an
 * explicit default input gives the plain name), or a model folder's name.
 */
export function tableModelName(model: string, fromZoo: boolean, input?: readonly [number, number, number]): string {
  if (!fromZoo) {
    // `dir/model.onnx` (the usual name of an export) is named for its folder, as `dir/model.json` is
    const file = /\.onnx$/i.test(model) ? basename(model).replace(/\.onnx$/i, '') : undefined;
    if (file !== undefined && file !== 'model') return file;
    return basename(model.endsWith('.json') || file !== undefined ? dirname(model) : model);
  }
  return input && input.join('x') !== zooEntry(model).defaultInputShape.join('x') ? `${model}-${input.join('x')}` : model;
}

/** One line describing a table's calibration (both fits when networks with plain layers have their own). */
export function describeCalibration(c: NonNullable<LatencyTable['calibration']>): string {
  const terms = (k: CalibrationCoefficients) =>
    `${k.scale.toFixed(3)} x (blocked layers + reorders) + ${(k.plainScale ?? k.scale).toFixed(3)} x plain layers + ${k.otherMsPerMElem.toFixed(3)} ms/Melem x other + ${k.overheadMs.toFixed(3)} ms`;
  const fits = c.mixed
    ? `measured = ${terms(c)} (networks on blocked kernels only); ${terms(c.mixed)} (networks with plain-kernel layers, alone from a plain share of ${(100 * c.mixed.fromPlainShare).toFixed(0)}%, blended below)`
    : `measured = ${terms(c)}`;
  return `calibration (${c.samples.length} networks): ${fits}; in-sample error median ${(100 * c.medianError).toFixed(1)}%, p90 ${(100 * c.p90Error).toFixed(1)}%`;
}

/**
 * Checks `options` against {@link profileOptionsSchema} and fills in its
 * defaults: what {@link profile} does first, for a caller (the CLI) that wants
 * bad options refused before it sets anything up.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming every bad option by its flag
 */
export function parseProfileOptions(options: ProfileTableOptions): z.output<typeof profileOptionsSchema> {
  return parseOptions(profileOptionsSchema, options, { flags: PROFILE_FLAGS }, 'profile');
}

/**
 * Builds (or resumes) a latency lookup table for a model on this device:
 * single layers timed in context on a channel grid, then whole networks to
 * calibrate the estimate. Takes minutes; progress goes to `log`.
 *
 * @param options - the model and how to time it; validated against {@link profileOptionsSchema} first
 * @param log - progress lines
 * @throws LatpruneError `BAD_ARGUMENT` naming each bad option by its flag, before anything is read; file and runtime errors name the file
 */
export async function profile(options: ProfileTableOptions, log: (line: string) => void = () => {}): Promise<ProfileTableResult> {
  const o = parseProfileOptions(options);
  const { batch, runtime: kind, ep } = o;
  let model: tf.LayersModel;
  let modelName: string;
  let modelSource: string | undefined;
  let owned = false;
  if (typeof o.model === 'string') {
    const r = await resolveModel(o.model, {
      ...(o.input ? { inputShape: [...o.input] as [number, number, number] } : {}),
      ...(o.classes ? { numClasses: o.classes } : {}),
      seed: 1,
    });
    model = r.model;
    owned = true;
    modelName = o.modelName ?? tableModelName(o.model, r.fromZoo, o.input);
    if (!r.fromZoo) modelSource = o.model;
  } else {
    model = o.model;
    modelName = o.modelName ?? model.name;
  }
  const threads = o.threads ?? os.cpus().length;
  const shard = o.shard;
  const tag = `${kind}${kind === 'ort' && ep !== 'cpu' ? `-${ep}` : ''}`;
  let runtime: LatencyRuntime | undefined;
  try {
    runtime = kind === 'ort' ? await OrtRuntime.create({ ep, threads, producerVersion: latpruneVersion() }) : new TfjsRuntime();
    // a GPU table lives under the GPU's fingerprint, a CPU table under the machine's
    const device = runtime.gpu ? gpuFingerprint(runtime.gpu) : deviceFingerprint();
    const out = resolve(
      o.out ?? defaultTablePath(o.tablesRoot, device, modelName, batch, tag) + (shard ? `.shard${shard.index}of${shard.count}` : ''),
    );
    const inShape = model.inputs[0]!.shape;
    log(
      `profiling ${modelName} (input ${inShape.slice(1).join('x')}, batch ${batch}) with ${runtime.name} ${runtime.version} (${runtime.ep}, ${runtime.threads} threads) into ${out}`,
    );
    const { grid } = o;
    let table = await profileModel(model, {
      modelName,
      ...(modelSource ? { modelSource } : {}),
      batch,
      runtime,
      out,
      grid,
      ...(o.referenceEvery !== undefined ? { referenceEvery: o.referenceEvery } : {}),
      ...(shard ? { shard } : {}),
    });
    log(
      `table: ${table.stats.entries} entries, ${table.stats.seconds.toFixed(0)} s measuring, layout ${JSON.stringify(table.layout)}, rule violations ${table.stats.ruleViolations}` +
        (table.reference
          ? `, drift reference timed ${table.reference.n} times at ${table.reference.minFactor.toFixed(2)}-${table.reference.maxFactor.toFixed(2)}x its first time`
          : ''),
    );
    const samples = o.calibrate;
    if (!shard && samples > 0 && (!table.calibration || o.recalibrate)) {
      log(`calibrating on ${samples} whole networks (dense + random selections), 3 rounds...`);
      let bar: ReturnType<typeof startProgress> | undefined;
      try {
        table = await calibrateTable(model, analyzeModel(model), { ...table, calibration: undefined }, runtime, {
          samples,
          producerVersion: latpruneVersion(),
          onSample: (i, n) => {
            bar ??= startProgress('calibrate', n);
            bar.update(i);
          },
        });
      } finally {
        bar?.stop();
      }
      await saveTable(out, table);
      log(describeCalibration(table.calibration!));
    }
    log(`wrote ${out}`);
    const warning = calibrationWarning(table, out);
    return { table, path: out, ...(warning ? { warning } : {}) };
  } finally {
    await runtime?.dispose();
    if (owned) model.dispose();
  }
}
