/**
 * The pruning engine: IEE (Iterative Exploitation and Exploration, arXiv
 * 2502.03658) for latency-constrained channel pruning, and HALP (NeurIPS
 * 2022) as the baseline, driving the trainer step by step. The engine owns
 * the training, scoring, knapsack and channel-transition primitives
 * ({@link MethodHost}); a method ({@link PruneMethod}, the built-ins in
 * `iee.ts` and `halp.ts`, registered in `methods.ts`) is handed to it.
 */
import * as tf from '@tensorflow/tfjs';
import type { ChannelGraph } from '../graph/index.js';
import type { GroupScores, ImportanceAccumulator } from '../importance/index.js';
import { linearise, type CoupledLatencyModel, type CoupledProblem, type KnapsackProblem } from '../solver/index.js';
import type { HostBatch, StepHooks, Trainer } from '../train/index.js';
import { allActive, applyGrow, applyPrune, counts, growProblem, maskIoU, pruneProblem, solve, type ActiveSets } from './channels.js';
import type { PruneMethod } from './method.js';
import type { UpdateSchedule } from './schedule.js';
import { ChannelWeights } from './weights.js';

/** How IEE's stage 5 picks the channels to grow (see {@link PruneConfig.grow}). */
export type GrowRule = 'explored' | 'no-regrow' | 'joint' | 'evaluated';

/** The grow rules, for flag validation. */
export const GROW_RULES: readonly GrowRule[] = ['explored', 'no-regrow', 'joint', 'evaluated'];

/** Engine configuration (plain data; stored with checkpoints). */
export interface PruneConfig {
  /** The method's name ({@link PruneMethod.name}); a checkpoint resumes only with the same method. */
  readonly method: string;
  /** Latency budget B (ms, under the estimator). */
  readonly budgetMs: number;
  /** Total training iterations of the run (pruning phases plus fine-tuning). */
  readonly totalIterations: number;
  /** IEE: iterations of stages 1, 3, 4 and number of steps. */
  readonly H: number;
  readonly J: number;
  readonly Q: number;
  readonly T: number;
  /** IEE: initial update budget (fraction of B pruned and regrown per step) and its decay. */
  readonly omega: number;
  readonly schedule: UpdateSchedule;
  /**
   * IEE: prunes of the initial descent from the starting model to B (default
   * 1: one-shot). With k > 1 the first H iterations are split into k scoring
   * intervals, each followed by a prune to the next point of a geometric path
   * from the starting latency to B (as HALP's path), so a pretrained model
   * loses its channels gradually.
   */
  readonly ramp?: number;
  /**
   * IEE with `ramp` k > 1: scoring iterations before each prune of the
   * initial descent (default: the first H iterations split k ways). With it
   * the descent takes k x rampInterval iterations, e.g. HALP's 30 x 40.
   */
  readonly rampInterval?: number;
  /**
   * IEE: how stage 5 chooses the channels to grow (default 'explored').
   * - 'explored': the paper's rule: the active set stays, the best explored
   *   channels by their stage-4 scores come back under B.
   * - 'no-regrow': as 'explored', but the channels pruned at this step's
   *   stage 2 cannot come back at its stage 5. From a pretrained model the
   *   paper's rule tends to return exactly the channels just pruned (they
   *   carry the freshest values), so the structure never moves; this forces
   *   the grow to try other channels.
   * - 'joint': re-select among all channels by the stage-4 scores, which
   *   score active and explored channels over the same batches with every
   *   channel live; active channels can lose their place to explored ones.
   *   Needs `explore`.
   * - 'evaluated': the knapsack proposes, the loss decides. Candidates are
   *   the paper's grow and, for every group it does not fill, the grow with
   *   that group restored to full width and the rest re-solved under B. Each
   *   is made live and its training loss measured on the same
   *   `evalBatches` batches (no update; BN statistics restored after); the
   *   lowest wins. Taylor scores are first-order and additive, so they
   *   undervalue a coupled group (a residual stream) whose channels matter
   *   together; the loss does not. Not in the paper.
   */
  readonly grow?: GrowRule;
  /** IEE `grow: 'evaluated'`: training batches each candidate's loss is measured on (default 2). */
  readonly evalBatches?: number;
  /**
   * IEE with `grow: 'evaluated'`: decide each step's prune (stage 2) the same
   * way: the knapsack's prune and, per group it cuts, the prune with that
   * group kept at its width; the lowest measured loss wins.
   */
  readonly evaluatePrune?: boolean;
  /** IEE ablations. */
  readonly explore: boolean;
  readonly freeze: boolean;
  readonly zeroInit: boolean;
  /** HALP: pruning steps and iterations between them. */
  readonly steps: number;
  readonly interval: number;
  /** Kept counts are multiples of this (1 = per channel; see `domainOf`). */
  readonly granularity: number;
}

