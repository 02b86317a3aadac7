/**
 * IEE (Iterative Exploitation and Exploration, arXiv 2502.03658) for
 * latency-constrained channel pruning.
 *
 * Step 0 scores the dense model for H iterations and prunes it one-shot to
 * the budget B (or, with `ramp: k`, in k prunes along a geometric path to B,
 * each after H / k iterations of scoring, or after `rampInterval`). Each step t = 1..T then: (1) trains the active channels H
 * iterations accumulating importance; (2) prunes to B * (1 - omega_t) with the
 * knapsack; (3) trains J iterations; (4) revives every inactive channel with
 * its most-recently-used values, freezes the active ones (weights and BN
 * parameters receive no update; BN running statistics of active channels are
 * restored afterwards, so the exploration batches do not skew them) and
 * trains Q iterations accumulating the explored channels' importance with the
 * same criterion; (5) grows the best explored channels back under B. The
 * engine then fine-tunes the final active set.
 *
 * `grow` chooses stage 5's rule (see `PruneConfig.grow`): the paper's
 * ('explored'), 'no-regrow' (channels just pruned stay out for this grow),
 * 'joint' (re-select among all channels by the stage-4 scores) or
 * 'evaluated' (candidate grows from the knapsack, the lowest measured loss
 * wins).
 *
 * Ablations: `explore: false` grows by the channels' stale scores,
 * `freeze: false` trains the active channels during stage 4 too,
 * `zeroInit: true` revives channels with zero filters and fresh batch norm
 * instead of their MRU values (see `ChannelWeights.zeroMru`).
 */
import type { GroupScores } from '../importance/index.js';
import type { CoupledProblem } from '../solver/index.js';
import {
  allActive,
  applyGrow,
  applyPrune,
  counts,
  fullKeep,
  growProblem,
  pruneProblem,
  removed,
  solve,
  type ActiveSets,
} from './channels.js';
import type { EngineIO, MethodHost, PruneConfig } from './engine.js';
import type { PruneMethod } from './method.js';
import { LatpruneError } from '../errors.js';
import { halpTargets, updateBudget } from './schedule.js';

/** Iterations of IEE's initial descent (step 0): H, or k x rampInterval with a ramp interval. */
export function ieeInitialIterations(c: Pick<PruneConfig, 'H' | 'ramp' | 'rampInterval'>): number {
  return c.rampInterval !== undefined && (c.ramp ?? 1) > 1 ? (c.ramp ?? 1) * c.rampInterval : c.H;
}

/** Iterations of one IEE step and the fine-tuning an IEE run keeps after its last grow. */
export function ieeBudget(c: Pick<PruneConfig, 'H' | 'J' | 'Q' | 'explore' | 'totalIterations'>): {
  stepLength: number;
  finetuneMin: number;
} {
  return { stepLength: c.H + c.J + (c.explore ? c.Q : 0), finetuneMin: Math.max(c.J, Math.round(0.1 * c.totalIterations)) };
}

/** How many of the T steps fit in the run's iterations (after the initial H). */
export function ieeStepsThatFit(
  c: Pick<PruneConfig, 'H' | 'J' | 'Q' | 'T' | 'explore' | 'totalIterations' | 'ramp' | 'rampInterval'>,
): number {
  const { stepLength, finetuneMin } = ieeBudget(c);
  return Math.max(0, Math.min(c.T, Math.floor((c.totalIterations - ieeInitialIterations(c) - finetuneMin) / stepLength)));
}

/** Refuses a grow rule the other options rule out (`joint` needs the exploration scores). */
export function checkGrowRule(c: Pick<PruneConfig, 'grow' | 'explore' | 'evalBatches' | 'evaluatePrune'>): void {
  if (c.grow === 'joint' && !c.explore)
    throw new LatpruneError('BAD_ARGUMENT', '--grow joint re-selects by the exploration scores: it cannot be combined with --no-explore.');
  if (c.evaluatePrune && c.grow !== 'evaluated')
    throw new LatpruneError(
      'BAD_ARGUMENT',
      '--evaluate-prune weighs the prune like --grow evaluated weighs the grow: use it with --grow evaluated.',
    );
  if (c.evalBatches !== undefined && !(Number.isInteger(c.evalBatches) && c.evalBatches >= 1))
    throw new LatpruneError('BAD_ARGUMENT', `--eval-batches must be a positive integer, got ${c.evalBatches}.`);
}

