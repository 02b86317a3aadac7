/**
 * The in-memory image dataset type shared by the readers, the split and the
 * batch iterator.
 */

import { LatpruneError } from '../errors.js';

/** Names of the datasets latprune can load. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10';

/**
 * An image classification dataset held in memory as raw bytes.
 *
 * `images` is NHWC: pixel (n, y, x, c) is at `((n * height + y) * width + x) * channels + c`.
 */
export interface ImageDataset {
  /** Dataset name, e.g. `fashion-mnist`. */
  readonly name: string;
  /** Images, NHWC, one byte (0..255) per value. Length `count * height * width * channels`. */
  readonly images: Uint8Array;
  /** One class index per image. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Channels per pixel (1 for grey, 3 for RGB). */
  readonly channels: number;
  /** Class names indexed by label. */
  readonly classNames: readonly string[];
}

/** Class names of Fashion-MNIST, by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Class names of MNIST (the digits), by label. */
export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** Class names of CIFAR-10, by label (as in `batches.meta.txt`). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

/** Bytes per image of a dataset. */
export function imageSize(ds: Pick<ImageDataset, 'height' | 'width' | 'channels'>): number {
  return ds.height * ds.width * ds.channels;
}

/**
 * Checks the internal consistency of a dataset (lengths and label range).
 *
 * @param ds - dataset to check
 * @param origin - file or description used in the error message
 * @throws LatpruneError `BAD_FILE` when lengths disagree or a label is out of range
 */
export function validateDataset(ds: ImageDataset, origin: string): void {
  const size = imageSize(ds);
  if (ds.images.length !== ds.count * size || ds.labels.length !== ds.count) {
    throw new LatpruneError(
      'BAD_FILE',
      `${origin}: ${ds.count} images of ${ds.height}x${ds.width}x${ds.channels} need ${ds.count * size} image bytes and ` +
        `${ds.count} labels, got ${ds.images.length} bytes and ${ds.labels.length} labels.`,
    );
  }
  const k = ds.classNames.length;
  for (let i = 0; i < ds.labels.length; i++) {
    if (ds.labels[i] >= k) {
      throw new LatpruneError(
        'BAD_FILE',
        `${origin}: label ${ds.labels[i]} at index ${i} is outside 0..${k - 1} (${k} classes); the label file is not a ` +
          `${ds.name} label file or is corrupt.`,
      );
    }
  }
}

/**
 * Copies the images/labels at `indices` (in that order) into a new dataset.
 *
 * @param ds - source dataset
 * @param indices - image indices, each in `[0, ds.count)`
 */
export function subsetDataset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = imageSize(ds);
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) {
      throw new LatpruneError('BAD_ARGUMENT', `subsetDataset: index ${j} is outside 0..${ds.count - 1} of ${ds.name}.`);
    }
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  return { ...ds, images, labels, count: indices.length };
}

/**
 * Counts images per class.
 *
 * @param ds - dataset
 * @returns an array of length `classNames.length`
 */
export function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (let i = 0; i < ds.count; i++) counts[ds.labels[i]]++;
  return counts;
}