/** How {@link MethodHost.solveAndApply} turns a solution into the next active set. */
export interface ApplyOptions {
  /** Grow: channels that may not be grown. */
  readonly blocked?: ActiveSets;
  /** Keep each group's best channels of this set (a prune problem over it) instead of pruning or growing the active set. */
  readonly pruneFrom?: ActiveSets;
  /** Candidates weighed before this prune or grow (reported with the step). */
  readonly candidates?: ReadonlyArray<{ readonly kept: Record<string, number>; readonly loss: number }>;
}

/** Where the engine is; plain data for checkpoints. */
export interface EngineState {
  /** Completed pruning steps (IEE: 0 = initial prune pending; HALP: prunes done). */
  readonly step: number;
  /** Whether the pruning phase is over (fine-tuning). */
  readonly finetuning: boolean;
  /** Active channel flags per group, as arrays of 0/1. */
  readonly active: Record<string, number[]>;
  /** Importance of each channel the last time it was scored (grow without exploration uses these). */
  readonly lastScores: Record<string, number[]>;
}

/** What the engine reports after each prune or grow. */
export interface StepReport {
  readonly step: number;
  readonly phase: 'prune' | 'grow';
  readonly iteration: number;
  readonly budgetMs: number;
  readonly latencyMs: number;
  readonly status: 'feasible' | 'infeasible';
  readonly kept: Record<string, number>;
  /** Channels grown at the previous grow that survived this prune (IEE), if any. */
  readonly grownSurvived?: number;
  readonly grownPrevious?: number;
  /** IoU of the active sets before and after. */
  readonly maskIoU: number;
  readonly loss: number;
  /** The linearised knapsack problem at the solution (for `latprune solve`). */
  readonly problem: KnapsackProblem;
  /** IEE `grow: 'evaluated'` (and `evaluatePrune`): the candidates' kept counts and measured losses (the lowest was applied). */
  readonly candidates?: ReadonlyArray<{ readonly kept: Record<string, number>; readonly loss: number }>;
}

/** Callbacks of a run. */
export interface EngineIO {
  /** Next training batch (a streamed source returns a promise). */
  nextBatch(): HostBatch | Promise<HostBatch>;
  /** After every prune/grow. */
  onStep?(r: StepReport): void | Promise<void>;
  /** At step boundaries (importance accumulators empty): a safe point to checkpoint. */
  onBoundary?(state: EngineState): void | Promise<void>;
  /** After each training iteration. */
  onIteration?(iteration: number, loss: number, phase: string): void | Promise<void>;
  /**
   * After the pruning phase, before fine-tuning: times the selected network
   * on the device (kept counts and the estimator's latency; `round` counts
   * from 0) and decides: keep it, re-solve it under another estimator budget,
   * or restore the selection checked at an earlier round. At round
   * {@link LATENCY_CHECK_ROUNDS} (`last`) a re-solve is not allowed.
   */
  checkLatency?(kept: Record<string, number>, estimatedMs: number, round: number, last: boolean): Promise<CheckDecision>;
}

/** What an on-device latency check decides (see `check.ts` for the policy). */
export type CheckDecision =
  | { readonly kind: 'keep' }
  | { readonly kind: 'resolve'; readonly budgetMs: number }
  | { readonly kind: 'restore'; readonly round: number };

/** Re-solves after failed on-device latency checks, at most this many times (each one timed again). */
export const LATENCY_CHECK_ROUNDS = 4;

/**
 * What a pruning method (HALP in `halp.ts`, IEE in `iee.ts`) drives: the
 * engine's training, scoring, knapsack and channel-transition primitives.
 * Internal to `src/prune/`.
 */
