/**
 * Per-group choice preparation shared by the DP and the LP bound: each
 * group's choices reduced to its Pareto frontier (cost ascending, value
 * strictly ascending), with costs shifted so that the cheapest choice costs 0.
 *
 * A choice outside the frontier (another costs no more and is worth at least
 * as much) is never needed by an optimal solution, so dropping it is exact.
 * Nothing here assumes that cost grows with `k`.
 *
 * @internal
 */

import { choiceValues, type KnapsackProblem } from './problem.js';

/** A group's Pareto frontier. */
export interface PreparedGroup {
  /** Position of the group in `problem.groups`. */
  readonly group: number;
  /** Cost of the cheapest choice (subtracted from `cost`). */
  readonly minCost: number;
  /** Domain index of each frontier choice; `index[0]` is the cheapest (best-valued among ties). */
  readonly index: Int32Array;
  /** Shifted cost (>= 0, ascending; `cost[0] === 0`). */
  readonly cost: Float64Array;
  /** Value (strictly ascending). */
  readonly value: Float64Array;
}

/** Result of {@link prepareGroups}. */
export interface PreparedProblem {
  readonly groups: readonly PreparedGroup[];
  /** `baseLatency + Σ minCost`: the smallest reachable latency. */
  readonly minLatency: number;
  /** `budget - minLatency`: the latency that can be spent above the minimum. */
  readonly slack: number;
}

/**
 * Builds the Pareto frontier of every group.
 *
 * @param p - a validated problem
 */
export function prepareGroups(p: KnapsackProblem): PreparedProblem {
  let minLatency = p.baseLatency ?? 0;
  const groups = p.groups.map((g, gi): PreparedGroup => {
    const vals = choiceValues(g);
    const n = vals.length;
    const order = Array.from({ length: n }, (_, i) => i);
    // cost ascending; among equal costs value descending; then smaller k
    order.sort((a, b) => g.costs[a]! - g.costs[b]! || vals[b]! - vals[a]! || a - b);
    const minCost = g.costs[order[0]!]!;
    const idx: number[] = [];
    let best = -Infinity;
    for (const i of order) {
      if (vals[i]! > best) {
        idx.push(i);
        best = vals[i]!;
      }
    }
    const index = Int32Array.from(idx);
    const cost = new Float64Array(idx.length);
    const value = new Float64Array(idx.length);
    for (let j = 0; j < idx.length; j++) {
      cost[j] = g.costs[idx[j]!]! - minCost;
      value[j] = vals[idx[j]!]!;
    }
    minLatency += minCost;
    return { group: gi, minCost, index, cost, value };
  });
  return { groups, minLatency, slack: p.budget - minLatency };
}

/** Relative tolerance used when checking a latency against a budget. */
export const FEASIBILITY_RTOL = 1e-9;

/** Absolute tolerance for comparing `latency <= budget` at the problem's scale. */
export function feasibilityTolerance(budget: number, minLatency: number): number {
  return FEASIBILITY_RTOL * Math.max(1, Math.abs(budget), Math.abs(minLatency));
}
