/**
 * Dataset loader: resolves the location (see {@link resolveDataDir}) and reads
 * the train and test splits.
 */

import { LatpruneError } from '../errors.js';
import type { DatasetName, ImageDataset } from './dataset.js';
import { loadCifar10Split } from './cifar10.js';
import { loadIdxSplit } from './idx-dataset.js';
import { DATA_ENV_VAR, SYSTEM_DATA_DIRS, resolveDataDir, type DataOrigin, type ResolveOptions } from './locate.js';

/** All dataset names {@link loadDataset} accepts. */
export const DATASET_NAMES: readonly DatasetName[] = Object.freeze(['fashion-mnist', 'mnist', 'cifar10']);

/** A loaded dataset with both splits and where it came from. */
export interface LoadedDataset {
  /** Dataset name. */
  readonly name: DatasetName;
  /** Directory the files were read from. */
  readonly dir: string;
  /** Which resolution rule found `dir`; `embedded` means the 4,000/1,000-image repository subset. */
  readonly origin: DataOrigin;
  /** Training split. */
  readonly train: ImageDataset;
  /** Test split. */
  readonly test: ImageDataset;
}

/**
 * Checks that `name` is a known dataset.
 *
 * @throws LatpruneError `BAD_ARGUMENT` listing valid names otherwise
 */
export function assertDatasetName(name: string): asserts name is DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new LatpruneError('BAD_ARGUMENT', `Unknown dataset "${name}"; valid names: ${DATASET_NAMES.join(', ')}.`);
  }
}

/**
 * Loads a dataset's train and test splits.
 *
 * @param name - `fashion-mnist`, `mnist` or `cifar10`
 * @param opts - location options (explicit dir, environment)
 * @throws LatpruneError `NOT_FOUND` / `BAD_FILE` naming the offending file or directory
 */
export async function loadDataset(name: string, opts: ResolveOptions = {}): Promise<LoadedDataset> {
  assertDatasetName(name);
  const { dir, origin } = resolveDataDir(name, opts);
  const [train, test] =
    name === 'cifar10'
      ? await Promise.all([loadCifar10Split(dir, 'train'), loadCifar10Split(dir, 'test')])
      : await Promise.all([loadIdxSplit(dir, 'train', name), loadIdxSplit(dir, 'test', name)]);
  return { name, dir, origin, train, test };
}

/**
 * One line saying which data a run uses: name, directory, how it was found and
 * the split sizes. When the 4,000/1,000-image subset shipped with latprune was
 * picked (no `--data`, no `LATPRUNE_DATA`, no system copy), the line says so and
 * how to get the full dataset: accuracies on the subset are not comparable with
 * full-dataset results, and a run that silently used it would look like one
 * that did not.
 */
export function describeDataset(data: LoadedDataset): string {
  const line = `data: ${data.name} from ${data.dir} (${data.origin}): ${data.train.count} train, ${data.test.count} test images`;
  if (data.origin !== 'embedded') return line;
  return `${line}\nwarning: this is the small subset shipped with latprune (no --data, no ${DATA_ENV_VAR}, no system copy found); for full Fashion-MNIST install Debian's dataset-fashion-mnist (${SYSTEM_DATA_DIRS['fashion-mnist'].join(', ')}) or pass --data DIR.`;
}
