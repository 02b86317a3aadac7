/**
 * `latprune prune`: IEE or HALP on a model, a dataset and a latency table,
 * with a latency target; checkpoints at every step boundary (atomic),
 * `--resume`, metrics JSONL, each step's knapsack problem saved for
 * inspection, and the final selection, masked model and results.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { runDataSpec, type BatchCursor, type BatchSource, type RunDataOptions } from '../data/index.js';
import { analyzeModel, selectionCost } from '../graph/index.js';
import { ImportanceAccumulator, magnitudeImportance, taylorImportance } from '../importance/index.js';
import {
  LatencyEstimator,
  OrtRuntime,
  channelMultiple,
  coutOfKeep,
  deviceMismatchWarning,
  loadTable,
  refittedCalibrationNote,
  refreshCalibration,
  type TimingOptions,
} from '../latency/index.js';
import { problemToJson } from '../solver/index.js';
import {
  Trainer,
  aboutChance,
  describePreprocess,
  evaluateTestSplit,
  noBatchNormAdvice,
  openModelAndData,
  recalibrateBatchNorm,
  openRunCheckpoint,
  restoreWeights,
  saveCheckpoint,
  weightKey,
  type TrainerConfig,
} from '../train/index.js';
import { resolveModel, saveModel } from '../model/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { startProgress } from '../util/progress.js';
import { fullKeep, toSelection } from './channels.js';
import {
  DEFAULT_BUSY_GUARD,
  DEFAULT_CHECK_CONFIRM,
  DEFAULT_LATENCY_MARGIN,
  bestCheckProbe,
  confirmedMeasurement,
  machineBusy,
  meetsTarget,
  needsConfirmation,
  nextCheckStep,
  type BusyGuard,
  type CheckConfirm,
  type CheckProbe,
} from './check.js';
import { LATENCY_CHECK_ROUNDS, PruneEngine, type CheckDecision, type EngineState, type PruneConfig } from './engine.js';
import { checkGrowRule } from './iee.js';
import { pruneMethod, type MethodName } from './methods.js';
import { describePlan, planSchedule, type ScheduleFlags } from './plan.js';
import { RESUME_MUST_MATCH } from './options.js';
import { calibrationWarning } from '../latency/index.js';
import { faultPoint } from '../util/fault.js';

/** Latency target, one of three forms. */
export type LatencyTarget = { readonly latencyMs: number } | { readonly fps: number } | { readonly speedup: number };

/**
 * The engine's method parameters, as {@link PruneConfig} has them (the budget
 * and length come from the run); schedule knobs left undefined are planned
 * for the run's length ({@link planSchedule}).
 */
export type MethodOptions = Omit<PruneConfig, 'method' | 'budgetMs' | 'totalIterations' | keyof ScheduleFlags> &
  ScheduleFlags & {
    /** A built-in method (the schedule planner knows their phases). */
    readonly method: MethodName;
  };

/** Options of {@link runPrune} (the CLI flags). */
export interface PruneRunOptions extends MethodOptions, RunDataOptions {
  readonly model: string;
  readonly fromScratch: boolean;
  readonly lut: string;
  readonly target: LatencyTarget;
  readonly criterion: 'taylor' | 'magnitude';
  readonly epochs: number;
  /** Total training iterations of the run; overrides `epochs` when given. */
  readonly iterations?: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly workers: number;
  /** Fraction of each group's channels a selection must keep (0: at least one channel). */
  readonly minKeepFraction?: number;
  /** Use only the first N training images (at most the training split's size; ablations on a fixed subset). */
  readonly trainSubset?: number;
  readonly out: string;
  readonly resume: boolean;
  /**
   * After the pruning phase, time the selected network with ONNX Runtime (the
   * table's EP and threads, random weights, five sessions) and re-solve under
   * a corrected budget when it lands more than 3% off the aim
   * (`(1 - margin) x target`; ORT tables only). With a speed-up target the
   * selection is timed in alternation with the dense network and the check
   * uses the measured speed-up (the dense estimate over the ratio), which the
   * machine's drift does not move. Default false in the API, on in the CLI.
   */
  readonly checkLatency?: boolean;
  /** Timing of that check (default: 5 sessions, or pairs of sessions, of at least 20 runs over 3 s; 5 warm-up runs). */
  readonly checkTiming?: TimingOptions;
  /**
   * When the check considers the machine too busy to time (default
   * {@link DEFAULT_BUSY_GUARD}); then it keeps the estimator's selection (or
   * the best one it measured before) and says so.
   */
  readonly busyGuard?: BusyGuard;
  /**
   * When the check measures a selection again before acting on it (default
   * {@link DEFAULT_CHECK_CONFIRM}: more than 10% off its estimate, two more
   * measurements 20 s apart, the median stands).
   */
  readonly checkConfirm?: CheckConfirm;
  /**
   * Safety margin in [0, 0.5): the estimator budget (and the latency check's
   * aim) is `(1 - margin) x target` (default {@link DEFAULT_LATENCY_MARGIN}).
   */
  readonly margin?: number;
  /**
   * Knowledge distillation during the whole run (pruning phase and
   * fine-tuning) from a frozen teacher model file (typically the dense
   * pretrained model): loss `(1 - alpha) CE + alpha T^2 KL` (see
   * `classificationLoss`). Off when undefined.
   */
  readonly distill?: { readonly teacher: string; readonly alpha: number; readonly temperature: number };
  /** Stop after this many iterations in this invocation (tests; continue with --resume). */
  readonly maxIterations?: number;
  readonly command: string;
}

