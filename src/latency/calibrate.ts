/**
 * Calibration of the whole-network estimate against whole networks measured
 * on the device: random channel selections (some on the runtime's fast
 * widths, some off them, and the dense model) are exported with random
 * weights, timed, and a calibration model (blocked and plain layers scaled
 * separately, untimed ops, a constant) is fitted by least squares and chosen
 * by leave-one-out error. Networks with plain-kernel layers may get a fit of
 * their own (`mixed`): measured here, ResNet-20 at batch 128, they do not
 * follow the all-blocked networks' model (one fit over both: 3.8% / 9.4%
 * median / p90 on 30 random networks; one per population: 2.1% / 6.7%).
 */
import type * as tf from '@tensorflow/tfjs';
import { analyzeModel, layerWidths, type ChannelGraph } from '../graph/index.js';
import { seededRandom } from '../util/random.js';
import {
  applyCalibration,
  plainShare,
  LatencyEstimator,
  type CalibrationFit,
  type CalibrationParts,
  type CalibrationSample,
  type LatencyBreakdown,
} from './estimate.js';
import { median, type LatencyRuntime, type TimingOptions } from './runtime.js';
import { profileCommandLine, type CalibrationCoefficients, type LatencyTable } from './table.js';

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

/**
 * Least squares `y ~ X w` over the columns of `X` (normal equations, Gaussian
 * elimination with partial pivoting); undefined when the system is singular.
 */
export function leastSquares(cols: readonly (readonly number[])[], y: readonly number[]): number[] | undefined {
  const k = cols.length;
  const A = cols.map((ci) => cols.map((cj) => ci.reduce((s, v, i) => s + v * cj[i]!, 0)));
  const rhs = cols.map((ci) => ci.reduce((s, v, i) => s + v * y[i]!, 0));
  for (let i = 0; i < k; i++) {
    let p = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(A[r]![i]!) > Math.abs(A[p]![i]!)) p = r;
    if (Math.abs(A[p]![i]!) < 1e-12 * Math.max(1, Math.abs(A[i]![i]!))) return undefined;
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
  return x.every(Number.isFinite) ? x : undefined;
}

/** Fits y ~ a*x1 + b*x2 + c by least squares; falls back to fewer terms when ill-posed or b < 0. */
export function fitCalibration(x1: readonly number[], x2: readonly number[], y: readonly number[]): { a: number; b: number; c: number } {
  const n = y.length;
  const ones = new Array<number>(n).fill(1);
  if (n >= 4) {
    const full = leastSquares([x1, x2, ones], y);
    if (full && full[0]! > 0 && full[1]! >= 0) return { a: full[0]!, b: full[1]!, c: full[2]! };
  }
  if (n >= 2) {
    const two = leastSquares([x1, ones], y);
    if (two && two[0]! > 0) return { a: two[0]!, b: 0, c: two[1]! };
  }
  const ratio =
    y.reduce((s, v) => s + v, 0) /
    Math.max(
      1e-9,
      x1.reduce((s, v) => s + v, 0),
    );
  return { a: ratio, b: 0, c: 0 };
}

const hasPlain = (s: CalibrationSample) => (s.plainMs ?? 0) > 0;

/**
 * Candidate calibration models, simplest last: blocked and plain layers
 * scaled separately (with and without the untimed-ops and constant terms),
 * the single-scale least-squares fit, a median scale, and none.
 */
const CANDIDATES: ReadonlyArray<(s: readonly CalibrationSample[]) => CalibrationCoefficients | undefined> = [
  (s) => {
    if (s.length < 3 || !s.some(hasPlain)) return undefined;
    const w = leastSquares(
      [s.map((x) => x.partsMs - (x.plainMs ?? 0)), s.map((x) => x.plainMs ?? 0)],
      s.map((x) => x.measuredMs),
    );
    return w && w[0]! > 0 && w[1]! > 0 ? { scale: w[0]!, plainScale: w[1]!, otherMsPerMElem: 0, overheadMs: 0 } : undefined;
  },
  (s) => {
    if (s.length < 8 || !s.some(hasPlain)) return undefined;
    const w = leastSquares(
      [s.map((x) => x.partsMs - (x.plainMs ?? 0)), s.map((x) => x.plainMs ?? 0), s.map((x) => x.otherMElems), s.map(() => 1)],
      s.map((x) => x.measuredMs),
    );
    return w && w[0]! > 0 && w[1]! > 0 && w[2]! >= 0
      ? { scale: w[0]!, plainScale: w[1]!, otherMsPerMElem: w[2]!, overheadMs: w[3]! }
      : undefined;
  },
  (s) => {
    const f = fitCalibration(
      s.map((x) => x.partsMs),
      s.map((x) => x.otherMElems),
      s.map((x) => x.measuredMs),
    );
    return { scale: f.a, otherMsPerMElem: f.b, overheadMs: f.c };
  },
  (s) => ({ scale: median(s.map((x) => x.measuredMs / Math.max(1e-9, x.partsMs))), otherMsPerMElem: 0, overheadMs: 0 }),
  () => ({ scale: 1, otherMsPerMElem: 0, overheadMs: 0 }),
];

