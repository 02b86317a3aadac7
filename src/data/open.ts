/**
 * One door to a run's data: a built-in dataset (Fashion-MNIST, MNIST, CIFAR-10, held in
 * memory) or an image folder (streamed from disk), both giving {@link BatchSource}s of
 * the same kind. `train`, `prune` and `eval` open their data here, so `--data DIR`
 * means the same everywhere.
 */

import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { LatpruneError } from '../errors.js';
import { BatchIterator, type BatchCursor, type BatchSource } from './batches.js';
import type { DatasetName, ImageDataset } from './dataset.js';
import { DATASET_NAMES, assertDatasetName, describeDataset, loadDataset } from './load.js';
import { resolveDataDir, type DataOrigin } from './locate.js';
import {
  CIFAR_AUGMENTATION,
  NO_AUGMENTATION,
  defaultAugmentation,
  defaultNormalization,
  normalizationForChannels,
  type Augmentation,
  type Normalization,
} from './preprocess.js';
import { scanImageFolder, describeImageFolder, type ImageFolder, type ImageFolderSplit } from './image-folder/scan.js';
import { IMAGENET_GREY_NORMALIZATION, IMAGENET_NORMALIZATION, ImageFolderStream, detectChannels, type FolderAugmentation } from './image-folder/stream.js';

/** `--dataset` value that forces `--data DIR` to be read as an image folder. */
export const IMAGE_FOLDER_DATASET = 'folder';

/** Training augmentation by name: `auto` (per dataset), `rrc` (RandomResizedCrop + flip), `pad-crop` (pad 4, crop, flip), `none`. */
export type AugmentName = 'auto' | 'rrc' | 'pad-crop' | 'none';

/** All {@link AugmentName}s. */
export const AUGMENT_NAMES: readonly AugmentName[] = Object.freeze(['auto', 'rrc', 'pad-crop', 'none']);

/** Inputs at least this large get RandomResizedCrop under `--augment auto` (image folders). */
export const RRC_MIN_INPUT = 96;

/** What data to open. */
export interface DataSpec {
  /** Built-in dataset name, or {@link IMAGE_FOLDER_DATASET}; default: guessed from `dir`, else `fashion-mnist`. */
  readonly dataset?: string;
  /** Directory: a built-in dataset's files or an image folder. */
  readonly dir?: string;
  /** Image folders: output `[height, width]` (required; built-in datasets must match their size when given). */
  readonly input?: readonly [number, number];
  /** Image folders: output channels (default: 3 unless every sampled image is grey). */
  readonly channels?: 1 | 3;
  /** Per-channel normalisation (default: the dataset's statistics; ImageNet's for image folders). */
  readonly normalization?: Normalization;
  /** Training augmentation (default `auto`). */
  readonly augment?: AugmentName;
  /** Image folders without `val/`: fraction held out for validation (default 0.1). */
  readonly valFraction?: number;
  /** Image folders: index order (default `torchvision`, class by class; `file-name` sorts by file name). */
  readonly order?: 'torchvision' | 'file-name';
  /** Image folders: decode worker threads for training (default 1). */
  readonly workers?: number;
  /** Train on the first `trainSubset` training images only. */
  readonly trainSubset?: number;
  /** Seed of the validation split of an image folder (default 0). */
  readonly splitSeed?: number;
  /** Receives warnings of image-folder streams (skipped files); default: stderr. */
  readonly onWarning?: (message: string) => void;
}

/** Options of {@link TrainingData.openTrain}. */
export interface OpenTrainOptions {
  /** Images per batch. */
  readonly batchSize: number;
  /** Seed of the shuffling and augmentation. */
  readonly seed: number;
  /** Resume position. */
  readonly cursor?: BatchCursor;
  /** Drop the last incomplete batch of each epoch (default true). */
  readonly dropLast?: boolean;
}

/** A run's data, opened: sizes, classes, preprocessing, and batch sources over both splits. */
export interface TrainingData {
  /** `builtin` (in memory) or `image-folder` (streamed). */
  readonly kind: 'builtin' | 'image-folder';
  /** Dataset name, or the folder's name. */
  readonly name: string;
  /** Directory read. */
  readonly dir: string;
  /** How `dir` was found (built-in datasets), or `explicit`. */
  readonly origin: DataOrigin;
  /** Shape of one image as the model sees it: `[height, width, channels]`. */
  readonly imageShape: readonly [number, number, number];
  /** Class names by label. */
  readonly classNames: readonly string[];
  /** Training images used (after `trainSubset`). */
  readonly trainCount: number;
  /** Training images available. */
  readonly trainTotal: number;
  /** Test (validation) images. */
  readonly testCount: number;
  /** Normalisation applied. */
  readonly normalization: Normalization;
  /** Training augmentation, in words. */
  readonly augmentation: string;
  /** Lines for the run's log: where the data is, sizes, preprocessing, warnings. */
  describe(): string;
  /** A shuffled, augmented training stream (close it). */
  openTrain(opts: OpenTrainOptions): BatchSource;
  /** The test split in order, without augmentation (close it). */
  openTest(batchSize?: number): BatchSource;
}

