/**
 * Exact multiple-choice knapsack DP over channel groups.
 *
 * One kept count per group; maximise total value subject to
 * `baseLatency + Σ cost <= budget`. Latency is discretised to a resolution
 * `r`; costs are rounded UP (after shifting each group so that its cheapest
 * choice costs exactly 0) and the spendable slack is rounded DOWN, so a
 * solution found feasible on the grid is feasible on the exact costs. The
 * price of rounding up is bounded: the returned value is at least the exact
 * optimum for the budget `budget - discretisationBound`.
 *
 * Before that, the grid with costs rounded DOWN (a relaxation) is solved: if
 * its optimum is feasible on exact costs, it is the exact optimum (`exact`),
 * which is the usual case; its value is always an upper bound.
 *
 * Costs may be negative and need not be monotone in `k`.
 *
 * The grid problem is solved exactly by {@link solveGrid} (a DP pruned by LP
 * bounds; see grid-dp.ts).
 */

import { LatpruneError } from '../errors.js';
import { feasibilityTolerance, prepareGroups, type PreparedGroup } from './choices.js';
import { solveGrid } from './grid-dp.js';
import type { KnapsackProblem } from './problem.js';
import { choiceToKeep, scoreChoice } from './selection.js';

/** Options of {@link solveMckp}. */
export interface DpOptions {
  /**
   * Latency grid step, in the problem's latency unit. Default: chosen so that
   * the worst-case discretisation loss `groups × resolution` equals
   * `lossFraction` of the latency scale (the budget, or the spendable slack
   * when that is larger, e.g. for marginal-cost problems).
   */
  readonly resolution?: number;
  /** Worst-case discretisation loss as a fraction of the budget when `resolution` is not given. Default 1e-3. */
  readonly lossFraction?: number;
  /** Refuse (with `BAD_ARGUMENT`) tables larger than this many cells. Default 2e7. */
  readonly maxCells?: number;
}

/** Outcome of a knapsack solve. */
export type SolveStatus = 'optimal' | 'infeasible';

/** Result of {@link solveMckp}. */
export interface KnapsackSolution {
  /**
   * `optimal`: the selection is feasible on exact costs and optimal on the
   * latency grid. `infeasible`: even the cheapest choice of every group
   * exceeds the budget; the selection is that minimum-latency choice.
   */
  readonly status: SolveStatus;
  /** Kept count per group id. */
  readonly keep: Record<string, number>;
  /** Domain index per group, in `problem.groups` order. */
  readonly choice: readonly number[];
  /** Total value of the selection. */
  readonly value: number;
  /** Exact (undiscretised) latency of the selection. */
  readonly latency: number;
  /** The budget solved for. */
  readonly budget: number;
  /** Smallest reachable latency (`baseLatency + Σ min cost`). */
  readonly minLatency: number;
  /** Latency grid step used. */
  readonly resolution: number;
  /**
   * Budget-side discretisation bound δ: `value` is at least the exact
   * optimum for budget `budget - δ`. At most `groups × resolution`
   * (0 when `exact`).
   */
  readonly discretisationBound: number;
  /**
   * The selection is provably the exact optimum: the optimum of the
   * optimistic grid (costs rounded down, a relaxation) was feasible on exact
   * costs. Otherwise it is the optimum of the conservative grid (costs rounded up).
   */
  readonly exact: boolean;
  /** Upper bound on the exact optimum's value (the optimistic grid's optimum); −∞ when infeasible. */
  readonly upperBound: number;
  /** DP cells evaluated (choices × window), a work measure. */
  readonly cells: number;
}

/** Default worst-case loss fraction. */
export const DEFAULT_LOSS_FRACTION = 1e-3;

/**
 * Chooses the default grid step for a problem.
 *
 * @param budget - the latency budget
 * @param slack - `budget - minLatency`
 * @param groups - number of groups
 * @param lossFraction - worst-case loss as a fraction of the scale
 */
export function defaultResolution(budget: number, slack: number, groups: number, lossFraction = DEFAULT_LOSS_FRACTION): number {
  const scale = Math.max(Math.abs(budget), slack);
  if (!(scale > 0)) return 1;
  return (lossFraction * scale) / Math.max(1, groups);
}

/**
 * Solves the separable knapsack exactly on a latency grid.
 *
 * @param p - a validated problem (see {@link validateProblem})
 * @param opts - grid options
 * @returns the selection and its certificate; never throws for infeasible budgets
 * @throws LatpruneError `BAD_ARGUMENT` for a non-positive resolution or a table above `maxCells`
 */
