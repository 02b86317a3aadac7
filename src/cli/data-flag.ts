/**
 * The `--data` flag: a dataset name (`fashion-mnist`, `mnist`, `cifar10`) or a
 * directory holding one (then `--dataset` names which, default fashion-mnist).
 */
import { DATASET_NAMES, assertDatasetName, type DatasetName } from '../data/index.js';

/** Parsed `--data`/`--dataset`. */
export interface DataChoice {
  readonly dataset: DatasetName;
  readonly dir?: string;
}

/** Interprets `--data` and `--dataset`. */
export function parseDataFlag(data: string | undefined, dataset: string | undefined): DataChoice {
  if (data && (DATASET_NAMES as readonly string[]).includes(data)) {
    return { dataset: data as DatasetName };
  }
  const name = dataset ?? 'fashion-mnist';
  assertDatasetName(name);
  return data ? { dataset: name, dir: data } : { dataset: name };
}