/** Whether `dir` holds the built-in dataset `name` (directly or in its conventional subfolder). */
function holdsBuiltin(dir: string, name: DatasetName): boolean {
  try {
    resolveDataDir(name, { dir });
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides what `--data`/`--dataset` name: a built-in dataset (by name or by its files in
 * `dir`) or an image folder (`--dataset folder`, or a directory without a built-in
 * dataset's files).
 *
 * @param spec - data flags
 * @returns the built-in name, or {@link IMAGE_FOLDER_DATASET}
 * @throws LatpruneError `BAD_ARGUMENT` for an unknown dataset name
 */
export async function dataKind(spec: Pick<DataSpec, 'dataset' | 'dir'>): Promise<DatasetName | typeof IMAGE_FOLDER_DATASET> {
  if (spec.dataset === IMAGE_FOLDER_DATASET) return IMAGE_FOLDER_DATASET;
  if (spec.dataset !== undefined) {
    if (!(DATASET_NAMES as readonly string[]).includes(spec.dataset)) {
      throw new LatpruneError('BAD_ARGUMENT', `--dataset "${spec.dataset}" is not one latprune knows; valid: ${[...DATASET_NAMES, IMAGE_FOLDER_DATASET].join(', ')} (folder: --data DIR is an image folder, DIR/train/<class>/*).`);
    }
    return spec.dataset as DatasetName;
  }
  if (spec.dir === undefined) return 'fashion-mnist';
  const st = await stat(resolve(spec.dir)).catch(() => undefined);
  if (st === undefined) throw new LatpruneError('NOT_FOUND', `--data ${spec.dir}: no such file or folder; give a dataset name (${DATASET_NAMES.join(', ')}), a folder holding one, or an image folder (DIR/train/<class>/*, DIR/val/<class>/*).`);
  if (!st.isDirectory()) throw new LatpruneError('BAD_ARGUMENT', `--data ${spec.dir} is a file; give a folder (a dataset's IDX/CIFAR files, or an image folder).`);
  for (const name of DATASET_NAMES) if (holdsBuiltin(spec.dir, name)) return name;
  return IMAGE_FOLDER_DATASET;
}

function augmentationFor(name: AugmentName, builtin: string | undefined, input: readonly [number, number]): { train: Augmentation | FolderAugmentation; text: string } {
  const pad = (a: Augmentation) => (a.cropPadding > 0 ? `pad-crop ${a.cropPadding}${a.horizontalFlip ? ' + flip' : ''}` : a.horizontalFlip ? 'flip' : 'none');
  switch (name) {
    case 'none':
      return { train: NO_AUGMENTATION, text: 'none' };
    case 'pad-crop':
      return { train: CIFAR_AUGMENTATION, text: pad(CIFAR_AUGMENTATION) };
    case 'rrc':
      if (builtin !== undefined) throw new LatpruneError('BAD_ARGUMENT', `--augment rrc (RandomResizedCrop) needs an image folder; ${builtin} is held at its own size: use pad-crop or none.`);
      return { train: { kind: 'random-resized-crop' }, text: 'random-resized-crop + flip' };
    case 'auto': {
      if (builtin !== undefined) {
        const a = defaultAugmentation(builtin);
        return { train: a, text: pad(a) };
      }
      if (Math.min(input[0], input[1]) >= RRC_MIN_INPUT) return { train: { kind: 'random-resized-crop' }, text: 'random-resized-crop + flip' };
      return { train: NO_AUGMENTATION, text: 'none' };
    }
    default:
      throw new LatpruneError('BAD_ARGUMENT', `--augment must be one of ${AUGMENT_NAMES.join(', ')}, got "${String(name)}".`);
  }
}

const normText = (n: Normalization) => `mean [${n.mean.map((v) => +v.toFixed(4)).join(', ')}] std [${n.std.map((v) => +v.toFixed(4)).join(', ')}]`;

function checkSubset(subset: number | undefined, total: number, where: string): number {
  if (subset === undefined) return total;
  if (!(Number.isInteger(subset) && subset >= 1)) throw new LatpruneError('BAD_ARGUMENT', `--train-subset must be a positive integer, got ${subset}.`);
  if (subset > total) {
    throw new LatpruneError('BAD_ARGUMENT', `--train-subset ${subset} asks for more images than the training split of ${where} holds (${total}); give at most ${total}, or drop the flag to use them all.`);
  }
  return subset;
}

function openBuiltin(name: DatasetName, spec: DataSpec, loaded: Awaited<ReturnType<typeof loadDataset>>): TrainingData {
  const { train: full, test } = loaded;
  if (spec.input && (spec.input[0] !== full.height || spec.input[1] !== full.width)) {
    throw new LatpruneError('BAD_ARGUMENT', `--input ${spec.input.join('x')} does not match ${name}'s ${full.height}x${full.width} images; built-in datasets are not resized (export them as an image folder to resize, or drop --input).`);
  }
  if (spec.channels !== undefined && spec.channels !== full.channels) {
    throw new LatpruneError('BAD_ARGUMENT', `the model takes ${spec.channels} channel(s), but ${name} has ${full.channels}; built-in datasets are not converted.`);
  }
  const count = checkSubset(spec.trainSubset, full.count, loaded.dir);
  const train: ImageDataset =
    count === full.count ? full : { ...full, count, images: full.images.subarray(0, count * full.height * full.width * full.channels), labels: full.labels.subarray(0, count) };
  const normalization = spec.normalization ?? defaultNormalization(name);
  normalizationForChannels(normalization, full.channels);
  const aug = augmentationFor(spec.augment ?? 'auto', name, [full.height, full.width]);
  const augmentation = aug.train as Augmentation;
  return {
    kind: 'builtin',
    name,
    dir: loaded.dir,
    origin: loaded.origin,
    imageShape: [full.height, full.width, full.channels],
    classNames: full.classNames,
    trainCount: count,
    trainTotal: full.count,
    testCount: test.count,
    normalization,
    augmentation: aug.text,
    describe: () =>
      [
        describeDataset(loaded),
        `preprocessing: ${normText(normalization)}${spec.normalization ? ' (given)' : ` (${name}'s)`}, training augmentation ${aug.text}` +
          (count < full.count ? `; training on the first ${count} of its ${full.count} training images (--train-subset)` : ''),
      ].join('\n'),
    openTrain: (o) => new BatchIterator(train, { batchSize: o.batchSize, seed: o.seed, shuffle: true, dropLast: o.dropLast ?? true, augmentation, normalization }, o.cursor),
    openTest: (batchSize = 500) => new BatchIterator(test, { batchSize, shuffle: false, normalization }),
  };
}

function subsetSplit(split: ImageFolderSplit, count: number): ImageFolderSplit {
  if (count === split.count) return split;
  return { ...split, name: `${split.name} (first ${count})`, files: split.files.slice(0, count), labels: split.labels.subarray(0, count), count };
}

async function openFolder(spec: DataSpec, dir: string): Promise<TrainingData> {
  const folder: ImageFolder = await scanImageFolder(dir, {
    ...(spec.valFraction !== undefined ? { valFraction: spec.valFraction } : {}),
    ...(spec.splitSeed !== undefined ? { seed: spec.splitSeed } : {}),
    ...(spec.order ? { order: spec.order } : {}),
  });
  if (!spec.input) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--data ${dir} is an image folder, whose images latprune resizes to the model's input: give --input HxW (e.g. --input 224x224), or a model whose input size is fixed (an ONNX file, or a sidecar ${'<model>'}.preprocess.json with "input").`,
    );
  }
  const input = spec.input;
  const channels = spec.channels ?? (await detectChannels(folder.train));
  const normalization = spec.normalization ?? (channels === 1 ? IMAGENET_GREY_NORMALIZATION : IMAGENET_NORMALIZATION);
  normalizationForChannels(normalization, channels);
  const count = checkSubset(spec.trainSubset, folder.train.count, folder.train.name);
  const trainSplit = subsetSplit(folder.train, count);
  const aug = augmentationFor(spec.augment ?? 'auto', undefined, input);
  const common = { input, channels, normalization, ...(spec.onWarning ? { onWarning: spec.onWarning } : {}) };
  const name = basename(resolve(dir));
  return {
    kind: 'image-folder',
    name,
    dir: folder.dir,
    origin: 'explicit',
    imageShape: [input[0], input[1], channels],
    classNames: folder.classNames,
    trainCount: count,
    trainTotal: folder.train.count,
    testCount: folder.val.count,
    normalization,
    augmentation: aug.text,
    describe: () =>
      [
        describeImageFolder(folder),
        `preprocessing: -> ${input[0]}x${input[1]}x${channels}${spec.channels ? '' : ' (channels detected)'}, ${normText(normalization)}${spec.normalization ? ' (given)' : ' (ImageNet\'s: pass --mean/--std for your model\'s)'}, ` +
          `evaluation resize ${Math.floor(Math.max(input[0], input[1]) / 0.875)} + centre crop (images already ${input[0]}x${input[1]} used as they are), training augmentation ${aug.text}` +
          (count < folder.train.count ? `; training on the first ${count} of its ${folder.train.count} training images (--train-subset)` : ''),
      ].join('\n'),
    openTrain: (o) =>
      new ImageFolderStream(
        trainSplit,
        { ...common, batchSize: o.batchSize, seed: o.seed, shuffle: true, dropLast: o.dropLast ?? true, augmentation: aug.train, workers: spec.workers ?? 1 },
        o.cursor,
      ),
    openTest: (batchSize = 256) => new ImageFolderStream(folder.val, { ...common, batchSize, shuffle: false, dropLast: false, augmentation: NO_AUGMENTATION, workers: spec.workers ?? 1 }),
  };
}

/**
 * Opens a run's data: a built-in dataset (read into memory) or an image folder (listed;
 * images are decoded as batches are drawn).
 *
 * @param spec - dataset name / folder, input size and channels (image folders), normalisation, augmentation
 * @throws LatpruneError `NOT_FOUND` / `BAD_FILE` naming the folder or file; `BAD_ARGUMENT` naming the flag
 */
export async function openData(spec: DataSpec): Promise<TrainingData> {
  const kind = await dataKind(spec);
  if (kind === IMAGE_FOLDER_DATASET) {
    if (spec.dir === undefined) throw new LatpruneError('BAD_ARGUMENT', '--dataset folder needs --data DIR, the image folder (DIR/train/<class>/*, DIR/val/<class>/*, or DIR/<class>/*).');
    return openFolder(spec, spec.dir);
  }
  assertDatasetName(kind);
  const loaded = await loadDataset(kind, spec.dir !== undefined ? { dir: spec.dir } : {});
  return openBuiltin(kind, spec, loaded);
}

/** The data options of a `train` or `prune` run, flat as they are saved in its `config.json`. */
export interface RunDataOptions {
  /** Built-in dataset or `folder`; default: what `dataDir` holds, else fashion-mnist. */
  readonly dataset?: string;
  /** Dataset directory or image folder (else LATPRUNE_DATA, Debian's, the shipped subset). */
  readonly dataDir?: string;
  /** Use only the first N training images. */
  readonly trainSubset?: number;
  /** Image folders: model input `[height, width]` (default: the model's, or its preprocessing file's). */
  readonly input?: readonly [number, number];
  /** Per-channel mean (with `std`), [0, 1] units; default: the model's preprocessing file, else the dataset's. */
  readonly mean?: readonly number[];
  /** Per-channel standard deviation (with `mean`). */
  readonly std?: readonly number[];
  /** A preprocessing JSON file; default: the model's sidecar. */
  readonly preprocess?: string;
  /** Training augmentation (default `auto`). */
  readonly augment?: AugmentName;
  /** Image folders without `val/`: validation fraction (default 0.1). */
  readonly valFraction?: number;
  /** Image folders: index order (default torchvision). */
  readonly dataOrder?: 'torchvision' | 'file-name';
  /** Image folders: decode worker threads (default 1). */
  readonly dataWorkers?: number;
}

/** The data spec of a run's options (see `openData`). */
export function runDataSpec(o: RunDataOptions): DataSpec {
  return {
    ...(o.dataset !== undefined ? { dataset: o.dataset } : {}),
    ...(o.dataDir !== undefined ? { dir: o.dataDir } : {}),
    ...(o.trainSubset !== undefined ? { trainSubset: o.trainSubset } : {}),
    ...(o.input !== undefined ? { input: o.input } : {}),
    ...(o.mean !== undefined && o.std !== undefined ? { normalization: { mean: [...o.mean], std: [...o.std] } } : {}),
    ...(o.augment !== undefined ? { augment: o.augment } : {}),
    ...(o.valFraction !== undefined ? { valFraction: o.valFraction } : {}),
    ...(o.dataOrder !== undefined ? { order: o.dataOrder } : {}),
    ...(o.dataWorkers !== undefined ? { workers: o.dataWorkers } : {}),
  };
}

/** The run options of a data spec and preprocessing file (the inverse of {@link runDataSpec}). */
export function runDataOptions(spec: DataSpec, preprocessFile?: string): RunDataOptions {
  return {
    ...(spec.dataset !== undefined ? { dataset: spec.dataset } : {}),
    ...(spec.dir !== undefined ? { dataDir: spec.dir } : {}),
    ...(spec.trainSubset !== undefined ? { trainSubset: spec.trainSubset } : {}),
    ...(spec.input !== undefined ? { input: spec.input } : {}),
    ...(spec.normalization ? { mean: spec.normalization.mean, std: spec.normalization.std } : {}),
    ...(preprocessFile !== undefined ? { preprocess: preprocessFile } : {}),
    ...(spec.augment !== undefined ? { augment: spec.augment } : {}),
    ...(spec.valFraction !== undefined ? { valFraction: spec.valFraction } : {}),
    ...(spec.order !== undefined ? { dataOrder: spec.order } : {}),
    ...(spec.workers !== undefined ? { dataWorkers: spec.workers } : {}),
  };
}
