/**
 * Building a latency table for a model on this device: the library's
 * `profile()`, behind `latprune profile`.
 */
import os from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { analyzeModel } from '../graph/index.js';
import { resolveModel } from '../model/index.js';
import { startProgress } from '../util/progress.js';
import { latpruneVersion } from '../util/version.js';
import { zooEntry } from '../zoo/index.js';
import { calibrateTable, calibrationWarning } from './calibrate.js';
import { deviceFingerprint } from './device.js';
import { gpuFingerprint } from './gpu.js';
import type { GridOptions } from './grid.js';
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

/** What {@link profile} built. */
export interface ProfileTableResult {
  readonly table: LatencyTable;
  /** Where it was written. */
  readonly path: string;
  /** A warning when the calibration's leave-one-out error is high (see `calibrationWarning`). */
  readonly warning?: string;
}

/**
 * The table runtime named by a flag value.
 *
 * @throws LatpruneError `BAD_ARGUMENT` for anything but `ort` or `tfjs`
 */
export function parseRuntimeKind(v: string): 'ort' | 'tfjs' {
  if (v !== 'ort' && v !== 'tfjs') throw new LatpruneError('BAD_ARGUMENT', `--runtime must be ort or tfjs, got '${v}'.`);
  return v;
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
 * Builds (or resumes) a latency lookup table for a model on this device:
 * single layers timed in context on a channel grid, then whole networks to
 * calibrate the estimate. Takes minutes; progress goes to `log`.
 *
 * @param o - the model and how to time it
 * @param log - progress lines
 * @throws LatpruneError `BAD_ARGUMENT` for a bad batch, runtime or shard; file and runtime errors name the file
 */
export async function profile(o: ProfileTableOptions, log: (line: string) => void = () => {}): Promise<ProfileTableResult> {
  const batch = o.batch ?? 1;
  const kind = parseRuntimeKind(o.runtime ?? 'ort');
  const ep = o.ep ?? 'cpu';
  if (!Number.isInteger(batch) || batch < 1) throw new LatpruneError('BAD_ARGUMENT', `--batch must be a positive integer, got ${batch}.`);
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
      o.out ??
        defaultTablePath(o.tablesRoot ?? 'latency-tables', device, modelName, batch, tag) +
          (shard ? `.shard${shard.index}of${shard.count}` : ''),
    );
    const inShape = model.inputs[0]!.shape;
    log(
      `profiling ${modelName} (input ${inShape.slice(1).join('x')}, batch ${batch}) with ${runtime.name} ${runtime.version} (${runtime.ep}, ${runtime.threads} threads) into ${out}`,
    );
    const grid = { step: 8, points: 8, refine: 2, ...o.grid };
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
    const samples = o.calibrate ?? 32;
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