/** Final figures of a run (also written to `result.json`). */
export interface PruneResult {
  readonly method: string;
  readonly top1: number;
  readonly latency_ms: number;
  readonly fps: number;
  readonly dense_latency_ms: number;
  readonly target_latency_ms: number;
  readonly train_seconds: number;
  readonly images_seen: number;
  readonly params: number;
  readonly macs: number;
  readonly kept: Record<string, number>;
  readonly finished: boolean;
  /** The table's estimate of the final selection (ms per batch) and its FPS. */
  readonly estimated_latency_ms: number;
  readonly estimated_fps: number;
  /**
   * The on-device check's measurement of the final selection (ms per batch;
   * with a speed-up target, the dense estimate over the measured speed-up),
   * or null when it was not timed (`--no-check-latency`, a busy machine, a
   * tfjs table). `latency_ms` and `fps` are these when measured.
   */
  readonly measured_latency_ms: number | null;
  readonly measured_fps: number | null;
  /** Measured speed-up over the dense network, timed in alternation (speed-up targets). */
  readonly measured_speedup: number | null;
  /** Whether the target was met (null: the run did not finish), and by which figure that was judged. */
  readonly target_met: boolean | null;
  readonly judged_by: 'measured' | 'estimate';
  /** Top-1 of the starting model on the same test split (null from scratch). */
  readonly dense_top1: number | null;
  /** One line: the run's outcome (what `prune` prints last). */
  readonly verdict: string;
}

interface Meta {
  readonly options: Omit<PruneRunOptions, 'resume' | 'maxIterations' | 'command'>;
  readonly engine: EngineState;
  readonly cursor: BatchCursor;
  readonly step: number;
  readonly imagesSeen: number;
  readonly trainSeconds: number;
}

/** What a run saved before these options existed used (they resume as such). */
const OPTION_DEFAULTS: Readonly<Record<string, unknown>> = { ramp: 1, grow: 'explored', evalBatches: 2, evaluatePrune: false };

/** Target latency (ms) from a target form and the dense latency; FPS counts images at the table's batch. */
export function targetLatency(t: LatencyTarget, denseMs: number, batch: number): number {
  if ('latencyMs' in t) return t.latencyMs;
  if ('fps' in t) return (batch * 1000) / t.fps;
  return denseMs / t.speedup;
}

const sameKept = (a: Record<string, number>, b: Record<string, number>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** Refuses option values no model, data or table can make valid (named by their flags). */
function checkScalarOptions(o: PruneRunOptions): void {
  const bad = (flag: string, want: string, v: unknown) => new LatpruneError('BAD_ARGUMENT', `${flag} must be ${want}, got ${String(v)}.`);
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!posInt(o.batchSize)) throw bad('--batch', 'a positive integer', o.batchSize);
  if (o.iterations === undefined && !posInt(o.epochs)) throw bad('--epochs', 'a positive integer', o.epochs);
  if (o.iterations !== undefined && !posInt(o.iterations)) throw bad('--iterations', 'a positive integer', o.iterations);
  if (o.trainSubset !== undefined && !(Number.isInteger(o.trainSubset) && o.trainSubset >= o.batchSize))
    throw bad('--train-subset', `an integer of at least --batch (${o.batchSize})`, o.trainSubset);
  if (!posInt(o.workers)) throw bad('--workers', 'a positive integer', o.workers);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad('--lr', 'a positive number', o.lr);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw bad('--weight-decay', 'a non-negative number', o.weightDecay);
  if (!Number.isInteger(o.seed)) throw bad('--seed', 'an integer', o.seed);
  if (o.method === 'iee' && !(o.omega >= 0 && o.omega < 1)) throw bad('--omega', 'in [0, 1)', o.omega);
  if (o.minKeepFraction !== undefined && !(o.minKeepFraction >= 0 && o.minKeepFraction <= 1))
    throw bad('--min-keep-fraction', 'in [0, 1]', o.minKeepFraction);
  if (o.margin !== undefined && !(o.margin >= 0 && o.margin < 0.5)) throw bad('--margin', 'a fraction in [0, 0.5)', o.margin);
  const t = o.target;
  const v = 'latencyMs' in t ? t.latencyMs : 'fps' in t ? t.fps : t.speedup;
  if (!(Number.isFinite(v) && v > 0) || ('speedup' in t && !(t.speedup > 1)))
    throw bad(
      'latencyMs' in t ? '--target-latency-ms' : 'fps' in t ? '--target-fps' : '--speedup',
      'speedup' in t ? 'a number above 1' : 'a positive number',
      v,
    );
}