export interface MethodHost {
  readonly cfg: PruneConfig;
  readonly graph: ChannelGraph;
  readonly latency: CoupledLatencyModel;
  readonly weights: ChannelWeights;
  /** The active channel sets. */
  readonly active: ActiveSets;
  /** Last importance of every channel. */
  readonly lastScores: GroupScores;
  /** Completed pruning steps (checkpointed). */
  readonly step: number;
  /** Marks a pruning step done (call before `io.onBoundary`). */
  completeStep(): void;
  /** Trains `n` iterations of `mode`'s channels (accumulating importance when asked). */
  train(n: number, mode: 'active' | 'explore' | 'all', accumulate: boolean, io: EngineIO, phase: string): Promise<void>;
  /** Clears the importance accumulator. */
  resetScores(): void;
  /** The accumulated importance; clears the accumulator. */
  takeScores(): GroupScores;
  /** Stores `scores` as the last importance of the active or the inactive channels. */
  remember(scores: GroupScores, which: 'active' | 'inactive'): void;
  /** Makes `next` the live channels without changing the active sets (exploration). */
  makeLive(next: ActiveSets): Promise<void>;
  /**
   * Mean training loss of each candidate active set on the same batches,
   * without any update: each is made live in turn (explored channels with
   * their MRU values), and the weights, BN statistics and live set are as
   * before afterwards.
   */
  lossOf(candidates: readonly ActiveSets[], batches: readonly HostBatch[]): Promise<number[]>;
  /** Solves a prune or grow knapsack and applies it to the active sets. */
  solveAndApply(p: CoupledProblem, phase: 'prune' | 'grow', scores: GroupScores, io: EngineIO, how?: ApplyOptions): Promise<void>;
  /** Training iterations done. */
  readonly iteration: number;
  /** Checkpointable state. */
  state(): EngineState;
}

const copySets = (a: ActiveSets): ActiveSets => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.slice()]));

const toArrays = (a: ActiveSets | GroupScores) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)]));

/** Runs a pruning method. Create with {@link PruneEngine.start}. */
export class PruneEngine implements MethodHost {
  /** @internal */ active: ActiveSets;
  /** @internal */ lastScores: GroupScores;
  /** @internal */ step: number;
  private finetuning: boolean;
  private channelWeights: ChannelWeights | undefined;
  /** MRU values given to {@link PruneEngine.start}, applied when the weights are first read. */
  private readonly startMru: ReadonlyMap<string, Float32Array> | undefined;
  private grownLast: Record<string, number[]> | undefined;
  private lastLoss = NaN;

  private constructor(
    /** @internal */ readonly cfg: PruneConfig,
    private readonly trainer: Trainer,
    /** @internal */ readonly graph: ChannelGraph,
    /** @internal */ readonly latency: CoupledLatencyModel,
    private readonly acc: ImportanceAccumulator,
    private readonly method: PruneMethod,
    state: EngineState | undefined,
    mru: ReadonlyMap<string, Float32Array> | undefined,
  ) {
    this.active = state ? Object.fromEntries(Object.entries(state.active).map(([k, v]) => [k, Uint8Array.from(v)])) : allActive(graph);
    this.lastScores = state ? Object.fromEntries(Object.entries(state.lastScores).map(([k, v]) => [k, Float32Array.from(v)])) : {};
    this.step = state?.step ?? 0;
    this.finetuning = state?.finetuning ?? false;
    this.startMru = mru;
  }

  /** @internal The live/dead bookkeeping and MRU store (after {@link PruneEngine.ready}). */
  get weights(): ChannelWeights {
    if (!this.channelWeights)
      throw new Error('PruneEngine: weights read before ready() (run(), create() and the methods that move channels call it)');
    return this.channelWeights;
  }

  /**
   * Reads the model's weights into the MRU store and zeroes the inactive
   * channels (asynchronously: a GPU backend cannot read synchronously).
   * {@link PruneEngine.run} and {@link PruneEngine.create} call it; idempotent.
   */
  async ready(): Promise<void> {
    if (this.channelWeights) return;
    const w = await ChannelWeights.create(this.trainer.model, this.graph, this.active);
    if (this.startMru) for (const [k, v] of this.startMru) w.mru.get(k)?.set(v);
    this.channelWeights ??= w;
  }

