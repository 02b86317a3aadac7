/**
 * Loads one split of an MNIST-family dataset (MNIST, Fashion-MNIST) from a
 * directory holding the four standard IDX files, gzipped or raw.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LatpruneError } from '../errors.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, validateDataset, type ImageDataset } from './dataset.js';
import { readIdxFile } from './idx.js';

/** Which half of a dataset. */
export type SplitName = 'train' | 'test';

/** Datasets stored as IDX files. */
export type IdxDatasetName = 'fashion-mnist' | 'mnist';

/**
 * Candidate file names of an IDX file, most common first.
 *
 * @param split - `train` or `test` (files prefixed `t10k`)
 * @param kind - `images` (idx3) or `labels` (idx1)
 */
export function idxFileNames(split: SplitName, kind: 'images' | 'labels'): string[] {
  const prefix = split === 'train' ? 'train' : 't10k';
  const base = kind === 'images' ? `${prefix}-images-idx3-ubyte` : `${prefix}-labels-idx1-ubyte`;
  const dotted = kind === 'images' ? `${prefix}-images.idx3-ubyte` : `${prefix}-labels.idx1-ubyte`;
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

/**
 * Finds the first existing candidate file in `dir`.
 *
 * @returns the path, or `undefined` when none exists
 */
export function findIdxFile(dir: string, split: SplitName, kind: 'images' | 'labels'): string | undefined {
  for (const name of idxFileNames(split, kind)) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Loads the train or test split of an IDX dataset from `dir`.
 *
 * @param dir - directory holding e.g. `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz`
 * @param split - `train` or `test`
 * @param name - dataset name (selects class names)
 * @throws LatpruneError `NOT_FOUND` when a file is missing, `BAD_FILE` when a file is malformed or the
 *   image and label counts disagree
 */
export async function loadIdxSplit(dir: string, split: SplitName, name: IdxDatasetName): Promise<ImageDataset> {
  const files = { images: findIdxFile(dir, split, 'images'), labels: findIdxFile(dir, split, 'labels') };
  for (const kind of ['images', 'labels'] as const) {
    if (files[kind] === undefined) {
      throw new LatpruneError(
        'NOT_FOUND',
        `${join(dir, idxFileNames(split, kind)[0])}: file not found; expected the ${name} ${split} ${kind} ` +
          `(one of ${idxFileNames(split, kind).join(', ')}) in ${dir}.`,
      );
    }
  }
  const imagesPath = files.images as string;
  const labelsPath = files.labels as string;
  const [img, lab] = await Promise.all([
    readIdxFile(imagesPath, 3, `${name} ${split} images`),
    readIdxFile(labelsPath, 1, `${name} ${split} labels`),
  ]);
  const [count, height, width] = img.dims;
  if (lab.dims[0] !== count) {
    throw new LatpruneError(
      'BAD_FILE',
      `${labelsPath}: holds ${lab.dims[0]} labels but ${imagesPath} holds ${count} images; expected the same count. ` +
        'The two files come from different datasets or splits.',
    );
  }
  const ds: ImageDataset = {
    name,
    images: img.data,
    labels: lab.data,
    count,
    height,
    width,
    channels: 1,
    classNames: name === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES,
  };
  validateDataset(ds, labelsPath);
  return ds;
}