/** Runs or resumes a pruning run. */
export async function runPrune(o: PruneRunOptions, backend: string, log: (l: string) => void): Promise<PruneResult> {
  const ckpt = join(o.out, 'checkpoint.ckpt');
  // before anything is read, trained or written
  checkScalarOptions(o);
  if (o.method === 'iee') checkGrowRule(o);
  const resumed = await openRunCheckpoint<Meta>(
    ckpt,
    o.out,
    o.resume,
    o as unknown as Record<string, unknown>,
    RESUME_MUST_MATCH,
    OPTION_DEFAULTS,
  );

  const loaded = await loadTable(o.lut);
  const warn = deviceMismatchWarning(loaded, o.lut);
  if (warn) log(warn);
  const opened = await openModelAndData(o.model, runDataSpec(o), {
    seed: o.seed,
    ...(o.preprocess !== undefined ? { preprocessFile: o.preprocess } : {}),
  });
  const { model, fromZoo, data } = opened;
  log(data.describe());
  log(describePreprocess(opened));
  const numClasses = data.classNames.length;
  const zoo = { inputShape: [...data.imageShape] as [number, number, number], numClasses, seed: o.seed };
  if (o.fromScratch && !fromZoo)
    throw new LatpruneError('BAD_ARGUMENT', `--from-scratch needs a zoo architecture name, not a model file (${o.model}).`);
  const inShape = model.inputs[0]!.shape;
  if (inShape[1] !== loaded.input[0] || inShape[2] !== loaded.input[1] || inShape[3] !== loaded.input[2]) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--lut ${o.lut} was built for input ${loaded.input.join('x')}, but the model takes ${inShape.slice(1).join('x')}; profile this model's input size.`,
    );
  }
  const graph = analyzeModel(model, { minKeepFraction: o.minKeepFraction ?? 0 });
  const bnAdvice = noBatchNormAdvice(model, o.lr);
  if (bnAdvice) log(bnAdvice.line);
  const fresh = refreshCalibration(model, loaded);
  if (fresh.refitted) log(refittedCalibrationNote(o.lut, loaded));
  const table = fresh.table;
  const calWarn = calibrationWarning(table, o.lut);
  if (calWarn) log(calWarn);
  const est = LatencyEstimator.create(model, table, graph);
  const full = fullKeep(graph);
  const denseMs = est.total(full);
  const target = targetLatency(o.target, denseMs, table.batch);
  // 0 = auto: the table's channel multiple (kept widths stay on the runtime's fast kernels)
  const granularity = o.granularity > 0 ? o.granularity : channelMultiple(table.layout);
  const floorMs = est.total(
    Object.fromEntries(graph.groups.map((g) => [g.id, Math.min(g.size, Math.ceil(Math.max(1, g.minKeep) / granularity) * granularity)])),
  );
  if (!(target > 0) || target < floorMs) {
    throw new LatpruneError(
      'INFEASIBLE',
      `target ${target.toFixed(3)} ms (${((table.batch * 1000) / target).toFixed(1)} FPS) is below the fastest the table allows with minimum channels: ${floorMs.toFixed(3)} ms (${((table.batch * 1000) / floorMs).toFixed(1)} FPS). Choose a lower FPS or speed-up.`,
    );
  }
  const margin = o.margin ?? DEFAULT_LATENCY_MARGIN;
  if (!(margin >= 0 && margin < 0.5))
    throw new LatpruneError('BAD_ARGUMENT', `--margin must be a fraction in [0, 0.5), got ${String(o.margin)}.`);
  // the estimator budget: the target less the safety margin, but never below what the table allows
  const budget = Math.max(target * (1 - margin), floorMs);
  // the on-device latency check (policy in check.ts): the selections it timed, the estimator budget
  // the current one was solved under, and its round (re-solves write problems/step-NNN-check-R-*.json)
  type Paired = { measured_speedup: number; raw_ms: number; dense_measured_ms: number };
  const probes: Array<CheckProbe & { readonly kept: Record<string, number>; readonly paired: Paired | undefined }> = [];
  // the margin actually aimed with: the asked one, or less where the table's floor raised the budget
  const aimMargin = 1 - budget / target;
  let checkBudget = budget;
  let checkRound = -1;
  /** Why the check stopped re-solving without reaching its aim, when it did. */
  let checkStop: string | undefined;
  const guard = o.busyGuard ?? DEFAULT_BUSY_GUARD;
  const timeOnce = async (kept: Record<string, number>): Promise<{ ms: number; paired: Paired | undefined; denseMs?: number }> => {
    const checkTiming: TimingOptions = { warmup: 5, minRuns: 20, maxRuns: 60, relCi: 0.01, capSeconds: 3, sessions: 5, ...o.checkTiming };
    const rt = await OrtRuntime.create({ ep: table.runtime.ep, threads: table.runtime.threads });
    try {
      const selected = { model, coutOf: coutOfKeep(graph, kept), batch: table.batch };
      const dense = { model, coutOf: coutOfKeep(graph, full), batch: table.batch };
      if (!('speedup' in o.target)) {
        const ms = (await rt.measureNetwork(selected, checkTiming)).ms;
        // far slower than estimated: the machine may be busy; the dense network tells
        if (!machineBusy(ms, est.total(kept), guard)) return { ms, paired: undefined };
        return { ms, paired: undefined, denseMs: (await rt.measureNetwork(dense, checkTiming)).ms };
      }
      // a speed-up target is relative to the dense model: time the selection in alternation
      // with the dense network and read the latency off the measured ratio, so the
      // machine's drift (several percent within minutes here) cancels
      const p = await rt.measureNetworkPair(selected, dense, checkTiming);
      return { ms: denseMs / p.ratio, paired: { measured_speedup: p.ratio, raw_ms: p.aMs, dense_measured_ms: p.bMs }, denseMs: p.bMs };
    } finally {
      await rt.dispose();
    }
  };
  /** Times a selection; `busy` when the dense network still measures over the guard after the retries. */
  const timeSelection = async (kept: Record<string, number>): Promise<{ ms: number; paired: Paired | undefined; busy: boolean }> => {
    for (let attempt = 0; ; attempt++) {
      const m = await timeOnce(kept);
      const busy = m.denseMs !== undefined && machineBusy(m.denseMs, denseMs, guard);
      if (!busy || attempt >= guard.retries) return { ms: m.ms, paired: m.paired, busy };
      log(
        `latency check: the dense network measured ${m.denseMs!.toFixed(3)} ms, ${(m.denseMs! / denseMs).toFixed(2)}x the table's ${denseMs.toFixed(3)} ms: the machine looks busy; measuring again in ${Math.round(guard.pauseMs / 1000)} s (${attempt + 1}/${guard.retries})`,
      );
      await sleep(guard.pauseMs);
    }
  };
  const confirm = o.checkConfirm ?? DEFAULT_CHECK_CONFIRM;
  /**
   * Times a selection, confirming a measurement far from the estimate (see
   * {@link CheckConfirm}): `measurements` lists every non-busy one taken.
   */
  const timeConfirmed = async (
    kept: Record<string, number>,
    estimatedMs: number,
  ): Promise<{ ms: number; paired: Paired | undefined; busy: boolean; measurements: number[] }> => {
    const first = await timeSelection(kept);
    if (first.busy || !needsConfirmation(estimatedMs, first.ms, confirm)) return { ...first, measurements: [first.ms] };
    const all = [first];
    for (let i = 0; i < confirm.repeats; i++) {
      log(
        `latency check: measured ${first.ms.toFixed(3)} ms for an estimate of ${estimatedMs.toFixed(3)} ms (${((100 * (first.ms - estimatedMs)) / estimatedMs).toFixed(1)}%, more than the ${(100 * confirm.disagreement).toFixed(0)}% that calls for a confirmation): measuring again in ${Math.round(confirm.pauseMs / 1000)} s (${i + 1}/${confirm.repeats})`,
      );
      await sleep(confirm.pauseMs);
      const m = await timeSelection(kept);
      if (!m.busy) all.push(m);
    }
    const pick =
      all[
        confirmedMeasurement(
          estimatedMs,
          all.map((m) => m.ms),
        )
      ]!;
    return { ...pick, measurements: all.map((m) => m.ms) };
  };
  if (budget > target * (1 - margin))
    log(
      `warning: the table's floor ${floorMs.toFixed(3)} ms leaves only a ${(aimMargin * 100).toFixed(1)}% margin below the target (asked ${(margin * 100).toFixed(1)}%).`,
    );
  const iter: BatchSource = data.openTrain({ batchSize: o.batchSize, seed: o.seed, ...(resumed ? { cursor: resumed.meta.cursor } : {}) });
  const totalIterations = o.iterations ?? o.epochs * iter.batchesPerEpoch;
  // laid out (or refused) before any training or output
  const plan = planSchedule(o.method, totalIterations, o, o.explore);
  let teacher: tf.LayersModel | undefined;
  if (o.distill) {
    const d = o.distill;
    if (!(d.alpha >= 0 && d.alpha <= 1)) throw new LatpruneError('BAD_ARGUMENT', `--distill-alpha must be in [0, 1], got ${d.alpha}.`);
    if (!(d.temperature > 0)) throw new LatpruneError('BAD_ARGUMENT', `--distill-temperature must be positive, got ${d.temperature}.`);
    // loaded after the student, so the student's variable names (checkpoint keys) do not change
    teacher = (await resolveModel(d.teacher, zoo)).model;
    const io = (m: tf.LayersModel) => `takes ${m.inputs[0]!.shape.slice(1).join('x')} and gives ${m.outputs[0]!.shape[1]} classes`;
    if (io(teacher) !== io(model))
      throw new LatpruneError('BAD_ARGUMENT', `--distill teacher ${d.teacher} ${io(teacher)}; the student ${io(model)}.`);
  }
  const trainerCfg: TrainerConfig = {
    loss: {
      numClasses,
      labelSmoothing: 0,
      ...(o.distill ? { distill: { alpha: o.distill.alpha, temperature: o.distill.temperature } } : {}),
    },
    sgd: { momentum: 0.9, nesterov: false, weightDecay: o.weightDecay },
    schedule: { baseLr: o.lr, totalSteps: totalIterations, warmupSteps: o.fromScratch ? Math.round(0.5 * iter.batchesPerEpoch) : 0 },
    // gradient worker threads split a batch over CPU cores; on the GPU one thread feeds the whole batch
    workers: backend === 'webgpu' ? 1 : o.workers,
  };
  if (backend === 'webgpu' && o.workers > 1)
    log(`note: --workers ${o.workers} is for the CPU backends; on webgpu the GPU takes the whole batch from one thread (--workers 1)`);
  const trainer = await Trainer.create(model, trainerCfg, backend, teacher);
  for (const n of trainer.notes) log(n);
  let bar: ReturnType<typeof startProgress> | undefined;
  try {
    const keyOfVar = new Map(model.weights.map((w) => [(w as unknown as { val: tf.Variable }).val.name, weightKey(w)]));
    const varOfKey = new Map([...keyOfVar].map(([v, k]) => [k, v]));
    let trainSeconds = resumed?.meta.trainSeconds ?? 0;
    let mru: Map<string, Float32Array> | undefined;
    let denseTop1: number | null = null;
    if (resumed) {
      const saved = JSON.parse(await readFile(join(o.out, 'config.json'), 'utf8')) as { denseTop1?: number | null };
      denseTop1 = saved.denseTop1 ?? null;
      restoreWeights(model, resumed.weights, ckpt);
      trainer.setState({ step: resumed.meta.step, imagesSeen: resumed.meta.imagesSeen, optimizer: resumed.optimizer });
      mru = new Map(Object.entries(resumed.extra).map(([k, v]) => [varOfKey.get(k) ?? k, v.data]));
      log(`resumed ${ckpt} at iteration ${trainer.step}/${totalIterations}`);
    } else {
      await mkdir(join(o.out, 'problems'), { recursive: true });
      const { resume: _r, maxIterations: _m, ...saved } = o;
      if (!o.fromScratch) {
        denseTop1 = (await evaluateTestSplit(model, data)).top1;
        log(`starting model: top-1 ${(100 * denseTop1).toFixed(2)}% on the ${data.testCount} test images`);
        if (aboutChance(denseTop1, numClasses)) {
          log(
            `WARNING: the starting model scores about chance (${(100 / numClasses).toFixed(0)}%) on ${data.dir}: it has not learned this data (untrained, trained on other data, or other preprocessing). Pruning keeps what a model knows; train it first (\`latprune train\`) or check --data.`,
          );
        }
      }
      await writeFileAtomic(
        join(o.out, 'config.json'),
        JSON.stringify(
          {
            ...saved,
            granularityUsed: granularity,
            denseMs,
            targetMs: target,
            budgetMs: budget,
            tableBatch: table.batch,
            totalIterations,
            schedule: plan,
            denseTop1,
          },
          null,
          2,
        ),
      );
    }
    const cfg: PruneConfig = {
      method: o.method,
      H: plan.H,
      J: plan.J,
      Q: plan.Q,
      T: plan.T,
      omega: o.omega,
      ramp: plan.ramp,
      ...(plan.rampInterval !== undefined ? { rampInterval: plan.rampInterval } : {}),
      ...(o.grow !== undefined ? { grow: o.grow } : {}),
      ...(o.evalBatches !== undefined ? { evalBatches: o.evalBatches } : {}),
      ...(o.evaluatePrune ? { evaluatePrune: true } : {}),
      schedule: o.schedule,
      explore: o.explore,
      freeze: o.freeze,
      zeroInit: o.zeroInit,
      steps: plan.steps,
      interval: plan.interval,
      granularity,
      budgetMs: budget,
      totalIterations,
    };
    log(describePlan(o.method, plan, totalIterations));
    const acc = new ImportanceAccumulator(model, graph, o.criterion === 'taylor' ? taylorImportance() : magnitudeImportance());
    const engine = PruneEngine.start(cfg, trainer, graph, est, acc, pruneMethod(o.method), resumed?.meta.engine, mru);
    log(
      `${o.method}: dense ${denseMs.toFixed(3)} ms -> target ${target.toFixed(3)} ms (${((table.batch * 1000) / target).toFixed(1)} FPS at batch ${table.batch}; aiming at ${budget.toFixed(3)} ms, ${(aimMargin * 100).toFixed(1)}% margin), ${totalIterations} iterations, kept counts in multiples of ${granularity}`,
    );

    const metrics = join(o.out, 'metrics.jsonl');
    const stopAt = o.maxIterations === undefined ? totalIterations : Math.min(totalIterations, trainer.step + o.maxIterations);
    const progress = startProgress(`${o.method} ${o.model}`, totalIterations, trainer.step, ['phase', 'loss', 'latency']);
    bar = progress;
    let window = { loss: 0, n: 0 };
    class Stop extends Error {}
    const checkpoint = async (state: EngineState) => {
      const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [v, data] of engine.mru) extra[keyOfVar.get(v) ?? v] = { shape: [data.length], data };
      await saveCheckpoint<Meta>(
        ckpt,
        model,
        (await trainer.readState()).optimizer,
        {
          options: (({ resume: _r, maxIterations: _m, command: _c, ...rest }) => rest)(o),
          engine: state,
          cursor: iter.cursor(),
          step: trainer.step,
          imagesSeen: trainer.imagesSeen,
          trainSeconds,
        },
        extra,
      );
    };
    let lastT = performance.now();
    try {
      await engine.run({
        nextBatch: async () => {
          const b = await iter.next();
          return { x: b.x, shape: b.shape, labels: b.labels };
        },
        onIteration: async (it, loss, phase) => {
          const now = performance.now();
          trainSeconds += (now - lastT) / 1000;
          lastT = now;
          window = { loss: window.loss + loss, n: window.n + 1 };
          if (window.n === 20) {
            await appendFile(
              metrics,
              `${JSON.stringify({ kind: 'train', iteration: it, phase, loss: window.loss / window.n, latency_ms: engine.latencyMs(), train_seconds: trainSeconds })}\n`,
            );
            progress.update(it, { phase, loss: (window.loss / window.n).toFixed(4), latency: `${engine.latencyMs().toFixed(2)} ms` });
            window = { loss: 0, n: 0 };
          }
        },
        onStep: async (r) => {
          const file = join(
            o.out,
            'problems',
            `step-${String(r.step).padStart(3, '0')}${checkRound >= 0 ? `-check-${checkRound}` : ''}-${r.phase}.json`,
          );
          await writeFileAtomic(file, problemToJson({ ...r.problem, meta: { step: r.step, phase: r.phase, iteration: r.iteration } }));
          const { problem: _p, ...rest } = r;
          await appendFile(metrics, `${JSON.stringify({ kind: 'step', ...rest, fps: (table.batch * 1000) / r.latencyMs })}\n`);
        },
        ...(o.checkLatency && table.runtime.name === 'ort'
          ? {
              checkLatency: async (
                kept: Record<string, number>,
                estimatedMs: number,
                round: number,
                last: boolean,
              ): Promise<CheckDecision> => {
                if (round === 0) {
                  probes.length = 0;
                  checkBudget = budget;
                }
                checkRound = round;
                // a re-solve that did not move the selection: its measurement stands
                const again = probes.find((p) => sameKept(p.kept, kept));
                const m = again
                  ? { ms: again.measuredMs, paired: again.paired, busy: false, measurements: [] }
                  : await timeConfirmed(kept, estimatedMs);
                let decision: CheckDecision;
                let verdict: string;
                const step = m.busy
                  ? undefined
                  : nextCheckStep([...probes, { estimatedMs, measuredMs: m.ms, budgetMs: checkBudget }], target, aimMargin);
                if (!m.busy) probes.push({ estimatedMs, measuredMs: m.ms, budgetMs: checkBudget, kept, paired: m.paired });
                if (!step) {
                  // timings on a busy machine would steer the selection by the load: stop here
                  if (probes.length === 0) {
                    decision = { kind: 'keep' };
                    verdict =
                      "the machine stayed busy: keeping the estimator's selection unchecked; time the exported model with `latprune verify` on a quiet machine";
                  } else {
                    const best = bestCheckProbe(probes, target, aimMargin);
                    decision = { kind: 'restore', round: best };
                    verdict = `the machine stayed busy: keeping the selection of round ${best} (measured ${probes[best]!.measuredMs.toFixed(3)} ms before)`;
                  }
                } else if (step.kind === 'accept') {
                  decision = { kind: 'keep' };
                  verdict = 'ok';
                } else if (step.kind === 'resolve' && !last && !(again && Math.abs(step.budgetMs - checkBudget) <= 1e-6 * checkBudget)) {
                  decision = { kind: 'resolve', budgetMs: step.budgetMs };
                  checkBudget = step.budgetMs;
                  verdict = `re-solving under an estimator budget of ${step.budgetMs.toFixed(3)} ms`;
                } else {
                  // out of re-solves, or of budgets to try: keep the best selection measured
                  // (meets the target, closest to the aim; the fastest when none meets it)
                  const best = bestCheckProbe(probes, target, aimMargin);
                  const p = probes[best]!;
                  const state = !meetsTarget(target, p.measuredMs)
                    ? 'misses the target'
                    : p.measuredMs < target / 1.1
                      ? 'meets the target with more than 10% to spare'
                      : 'meets the target';
                  decision = { kind: 'restore', round: best };
                  const why =
                    step.kind === 'stop'
                      ? step.reason
                      : !last
                        ? 'the knapsack returns the same selection under the corrected budget'
                        : `${LATENCY_CHECK_ROUNDS} re-solves done`;
                  checkStop = why;
                  verdict = `${why}; keeping the selection of round ${best} (measured ${p.measuredMs.toFixed(3)} ms: ${state})`;
                }
                const how = m.paired
                  ? ` (${m.paired.measured_speedup.toFixed(3)}x the dense network timed in alternation: ${m.paired.raw_ms.toFixed(3)} vs ${m.paired.dense_measured_ms.toFixed(3)} ms)`
                  : '';
                const confirmed =
                  m.measurements.length > 1
                    ? `; the one standing of ${m.measurements.length} measurements: ${m.measurements.map((x) => x.toFixed(3)).join(', ')} ms`
                    : '';
                log(
                  `latency check ${round}: estimated ${estimatedMs.toFixed(3)} ms, measured ${m.ms.toFixed(3)} ms${again ? ' (same selection as before)' : how}${confirmed}, aim ${budget.toFixed(3)} ms, target ${target.toFixed(3)} ms: ${verdict}`,
                );
                const record = {
                  kind: 'latency-check',
                  iteration: trainer.step,
                  round,
                  kept,
                  estimated_ms: estimatedMs,
                  measured_ms: m.ms,
                  ...(m.paired ?? {}),
                  ...(again ? { remeasured: false } : {}),
                  ...(m.measurements.length > 1 ? { confirm_ms: m.measurements } : {}),
                  ...(m.busy ? { busy: true } : {}),
                  target_ms: target,
                  aim_ms: budget,
                  budget_ms: decision.kind === 'resolve' ? decision.budgetMs : null,
                  ...(decision.kind === 'restore' ? { restored_round: decision.round, restored_kept: probes[decision.round]!.kept } : {}),
                };
                await appendFile(metrics, `${JSON.stringify(record)}\n`);
                return decision;
              },
            }
          : {}),
        onBoundary: async (state) => {
          await checkpoint(state);
          faultPoint('prune-boundary');
          if (trainer.step >= stopAt && trainer.step < totalIterations) throw new Stop();
        },
      });
    } catch (err) {
      if (err instanceof LatpruneError && err.code === 'DIVERGED' && bnAdvice)
        throw new LatpruneError('DIVERGED', `${err.message} Note: ${bnAdvice.reason}`);
      if (!(err instanceof Stop)) throw err;
    } finally {
      progress.stop();
    }
    const finished = trainer.step >= totalIterations;
    const kept = engine.kept();
    const latency = est.total(kept);
    const sel = toSelection(Object.fromEntries(Object.entries(engine.state().active).map(([k, v]) => [k, Uint8Array.from(v)])));
    const cost = selectionCost(graph, sel);
    let top1 = NaN;
    if (finished) {
      // BN statistics of the final network (grown channels feed active ones; see recalibrateBatchNorm)
      await recalibrateBatchNorm(model, async () => {
        const b = await iter.next();
        return { x: b.x, shape: b.shape, labels: b.labels };
      });
      top1 = (await evaluateTestSplit(model, data)).top1;
      if (!Number.isFinite(top1))
        throw new LatpruneError(
          'DIVERGED',
          `the pruned model's test accuracy is not a number: training diverged (see ${metrics}); lower --lr.`,
        );
      await writeFileAtomic(
        join(o.out, 'selection.json'),
        JSON.stringify({ model: o.model, lut: o.lut, target_ms: target, latency_ms: latency, kept, selection: sel }, null, 1),
      );
      await saveModel(model, join(o.out, 'model'), {
        latprune: { masked: true, selection: 'selection.json', preprocess: opened.preprocess },
      });
    }
    // the final selection as the on-device check measured it (it is one of the probes: accepted or restored)
    const probe = [...probes].reverse().find((p) => sameKept(p.kept, kept));
    const measured = probe?.measuredMs ?? null;
    const fpsOf = (ms: number) => (table.batch * 1000) / ms;
    const judged = measured ?? latency;
    const met = finished ? meetsTarget(target, judged) : null;
    const learnedNothing = finished && aboutChance(top1, numClasses);
    // with a speed-up target the check measures a ratio; its FPS is the table's dense estimate times that ratio
    const measuredText = probe?.paired
      ? `measured ${probe.paired.measured_speedup.toFixed(3)}x the dense network (timed in alternation; ${fpsOf(judged).toFixed(1)} FPS on the table's scale), table estimate ${fpsOf(latency).toFixed(1)} FPS`
      : `${fpsOf(judged).toFixed(1)} FPS measured, table estimate ${fpsOf(latency).toFixed(1)}`;
    const figures = `top-1 ${(100 * top1).toFixed(2)}%${denseTop1 !== null ? ` (dense ${(100 * denseTop1).toFixed(2)}%)` : ''}, ${measured !== null ? measuredText : `${fpsOf(latency).toFixed(1)} FPS by the table's estimate (not timed on the device: check it with \`latprune verify\`)`}, target ${fpsOf(target).toFixed(1)} FPS`;
    const unchecked = finished && measured === null && Boolean(o.checkLatency) && table.runtime.name === 'ort';
    const verdict = !finished
      ? `STOPPED at iteration ${trainer.step}/${totalIterations}: continue with --resume`
      : learnedNothing
        ? `FAIL: the pruned model learned nothing: ${figures}; chance is ${(100 / numClasses).toFixed(0)}%. Train longer (--epochs), check --lr and the data`
        : met
          ? measured !== null
            ? `PASS: ${figures}`
            : unchecked
              ? `UNCHECKED: the table's estimate meets the target, but the device stayed too busy to time it: ${figures}`
              : `PASS (estimate): ${figures}`
          : `MISSED the target: ${figures}${checkStop ? `. ${checkStop}` : ''}`;
    const result: PruneResult = {
      method: o.method + (o.fromScratch ? '-scratch' : ''),
      top1,
      latency_ms: judged,
      fps: fpsOf(judged),
      dense_latency_ms: denseMs,
      target_latency_ms: target,
      train_seconds: trainSeconds,
      images_seen: trainer.imagesSeen,
      params: cost.params,
      macs: cost.macs,
      kept,
      finished,
      estimated_latency_ms: latency,
      estimated_fps: fpsOf(latency),
      measured_latency_ms: measured,
      measured_fps: measured === null ? null : fpsOf(measured),
      measured_speedup: probe?.paired?.measured_speedup ?? null,
      // a check that was asked for and could not time the device leaves the outcome unknown
      target_met: learnedNothing ? false : unchecked ? null : met,
      judged_by: measured !== null ? 'measured' : 'estimate',
      dense_top1: denseTop1,
      verdict,
    };
    await writeFileAtomic(join(o.out, 'result.json'), JSON.stringify(result, null, 2));
    return result;
  } finally {
    // every path out (errors included) stops the bar and the gradient workers, or the process would not exit
    bar?.stop();
    await trainer.dispose();
    await iter.close();
    model.dispose();
    teacher?.dispose();
  }
}