/**
 * The candidate with the lowest leave-one-out score on `samples`, fitted on
 * all of them. A candidate that cannot be fitted on every fold is skipped
 * (falling back to the full fit would score it in-sample).
 */
function fitBest(samples: readonly CalibrationSample[]): CalibrationCoefficients {
  const meas = samples.map((s) => s.measuredMs);
  const ratio = (): CalibrationCoefficients => ({
    scale: median(samples.map((x) => x.measuredMs / Math.max(1e-9, x.partsMs))) || 1,
    otherMsPerMElem: 0,
    overheadMs: 0,
  });
  if (samples.length < 3) return samples.length ? ratio() : { scale: 1, otherMsPerMElem: 0, overheadMs: 0 };
  let best: CalibrationCoefficients | undefined;
  let bestScore = Infinity;
  for (const cand of CANDIDATES) {
    const fit = cand(samples);
    if (!fit) continue;
    const folds = samples.map((_, i) => cand(samples.filter((_, j) => j !== i)));
    if (folds.some((f) => f === undefined)) continue;
    const score = looScore(
      samples.map((s, i) => applyCalibration(folds[i]!, s)),
      meas,
    );
    if (score < bestScore - 1e-12) {
      bestScore = score;
      best = fit;
    }
  }
  return best ?? ratio();
}

/** Mean of the median and p90 relative error: one noisy network must not skew every estimate, and the tail matters to a user who must meet a target. */
function looScore(pred: readonly number[], meas: readonly number[]): number {
  const e = errorStats(pred, meas);
  return (e.median + e.p90) / 2;
}

/** Fewest samples of each population (with and without plain-kernel layers) for a fit of its own. */
export const MIN_SPLIT_SAMPLES = 6;

/** One model for all-blocked networks and one for networks with plain-kernel layers, or undefined with fewer than `minEach` of either. */
function fitSplit(samples: readonly CalibrationSample[], minEach: number): CalibrationFit | undefined {
  const blocked = samples.filter((s) => !hasPlain(s));
  const mixed = samples.filter(hasPlain);
  if (blocked.length < minEach || mixed.length < minEach) return undefined;
  return { ...fitBest(blocked), mixed: { ...fitBest(mixed), fromPlainShare: Math.min(...mixed.map(plainShare)) } };
}

/**
 * Chooses the calibration with the lowest leave-one-out error: the best
 * single model for all networks, or (with at least {@link MIN_SPLIT_SAMPLES}
 * of each population) the best model for networks without plain-kernel
 * layers together with the best for networks with them. The leave-one-out
 * is nested: each held-out network is predicted by a calibration chosen and
 * fitted without it, so that the split (two choices of model) is not
 * favoured for having more chances to fit noise.
 */
export function chooseCalibration(
  samples: readonly CalibrationSample[],
): CalibrationFit & { readonly looMedian: number; readonly looP90: number } {
  const meas = samples.map((s) => s.measuredMs);
  const without = (i: number) => samples.filter((_, j) => j !== i);
  let fit: CalibrationFit = fitBest(samples);
  let loo = samples.map((s, i) => applyCalibration(fitBest(without(i)), s));
  const split = fitSplit(samples, MIN_SPLIT_SAMPLES);
  if (split) {
    // a fold leaves at least MIN_SPLIT_SAMPLES - 1 of each population
    const splitLoo = samples.map((s, i) => applyCalibration(fitSplit(without(i), MIN_SPLIT_SAMPLES - 1)!, s));
    if (looScore(splitLoo, meas) < looScore(loo, meas) - 1e-12) {
      fit = split;
      loo = splitLoo;
    }
  }
  const e = errorStats(loo, meas);
  return { ...fit, looMedian: e.median, looP90: e.p90 };
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
  /** Rounds over all networks (default 3); each network's median over the rounds is used. */
  readonly rounds?: number;
  readonly onSample?: (i: number, total: number) => void;
}

