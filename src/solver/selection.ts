/**
 * Selections (one kept count per group) and their exact evaluation.
 */

import { LatpruneError } from '../errors.js';
import { choiceValues, type KnapsackProblem } from './problem.js';

/** Kept channel count per group id. */
export type KeepCounts = Readonly<Record<string, number>>;

/** Exact value and latency of a selection. */
export interface SelectionScore {
  /** Σ over groups of the value of the kept count (prefix sums of importance). */
  readonly value: number;
  /** `baseLatency + Σ cost`, from the undiscretised cost tables. */
  readonly latency: number;
}

/**
 * Converts per-group domain indices to kept counts.
 *
 * @param p - the problem
 * @param choice - domain index per group, in `p.groups` order
 */
export function choiceToKeep(p: KnapsackProblem, choice: ArrayLike<number>): Record<string, number> {
  const keep: Record<string, number> = {};
  p.groups.forEach((g, gi) => {
    keep[g.id] = g.domain.min + choice[gi]! * g.domain.step;
  });
  return keep;
}

/**
 * Scores a choice given as domain indices, with the exact cost tables.
 *
 * @param p - the problem
 * @param choice - domain index per group, in `p.groups` order
 */
export function scoreChoice(p: KnapsackProblem, choice: ArrayLike<number>): SelectionScore {
  let value = 0;
  let latency = p.baseLatency ?? 0;
  p.groups.forEach((g, gi) => {
    const i = choice[gi]!;
    value += choiceValues(g)[i]!;
    latency += g.costs[i]!;
  });
  return { value, latency };
}

/**
 * Scores a selection given as kept counts.
 *
 * @throws LatpruneError `BAD_ARGUMENT` when a group is missing or its count is not in the domain
 */
export function scoreKeep(p: KnapsackProblem, keep: KeepCounts): SelectionScore {
  const choice = p.groups.map((g) => {
    const k = keep[g.id];
    const i = k === undefined ? NaN : (k - g.domain.min) / g.domain.step;
    if (!Number.isInteger(i) || k! > g.domain.max) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `keep["${g.id}"] = ${k} is not an allowed kept count (domain min ${g.domain.min}, max ${g.domain.max}, step ${g.domain.step})`,
      );
    }
    return i;
  });
  return scoreChoice(p, choice);
}
