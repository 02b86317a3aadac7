/**
 * Coupling-aware selection: a layer's latency depends on its own kept outputs
 * and on the kept outputs of the group feeding it, so the total latency is not
 * a sum of per-group terms.
 *
 * Method, phase 1 (fixed point): linearise at the current selection
 * (first-order, separable costs `cost_g(k) = total(cur with g=k) - total(cur)`,
 * with `total(cur)` as base latency), solve that knapsack exactly with
 * {@link solveMckp}, move to its choice, and repeat until the choice stops
 * changing, a choice repeats (a cycle), a step fails to improve on the best
 * choice so far (the iteration only wanders then), or `globalIterations`
 * solves. A fixed point is always consistent: there the linear estimate
 * equals the true total, which the DP kept within budget.
 *
 * Phase 2 (only if phase 1 did not end consistent): a trust region around the
 * best choice so far (each group moves at most a fraction of its domain per
 * solve). A step is accepted only if it improves the merit (feasible beats
 * infeasible, then higher value, or lower latency while infeasible); a
 * rejected step halves the region. While the current choice is infeasible the
 * effective budget is lowered by the overshoot of the last step (tightening),
 * and restored once feasible. Merit strictly improves on every accepted step,
 * so phase 2 cannot cycle; it stops at a fixed point, when a one-step region is
 * rejected (a local optimum), or at `maxIterations`.
 *
 * The returned choice is the best feasible choice ever evaluated (so it meets
 * the true budget whenever any tried choice did), else the fastest one.
 */

import { LatpruneError } from '../errors.js';
import { solveMckp, type DpOptions } from './mckp-dp.js';
import { choiceValues, domainSize, validateGroupShape, type KeepDomain, type KnapsackProblem, type ProblemGroup } from './problem.js';
import type { KeepCounts } from './selection.js';

/** A pure latency model over full selections. */
export interface CoupledLatencyModel {
  /** Estimated network latency for kept counts of every group. */
  total(keep: KeepCounts): number;
  /**
   * Optional fast path: `total(keep with groupId = k) - total(keep)`.
   * Must agree with `total`.
   */
  delta?(groupId: string, k: number, keep: KeepCounts): number;
}

/** A group of a {@link CoupledProblem}: a {@link ProblemGroup} without the cost table. */
export interface CoupledGroup {
  /** Unique group id, as understood by the latency model. */
  readonly id: string;
  /** Candidate importance, sorted descending. */
  readonly values: readonly number[];
  /** Channels that always stay. Default 0. */
  readonly fixed?: number;
  /** Allowed kept counts. */
  readonly domain: KeepDomain;
}

/** A selection problem whose latency comes from a coupled model. */
export interface CoupledProblem {
  /** True latency budget for `model.total`. */
  readonly budget: number;
  /** The groups. */
  readonly groups: readonly CoupledGroup[];
}

/** Options of {@link solveCoupled}. */
export interface CoupledOptions {
  /** Selection to linearise at first. Default: every group at its domain max. */
  readonly start?: KeepCounts;
  /** DP solves of the plain fixed-point phase. Default 8. */
  readonly globalIterations?: number;
  /** DP solves in total (both phases). Default 40. */
  readonly maxIterations?: number;
  /** Initial trust region of phase 2, as a fraction of each group's domain size. Default 1/8. */
  readonly trustFraction?: number;
  /** Options of the inner DP (resolution...). */
  readonly dp?: DpOptions;
}

/** One DP solve of the coupled loop. */
export interface CoupledIteration {
  /** Budget given to the linearised knapsack. */
  readonly effectiveBudget: number;
  /** Status of the linearised knapsack. */
  readonly dpStatus: 'optimal' | 'infeasible';
  /** First-order latency estimate of the choice. */
  readonly predicted: number;
  /** True latency (`model.total`) of the choice. */
  readonly latency: number;
  /** Value of the choice. */
  readonly value: number;
}

