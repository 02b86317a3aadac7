/**
 * Datasets: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary readers, location
 * resolution, seeded RNG, train/val split, the resumable batch iterator, and
 * image-folder datasets streamed from disk (`image-folder/`); both batch
 * streams are {@link BatchSource}s.
 *
 * @packageDocumentation
 */

export {
  type DatasetName,
  type ImageDataset,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  CIFAR10_CLASSES,
  imageSize,
  validateDataset,
  subsetDataset,
  classCounts,
} from './dataset.js';
export { type RngState, Rng, mixSeeds } from './rng.js';
export { isGzip, readMaybeGzip } from './read-file.js';
export { type IdxArray, IDX_UBYTE, parseIdx, encodeIdx, readIdxFile } from './idx.js';
export { type SplitName, type IdxDatasetName, idxFileNames, findIdxFile, loadIdxSplit } from './idx-dataset.js';
export {
  CIFAR10_RECORD_BYTES,
  CIFAR10_TRAIN_FILES,
  CIFAR10_TEST_FILE,
  parseCifar10Batch,
  readCifar10ClassNames,
  loadCifar10Split,
} from './cifar10.js';
export {
  type DataOrigin,
  type DataLocation,
  type ResolveOptions,
  DATA_ENV_VAR,
  SYSTEM_DATA_DIRS,
  DATASET_SUBDIRS,
  EMBEDDED_SUBSET_RELPATH,
  missingDatasetFiles,
  embeddedSubsetDir,
  resolveDataDir,
} from './locate.js';
export { type LoadedDataset, DATASET_NAMES, assertDatasetName, loadDataset, describeDataset } from './load.js';
export { type SplitOptions, type TrainValSplit, trainValSplit } from './split.js';
export {
  type Normalization,
  type Augmentation,
  NO_AUGMENTATION,
  CIFAR_AUGMENTATION,
  UNIT_NORMALIZATION,
  defaultNormalization,
  defaultAugmentation,
  computeNormalization,
  normalizationForChannels,
} from './preprocess.js';
export {
  type BatchOptions,
  type BatchCursor,
  type Batch,
  type BatchSource,
  assembleBatch,
  normalizationLut,
  writeShiftedImage,
  sourceEpochBatches,
  BatchIterator,
} from './batches.js';
export * from './image-folder/index.js';
export {
  type DataSpec,
  type TrainingData,
  type OpenTrainOptions,
  type AugmentName,
  AUGMENT_NAMES,
  IMAGE_FOLDER_DATASET,
  RRC_MIN_INPUT,
  type RunDataOptions,
  dataKind,
  openData,
  runDataSpec,
  runDataOptions,
} from './open.js';
export {
  type PreprocessSpec,
  PREPROCESS_SIDECAR_SUFFIX,
  sidecarPathFor,
  parsePreprocessSpec,
  preprocessFromMetadata,
  readPreprocessFile,
  findPreprocessSidecar,
  parseInputSize,
  parseChannelList,
  specNormalization,
  mergePreprocess,
} from './preprocess-file.js';
export { type BatchTensors, batchToTensors } from './tensors.js';
export {
  type MakeMiniOptions,
  type MakeMiniSummary,
  type MiniSplitSummary,
  firstPerClass,
  makeFashionMnistMini,
} from './make-mini.js';
