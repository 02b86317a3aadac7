/**
 * Exact LP-relaxation bound of the multiple-choice knapsack, without an LP
 * library.
 *
 * The LP relaxation of MCKP (choice variables in [0, 1], one unit per group)
 * is solved by a greedy over the upper convex hulls of the groups' (cost,
 * value) points: start every group at its cheapest choice, then buy hull
 * segments in decreasing slope (value per latency) until the budget is spent,
 * the last one fractionally. O(N log N) for N choices in total.
 */

import { feasibilityTolerance, prepareGroups } from './choices.js';
import { upperHull } from './hull.js';
import type { KnapsackProblem } from './problem.js';

/** Result of {@link lpBound}. */
export interface LpBound {
  /** `feasible` when the budget is at least the minimum reachable latency. */
  readonly status: 'feasible' | 'infeasible';
  /** Optimal LP-relaxation value: an upper bound on any selection's value (−∞ when infeasible). */
  readonly bound: number;
  /** Value per latency unit of the last segment bought (the LP dual price of latency), 0 if none. */
  readonly price: number;
  /** Value of the integral part of the greedy (a feasible selection's value), −∞ when infeasible. */
  readonly integralValue: number;
}

/**
 * Computes the LP-relaxation optimum of a knapsack problem.
 *
 * @param p - a validated problem
 */
export function lpBound(p: KnapsackProblem): LpBound {
  const prep = prepareGroups(p);
  if (prep.slack < -feasibilityTolerance(p.budget, prep.minLatency)) {
    return { status: 'infeasible', bound: -Infinity, price: 0, integralValue: -Infinity };
  }
  let base = 0;
  const dc: number[] = [];
  const dv: number[] = [];
  for (const g of prep.groups) {
    base += g.value[0]!;
    const h = upperHull(g.cost, g.value);
    for (let s = 1; s < h.length; s++) {
      dc.push(g.cost[h[s]!]! - g.cost[h[s - 1]!]!);
      dv.push(g.value[h[s]!]! - g.value[h[s - 1]!]!);
    }
  }
  // Within a group hull slopes decrease; a stable sort keeps that order on ties.
  const seg = Array.from({ length: dc.length }, (_, i) => i).sort((a, b) => dv[b]! / dc[b]! - dv[a]! / dc[a]!);
  let rem = Math.max(0, prep.slack);
  let bound = base;
  let integral = base;
  let price = 0;
  for (const s of seg) {
    price = dv[s]! / dc[s]!;
    if (dc[s]! <= rem) {
      rem -= dc[s]!;
      bound += dv[s]!;
      integral += dv[s]!;
    } else {
      bound += (dv[s]! * rem) / dc[s]!;
      break;
    }
  }
  return { status: 'feasible', bound, price, integralValue: integral };
}

/**
 * Relative optimality gap `(bound - value) / |bound|` (0 when both are 0).
 *
 * @param value - a feasible selection's value
 * @param bound - an upper bound on the optimum
 */
export function relativeGap(value: number, bound: number): number {
  if (!Number.isFinite(bound) || !Number.isFinite(value)) return NaN;
  const d = Math.abs(bound);
  return d === 0 ? (bound - value === 0 ? 0 : Infinity) : Math.max(0, bound - value) / d;
}