export function solveMckp(p: KnapsackProblem, opts: DpOptions = {}): KnapsackSolution {
  const prep = prepareGroups(p);
  const G = prep.groups.length;
  const tol = feasibilityTolerance(p.budget, prep.minLatency);
  const r = opts.resolution ?? defaultResolution(p.budget, prep.slack, G, opts.lossFraction);
  if (!(r > 0) || !Number.isFinite(r)) {
    throw new LatpruneError('BAD_ARGUMENT', `solver resolution must be a positive finite number, got ${r}`);
  }
  const minChoice = prep.groups.map((g) => g.index[0]!);
  const finish = (
    status: SolveStatus,
    choice: number[],
    bound: number,
    cells: number,
    exact: boolean,
    upperBound: number,
  ): KnapsackSolution => {
    const s = scoreChoice(p, choice);
    return {
      status,
      keep: choiceToKeep(p, choice),
      choice,
      value: s.value,
      latency: s.latency,
      budget: p.budget,
      minLatency: prep.minLatency,
      resolution: r,
      discretisationBound: bound,
      exact,
      upperBound,
      cells,
    };
  };
  if (prep.slack < -tol) return finish('infeasible', minChoice, 0, 0, false, -Infinity);

  const slackUnits = Math.max(0, Math.floor(Math.max(0, prep.slack) / r));
  const maxCells = opts.maxCells ?? 2e7;
  const what = `use a coarser resolution (now ${r}) or a larger lossFraction`;
  // Optimistic grid (a relaxation): exact optimum if its choice fits exactly.
  const down = discretise(prep.groups, r, slackUnits, Math.floor);
  const gd = solveGrid(down.units, down.vals, slackUnits, maxCells, what);
  const cd = prep.groups.map((g, gi) => g.index[down.picks[gi]![gd.pick[gi]!]!]!);
  const upperBound = gd.value;
  const sd = finish('optimal', cd, 0, gd.cells, true, upperBound);
  if (sd.latency <= p.budget + tol) return sd;
  // Conservative grid: feasible by construction, loss bounded by δ.
  const up = discretise(prep.groups, r, slackUnits, Math.ceil);
  const gu = solveGrid(up.units, up.vals, slackUnits, maxCells, what);
  const choice = prep.groups.map((g, gi) => g.index[up.picks[gi]![gu.pick[gi]!]!]!);
  const sol = finish('optimal', choice, up.bound, gd.cells + gu.cells, false, upperBound);
  if (sol.latency > p.budget + tol) {
    // Only floating-point summation could cause this; never return an infeasible "optimal".
    throw new LatpruneError(
      'RUNTIME',
      `solver internal error: DP choice has latency ${sol.latency} above budget ${p.budget}; please report with the problem file`,
    );
  }
  return sol;
}

/**
 * Puts each group's frontier on the grid. Choices that round to the same unit
 * keep only the best value (values ascend along the frontier); choices beyond
 * the capacity are dropped.
 */
function discretise(
  groups: readonly PreparedGroup[],
  r: number,
  cap: number,
  round: (x: number) => number,
): { units: Int32Array[]; vals: Float64Array[]; picks: Int32Array[]; bound: number } {
  const units: Int32Array[] = [];
  const vals: Float64Array[] = [];
  const picks: Int32Array[] = []; // frontier position of each unit choice
  let bound = 0;
  for (const g of groups) {
    const n = g.cost.length;
    const u = new Int32Array(n);
    const v = new Float64Array(n);
    const pk = new Int32Array(n);
    let cnt = 0;
    let worst = 0;
    for (let j = 0; j < n; j++) {
      const x = round(g.cost[j]! / r);
      if (x > cap) break; // costs ascend: the rest do not fit either
      worst = Math.max(worst, x * r - g.cost[j]!);
      if (cnt > 0 && u[cnt - 1] === x) cnt--; // same unit, higher value: replace
      u[cnt] = x;
      v[cnt] = g.value[j]!;
      pk[cnt] = j;
      cnt++;
    }
    units.push(u.subarray(0, cnt));
    vals.push(v.subarray(0, cnt));
    picks.push(pk.subarray(0, cnt));
    bound += worst;
  }
  return { units, vals, picks, bound };
}
