/**
 * Normalisation and augmentation settings, with per-dataset defaults.
 */

import { LatpruneError } from '../errors.js';
import type { ImageDataset } from './dataset.js';

/**
 * Per-channel normalisation applied after scaling bytes to [0, 1]: `x = (v / 255 - mean[c]) / std[c]`.
 */
export interface Normalization {
  /** Mean per channel, in [0, 1] units. */
  readonly mean: readonly number[];
  /** Standard deviation per channel, in [0, 1] units; all > 0. */
  readonly std: readonly number[];
}

/** Training-time augmentation. */
export interface Augmentation {
  /**
   * Random crop after zero-padding (raw pixel value 0, before normalisation) by this many pixels on
   * each side; 0 disables it. CIFAR uses 4.
   */
  readonly cropPadding: number;
  /** Random horizontal flip with probability 1/2. */
  readonly horizontalFlip: boolean;
}

/** No augmentation. */
export const NO_AUGMENTATION: Augmentation = Object.freeze({ cropPadding: 0, horizontalFlip: false });

/** The standard CIFAR augmentation: pad 4 + random 32x32 crop, random horizontal flip. */
export const CIFAR_AUGMENTATION: Augmentation = Object.freeze({ cropPadding: 4, horizontalFlip: true });

/** Identity-like normalisation (scales bytes to [0, 1] only). */
export const UNIT_NORMALIZATION: Normalization = Object.freeze({ mean: [0], std: [1] });

const DEFAULT_NORMALIZATION: Readonly<Record<string, Normalization>> = Object.freeze({
  // Mean/std of the 60,000 Fashion-MNIST training images.
  'fashion-mnist': Object.freeze({ mean: [0.286], std: [0.353] }),
  // Mean/std of the 60,000 MNIST training images.
  mnist: Object.freeze({ mean: [0.1307], std: [0.3081] }),
  // Per-channel mean/std of the 50,000 CIFAR-10 training images.
  cifar10: Object.freeze({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] }),
});

/**
 * Default normalisation of a dataset (training-set statistics); unknown names get {@link UNIT_NORMALIZATION}.
 *
 * @param name - dataset name
 */
export function defaultNormalization(name: string): Normalization {
  return DEFAULT_NORMALIZATION[name] ?? UNIT_NORMALIZATION;
}

/**
 * Default training augmentation: {@link CIFAR_AUGMENTATION} for `cifar10`, none otherwise.
 *
 * @param name - dataset name
 */
export function defaultAugmentation(name: string): Augmentation {
  return name === 'cifar10' ? CIFAR_AUGMENTATION : NO_AUGMENTATION;
}

/**
 * Computes per-channel mean and standard deviation (population) of a dataset, in [0, 1] units.
 *
 * @param ds - dataset
 */
export function computeNormalization(ds: ImageDataset): Normalization {
  const c = ds.channels;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const img = ds.images;
  for (let i = 0; i < img.length; i++) {
    const v = img[i] / 255;
    sum[i % c] += v;
    sq[i % c] += v * v;
  }
  const n = img.length / c;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / n - mean[k] * mean[k], 0)));
  return { mean, std };
}

/**
 * Expands a normalisation to `channels` entries (a single value broadcasts) and validates it.
 *
 * @throws LatpruneError `BAD_ARGUMENT` on a length mismatch or a non-positive std
 */
export function normalizationForChannels(norm: Normalization, channels: number): { mean: number[]; std: number[] } {
  const expand = (v: readonly number[], what: string): number[] => {
    if (v.length === channels) return [...v];
    if (v.length === 1) return new Array<number>(channels).fill(v[0]);
    throw new LatpruneError('BAD_ARGUMENT', `normalization ${what} has ${v.length} values, expected 1 or ${channels} (one per channel).`);
  };
  const mean = expand(norm.mean, 'mean');
  const std = expand(norm.std, 'std');
  if (std.some((s) => !(s > 0)) || mean.some((m) => !Number.isFinite(m))) {
    throw new LatpruneError('BAD_ARGUMENT', `normalization must have finite means and positive stds, got mean [${mean}] std [${std}].`);
  }
  return { mean, std };
}