  /**
   * Prepares a run on `trainer`'s model (restored from a checkpoint when
   * `state` is given: the weights must already hold the checkpoint's values,
   * whose dead channels are zero; their MRU values are then the checkpoint's
   * MRU store, passed in `mru`). The model's weights are read when the run
   * starts ({@link PruneEngine.ready}); {@link PruneEngine.create} reads them now.
   */
  static start(
    cfg: PruneConfig,
    trainer: Trainer,
    graph: ChannelGraph,
    latency: CoupledLatencyModel,
    acc: ImportanceAccumulator,
    method: PruneMethod,
    state?: EngineState,
    mru?: ReadonlyMap<string, Float32Array>,
  ): PruneEngine {
    if (method.name !== cfg.method)
      throw new Error(`PruneEngine: the configuration is for method '${cfg.method}' but method '${method.name}' was given`);
    return new PruneEngine(cfg, trainer, graph, latency, acc, method, state, mru);
  }

  /** {@link PruneEngine.start}, then {@link PruneEngine.ready}: the MRU store is filled when it resolves. */
  static async create(
    cfg: PruneConfig,
    trainer: Trainer,
    graph: ChannelGraph,
    latency: CoupledLatencyModel,
    acc: ImportanceAccumulator,
    method: PruneMethod,
    state?: EngineState,
    mru?: ReadonlyMap<string, Float32Array>,
  ): Promise<PruneEngine> {
    const e = PruneEngine.start(cfg, trainer, graph, latency, acc, method, state, mru);
    await e.ready();
    return e;
  }

  /** Current state (for checkpoints). */
  state(): EngineState {
    return { step: this.step, finetuning: this.finetuning, active: toArrays(this.active), lastScores: toArrays(this.lastScores) };
  }

  /** MRU store (for checkpoints; empty before the run starts). */
  get mru(): ReadonlyMap<string, Float32Array> {
    return this.channelWeights?.mru ?? new Map<string, Float32Array>();
  }

  /** Kept channel counts of the active set. */
  kept(): Record<string, number> {
    return counts(this.active);
  }

  /** Estimated latency of the active set. */
  latencyMs(): number {
    return this.latency.total(this.kept());
  }

  /** @internal */
  async train(n: number, mode: 'active' | 'explore' | 'all', accumulate: boolean, io: EngineIO, phase: string): Promise<void> {
    let masks: tf.NamedTensorMap | undefined;
    if (mode === 'active') masks = this.weights.updateMasks(this.active, 'active');
    else if (mode === 'explore') {
      masks = this.weights.updateMasks(this.active, 'explore');
      // weights without channel axes (e.g. the classifier's bias) belong to the frozen active network
      for (const v of this.trainer.vars) if (!masks[v.name]) masks[v.name] = tf.zerosLike(v);
    }
    const hooks: StepHooks = {
      ...(accumulate ? this.acc.hooks() : {}),
      ...(masks ? { updateMasks: () => masks } : {}),
    };
    try {
      for (let i = 0; i < n && this.trainer.step < this.cfg.totalIterations; i++) {
        const r = await this.trainer.trainStep(await io.nextBatch(), hooks);
        this.lastLoss = r.loss;
        await io.onIteration?.(this.trainer.step, r.loss, phase);
      }
    } finally {
      if (masks) tf.dispose(Object.values(masks));
    }
  }

  /** @internal */
  completeStep(): void {
    this.step++;
  }

  /** @internal */
  get iteration(): number {
    return this.trainer.step;
  }

  /** @internal */
  resetScores(): void {
    this.acc.reset();
  }

  /** @internal */
  takeScores(): GroupScores {
    const s = this.acc.scores();
    this.acc.reset();
    return s;
  }

  /** @internal */
  remember(scores: GroupScores, which: 'active' | 'inactive'): void {
    for (const g of this.graph.groups) {
      const prev = this.lastScores[g.id] ?? new Float32Array(g.size);
      const f = this.active[g.id]!;
      const s = scores[g.id]!;
      for (let i = 0; i < g.size; i++) if ((f[i] === 1) === (which === 'active')) prev[i] = s[i]!;
      this.lastScores[g.id] = prev;
    }
  }

  /** Makes `next` the live channels (MRU save/restore) and clears the velocity of elements that changed. */
  /** @internal */
  async makeLive(next: ActiveSets): Promise<void> {
    await this.ready();
    this.weights.resetVelocities(this.trainer.optimizer, await this.weights.transition(next));
  }

  private async setActive(next: ActiveSets): Promise<void> {
    await this.makeLive(next);
    this.active = next;
  }

