/**
 * Channel-selection solver: the public door of `src/solver/`.
 *
 * - {@link solveMckp}: exact multiple-choice knapsack DP (main path);
 * - {@link lpBound}: exact LP-relaxation bound (convex-hull greedy);
 * - {@link solveMilp} / {@link solveLpRelaxation}: javascript-lp-solver cross-check;
 * - {@link solveCoupled}: coupling-aware successive linearisation;
 * - {@link solveCommand}: the `latprune solve` command.
 *
 * @packageDocumentation
 */

export {
  PROBLEM_FORMAT,
  choiceValues,
  domainSize,
  domainValue,
  domainValues,
  keepValue,
  parseProblem,
  problemToJson,
  validateProblem,
  type KeepDomain,
  type KnapsackProblem,
  type ProblemGroup,
} from './problem.js';
export { choiceToKeep, scoreChoice, scoreKeep, type KeepCounts, type SelectionScore } from './selection.js';
export { DEFAULT_LOSS_FRACTION, defaultResolution, solveMckp, type DpOptions, type KnapsackSolution, type SolveStatus } from './mckp-dp.js';
export { lpBound, relativeGap, type LpBound } from './lp-bound.js';
export { solveLpRelaxation, solveMilp, type LpOptions, type LpRelaxation, type MilpSolution } from './lp.js';
export {
  linearise,
  solveCoupled,
  validateCoupledProblem,
  type CoupledGroup,
  type CoupledIteration,
  type CoupledLatencyModel,
  type CoupledOptions,
  type CoupledProblem,
  type CoupledSolution,
} from './coupled.js';
export {
  SyntheticLatencyModel,
  seededRandom,
  syntheticGroups,
  syntheticMobileNetV1Net,
  syntheticResNet50Net,
  type SyntheticLatencyParams,
  type SyntheticLayer,
  type SyntheticNet,
} from './synthetic.js';
