/**
 * Seeded, deterministic train/validation split.
 */

import { LatpruneError } from '../errors.js';
import { subsetDataset, type ImageDataset } from './dataset.js';
import { Rng } from './rng.js';

/** Options of {@link trainValSplit}. */
export interface SplitOptions {
  /** Fraction of images moved to validation, in (0, 1). */
  readonly valFraction: number;
  /** Seed of the split; the same seed gives the same split. */
  readonly seed: number;
  /**
   * When true (default) each class contributes `round(valFraction * classCount)` images to validation,
   * so both parts keep the class balance; otherwise `round(valFraction * count)` images are drawn overall.
   */
  readonly stratified?: boolean;
}

/** The two parts of a split. Both keep the source's file order. */
export interface TrainValSplit {
  /** Images kept for training. */
  readonly train: ImageDataset;
  /** Images held out for validation. */
  readonly val: ImageDataset;
  /** Source indices of the validation images, ascending. */
  readonly valIndices: Uint32Array;
}

/**
 * Splits `ds` into train and validation parts, deterministically from `seed`.
 *
 * @param ds - dataset to split (usually the training split)
 * @param opts - fraction, seed, stratification
 * @throws LatpruneError `BAD_ARGUMENT` when `valFraction` is not in (0, 1)
 */
export function trainValSplit(ds: ImageDataset, opts: SplitOptions): TrainValSplit {
  const { valFraction, seed } = opts;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new LatpruneError('BAD_ARGUMENT', `valFraction must be in (0, 1), got ${valFraction}; e.g. --val-fraction 0.1.`);
  }
  const rng = Rng.fromSeed(seed);
  const isVal = new Uint8Array(ds.count);
  if (opts.stratified === false) {
    const perm = rng.permutation(ds.count);
    const k = Math.round(valFraction * ds.count);
    for (let i = 0; i < k; i++) isVal[perm[i]] = 1;
  } else {
    const byClass: number[][] = ds.classNames.map(() => []);
    for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]].push(i);
    for (const members of byClass) {
      rng.shuffle(members);
      const k = Math.round(valFraction * members.length);
      for (let i = 0; i < k; i++) isVal[members[i]] = 1;
    }
  }
  const val: number[] = [];
  const train: number[] = [];
  for (let i = 0; i < ds.count; i++) (isVal[i] ? val : train).push(i);
  return { train: subsetDataset(ds, train), val: subsetDataset(ds, val), valIndices: Uint32Array.from(val) };
}
