/**
 * Calibration of the whole-network estimate against whole networks measured
 * on the device: random channel selections (some on the runtime's fast
 * widths, some off them, and the dense model) are exported with random
 * weights, timed, and `measured ~ a * (layers + reorders) + b * other + c` is
 * fitted by least squares.
 */
import type * as tf from '@tensorflow/tfjs';
import { layerWidths, type ChannelGraph } from '../graph/index.js';
import { seededRandom } from '../util/random.js';
import { LatencyEstimator } from './estimate.js';
import { median, type LatencyRuntime, type TimingOptions } from './runtime.js';
import type { LatencyTable } from './table.js';

/** Kept channel counts per group id. */
export type KeepCounts = Record<string, number>;

/**
 * Random kept counts: each group keeps a uniform fraction in [lo, 1] of its
 * channels (at least its minimum); with `align`, counts are rounded to a
 * multiple of it.
 */
export function randomKeep(graph: ChannelGraph, rnd: () => number, lo = 0.2, align = 1): KeepCounts {
  const keep: KeepCounts = {};
  for (const g of graph.groups) {
    const f = lo + (1 - lo) * rnd();
    let k = Math.max(g.minKeep, Math.round(f * g.size));
    if (align > 1) k = Math.min(g.size, Math.max(align, Math.round(k / align) * align));
    keep[g.id] = Math.max(g.minKeep, Math.min(g.size, k));
  }
  return keep;
}

/** First-k selection for kept counts (latency does not depend on which channels). */
export function keepToSelection(graph: ChannelGraph, keep: KeepCounts): Record<string, number[]> {
  return Object.fromEntries(graph.groups.map((g) => [g.id, Array.from({ length: keep[g.id] ?? g.size }, (_, i) => i)]));
}

/** Output width per conv/dense layer for kept counts. */
export function coutOfKeep(graph: ChannelGraph, keep: KeepCounts): (layer: string) => number | undefined {
  const widths = layerWidths(graph, keepToSelection(graph, keep));
  return (l) => widths[l]?.outputs[0];
}

/** Solves the 3x3 normal equations of y ~ a*x1 + b*x2 + c; falls back to fewer terms when ill-posed or b < 0. */
export function fitCalibration(x1: readonly number[], x2: readonly number[], y: readonly number[]): { a: number; b: number; c: number } {
  const n = y.length;
  const solve = (cols: number[][]): number[] | undefined => {
    const k = cols.length;
    const A = cols.map((ci) => cols.map((cj) => ci.reduce((s, v, i) => s + v * cj[i]!, 0)));
    const rhs = cols.map((ci) => ci.reduce((s, v, i) => s + v * y[i]!, 0));
    // Gaussian elimination with partial pivoting
    for (let i = 0; i < k; i++) {
      let p = i;
      for (let r = i + 1; r < k; r++) if (Math.abs(A[r]![i]!) > Math.abs(A[p]![i]!)) p = r;
      if (Math.abs(A[p]![i]!) < 1e-12) return undefined;
      [A[i], A[p]] = [A[p]!, A[i]!];
      [rhs[i], rhs[p]] = [rhs[p]!, rhs[i]!];
      for (let r = i + 1; r < k; r++) {
        const f = A[r]![i]! / A[i]![i]!;
        for (let c = i; c < k; c++) A[r]![c]! -= f * A[i]![c]!;
        rhs[r]! -= f * rhs[i]!;
      }
    }
    const x = new Array<number>(k).fill(0);
    for (let i = k - 1; i >= 0; i--) {
      let s = rhs[i]!;
      for (let c = i + 1; c < k; c++) s -= A[i]![c]! * x[c]!;
      x[i] = s / A[i]![i]!;
    }
    return x;
  };
  const ones = new Array<number>(n).fill(1);
  if (n >= 4) {
    const full = solve([x1 as number[], x2 as number[], ones]);
    if (full && full[0]! > 0 && full[1]! >= 0) return { a: full[0]!, b: full[1]!, c: full[2]! };
  }
  if (n >= 2) {
    const two = solve([x1 as number[], ones]);
    if (two && two[0]! > 0) return { a: two[0]!, b: 0, c: two[1]! };
  }
  const ratio = y.reduce((s, v) => s + v, 0) / Math.max(1e-9, x1.reduce((s, v) => s + v, 0));
  return { a: ratio, b: 0, c: 0 };
}

