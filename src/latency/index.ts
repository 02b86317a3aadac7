/**
 * Latency lookup tables: device fingerprint, layout regimes, table schema and
 * IO, in-context layer timing (ORT, tfjs), the profiler, calibration and the
 * network latency estimator.
 * @packageDocumentation
 */
export { type DeviceDescription, describeDevice, deviceFingerprint } from './device.js';
export { type GpuDescription, describeGpu, gpuFingerprint, gpuSummary, isWebGpu, parseProbeOutput } from './gpu.js';
export {
  type OpKind,
  type LayoutRule,
  type LayoutRules,
  type Regime,
  isFast,
  regimeOf,
  roundUp,
  inferRule,
  channelMultiple,
} from './layout.js';
export { type LayerSignature, type SignedLayer, signedLayers, signatureKey } from './signature.js';
export {
  LUT_SCHEMA,
  type LatencyTable,
  type CalibrationCoefficients,
  type MixedCalibration,
  type LutSignature,
  validateTable,
  loadTable,
  saveTable,
  reorderCost,
  deviceMismatchWarning,
  currentFingerprint,
  defaultTablePath,
} from './table.js';
export { type SignatureLookup, makeLookup } from './interpolate.js';
export { type GridOptions, type SignatureExtent, DEFAULT_GRID, baseGrid, refinePoints } from './grid.js';
export {
  type TimingOptions,
  type LayerMeasurement,
  type LatencyRuntime,
  type NetworkSpec,
  type TimedWorkload,
  median,
  medianCiRel,
  timeRepeated,
  timeAlternating,
  alternatingSpeedup,
} from './runtime.js';
export {
  type OrtRuntimeOptions,
  type GpuNodeTime,
  OrtRuntime,
  GPU_TIMING,
  GPU_RESOLUTION_MS,
  apiTimesPerRun,
  gpuSamplesSettled,
  programVectorWidth,
  sessionWorkload,
  timedRun,
  warmUpUntilStable,
} from './runtime-ort.js';
export { TfjsRuntime } from './runtime-tfjs.js';
export { LAYER_PREFIX, buildMicroGraph } from './micrograph.js';
export {
  type ProfileOptions,
  DEFAULT_REFERENCE_EVERY,
  deviceRecord,
  profileModel,
  referenceEntry,
  signaturesOf,
  mergeTables,
} from './profile.js';
export {
  type KeepCounts,
  type CalibrateOptions,
  MIN_SPLIT_SAMPLES,
  randomKeep,
  keepToSelection,
  coutOfKeep,
  leastSquares,
  fitCalibration,
  chooseCalibration,
  errorStats,
  calibrateTable,
  refreshCalibration,
  refittedCalibrationNote,
  CALIBRATION_P90_GOAL,
  calibrationWarning,
} from './calibrate.js';
export {
  type LatencyBreakdown,
  type CalibrationParts,
  type CalibrationSample,
  type CalibrationFit,
  plainShare,
  applyCalibration,
  LatencyEstimator,
  estimate,
} from './estimate.js';
export {
  type ProfileTableOptions,
  type ProfileTableResult,
  profile,
  profileOptionsSchema,
  parseProfileOptions,
  SHARD_FORM,
  tableModelName,
  describeCalibration,
} from './build.js';
