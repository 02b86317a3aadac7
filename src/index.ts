/**
 * latprune as a library: latency-aware structured (channel) pruning of CNNs.
 *
 * The pipeline, one function per stage:
 * 1. {@link profile} builds a latency table on this device ({@link loadTable}, {@link estimate} read it);
 * 2. {@link analyzeModel} finds the coupled channel groups, importance criteria score them;
 * 3. {@link solveMckp} picks the channels to keep within a latency budget;
 * 4. {@link prune} runs IEE or HALP end to end (training, scoring, solving, the on-device check);
 * 5. {@link exportOnnx} writes the compact ONNX file, {@link verify} measures its FPS,
 *    {@link compare} tabulates finished runs.
 *
 * Everything not exported here is internal and may change between versions.
 * @packageDocumentation
 */

// errors
export { LatpruneError, type LatpruneErrorCode } from './errors.js';

// models and data
export { loadModel, saveModel, resolveModel, compactModel } from './model/index.js';
export { buildZooModel, zooNames, modelStats, type ZooOptions, type ModelStats } from './zoo/index.js';
export { loadDataset, type LoadedDataset, type ImageDataset, type DatasetName } from './data/index.js';
export { initBackend, type BackendInfo } from './backend/index.js';

// 1. latency tables
export {
  profile,
  profileOptionsSchema,
  loadTable,
  saveTable,
  estimate,
  LatencyEstimator,
  calibrationWarning,
  deviceFingerprint,
  type ProfileTableOptions,
  type ProfileTableResult,
  type LatencyTable,
} from './latency/index.js';

// 2. channel groups and importance
export {
  analyzeModel,
  describeModel,
  fullSelection,
  topKSelection,
  validateSelection,
  selectionCost,
  applySelection,
  layerWidths,
  type AnalyzeOptions,
  type ChannelGraph,
  type ChannelGroup,
  type GroupMember,
  type Selection,
  type SelectionCost,
} from './graph/index.js';
export {
  taylorImportance,
  magnitudeImportance,
  scoreGroups,
  ImportanceAccumulator,
  type ImportanceCriterion,
  type GroupScores,
} from './importance/index.js';

// 3. the knapsack
export {
  solveMckp,
  lpBound,
  parseProblem,
  validateProblem,
  type KnapsackProblem,
  type KnapsackSolution,
  type ProblemGroup,
  type SolveStatus,
} from './solver/index.js';

// 4. pruning
export {
  prune,
  parsePruneOptions,
  pruneOptionsSchema,
  type PruneCallOptions,
  type PruneOptions,
  type PruneOptionsInput,
  type PruneResult,
} from './prune/index.js';

// 5. export, verification, reports
export { exportOnnx, exportOptionsSchema, type ExportOptions, type ExportResult } from './export/index.js';
export { verifyOnnx as verify, verifyOptionsSchema, type VerifyOptions, type VerifyResult } from './verify/index.js';
export { compareRuns as compare, readRun, type CompareRow } from './report/index.js';
