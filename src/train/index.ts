/**
 * Training: step-level trainer, gradient engines (data parallel over worker
 * threads), SGD with momentum, schedules, checkpoints, model files.
 * @packageDocumentation
 */
export { type LossConfig, type DistillConfig, classificationLoss } from './loss.js';
export {
  type HostBatch,
  type GradientResult,
  type GradientEngine,
  LocalGradientEngine,
  DataParallelGradientEngine,
  createGradientEngine,
  shardBatch,
  trainableVariables,
} from './gradients.js';
export { type SgdOptions, type SgdState, SgdMomentum, defaultDecays } from './optimizer.js';
export { type CosineSchedule, cosineWithWarmup, validateSchedule } from './schedule.js';
export {
  type Checkpoint,
  type ExtraTensors,
  weightKey,
  encodeCheckpoint,
  decodeCheckpoint,
  saveCheckpoint,
  loadCheckpoint,
  openRunCheckpoint,
  restoreWeights,
} from './checkpoint.js';
export {
  type TrainerConfig,
  type GradientContext,
  type StepHooks,
  type StepResult,
  type TrainerState,
  type EvalResult,
  Trainer,
  evaluate,
  evaluateSource,
  evaluateTestSplit,
  aboutChance,
  recalibrateBatchNorm,
} from './trainer.js';
export { type TrainRunOptions, type TrainRunResult, runTraining, readMetrics } from './run.js';
export {
  type ModelDataOptions,
  type ModelAndData,
  openModelAndData,
  describePreprocess,
  noBatchNormAdvice,
  NO_BN_MAX_LR,
} from './setup.js';