/** Measures whole networks and stores the fitted calibration in `table` (returned). */
export async function calibrateTable(
  model: tf.LayersModel,
  graph: ChannelGraph,
  table: LatencyTable,
  runtime: LatencyRuntime,
  o: CalibrateOptions,
): Promise<LatencyTable> {
  const uncal: LatencyTable = { ...table, calibration: undefined };
  const est = LatencyEstimator.create(model, uncal, graph);
  const rnd = seededRandom(o.seed ?? 7);
  const n = o.samples ?? 32;
  const align = table.layout.conv?.outPad ?? 1;
  const keeps: KeepCounts[] = [Object.fromEntries(graph.groups.map((g) => [g.id, g.size]))];
  while (keeps.length < n) keeps.push(randomKeep(graph, rnd, 0.2, keeps.length % 2 ? align : 1));
  // every network once per round, `rounds` rounds: minute-scale drift of the machine (measured
  // here: plain-kernel networks 20% slower twenty minutes later, blocked ones unchanged) hits all
  // networks alike instead of a few of them
  const rounds = o.rounds ?? 3;
  const timing = { ...(o.timing ?? { warmup: 3, minRuns: 10, maxRuns: 40, capSeconds: 4 }), sessions: 1 };
  const widths = keeps.map((keep) => layerWidths(graph, keepToSelection(graph, keep)));
  const times: number[][] = keeps.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keeps.length; i++) {
      o.onSample?.(r * keeps.length + i, rounds * keeps.length);
      const w = widths[i]!;
      times[i]!.push((await runtime.measureNetwork({ model, coutOf: (l) => w[l]?.outputs[0], batch: table.batch }, timing)).ms);
    }
  }
  const samples = keeps.map((keep, i) => ({ keep, measuredMs: median(times[i]!), ...partsOf(est.estimate(widths[i]!)) }));
  return { ...table, calibration: calibrationFrom(samples) };
}

/** The calibration features of an uncalibrated estimate. */
function partsOf(b: LatencyBreakdown): CalibrationParts {
  return { partsMs: b.layersMs + b.reorderMs, plainMs: b.plainMs, otherMElems: b.otherMElems };
}

/** The table calibration chosen and fitted on `samples`, with its in-sample errors. */
function calibrationFrom(samples: NonNullable<LatencyTable['calibration']>['samples']): NonNullable<LatencyTable['calibration']> {
  const { looMedian: _m, looP90: _p, ...fit } = chooseCalibration(samples);
  const err = errorStats(
    samples.map((s) => applyCalibration(fit, s)),
    samples.map((s) => s.measuredMs),
  );
  return { ...fit, medianError: err.median, p90Error: err.p90, samples };
}

/**
 * The table with its calibration checked against this version of the
 * estimator. A calibration is fitted on per-network features (layer
 * look-ups, conversions, plain-kernel share, untimed elements) that the
 * estimator computed when the table was profiled; when the estimator has
 * changed since (e.g. how it prices layout conversions), those features and
 * the coefficients fitted on them no longer match what it computes now. The
 * stored networks (kept counts and measured times) are then re-featured and
 * the calibration refitted from them, without timing anything.
 *
 * @returns the table (unchanged when every stored feature matches within
 *   0.1%) and whether its calibration was refitted
 */
export function refreshCalibration(model: tf.LayersModel, table: LatencyTable): { table: LatencyTable; refitted: boolean } {
  const cal = table.calibration;
  if (!cal || cal.samples.length === 0) return { table, refitted: false };
  // the stored networks were drawn without a caller's minimum kept fraction
  const graph = analyzeModel(model);
  const est = LatencyEstimator.create(model, { ...table, calibration: undefined }, graph);
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(Math.abs(a), Math.abs(b), 1e-6);
  let stale = false;
  const samples = cal.samples.map((s) => {
    const now = partsOf(est.estimate(layerWidths(graph, keepToSelection(graph, s.keep))));
    if (!near(now.partsMs, s.partsMs) || !near(now.plainMs ?? 0, s.plainMs ?? 0) || !near(now.otherMElems, s.otherMElems)) stale = true;
    return { ...s, ...now };
  });
  if (!stale) return { table, refitted: false };
  return { table: { ...table, calibration: calibrationFrom(samples) }, refitted: true };
}

/** The warning to print when {@link refreshCalibration} refitted a table's calibration. */
export function refittedCalibrationNote(path: string, table: LatencyTable): string {
  return `note: ${path} was calibrated by an earlier version of the estimator; its calibration was refitted in memory from the ${table.calibration?.samples.length ?? 0} networks it stores (no timing). \`latprune profile --recalibrate\` re-times and stores a new one.`;
}

