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
import { describeDevice, deviceFingerprint } from './device.js';
import { DEFAULT_GRID, baseGrid, refinePoints, type GridOptions } from './grid.js';
import type { LayoutRules } from './layout.js';
import type { LatencyRuntime, TimingOptions } from './runtime.js';
import { signedLayers, type SignedLayer } from './signature.js';
import { LUT_SCHEMA, loadTable, saveTable, type LatencyTable, type LutSignature } from './table.js';

/** Options of {@link profileModel}. */
export interface ProfileOptions {
  /** Model name recorded in the table (zoo name or file). */
  readonly modelName: string;
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
      throw new LatpruneError('BAD_ARGUMENT', `${o.out} holds a table with ${k} ${JSON.stringify(have[k])}, but this run asks for ${JSON.stringify(want[k])}; use the same flags to continue it, or another --out.`);
    }
  }
  if (t.device.fingerprint !== deviceFingerprint()) {
    throw new LatpruneError('BAD_ARGUMENT', `${o.out} was profiled on device '${t.device.fingerprint}', not this one ('${deviceFingerprint()}'); profile into another --out.`);
  }
}

/**
 * Builds (or continues) the table of `model` into `o.out`.
 *
 * @returns the table as saved
 */
export async function profileModel(model: tf.LayersModel, o: ProfileOptions): Promise<LatencyTable> {
  const grid = o.grid ?? DEFAULT_GRID;
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
      batch: o.batch,
      input: [inputShape[1]!, inputShape[2]!, inputShape[3]!],
      precision: 'fp32',
      device: { fingerprint: deviceFingerprint(d), description: `${d.cpuModel} (${d.arch}, ${d.cores} cores, ${d.cpuFlags.join(' ')})`, cpuModel: d.cpuModel, cores: d.cores },
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
  const readsInput = new Set(spec.layers.filter((l) => l.inbound.length > 0 && l.inbound.every((t) => inputLayers.has(t.layer))).map((l) => l.name));

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
    const m = await o.runtime.measureLayer(s, item.cin, item.cout, o.batch, o.timing);
    s.points.push([item.cin, item.cout, Number(m.ms.toFixed(5))]);
    if (m.fast !== undefined && table.layout[s.op]) {
      const rule = table.layout[s.op]!;
      const predicted = item.cin < rule.below || item.cin % rule.align === 0;
      if (predicted !== m.fast) table.stats.ruleViolations++;
    }
    if (m.reorders.length) recordReorders(table, m.reorders);
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
        todo.length = 0;
        for (const key of mine) plan(key, refinePoints(table.signatures[key]!.op, table.signatures[key]!.points, table.layout));
        if (!todo.length) break;
      }
      for (let i = 0; i < todo.length; i++) {
        if (o.maxEntries !== undefined && measured >= o.maxEntries) {
          await save();
          return table;
        }
        const started = performance.now();
        await measure(todo[i]!);
        table.stats.seconds += (performance.now() - started) / 1000;
        bar?.update(i + 1, { sig: todo[i]!.key });
        if (performance.now() - lastSave >= (o.saveEverySeconds ?? 0) * 1000) await save();
        if (interrupted) {
          await save();
          throw new LatpruneError('RUNTIME', `interrupted: ${o.out} holds ${table.stats.entries} entries; run the same command again to continue.`);
        }
      }
    }
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
      if (a !== b) throw new LatpruneError('BAD_ARGUMENT', `lut merge: ${path} has ${what} ${String(a)}, but ${first!.path} has ${String(b)}; only shards of one build on one kind of device can be merged.`);
    }
  }
  const signatures: LatencyTable['signatures'] = JSON.parse(JSON.stringify(base.signatures));
  for (const { table } of rest) {
    for (const [key, s] of Object.entries(table.signatures)) {
      const into = signatures[key];
      if (!into) {
        signatures[key] = JSON.parse(JSON.stringify(s));
        continue;
      }
      const have = new Set(into.points.map(([a, b]) => `${a},${b}`));
      for (const p of s.points) if (!have.has(`${p[0]},${p[1]}`)) into.points.push(p);
    }
  }
  const reorder = shards.reduce<LatencyTable['reorder']>((acc, { table }) => {
    const r = table.reorder;
    if (!r) return acc;
    if (!acc) return { ...r };
    return { n: acc.n + r.n, sx: acc.sx + r.sx, sy: acc.sy + r.sy, sxx: acc.sxx + r.sxx, sxy: acc.sxy + r.sxy };
  }, undefined);
  const stats = shards.reduce((acc, { table }) => ({ entries: acc.entries + table.stats.entries, seconds: acc.seconds + table.stats.seconds, ruleViolations: acc.ruleViolations + table.stats.ruleViolations }), { entries: 0, seconds: 0, ruleViolations: 0 });
  const { shard: _shard, calibration: _cal, ...rest0 } = base;
  return {
    ...rest0,
    signatures,
    ...(reorder ? { reorder } : {}),
    stats,
    complete: Object.values(signatures).every((s) => s.points.length > 0),
    updatedAt: new Date().toISOString(),
  };
}
