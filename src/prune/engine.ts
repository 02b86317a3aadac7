/**
 * The pruning engine: IEE (Iterative Exploitation and Exploration, arXiv
 * 2502.03658) for latency-constrained channel pruning, and HALP (NeurIPS
 * 2022) as the baseline, driving the trainer step by step.
 *
 * IEE step t (after an initial one-shot prune of the dense model to the
 * budget B): (1) train the active channels H iterations accumulating
 * importance; (2) prune to B * (1 - omega_t) with the knapsack; (3) train J
 * iterations; (4) revive every inactive channel with its most-recently-used
 * values, freeze the active ones (weights and BN parameters; BN running
 * statistics of active channels are restored afterwards, so exploration does
 * not skew them), train Q iterations accumulating the importance of the
 * explored channels; (5) grow the best explored channels back under B. Then
 * fine-tune the final active set.
 *
 * HALP: every `interval` iterations for `steps` steps, prune the active set
 * to the next target on a geometric path from the dense latency to B, using
 * Taylor importance averaged over the interval; pruned channels stay zero;
 * then fine-tune.
 */
import * as tf from '@tensorflow/tfjs';
import type { ChannelGraph } from '../graph/index.js';
import type { GroupScores, ImportanceAccumulator } from '../importance/index.js';
import { linearise, type CoupledLatencyModel, type CoupledProblem, type KnapsackProblem } from '../solver/index.js';
import type { HostBatch, StepHooks, Trainer } from '../train/index.js';
import { allActive, applyGrow, applyPrune, counts, growProblem, maskIoU, pruneProblem, solve, type ActiveSets } from './channels.js';
import { halpTargets, updateBudget, type UpdateSchedule } from './schedule.js';
import { ChannelWeights } from './weights.js';

/** Engine configuration (plain data; stored with checkpoints). */
export interface PruneConfig {
  readonly method: 'iee' | 'halp';
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
}

/** Callbacks of a run. */
export interface EngineIO {
  /** Next training batch. */
  nextBatch(): HostBatch;
  /** After every prune/grow. */
  onStep?(r: StepReport): void | Promise<void>;
  /** At step boundaries (importance accumulators empty): a safe point to checkpoint. */
  onBoundary?(state: EngineState): void | Promise<void>;
  /** After each training iteration. */
  onIteration?(iteration: number, loss: number, phase: string): void | Promise<void>;
}

const toArrays = (a: ActiveSets | GroupScores) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)]));

/** Runs a pruning method. Create with {@link PruneEngine.start}. */
export class PruneEngine {
  private active: ActiveSets;
  private lastScores: GroupScores;
  private step: number;
  private finetuning: boolean;
  private readonly weights: ChannelWeights;
  private grownLast: Record<string, number[]> | undefined;
  private lastLoss = NaN;

  private constructor(
    private readonly cfg: PruneConfig,
    private readonly trainer: Trainer,
    private readonly graph: ChannelGraph,
    private readonly latency: CoupledLatencyModel,
    private readonly acc: ImportanceAccumulator,
    state: EngineState | undefined,
  ) {
    this.active = state ? Object.fromEntries(Object.entries(state.active).map(([k, v]) => [k, Uint8Array.from(v)])) : allActive(graph);
    this.lastScores = state ? Object.fromEntries(Object.entries(state.lastScores).map(([k, v]) => [k, Float32Array.from(v)])) : {};
    this.step = state?.step ?? 0;
    this.finetuning = state?.finetuning ?? false;
    this.weights = new ChannelWeights(trainer.model, graph, this.active);
  }

  /**
   * Prepares a run on `trainer`'s model (restored from a checkpoint when
   * `state` is given: the weights must already hold the checkpoint's values,
   * whose dead channels are zero; their MRU values are then the checkpoint's
   * MRU store, passed in `mru`).
   */
  static start(cfg: PruneConfig, trainer: Trainer, graph: ChannelGraph, latency: CoupledLatencyModel, acc: ImportanceAccumulator, state?: EngineState, mru?: ReadonlyMap<string, Float32Array>): PruneEngine {
    const e = new PruneEngine(cfg, trainer, graph, latency, acc, state);
    if (mru) for (const [k, v] of mru) e.weights.mru.get(k)?.set(v);
    return e;
  }

  /** Current state (for checkpoints). */
  state(): EngineState {
    return { step: this.step, finetuning: this.finetuning, active: toArrays(this.active), lastScores: toArrays(this.lastScores) };
  }

  /** MRU store (for checkpoints). */
  get mru(): ReadonlyMap<string, Float32Array> {
    return this.weights.mru;
  }

  /** Kept channel counts of the active set. */
  kept(): Record<string, number> {
    return counts(this.active);
  }

  /** Estimated latency of the active set. */
  latencyMs(): number {
    return this.latency.total(this.kept());
  }