/** Runs (or continues, from `e.step`) IEE's prune/explore/grow steps. */
export async function runIee(e: MethodHost, io: EngineIO): Promise<void> {
  const c = e.cfg;
  const B = c.budgetMs;
  const rule = c.grow ?? 'explored';
  checkGrowRule(c);
  if (e.step === 0) {
    const k = c.ramp ?? 1;
    const every = c.rampInterval;
    if (every !== undefined && !(Number.isInteger(every) && every >= 1))
      throw new LatpruneError('BAD_ARGUMENT', `--ramp-interval must be a positive integer, got ${every}.`);
    if (!Number.isInteger(k) || k < 1 || (every === undefined && k > c.H))
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--ramp must be an integer from 1 to --H (${c.H}) (or any positive integer with --ramp-interval), got ${k}.`,
      );
    // one-shot (k = 1) or HALP's geometric path from the starting latency to B in k prunes
    const targets = k === 1 ? [B] : halpTargets(e.latency.total(fullKeep(e.graph)), B, k);
    for (let i = 0; i < k; i++) {
      e.resetScores();
      const n = every !== undefined && k > 1 ? every : Math.round(((i + 1) * c.H) / k) - Math.round((i * c.H) / k);
      await e.train(n, 'active', true, io, 'iee-init');
      const scores = e.takeScores();
      e.remember(scores, 'active');
      await e.solveAndApply(pruneProblem(e.graph, e.active, scores, targets[i]!, c.granularity), 'prune', scores, io);
    }
    e.completeStep();
    await io.onBoundary?.(e.state());
  }
  // a step ends with a grow whose channels (and the active channels' BN statistics) need
  // training afterwards: start a step only if it leaves fine-tuning room after it
  const { stepLength, finetuneMin } = ieeBudget(c);
  while (e.step <= c.T && e.iteration + stepLength + finetuneMin <= c.totalIterations) {
    const omega = updateBudget(c.schedule, c.omega, e.step - 1, c.T);
    // (1) importance of the active set
    e.resetScores();
    await e.train(c.H, 'active', true, io, 'iee-exploit');
    const s1 = e.takeScores();
    e.remember(s1, 'active');
    // (2) prune to B (1 - omega)
    const beforePrune = e.active;
    const prune = pruneProblem(e.graph, e.active, s1, B * (1 - omega), c.granularity);
    if (rule === 'evaluated' && c.evaluatePrune) await applyEvaluated(e, io, prune, 'prune', s1);
    else await e.solveAndApply(prune, 'prune', s1, io);
    const justPruned: ActiveSets | undefined = rule === 'no-regrow' ? removed(beforePrune, e.active) : undefined;
    // (3) accuracy improvement
    await e.train(c.J, 'active', false, io, 'iee-improve');
    // (4) reactivate and explore
    let explored = e.lastScores;
    let all: typeof explored | undefined;
    if (c.explore) {
      const active = e.active;
      const stats = await e.weights.snapshotStats();
      if (c.zeroInit) e.weights.zeroMru();
      await e.makeLive(allActive(e.graph));
      e.resetScores();
      await e.train(c.Q, c.freeze ? 'explore' : 'all', true, io, 'iee-explore');
      const s4 = e.takeScores();
      await e.weights.restoreStats(stats, active);
      // back to the active set; explored values become the channels' MRU values
      await e.makeLive(active);
      e.remember(s4, 'inactive');
      explored = e.lastScores;
      all = s4;
    }
    // (5) grow under B
    if (rule === 'evaluated') {
      await applyEvaluated(e, io, growProblem(e.graph, e.active, explored, B, c.granularity), 'grow', explored);
    } else if (rule === 'joint' && all) {
      // every channel scored over the same exploration batches: keep the best under B
      e.remember(all, 'active');
      const everyone = allActive(e.graph);
      await e.solveAndApply(pruneProblem(e.graph, everyone, all, B, c.granularity), 'grow', all, io, { pruneFrom: everyone });
    } else {
      await e.solveAndApply(
        growProblem(e.graph, e.active, explored, B, c.granularity, justPruned),
        'grow',
        explored,
        io,
        justPruned ? { blocked: justPruned } : {},
      );
    }
    e.completeStep();
    await io.onBoundary?.(e.state());
  }
}

/** IEE as a {@link PruneMethod}. */
export const IEE: PruneMethod = { name: 'iee', prune: runIee };

/**
 * The candidate solutions `grow: 'evaluated'` weighs for a grow or prune
 * problem: the knapsack's own, then one per group it leaves below the top of
 * its domain (full width for a grow, the current width for a prune), with that
 * group fixed there and the others re-solved under the same budget (skipped
 * when infeasible or when it repeats an earlier candidate).
 */
export function evaluatedCandidates(
  base: CoupledProblem,
  solveFor: (p: CoupledProblem) => { keep: Record<string, number>; status: string },
): Array<{ problem: CoupledProblem; keep: Record<string, number> }> {
  const first = solveFor(base);
  const out = [{ problem: base, keep: first.keep }];
  const seen = new Set([JSON.stringify(first.keep)]);
  for (const g of base.groups) {
    if ((first.keep[g.id] ?? g.fixed) >= g.domain.max) continue;
    const problem: CoupledProblem = {
      ...base,
      groups: base.groups.map((h) => (h.id === g.id ? { ...h, domain: { min: h.domain.max, max: h.domain.max, step: 1 } } : h)),
    };
    const sol = solveFor(problem);
    const key = JSON.stringify(sol.keep);
    if (sol.status !== 'feasible' || seen.has(key)) continue;
    seen.add(key);
    out.push({ problem, keep: sol.keep });
  }
  return out;
}

/**
 * Solves `base` with `grow: 'evaluated'`: the candidate (see
 * {@link evaluatedCandidates}) with the lowest measured training loss is applied.
 */
async function applyEvaluated(
  e: MethodHost,
  io: EngineIO,
  base: CoupledProblem,
  phase: 'prune' | 'grow',
  scores: GroupScores,
): Promise<void> {
  const start = counts(e.active);
  const cands = evaluatedCandidates(base, (p) => solve(p, e.latency, start));
  const batches = [];
  for (let i = 0; i < (e.cfg.evalBatches ?? 2); i++) batches.push(await io.nextBatch());
  const sets = cands.map((k) => (phase === 'grow' ? applyGrow(e.active, scores, k.keep) : applyPrune(e.active, scores, k.keep)));
  const losses = await e.lossOf(sets, batches);
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i]! < losses[best]!) best = i;
  await e.solveAndApply(cands[best]!.problem, phase, scores, io, { candidates: cands.map((k, i) => ({ kept: k.keep, loss: losses[i]! })) });
}