/** Result of {@link solveCoupled}. */
export interface CoupledSolution {
  /** `feasible`: `keep` meets the budget under `model.total`. `infeasible`: no evaluated choice did; `keep` is the fastest one seen. */
  readonly status: 'feasible' | 'infeasible';
  /** Kept count per group id. */
  readonly keep: Record<string, number>;
  /** Total value of `keep`. */
  readonly value: number;
  /** `model.total(keep)`. */
  readonly latency: number;
  /** The budget. */
  readonly budget: number;
  /** Phase 1 reached a fixed point whose true total met the budget (no phase 2 needed). */
  readonly consistent: boolean;
  /** The solve ended at a fixed point or a local optimum, not at the iteration cap. */
  readonly converged: boolean;
  /** Phase 1 revisited an earlier choice (a cycle) and was stopped there. */
  readonly cycleDetected: boolean;
  /** Number of DP solves. */
  readonly iterations: number;
  /** DP solves spent in phase 2 (trust region with tightening). */
  readonly trustIterations: number;
  /** Smallest true latency among evaluated choices. */
  readonly minLatencySeen: number;
  /** Every DP solve, in order. */
  readonly trace: readonly CoupledIteration[];
}

const keyOf = (ids: readonly string[], keep: KeepCounts): string => ids.map((id) => keep[id]).join(',');

/**
 * Validates a coupled problem.
 *
 * @throws LatpruneError `SCHEMA` naming the field
 */
export function validateCoupledProblem(p: CoupledProblem, source = 'coupled problem'): void {
  if (typeof p.budget !== 'number' || !Number.isFinite(p.budget)) {
    throw new LatpruneError('SCHEMA', `${source}: budget: expected a finite number, got ${JSON.stringify(p.budget)}`);
  }
  const ids = new Set<string>();
  p.groups.forEach((g, gi) => {
    validateGroupShape(g, `groups[${gi}]`, source);
    if (ids.has(g.id)) throw new LatpruneError('SCHEMA', `${source}: groups[${gi}].id: duplicate group id "${g.id}"`);
    ids.add(g.id);
  });
}

/**
 * Linearises a coupled model at a selection: the separable knapsack whose
 * costs are the exact single-group changes of `model.total` around `at`.
 *
 * @param p - the coupled problem
 * @param model - the latency model
 * @param at - selection to linearise at (every group present)
 * @param budget - budget of the returned problem (default `p.budget`)
 * @param radius - if given, each group's domain is cut to `at ± radius` steps
 *   (a trust region); a number applies to every group, an array is per group in `p.groups` order
 */
export function linearise(
  p: CoupledProblem,
  model: CoupledLatencyModel,
  at: KeepCounts,
  budget = p.budget,
  radius: number | readonly number[] = Infinity,
): KnapsackProblem {
  const base = model.total(at);
  const groups: ProblemGroup[] = p.groups.map((g, gi) => {
    const d = g.domain;
    const here = at[g.id]!;
    const rad = typeof radius === 'number' ? radius : radius[gi]!;
    const domain: KeepDomain = Number.isFinite(rad)
      ? { min: Math.max(d.min, here - rad * d.step), max: Math.min(d.max, here + rad * d.step), step: d.step }
      : d;
    const n = domainSize(domain);
    const costs = new Array<number>(n);
    const scratch: Record<string, number> = { ...at };
    for (let i = 0; i < n; i++) {
      const k = domain.min + i * domain.step;
      if (k === at[g.id]) costs[i] = 0;
      else if (model.delta) costs[i] = model.delta(g.id, k, at);
      else {
        scratch[g.id] = k;
        costs[i] = model.total(scratch) - base;
      }
    }
    return { id: g.id, values: g.values, fixed: g.fixed ?? 0, domain, costs };
  });
  return { budget, baseLatency: base, groups };
}

/**
 * Solves a coupled selection problem by successive linearisation.
 *
 * @param p - the problem (validated here)
 * @param model - the coupled latency model
 * @param opts - iteration limits and DP options
 * @throws LatpruneError `SCHEMA` for a bad problem, `BAD_ARGUMENT` for a bad start
 */