/** Relative errors |p - m| / m summarised as median and p90. */
export function errorStats(pred: readonly number[], meas: readonly number[]): { median: number; p90: number } {
  const e = pred.map((p, i) => Math.abs(p - meas[i]!) / meas[i]!).sort((a, b) => a - b);
  const q = (f: number) => e[Math.min(e.length - 1, Math.floor(f * e.length))] ?? 0;
  return { median: e.length ? (e.length % 2 ? e[(e.length - 1) / 2]! : (e[e.length / 2 - 1]! + e[e.length / 2]!) / 2) : 0, p90: q(0.9) };
}

/** Options of {@link calibrateTable}. */
export interface CalibrateOptions {
  readonly samples?: number;
  readonly seed?: number;
  readonly timing?: TimingOptions;
  readonly producerVersion: string;
  readonly onSample?: (i: number, total: number) => void;
}

/** Measures whole networks and stores the fitted calibration in `table` (returned). */
export async function calibrateTable(model: tf.LayersModel, graph: ChannelGraph, table: LatencyTable, runtime: LatencyRuntime, o: CalibrateOptions): Promise<LatencyTable> {
  const uncal: LatencyTable = { ...table, calibration: undefined };
  const est = LatencyEstimator.create(model, uncal, graph);
  const rnd = seededRandom(o.seed ?? 7);
  const n = o.samples ?? 12;
  const align = table.layout.conv?.outPad ?? 1;
  const keeps: KeepCounts[] = [Object.fromEntries(graph.groups.map((g) => [g.id, g.size]))];
  while (keeps.length < n) keeps.push(randomKeep(graph, rnd, 0.2, keeps.length % 2 ? align : 1));
  const samples: NonNullable<LatencyTable['calibration']>['samples'] = [];
  for (let i = 0; i < keeps.length; i++) {
    o.onSample?.(i, keeps.length);
    const keep = keeps[i]!;
    const widths = layerWidths(graph, keepToSelection(graph, keep));
    const { ms } = await runtime.measureNetwork({ model, coutOf: (l) => widths[l]?.outputs[0], batch: table.batch }, o.timing ?? { warmup: 3, minRuns: 10, maxRuns: 40, capSeconds: 4 });
    const b = est.estimate(widths);
    samples.push({ keep, measuredMs: ms, partsMs: b.layersMs + b.reorderMs, otherMElems: b.otherMElems });
  }
  const meas = samples.map((s) => s.measuredMs);
  // Candidates: the 3-term least-squares fit, a pure scale, and none; keep the one with the
  // lowest leave-one-out median error (one noisy network must not skew every estimate).
  const candidates: Array<(idx: number[]) => { a: number; b: number; c: number }> = [
    (idx) => fitCalibration(idx.map((i) => samples[i]!.partsMs), idx.map((i) => samples[i]!.otherMElems), idx.map((i) => meas[i]!)),
    (idx) => ({ a: median(idx.map((i) => meas[i]! / Math.max(1e-9, samples[i]!.partsMs))), b: 0, c: 0 }),
    () => ({ a: 1, b: 0, c: 0 }),
  ];
  const all = samples.map((_, i) => i);
  let best = { fit: { a: 1, b: 0, c: 0 }, loo: Infinity };
  for (const cand of candidates) {
    const looPred = all.map((i) => {
      const f = cand(all.filter((j) => j !== i));
      return f.a * samples[i]!.partsMs + f.b * samples[i]!.otherMElems + f.c;
    });
    const loo = errorStats(looPred, meas).median;
    if (loo < best.loo) best = { fit: cand(all), loo };
  }
  const fit = best.fit;
  const pred = samples.map((s) => fit.a * s.partsMs + fit.b * s.otherMElems + fit.c);
  const err = errorStats(pred, meas);
  return { ...table, calibration: { scale: fit.a, otherMsPerMElem: fit.b, overheadMs: fit.c, medianError: err.median, p90Error: err.p90, samples } };
}
