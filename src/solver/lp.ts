/**
 * MILP / LP backend on javascript-lp-solver: the same knapsack with one binary
 * variable per (group, k), `Σ_k x_gk = 1` per group and the latency row.
 *
 * Branch-and-cut in the library is slow beyond ~10 groups × 16 choices, so this
 * is the cross-check and reference bound, not the main path (use
 * {@link solveMckp} and {@link lpBound}).
 */

import { createRequire } from 'node:module';
import type { Model as LpModel, SolveResult, SolverAPI } from 'javascript-lp-solver';
import { LatpruneError } from '../errors.js';
import { choiceValues, type KnapsackProblem } from './problem.js';
import { choiceToKeep, scoreChoice } from './selection.js';

/** Options of {@link solveMilp} and {@link solveLpRelaxation}. */
export interface LpOptions {
  /** Library time limit in milliseconds (MILP only). Default: none. */
  readonly timeoutMs?: number;
}

/** Result of {@link solveMilp}. */
export interface MilpSolution {
  /** `optimal`, `infeasible`, or `timeout` (time limit hit; `choice` may be absent). */
  readonly status: 'optimal' | 'infeasible' | 'timeout';
  /** Domain index per group (absent when infeasible). */
  readonly choice?: readonly number[];
  /** Kept count per group id (absent when infeasible). */
  readonly keep?: Record<string, number>;
  /** Value of the selection recomputed from the problem (−∞ when infeasible). */
  readonly value: number;
  /** Exact latency of the selection (NaN when infeasible). */
  readonly latency: number;
}

/** Result of {@link solveLpRelaxation}. */
export interface LpRelaxation {
  /** `feasible` or `infeasible`. */
  readonly status: 'feasible' | 'infeasible';
  /** The LP optimum (upper bound on the knapsack optimum); −∞ when infeasible. */
  readonly bound: number;
}

// The package's single .d.ts declares a default export, which under NodeNext
// does not match either build (the CJS build sets module.exports = solver).
// Load the CJS build and type it with the package's own SolverAPI.
const lpSolver = createRequire(import.meta.url)('javascript-lp-solver') as SolverAPI;

const varName = (g: number, j: number): string => `x${g}_${j}`;

function buildModel(p: KnapsackProblem, integer: boolean, timeoutMs?: number): LpModel {
  const constraints: LpModel['constraints'] = { lat: { max: p.budget - (p.baseLatency ?? 0) } };
  const variables: LpModel['variables'] = {};
  const binaries: Record<string, 1> = {};
  p.groups.forEach((g, gi) => {
    constraints[`g${gi}`] = { equal: 1 };
    const vals = choiceValues(g);
    g.costs.forEach((c, j) => {
      const name = varName(gi, j);
      variables[name] = { value: vals[j]!, lat: c, [`g${gi}`]: 1 };
      if (integer) binaries[name] = 1;
    });
  });
  const model: LpModel = { optimize: 'value', opType: 'max', constraints, variables };
  if (integer) model.binaries = binaries;
  if (timeoutMs !== undefined) model.timeout = timeoutMs;
  return model;
}

function run(model: LpModel): SolveResult {
  const r = lpSolver.Solve(model) as SolveResult;
  if (typeof r !== 'object' || r === null || typeof r.feasible !== 'boolean') {
    throw new LatpruneError('RUNTIME', 'javascript-lp-solver returned an unexpected result; check the installed version (>= 1.0)');
  }
  return r;
}

/**
 * Solves the knapsack as a MILP with javascript-lp-solver.
 *
 * @param p - a validated problem (keep it small: ~10 groups × 16 choices)
 * @param opts - time limit
 */
export function solveMilp(p: KnapsackProblem, opts: LpOptions = {}): MilpSolution {
  const r = run(buildModel(p, true, opts.timeoutMs));
  if (!r.feasible) {
    return { status: 'infeasible', value: -Infinity, latency: NaN };
  }
  const choice: number[] = [];
  for (let gi = 0; gi < p.groups.length; gi++) {
    let best = -1;
    let bestX = 0.5;
    for (let j = 0; j < p.groups[gi]!.costs.length; j++) {
      const x = r[varName(gi, j)];
      if (typeof x === 'number' && x > bestX) {
        best = j;
        bestX = x;
      }
    }
    if (best < 0) return { status: 'timeout', value: -Infinity, latency: NaN };
    choice.push(best);
  }
  const s = scoreChoice(p, choice);
  const status = r['isIntegral'] === false ? 'timeout' : 'optimal';
  return { status, choice, keep: choiceToKeep(p, choice), value: s.value, latency: s.latency };
}

/**
 * Solves the LP relaxation with javascript-lp-solver (cross-check for {@link lpBound}).
 *
 * @param p - a validated problem
 */
export function solveLpRelaxation(p: KnapsackProblem): LpRelaxation {
  const r = run(buildModel(p, false));
  if (!r.feasible) return { status: 'infeasible', bound: -Infinity };
  return { status: 'feasible', bound: r.result };
}