export function solveCoupled(p: CoupledProblem, model: CoupledLatencyModel, opts: CoupledOptions = {}): CoupledSolution {
  validateCoupledProblem(p);
  const ids = p.groups.map((g) => g.id);
  const vals = p.groups.map((g) => choiceValues(g));
  const sizes = p.groups.map((g) => domainSize(g.domain));
  const globalIters = opts.globalIterations ?? 8;
  const maxIter = opts.maxIterations ?? 40;
  const B = p.budget;
  const tol = 1e-9 * Math.max(1, Math.abs(B));

  const start: Record<string, number> = {};
  p.groups.forEach((g) => {
    const k = opts.start?.[g.id] ?? g.domain.max;
    if (k < g.domain.min || k > g.domain.max || (k - g.domain.min) % g.domain.step !== 0) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `solveCoupled: start["${g.id}"] = ${k} is not in the group's domain (min ${g.domain.min}, max ${g.domain.max}, step ${g.domain.step})`,
      );
    }
    start[g.id] = k;
  });

  interface Cand {
    readonly keep: Record<string, number>;
    readonly key: string;
    readonly value: number;
    readonly latency: number;
  }
  const cache = new Map<string, Cand>();
  let best: Cand | undefined;
  let fastest: Cand | undefined;
  const feasible = (c: Cand): boolean => c.latency <= B + tol;
  // Merit: feasible beats infeasible; then higher value, or lower latency when infeasible.
  const better = (a: Cand, b: Cand): boolean => {
    if (feasible(a) !== feasible(b)) return feasible(a);
    if (feasible(a)) return a.value > b.value + 1e-12 * Math.max(1, Math.abs(b.value));
    return a.latency < b.latency - tol;
  };
  const evaluate = (keep: Record<string, number>): Cand => {
    const key = keyOf(ids, keep);
    let c = cache.get(key);
    if (!c) {
      let value = 0;
      p.groups.forEach((g, gi) => {
        value += vals[gi]![(keep[g.id]! - g.domain.min) / g.domain.step]!;
      });
      const latency = model.total(keep);
      if (!Number.isFinite(latency)) {
        throw new LatpruneError(
          'RUNTIME',
          `latency model returned ${latency} for selection ${key}; the model must be finite for every allowed kept count`,
        );
      }
      c = { keep, key, value, latency };
      cache.set(key, c);
    }
    if (feasible(c) && (!best || better(c, best) || (c.value === best.value && c.latency < best.latency))) best = c;
    if (!fastest || c.latency < fastest.latency) fastest = c;
    return c;
  };

  const trace: CoupledIteration[] = [];
  const step = (cur: Cand, beff: number, radius: number | readonly number[]): { next: Cand; status: 'optimal' | 'infeasible' } => {
    const sol = solveMckp(linearise(p, model, cur.keep, beff, radius), opts.dp);
    const next = evaluate(sol.keep);
    trace.push({ effectiveBudget: beff, dpStatus: sol.status, predicted: sol.latency, latency: next.latency, value: next.value });
    return { next, status: sol.status };
  };

  // Phase 1: plain fixed-point iteration over the full domains.
  let cur = evaluate(start);
  let meritBest = cur;
  const seen = new Set<string>([cur.key]);
  let cycleDetected = false;
  let fixedPoint = false;
  for (let it = 0; it < Math.min(globalIters, maxIter); it++) {
    const { next } = step(cur, B, Infinity);
    if (next.key === cur.key) {
      fixedPoint = true;
      break;
    }
    if (seen.has(next.key)) {
      cycleDetected = true;
      break;
    }
    seen.add(next.key);
    cur = next;
    // Stalled: the plain iteration only wanders now; the trust region takes over.
    if (!better(next, meritBest)) break;
    meritBest = next;
  }
  const consistent = fixedPoint && feasible(cur);
  let converged = fixedPoint;

  // Phase 2: trust region from the best choice, with tightening while infeasible.
  const phase1 = trace.length;
  if (!consistent) {
    converged = false;
    cur = meritBest;
    let frac = opts.trustFraction ?? 1 / 8;
    let shift = 0;
    let retries = 0;
    while (trace.length < maxIter) {
      const radius = sizes.map((n) => Math.max(1, Math.floor(frac * (n - 1))));
      const { next, status } = step(cur, B - shift, radius);
      if (next.key === cur.key) {
        converged = true;
        break;
      }
      if (!feasible(next) && status === 'optimal') shift += next.latency - B;
      if (better(next, cur)) {
        cur = next;
        if (feasible(cur)) shift = 0;
      } else {
        if (radius.every((r) => r === 1)) {
          // an over-budget move at the smallest radius tightens the effective budget (shift): try
          // again under it before calling this a local optimum (growing many coupled groups at once
          // costs more than the sum of their one-at-a-time costs)
          if (!feasible(next) && status === 'optimal' && retries++ < 8) continue;
          converged = true; // no improving move even one step away: a local optimum
          break;
        }
        frac /= 2;
      }
    }
  }

  const out = best ?? fastest!;
  return {
    status: best ? 'feasible' : 'infeasible',
    keep: { ...out.keep },
    value: out.value,
    latency: out.latency,
    budget: B,
    consistent,
    converged,
    cycleDetected,
    iterations: trace.length,
    trustIterations: trace.length - phase1,
    minLatencySeen: fastest!.latency,
    trace,
  };
}
