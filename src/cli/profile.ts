/**
 * `latprune profile` and `latprune lut merge|show`.
 */
import os from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { LatpruneError } from '../errors.js';
import { analyzeModel } from '../graph/index.js';
import { resolveModel } from '../train/index.js';
import { startProgress } from '../util/progress.js';
import { zooEntry } from '../zoo/index.js';
import {
  OrtRuntime,
  TfjsRuntime,
  calibrateTable,
  calibrationWarning,
  defaultTablePath,
  deviceFingerprint,
  deviceMismatchWarning,
  gpuFingerprint,
  loadTable,
  mergeTables,
  profileModel,
  saveTable,
  type CalibrationCoefficients,
  type LatencyRuntime,
  type LatencyTable,
} from '../latency/index.js';
import { latpruneVersion } from './doctor.js';

/** Parsed `profile` flags. */
export interface ProfileFlags {
  readonly model: string;
  readonly batch: number;
  readonly input?: string;
  readonly classes?: number;
  readonly runtime: string;
  readonly ep: string;
  readonly threads?: number;
  readonly step: number;
  readonly points: number;
  readonly refine: number;
  /** Entries between drift-reference measurements (0: none; default 4). */
  readonly referenceEvery?: number;
  readonly shard?: string;
  readonly calibrate: number;
  /** Recalibrate a complete table even if it has a calibration. */
  readonly recalibrate?: boolean;
  readonly out?: string;
  readonly tablesRoot: string;
}

/** Parses `HxWxC`. */
export function parseInput(v: string, flag = '--input'): [number, number, number] {
  const p = v.split('x').map(Number);
  if (p.length !== 3 || p.some((n) => !Number.isInteger(n) || n <= 0)) throw new LatpruneError('BAD_ARGUMENT', `${flag} must look like 28x28x1 (height x width x channels), got '${v}'.`);
  return p as [number, number, number];
}

/** Parses `i/n`. */
export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new LatpruneError('BAD_ARGUMENT', `--shard must be i/n with 0 <= i < n (e.g. 0/2), got '${v}'.`);
  return { index, count };
}

/**
 * The model name a table is stored under: a zoo name, with the input size
 * appended when it is not the zoo model's default (`resnet20-28x28x1`; an
 * explicit default input gives the plain name), or a model folder's name.
 */
export function tableModelName(model: string, fromZoo: boolean, input?: readonly [number, number, number]): string {
  if (!fromZoo) return basename(model.endsWith('.json') ? dirname(model) : model);
  return input && input.join('x') !== zooEntry(model).defaultInputShape.join('x') ? `${model}-${input.join('x')}` : model;
}

