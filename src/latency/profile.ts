/**
 * `latprune profile`: builds a latency table for a model on this device.
 *
 * Every distinct layer signature gets a grid of (cin, cout) points per layout
 * regime (see `grid.ts`), measured in context by the runtime; then refinement
 * passes add points where latency jumps between neighbours. The partial table
 * is written atomically every few seconds, so a kill loses at most the entry
 * in flight and re-running the same command continues. `--shard i/n` splits
 * the signatures over processes; `mergeTables` joins the shards.
 */
import { existsSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { describeModel } from '../graph/index.js';
import { startProgress } from '../util/progress.js';
import { describeDevice, deviceFingerprint, type DeviceDescription } from './device.js';
import { gpuFingerprint, gpuSummary, type GpuDescription } from './gpu.js';
import { DEFAULT_GRID, baseGrid, refinePoints, type GridOptions } from './grid.js';
import { isFast, type LayoutRules } from './layout.js';
import type { LatencyRuntime, TimingOptions } from './runtime.js';
import { signedLayers, type SignedLayer } from './signature.js';
import { LUT_SCHEMA, currentFingerprint, loadTable, saveTable, type LatencyTable, type LutSignature } from './table.js';

/** Options of {@link profileModel}. */
export interface ProfileOptions {
  /** Model name recorded in the table (zoo name or file). */
  readonly modelName: string;
  /** The model file profiled (recorded as the table's `source`, named in its re-profile hints); none for a zoo model. */
  readonly modelSource?: string;
  readonly batch: number;
  readonly runtime: LatencyRuntime;
  readonly out: string;
  readonly grid?: GridOptions;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly timing?: TimingOptions;
  /** Seconds between partial saves (default 0: after every entry, so a kill loses at most the entry in flight). */
  readonly saveEverySeconds?: number;
  /** Show a progress bar (default true). */
  readonly progress?: boolean;
  /** Stop after this many measurements in this invocation (tests: simulate a kill). */
  readonly maxEntries?: number;
  /** Layout rules to use instead of probing (tests, or a known device). */
  readonly layout?: LayoutRules;
  /** Clock for timestamps (tests). */
  readonly now?: () => Date;
  /**
   * Measure the drift reference after every this many entries (default
   * {@link DEFAULT_REFERENCE_EVERY}; 0: no reference). See `reference` in the
   * table format.
   */
  readonly referenceEvery?: number;
}

/**
 * Entries between two measurements of the drift reference. Measured here:
 * the same MobileNet-V1 entries timed twice a minute apart ran
 * at 0.68x (median; 0.56-0.83x) of each other, while passes interleaved with
 * a reference agreed within 0.93-1.06x; a table built over minutes mixes
 * such states unless each entry is put on one scale.
 */
export const DEFAULT_REFERENCE_EVERY = 4;

/**
 * The drift reference of a model: its non-classifier layer of median work at
 * its own widths (long enough to time precisely, short enough to repeat).
 */
export function referenceEntry(model: tf.LayersModel): { signature: string; cin: number; cout: number } | undefined {
  const work = (l: SignedLayer) =>
    l.cin *
    (l.signature.op === 'dwconv' ? 1 : l.cout) *
    l.signature.kernel[0] *
    l.signature.kernel[1] *
    l.signature.outH *
    l.signature.outW;
  const ls = signedLayers(model)
    .filter((l) => l.signature.op !== 'gemm')
    .sort((a, b) => work(a) - work(b) || a.key.localeCompare(b.key));
  const l = ls[Math.floor((ls.length - 1) / 2)];
  return l && { signature: l.key, cin: l.cin, cout: l.cout };
}

/**
 * Puts entries on the scale of the reference's first measurement: an entry
 * is stored at once scaled by the reference before it, and rescaled by the
 * mean of the references before and after it when the block closes.
 */
class DriftScale {
  private pending: Array<{ point: [number, number, number]; raw: number }> = [];
  private constructor(
    private readonly ref: NonNullable<LatencyTable['reference']>,
    private readonly measureRef: () => Promise<number>,
    private before: number,
  ) {}

  static async start(
    table: LatencyTable,
    o: ProfileOptions,
    every: number,
    entry: { signature: string; cin: number; cout: number },
  ): Promise<DriftScale> {
    const sig = table.signatures[entry.signature]!;
    const measureRef = async () => (await o.runtime.measureLayer(sig, entry.cin, entry.cout, o.batch, o.timing)).ms;
    const first = await measureRef();
    table.reference ??= { ...entry, ms: first, every, n: 0, minFactor: 1, maxFactor: 1 };
    const d = new DriftScale(table.reference, measureRef, first);
    d.count(first);
    return d;
  }

  /** Factor for an entry measured now (before its closing reference). */
  get factor(): number {
    return this.ref.ms / this.before;
  }

  /** Stores a measured entry (scaled now; rescaled at {@link close}). */
  add(point: [number, number, number], raw: number): void {
    point[2] = round5(raw * this.factor);
    this.pending.push({ point, raw });
  }

  get open(): number {
    return this.pending.length;
  }

  /** Measures the reference again and rescales the entries since the last one. */
  async close(): Promise<void> {
    if (!this.pending.length) return;
    const after = await this.measureRef();
    this.count(after);
    const f = this.ref.ms / ((this.before + after) / 2);
    for (const p of this.pending) p.point[2] = round5(p.raw * f);
    this.pending = [];
    this.before = after;
  }

  private count(ms: number): void {
    const r = ms / this.ref.ms;
    this.ref.n++;
    this.ref.minFactor = Math.min(this.ref.minFactor, r);
    this.ref.maxFactor = Math.max(this.ref.maxFactor, r);
  }
}

const round5 = (v: number) => Number(v.toFixed(5));

/**
 * The table's device record: the CPU's, or for a GPU runtime the GPU's
 * fingerprint and description with the host CPU alongside.
 */
export function deviceRecord(d: DeviceDescription, gpu?: GpuDescription): LatencyTable['device'] {
  const cpu = `${d.cpuModel} (${d.arch}, ${d.cores} cores, ${d.cpuFlags.join(' ')})`;
  if (!gpu) return { fingerprint: deviceFingerprint(d), description: cpu, cpuModel: d.cpuModel, cores: d.cores };
  return {
    fingerprint: gpuFingerprint(gpu),
    description: `${gpuSummary(gpu)}; host ${cpu}`,
    cpuModel: d.cpuModel,
    cores: d.cores,
    gpu: {
      vendor: gpu.vendor,
      architecture: gpu.architecture,
      device: gpu.device,
      driver: gpu.driver,
      backend: gpu.backend,
      ...(gpu.icd ? { icd: gpu.icd } : {}),
      pciIds: [...gpu.pciIds],
    },
  };
}

/** The table's signature entries for a model (no points yet). */
export function signaturesOf(model: tf.LayersModel): Record<string, LutSignature> {
  const sigs: Record<string, LutSignature> = {};
  for (const l of signedLayers(model)) {
    const s = sigs[l.key];
    if (s) {
      s.layers.push(l.layer);
      s.cinMax = Math.max(s.cinMax, l.cin);
      s.coutMax = Math.max(s.coutMax, l.cout);
    } else {
      sigs[l.key] = { ...l.signature, cinMax: l.cin, coutMax: l.cout, layers: [l.layer], points: [] };
    }
  }
  return sigs;
}

function nativeOf(layers: SignedLayer[], key: string): Array<[number, number]> {
  return layers.filter((l) => l.key === key).map((l) => [l.cin, l.cout]);
}

/** Checks that a resumed table was built with the same model, batch, runtime and grid. */
function checkResumable(t: LatencyTable, o: ProfileOptions, grid: GridOptions): void {
  const want = { model: o.modelName, batch: o.batch, runtime: o.runtime.name, ep: o.runtime.ep, threads: o.runtime.threads, grid };
  const have = { model: t.model, batch: t.batch, runtime: t.runtime.name, ep: t.runtime.ep, threads: t.runtime.threads, grid: t.grid };
  for (const k of Object.keys(want) as Array<keyof typeof want>) {
    if (JSON.stringify(want[k]) !== JSON.stringify(have[k])) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${o.out} holds a table with ${k} ${JSON.stringify(have[k])}, but this run asks for ${JSON.stringify(want[k])}; use the same flags to continue it, or another --out.`,
      );
    }
  }
  const here = currentFingerprint(t);
  if (t.device.fingerprint !== here) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `${o.out} was profiled on device '${t.device.fingerprint}', not this one ('${here}'); profile into another --out.`,
    );
  }
}

/**
 * Builds (or continues) the table of `model` into `o.out`.
 *
 * @returns the table as saved
 */
export async function profileModel(model: tf.LayersModel, o: ProfileOptions): Promise<LatencyTable> {
  const grid = o.grid ?? DEFAULT_GRID;
  const every = o.referenceEvery ?? DEFAULT_REFERENCE_EVERY;
  if (!(Number.isInteger(every) && every >= 0))
    throw new LatpruneError('BAD_ARGUMENT', `--reference-every must be a whole number of entries (0: no drift reference), got ${every}.`);
  const now = o.now ?? (() => new Date());
  const layers = signedLayers(model);
  const inputShape = model.inputs[0]!.shape as number[];
  let table: LatencyTable;
  if (existsSync(o.out)) {
    table = await loadTable(o.out);
    checkResumable(table, o, grid);
  } else {
    const d = describeDevice();
    const layout = o.layout ?? (await o.runtime.probeLayout());
    table = {
      schema: LUT_SCHEMA,
      model: o.modelName,
      ...(o.modelSource ? { source: o.modelSource } : {}),
      batch: o.batch,
      input: [inputShape[1]!, inputShape[2]!, inputShape[3]!],
      precision: 'fp32',
      device: deviceRecord(d, o.runtime.gpu),
      runtime: { name: o.runtime.name, version: o.runtime.version, ep: o.runtime.ep, threads: o.runtime.threads },
      createdAt: now().toISOString(),
      updatedAt: now().toISOString(),
      complete: false,
      grid,
      ...(o.shard && o.shard.count > 1 ? { shard: o.shard } : {}),
      layout,
      signatures: signaturesOf(model),
      stats: { entries: 0, seconds: 0, ruleViolations: 0 },
    };
  }
  const keys = Object.keys(table.signatures).sort();
  const mine = keys.filter((_, i) => !o.shard || o.shard.count <= 1 || i % o.shard.count === o.shard.index);
  // layers reading a model input / making a model output: those widths cannot be pruned
  const spec = describeModel(model);
  const outputLayers = new Set(spec.outputs.map((t) => t.layer));
  const inputLayers = new Set(spec.inputs.map((t) => t.layer));
  const readsInput = new Set(
    spec.layers.filter((l) => l.inbound.length > 0 && l.inbound.every((t) => inputLayers.has(t.layer))).map((l) => l.name),
  );

  const todo: Array<{ key: string; cin: number; cout: number }> = [];
  const plan = (key: string, pts: ReadonlyArray<readonly [number, number]>) => {
    const have = new Set(table.signatures[key]!.points.map(([a, b]) => `${a},${b}`));
    for (const [cin, cout] of pts) if (!have.has(`${cin},${cout}`)) todo.push({ key, cin, cout });
  };
  for (const key of mine) {
    const s = table.signatures[key]!;
    const native = nativeOf(layers, key);
    const cinFixed = s.layers.every((n) => readsInput.has(n));
    const coutFixed = s.layers.every((n) => outputLayers.has(n));
    plan(key, baseGrid({ op: s.op, cinMax: s.cinMax, coutMax: s.coutMax, native, cinFixed, coutFixed }, table.layout, grid));
  }

  // the drift reference: for a new table, or one begun with a reference (an older table continues without)
  const hasPoints = Object.values(table.signatures).some((s) => s.points.length > 0);
  const refEntry = table.reference ?? (hasPoints ? undefined : referenceEntry(model));
  let drift: DriftScale | undefined;
  const driftStarted = async () => (drift ??= every > 0 && refEntry ? await DriftScale.start(table, o, every, refEntry) : undefined);

  let lastSave = performance.now();
  let measured = 0;
  const bar = o.progress === false ? undefined : startProgress(`profile ${o.modelName}`, todo.length, 0, ['sig']);
  const save = async () => {
    table.updatedAt = now().toISOString();
    await saveTable(o.out, table);
    lastSave = performance.now();
  };
  const measure = async (item: { key: string; cin: number; cout: number }) => {
    const s = table.signatures[item.key]!;
    const d = await driftStarted();
    const m = await o.runtime.measureLayer(s, item.cin, item.cout, o.batch, o.timing);
    const point: [number, number, number] = [item.cin, item.cout, round5(m.ms)];
    if (d) d.add(point, m.ms);
    s.points.push(point);
    if (m.fast !== undefined && table.layout[s.op]) {
      const rule = table.layout[s.op]!;
      const predicted = isFast(rule, item.cin, item.cout);
      if (predicted !== m.fast) table.stats.ruleViolations++;
    }
    if (m.reorders.length) recordReorders(table, d ? m.reorders.map((r) => ({ elems: r.elems, ms: r.ms * d.factor })) : m.reorders);
    table.stats.entries++;
    measured++;
  };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.off('SIGINT', onSignal);
  };
  process.on('SIGINT', onSignal);
  try {
    for (let pass = 0; pass <= grid.refine; pass++) {
      if (pass > 0) {
        await drift?.close();
        todo.length = 0;
        for (const key of mine) plan(key, refinePoints(table.signatures[key]!.op, table.signatures[key]!.points, table.layout));
        if (!todo.length) break;
      }
      for (let i = 0; i < todo.length; i++) {
        if (o.maxEntries !== undefined && measured >= o.maxEntries) {
          await drift?.close();
          await save();
          return table;
        }
        const started = performance.now();
        await measure(todo[i]!);
        if (drift && drift.open >= every) await drift.close();
        table.stats.seconds += (performance.now() - started) / 1000;
        bar?.update(i + 1, { sig: todo[i]!.key });
        if (performance.now() - lastSave >= (o.saveEverySeconds ?? 0) * 1000) await save();
        if (interrupted) {
          await drift?.close();
          await save();
          throw new LatpruneError(
            'RUNTIME',
            `interrupted: ${o.out} holds ${table.stats.entries} entries; run the same command again to continue.`,
          );
        }
      }
    }
    await drift?.close();
    table.complete = !table.shard;
    await save();
  } finally {
    process.off('SIGINT', onSignal);
    bar?.stop();
  }
  return table;
}

/** Adds observed reorder (layout conversion) times to the table's running least-squares sums. */
function recordReorders(table: LatencyTable, obs: ReadonlyArray<{ elems: number; ms: number }>): void {
  const r = table.reorder ?? { n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0 };
  for (const o of obs) {
    const x = o.elems / 1e6;
    r.n += 1;
    r.sx += x;
    r.sy += o.ms;
    r.sxx += x * x;
    r.sxy += x * o.ms;
  }
  table.reorder = r;
}

/**
 * Joins shard tables of one build (same model, batch, runtime, grid, device)
 * into one; the result is complete when every signature has points.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming the shard that differs (a shard
 *   profiled on another device is refused)
 */
export function mergeTables(shards: ReadonlyArray<{ readonly path: string; readonly table: LatencyTable }>): LatencyTable {
  if (!shards.length) throw new LatpruneError('BAD_ARGUMENT', 'lut merge: give at least one shard table.');
  const [first, ...rest] = shards;
  const base = first!.table;
  for (const { path, table } of rest) {
    const checks: Array<[string, unknown, unknown]> = [
      ['device fingerprint', table.device.fingerprint, base.device.fingerprint],
      ['model', table.model, base.model],
      ['batch', table.batch, base.batch],
      ['runtime', JSON.stringify(table.runtime), JSON.stringify(base.runtime)],
      ['grid', JSON.stringify(table.grid), JSON.stringify(base.grid)],
      ['layout rules', JSON.stringify(table.layout), JSON.stringify(base.layout)],
    ];
    for (const [what, a, b] of checks) {
      if (a !== b)
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `lut merge: ${path} has ${what} ${String(a)}, but ${first!.path} has ${String(b)}; only shards of one build on one kind of device can be merged.`,
        );
    }
  }
  // shards that timed the same drift reference are put on the first shard's scale
  const ref = base.reference;
  const sameRef =
    !!ref &&
    shards.every(
      ({ table: t }) =>
        t.reference && t.reference.signature === ref.signature && t.reference.cin === ref.cin && t.reference.cout === ref.cout,
    );
  const scaleOf = (t: LatencyTable) => (sameRef ? ref!.ms / t.reference!.ms : 1);
  const signatures = JSON.parse(JSON.stringify(base.signatures)) as LatencyTable['signatures'];
  for (const { table } of rest) {
    const f = scaleOf(table);
    for (const [key, s] of Object.entries(table.signatures)) {
      const pts = s.points.map(([a, b, ms]): [number, number, number] => [a, b, round5(ms * f)]);
      const into = signatures[key];
      if (!into) {
        signatures[key] = { ...(JSON.parse(JSON.stringify(s)) as typeof s), points: pts };
        continue;
      }
      const have = new Set(into.points.map(([a, b]) => `${a},${b}`));
      for (const p of pts) if (!have.has(`${p[0]},${p[1]}`)) into.points.push(p);
    }
  }
  const reorder = shards.reduce<LatencyTable['reorder']>((acc, { table }) => {
    const r0 = table.reorder;
    if (!r0) return acc;
    const f = scaleOf(table);
    const r = { ...r0, sy: r0.sy * f, sxy: r0.sxy * f };
    if (!acc) return r;
    return { n: acc.n + r.n, sx: acc.sx + r.sx, sy: acc.sy + r.sy, sxx: acc.sxx + r.sxx, sxy: acc.sxy + r.sxy };
  }, undefined);
  const reference: LatencyTable['reference'] = sameRef
    ? {
        ...ref!,
        n: shards.reduce((a, { table: t }) => a + t.reference!.n, 0),
        minFactor: Math.min(...shards.map(({ table: t }) => t.reference!.minFactor)),
        maxFactor: Math.max(...shards.map(({ table: t }) => t.reference!.maxFactor)),
      }
    : undefined;
  const stats = shards.reduce(
    (acc, { table }) => ({
      entries: acc.entries + table.stats.entries,
      seconds: acc.seconds + table.stats.seconds,
      ruleViolations: acc.ruleViolations + table.stats.ruleViolations,
    }),
    { entries: 0, seconds: 0, ruleViolations: 0 },
  );
  const { shard: _shard, calibration: _cal, reference: _ref, ...rest0 } = base;
  return {
    ...rest0,
    signatures,
    ...(reference ? { reference } : {}),
    ...(reorder ? { reorder } : {}),
    stats,
    complete: Object.values(signatures).every((s) => s.points.length > 0),
    updatedAt: new Date().toISOString(),
  };
}