  private async train(n: number, mode: 'active' | 'explore' | 'all', accumulate: boolean, io: EngineIO, phase: string): Promise<void> {
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
        const r = await this.trainer.trainStep(io.nextBatch(), hooks);
        this.lastLoss = r.loss;
        await io.onIteration?.(this.trainer.step, r.loss, phase);
      }
    } finally {
      if (masks) tf.dispose(Object.values(masks));
    }
  }

  private takeScores(): GroupScores {
    const s = this.acc.scores();
    this.acc.reset();
    return s;
  }

  private remember(scores: GroupScores, which: 'active' | 'inactive'): void {
    for (const g of this.graph.groups) {
      const prev = this.lastScores[g.id] ?? new Float32Array(g.size);
      const f = this.active[g.id]!;
      const s = scores[g.id]!;
      for (let i = 0; i < g.size; i++) if ((f[i] === 1) === (which === 'active')) prev[i] = s[i]!;
      this.lastScores[g.id] = prev;
    }
  }

  /** Makes `next` the live channels (MRU save/restore) and clears the velocity of elements that changed. */
  private makeLive(next: ActiveSets): void {
    this.weights.resetVelocities(this.trainer.optimizer, this.weights.transition(next));
  }

  private setActive(next: ActiveSets): void {
    this.makeLive(next);
    this.active = next;
  }

  private async solveAndApply(p: CoupledProblem, phase: 'prune' | 'grow', scores: GroupScores, io: EngineIO): Promise<void> {
    const before = this.active;
    const start = counts(before);
    const sol = solve(p, this.latency, start);
    const next = phase === 'prune' ? applyPrune(before, scores, sol.keep) : applyGrow(before, scores, sol.keep);
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
      this.grownLast = Object.fromEntries(Object.entries(next).map(([id, f]) => [id, Array.from(f.keys()).filter((i) => f[i] === 1 && before[id]![i] === 0)]));
    }
    const iou = maskIoU(before, next);
    this.setActive(next);
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
      problem: linearise(p, this.latency, sol.keep),
    });
  }

  /** Runs (or continues) the method to the end of `cfg.totalIterations`. */
  async run(io: EngineIO): Promise<void> {
    const c = this.cfg;
    if (!this.finetuning) {
      if (c.method === 'halp') await this.runHalp(io);
      else await this.runIee(io);
      this.finetuning = true;
      await io.onBoundary?.(this.state());
    }
    while (this.trainer.step < c.totalIterations) {
      const chunk = Math.min(100, c.totalIterations - this.trainer.step);
      await this.train(chunk, 'active', false, io, 'finetune');
      await io.onBoundary?.(this.state());
    }
  }

  private async runHalp(io: EngineIO): Promise<void> {
    const c = this.cfg;
    const dense = this.latency.total(Object.fromEntries(this.graph.groups.map((g) => [g.id, g.size])));
    const targets = halpTargets(dense, c.budgetMs, c.steps);
    while (this.step < c.steps) {
      this.acc.reset();
      await this.train(c.interval, 'active', true, io, 'halp-score');
      const scores = this.takeScores();
      this.remember(scores, 'active');
      await this.solveAndApply(pruneProblem(this.graph, this.active, scores, targets[this.step]!, c.granularity), 'prune', scores, io);
      this.step++;
      await io.onBoundary?.(this.state());
    }
  }

  private async runIee(io: EngineIO): Promise<void> {
    const c = this.cfg;
    const B = c.budgetMs;
    if (this.step === 0) {
      // step 0: importance of the dense model, one-shot prune to the budget
      this.acc.reset();
      await this.train(c.H, 'active', true, io, 'iee-init');
      const scores = this.takeScores();
      this.remember(scores, 'active');
      await this.solveAndApply(pruneProblem(this.graph, this.active, scores, B, c.granularity), 'prune', scores, io);
      this.step = 1;
      await io.onBoundary?.(this.state());
    }
    // a step ends with a grow whose channels (and the active channels' BN statistics) need
    // training afterwards: start a step only if it leaves fine-tuning room after it
    const stepLength = c.H + c.J + (c.explore ? c.Q : 0);
    const finetuneMin = Math.max(c.J, Math.round(0.1 * c.totalIterations));
    while (this.step <= c.T && this.trainer.step + stepLength + finetuneMin <= c.totalIterations) {
      const omega = updateBudget(c.schedule, c.omega, this.step - 1, c.T);
      // (1) importance of the active set
      this.acc.reset();
      await this.train(c.H, 'active', true, io, 'iee-exploit');
      const s1 = this.takeScores();
      this.remember(s1, 'active');
      // (2) prune to B (1 - omega)
      await this.solveAndApply(pruneProblem(this.graph, this.active, s1, B * (1 - omega), c.granularity), 'prune', s1, io);
      // (3) accuracy improvement
      await this.train(c.J, 'active', false, io, 'iee-improve');
      // (4) reactivate and explore
      let explored = this.lastScores;
      if (c.explore) {
        const active = this.active;
        const stats = this.weights.snapshotStats();
        if (c.zeroInit) for (const m of this.weights.mru.values()) m.fill(0);
        this.makeLive(allActive(this.graph));
        this.acc.reset();
        await this.train(c.Q, c.freeze ? 'explore' : 'all', true, io, 'iee-explore');
        const s4 = this.takeScores();
        this.weights.restoreStats(stats, active);
        // back to the active set; explored values become the channels' MRU values
        this.makeLive(active);
        this.remember(s4, 'inactive');
        explored = this.lastScores;
      }
      // (5) grow under B
      await this.solveAndApply(growProblem(this.graph, this.active, explored, B, c.granularity), 'grow', explored, io);
      this.step++;
      await io.onBoundary?.(this.state());
    }
  }
}