  /** @internal */
  async lossOf(candidates: readonly ActiveSets[], batches: readonly HostBatch[]): Promise<number[]> {
    await this.ready();
    const stats = await this.weights.snapshotStats();
    const out: number[] = [];
    try {
      for (const c of candidates) {
        await this.weights.transition(c);
        let sum = 0;
        for (const b of batches) sum += await this.trainer.lossOn(b);
        out.push(sum / batches.length);
      }
    } finally {
      await this.weights.transition(this.active);
      await this.weights.restoreStats(stats, allActive(this.graph));
    }
    return out;
  }

  /** @internal */
  async solveAndApply(
    p: CoupledProblem,
    phase: 'prune' | 'grow',
    scores: GroupScores,
    io: EngineIO,
    how: ApplyOptions = {},
  ): Promise<void> {
    const before = this.active;
    const start = counts(before);
    const sol = solve(p, this.latency, start);
    const next = how.pruneFrom
      ? applyPrune(how.pruneFrom, scores, sol.keep)
      : phase === 'prune'
        ? applyPrune(before, scores, sol.keep)
        : applyGrow(before, scores, sol.keep, how.blocked);
    let grownSurvived: number | undefined;
    let grownPrevious: number | undefined;
    if (phase === 'prune' && this.grownLast) {
      grownPrevious = 0;
      grownSurvived = 0;
      for (const [id, idx] of Object.entries(this.grownLast)) {
        grownPrevious += idx.length;
        for (const i of idx) grownSurvived += next[id]![i]!;
      }
    }
    if (phase === 'grow') {
      this.grownLast = Object.fromEntries(
        Object.entries(next).map(([id, f]) => [id, Array.from(f.keys()).filter((i) => f[i] === 1 && before[id]![i] === 0)]),
      );
    }
    const iou = maskIoU(before, next);
    await this.setActive(next);
    await io.onStep?.({
      step: this.step,
      phase,
      iteration: this.trainer.step,
      budgetMs: p.budget,
      latencyMs: sol.latency,
      status: sol.status,
      kept: sol.keep,
      ...(grownSurvived !== undefined ? { grownSurvived, grownPrevious } : {}),
      maskIoU: iou,
      loss: this.lastLoss,
      ...(how.candidates ? { candidates: how.candidates } : {}),
      problem: linearise(p, this.latency, sol.keep),
    });
  }

  /**
   * Moves the active set to a new estimator budget (after an on-device
   * latency check): prunes the lowest-scored active channels when over it,
   * grows the best-scored inactive ones (with their MRU values) when under it.
   */
  private async rebudget(budget: number, io: EngineIO): Promise<void> {
    const phase = this.latencyMs() > budget ? 'prune' : 'grow';
    const g = this.cfg.granularity;
    const p =
      phase === 'prune'
        ? pruneProblem(this.graph, this.active, this.lastScores, budget, g)
        : growProblem(this.graph, this.active, this.lastScores, budget, g);
    await this.solveAndApply(p, phase, this.lastScores, io);
  }

  /** Runs (or continues) the method to the end of `cfg.totalIterations`. */
  async run(io: EngineIO): Promise<void> {
    await this.ready();
    const c = this.cfg;
    if (!this.finetuning) {
      await this.method.prune(this, io);
      // check, re-solve, check again (at most LATENCY_CHECK_ROUNDS re-solves); the checker may
      // instead restore a selection it measured at an earlier round
      const checked: ActiveSets[] = [];
      for (let round = 0; io.checkLatency; round++) {
        const last = round === LATENCY_CHECK_ROUNDS;
        checked.push(copySets(this.active));
        const d = await io.checkLatency(this.kept(), this.latencyMs(), round, last);
        if (d.kind === 'restore') {
          const back = checked[d.round];
          if (!back) throw new Error(`latency check: cannot restore round ${d.round} of ${round + 1}`);
          if (d.round !== round) await this.setActive(back);
          break;
        }
        if (d.kind === 'keep') break;
        if (last) throw new Error(`latency check: no re-solve after round ${LATENCY_CHECK_ROUNDS}`);
        await this.rebudget(d.budgetMs, io);
      }
      this.finetuning = true;
      await io.onBoundary?.(this.state());
    }
    while (this.trainer.step < c.totalIterations) {
      const chunk = Math.min(100, c.totalIterations - this.trainer.step);
      await this.train(chunk, 'active', false, io, 'finetune');
      await io.onBoundary?.(this.state());
    }
  }
}