/** Runs `latprune profile`; returns the exit code. */
export async function profileCommand(f: ProfileFlags, log: (l: string) => void): Promise<number> {
  if (f.runtime !== 'ort' && f.runtime !== 'tfjs') throw new LatpruneError('BAD_ARGUMENT', `--runtime must be ort or tfjs, got '${f.runtime}'.`);
  if (!Number.isInteger(f.batch) || f.batch < 1) throw new LatpruneError('BAD_ARGUMENT', `--batch must be a positive integer, got ${f.batch}.`);
  const shard = f.shard ? parseShard(f.shard) : undefined;
  const inputShape = f.input ? parseInput(f.input) : undefined;
  const { model, fromZoo } = await resolveModel(f.model, { ...(inputShape ? { inputShape } : {}), ...(f.classes ? { numClasses: f.classes } : {}), seed: 1 });
  const modelName = tableModelName(f.model, fromZoo, inputShape);
  const threads = f.threads ?? os.cpus().length;
  const runtime: LatencyRuntime = f.runtime === 'ort' ? await OrtRuntime.create({ ep: f.ep, threads, producerVersion: latpruneVersion() }) : new TfjsRuntime();
  const inShape = model.inputs[0]!.shape;
  const tag = `${f.runtime}${f.runtime === 'ort' && f.ep !== 'cpu' ? `-${f.ep}` : ''}`;
  const out = resolve(f.out ?? defaultTablePath(f.tablesRoot, runtime.gpu ? gpuFingerprint(runtime.gpu) : deviceFingerprint(), modelName, f.batch, tag) + (shard ? `.shard${shard.index}of${shard.count}` : ''));
  try {
    log(`profiling ${modelName} (input ${inShape.slice(1).join('x')}, batch ${f.batch}) with ${runtime.name} ${runtime.version} (${runtime.ep}, ${runtime.threads} threads) into ${out}`);
    let table = await profileModel(model, {
      modelName,
      batch: f.batch,
      runtime,
      out,
      grid: { step: f.step, points: f.points, refine: f.refine },
      ...(f.referenceEvery !== undefined ? { referenceEvery: f.referenceEvery } : {}),
      ...(shard ? { shard } : {}),
    });
    log(`table: ${table.stats.entries} entries, ${table.stats.seconds.toFixed(0)} s measuring, layout ${JSON.stringify(table.layout)}, rule violations ${table.stats.ruleViolations}${table.reference ? `, drift reference timed ${table.reference.n} times at ${table.reference.minFactor.toFixed(2)}-${table.reference.maxFactor.toFixed(2)}x its first time` : ''}`);
    if (!shard && f.calibrate > 0 && (!table.calibration || f.recalibrate)) {
      log(`calibrating on ${f.calibrate} whole networks (dense + random selections), 3 rounds...`);
      let bar: ReturnType<typeof startProgress> | undefined;
      try {
        table = await calibrateTable(model, analyzeModel(model), { ...table, calibration: undefined }, runtime, {
          samples: f.calibrate,
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
    const warn = calibrationWarning(table, out);
    if (warn) log(warn);
    return 0;
  } finally {
    await runtime.dispose();
    model.dispose();
  }
}

/** `latprune lut merge --out FILE SHARD...`. */
export async function mergeCommand(out: string, shards: readonly string[], log: (l: string) => void): Promise<number> {
  const loaded = [];
  for (const p of shards) loaded.push({ path: p, table: await loadTable(p) });
  const merged = mergeTables(loaded);
  await saveTable(out, merged);
  log(`merged ${shards.length} shards into ${out}: ${Object.values(merged.signatures).reduce((a, s) => a + s.points.length, 0)} points, ${merged.complete ? 'complete' : 'incomplete'}; run \`latprune profile\` with --out ${out} to calibrate it.`);
  return 0;
}

/** `latprune lut show FILE`: summary, device check and calibration check. */
export async function showCommand(path: string, log: (l: string) => void, out: (l: string) => void): Promise<number> {
  const t = await loadTable(path);
  const warn = deviceMismatchWarning(t, path);
  if (warn) log(warn);
  out(`${path}: ${t.model}, batch ${t.batch}, input ${t.input.join('x')}, ${t.runtime.name} ${t.runtime.version} (${t.runtime.ep}, ${t.runtime.threads} threads)`);
  out(`device ${t.device.fingerprint}: ${t.device.description}`);
  out(`layout ${JSON.stringify(t.layout)}; ${Object.keys(t.signatures).length} signatures, ${Object.values(t.signatures).reduce((a, s) => a + s.points.length, 0)} points; ${t.complete ? 'complete' : 'INCOMPLETE'}`);
  if (t.reference) {
    const r = t.reference;
    out(`drift reference ${r.signature} at ${r.cin}->${r.cout}: ${r.ms.toFixed(4)} ms, timed ${r.n} times (every ${r.every} entries), ${r.minFactor.toFixed(2)}-${r.maxFactor.toFixed(2)}x of that during the build`);
  }
  if (t.calibration) out(describeCalibration(t.calibration));
  const unreliable = calibrationWarning(t, path);
  if (unreliable) log(unreliable);
  return 0;
}

/** One line describing a table's calibration (both fits when networks with plain layers have their own). */
function describeCalibration(c: NonNullable<LatencyTable['calibration']>): string {
  const terms = (k: CalibrationCoefficients) =>
    `${k.scale.toFixed(3)} x (blocked layers + reorders) + ${(k.plainScale ?? k.scale).toFixed(3)} x plain layers + ${k.otherMsPerMElem.toFixed(3)} ms/Melem x other + ${k.overheadMs.toFixed(3)} ms`;
  const fits = c.mixed ? `measured = ${terms(c)} (networks on blocked kernels only); ${terms(c.mixed)} (networks with plain-kernel layers, alone from a plain share of ${(100 * c.mixed.fromPlainShare).toFixed(0)}%, blended below)` : `measured = ${terms(c)}`;
  return `calibration (${c.samples.length} networks): ${fits}; in-sample error median ${(100 * c.medianError).toFixed(1)}%, p90 ${(100 * c.p90Error).toFixed(1)}%`;
}