/** The p90 relative error of a calibrated estimate above which {@link calibrationWarning} warns. */
export const CALIBRATION_P90_GOAL = 0.15;

/**
 * Calibrations of at most this many networks get a leave-one-out error in
 * {@link calibrationWarning} (its cost grows with the cube of the count: about
 * 70 ms at 32 networks); larger ones are judged by the stored in-sample error,
 * which a leave-one-out one approaches as networks are added.
 */
const LOO_MAX_SAMPLES = 64;

/**
 * Returns a loud warning when the table's whole-network latency estimate
 * should not be trusted, or undefined when it can be:
 *
 * - the table has no calibration (an unmerged shard, an unfinished build or
 *   one run with `--calibrate 0`): estimates are the raw sum of the layer
 *   look-ups, which whole networks do not follow;
 * - it was calibrated on fewer than 3 networks: its error cannot be judged;
 * - its p90 relative error exceeds {@link CALIBRATION_P90_GOAL}. The error is
 *   the larger of the leave-one-out p90 over the stored networks (each
 *   predicted by a calibration chosen and fitted without it, as
 *   {@link chooseCalibration} does; computed for up to 64 networks) and the
 *   stored in-sample p90 of the coefficients in use. A calibration with no
 *   stored networks is judged by the stored in-sample p90 alone.
 *
 * Pure (no IO): the caller prints it.
 *
 * @param table - the table (after `refreshCalibration`, if it is applied)
 * @param path - the table's file, named in the message
 */
export function calibrationWarning(table: LatencyTable, path: string): string | undefined {
  const cmd = profileCommandLine(table, path);
  const verify = '`latprune verify <pruned.onnx> --baseline <dense.onnx>`';
  const c = table.calibration;
  if (!c) {
    if (table.shard) {
      return (
        `WARNING: ${path} is shard ${table.shard.index}/${table.shard.count} of a table and has no calibration: its latency estimates are the raw sum of layer look-ups, ` +
        `which whole networks do not follow. Join the shards with \`latprune lut merge --out <table.json> <shards...>\` and calibrate the result with \`latprune profile ... --out <table.json>\` before pruning with it.`
      );
    }
    return (
      `WARNING: ${path} has no calibration${table.complete ? '' : ' (and is incomplete)'}: its latency estimates are the raw sum of layer look-ups, which whole networks do not follow ` +
      `(measured: 0.8-1.1x of it), so a latency target may be missed or overshot. Calibrate it with \`${cmd} --calibrate 32\`, ` +
      `or check the pruned model's measured speed-up with ${verify}.`
    );
  }
  const n = c.samples.length;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (n > 0 && n < 3) {
    return (
      `WARNING: ${path} is calibrated on only ${n} measured network${n > 1 ? 's' : ''}: its estimate's error cannot be judged (in-sample p90 ${pct(c.p90Error)} says nothing with so few). ` +
      `Re-measure the calibration with \`${cmd} --recalibrate --calibrate 32\`, and check the pruned model's measured speed-up with ${verify}.`
    );
  }
  const loo = n >= 3 && n <= LOO_MAX_SAMPLES ? chooseCalibration(c.samples) : undefined;
  const p90 = Math.max(c.p90Error, loo?.looP90 ?? 0);
  if (p90 <= CALIBRATION_P90_GOAL) return undefined;
  const figures = loo
    ? `p90 relative error ${pct(p90)} (leave-one-out over its ${n} measured networks: p90 ${pct(loo.looP90)}, median ${pct(loo.looMedian)}; in-sample, of the coefficients in use: p90 ${pct(c.p90Error)}, median ${pct(c.medianError)})`
    : `p90 relative error ${pct(c.p90Error)} in-sample (median ${pct(c.medianError)}; ${n ? `over its ${n} measured networks` : 'no measured networks stored for a leave-one-out figure'})`;
  return (
    `WARNING: ${path}: the calibrated latency estimate is unreliable: ${figures}, above the ${pct(CALIBRATION_P90_GOAL)} goal; a model pruned with it may miss its latency target. ` +
    `Re-measure the calibration on more networks with \`${cmd} --recalibrate --calibrate ${Math.max(64, 2 * n)}\`, ` +
    `prune with \`--granularity auto\` (kept widths on the fast kernels, where estimates are steadiest), and check the pruned model's measured speed-up with ${verify}.`
  );
}
