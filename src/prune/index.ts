/**
 * The pruning engine: IEE and the HALP baseline on top of the graph,
 * importance, latency and solver modules.
 * @packageDocumentation
 */
export { type UpdateSchedule, updateBudget, halpTargets } from './schedule.js';
export {
  type ActiveSets,
  allActive,
  fullKeep,
  toSelection,
  counts,
  pruneProblem,
  growProblem,
  domainOf,
  applyPrune,
  applyGrow,
  maskIoU,
  removed,
} from './channels.js';
export { type ElementMasks, ChannelWeights, elementMasks } from './weights.js';
export {
  type PruneConfig,
  type GrowRule,
  type ApplyOptions,
  GROW_RULES,
  type EngineState,
  type StepReport,
  type EngineIO,
  type MethodHost,
  type CheckDecision,
  LATENCY_CHECK_ROUNDS,
  PruneEngine,
} from './engine.js';
export { type PruneMethod } from './method.js';
export { type MethodName, BUILTIN_METHODS, pruneMethod } from './methods.js';
export { runHalp, HALP } from './halp.js';
export { runIee, IEE, ieeBudget, ieeInitialIterations, ieeStepsThatFit, checkGrowRule, evaluatedCandidates } from './iee.js';
export { type LatencyTarget, type MethodOptions, type PruneRunOptions, type PruneResult, targetLatency, runPrune } from './run.js';
export {
  type CheckProbe,
  type CheckStep,
  type CheckConfirm,
  type BusyGuard,
  latencyCheck,
  nextCheckStep,
  unresponsiveTarget,
  bestCheckProbe,
  meetsTarget,
  needsConfirmation,
  confirmedMeasurement,
  DEFAULT_LATENCY_MARGIN,
  LATENCY_CHECK_TOLERANCE,
  DEFAULT_CHECK_CONFIRM,
  DEFAULT_BUSY_GUARD,
} from './check.js';
export {
  type PruneOptions,
  type PruneOptionsInput,
  pruneOptionsSchema,
  parsePruneOptions,
  toRunOptions,
  distillTeacher,
  PRUNE_FLAGS,
  RESUME_MUST_MATCH,
} from './options.js';
export { type PruneCallOptions, prune } from './api.js';
