/**
 * CIFAR-10 binary version reader (`cifar-10-batches-bin/`): each record is one
 * label byte followed by 3072 image bytes, channel-major (1024 R, 1024 G,
 * 1024 B, each 32x32 row-major). Records are converted to NHWC.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LatpruneError } from '../errors.js';
import { CIFAR10_CLASSES, type ImageDataset } from './dataset.js';
import { readMaybeGzip } from './read-file.js';
import type { SplitName } from './idx-dataset.js';

/** Bytes per CIFAR-10 record (1 label + 3 x 32 x 32 pixels). */
export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;

/** The training batch file names, in order. */
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));

/** The test batch file name. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';

/**
 * Decodes the records of one CIFAR-10 binary batch.
 *
 * @param bytes - file contents (gunzipped)
 * @param file - file name for error messages
 * @returns images (NHWC, 32x32x3) and labels
 * @throws LatpruneError `BAD_FILE` when the size is not a multiple of 3073 bytes or a label is > 9
 */
export function parseCifar10Batch(bytes: Uint8Array, file: string): { images: Uint8Array; labels: Uint8Array } {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: ${bytes.length} bytes is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 record ` +
        '(1 label byte + 3072 pixel bytes); the file is truncated or not a CIFAR-10 binary batch. Download it again.',
    );
  }
  const n = bytes.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const off = r * CIFAR10_RECORD_BYTES;
    const label = bytes[off];
    if (label > 9) {
      throw new LatpruneError(
        'BAD_FILE',
        `${file}: record ${r} has label ${label}, expected 0..9; this is not a CIFAR-10 binary batch ` +
          '(CIFAR-100 binaries have 2 label bytes per record).',
      );
    }
    labels[r] = label;
    const src = off + 1;
    const dst = r * 3072;
    for (let p = 0; p < 1024; p++) {
      images[dst + 3 * p] = bytes[src + p];
      images[dst + 3 * p + 1] = bytes[src + 1024 + p];
      images[dst + 3 * p + 2] = bytes[src + 2048 + p];
    }
  }
  return { images, labels };
}

/**
 * Reads class names from `batches.meta.txt` when present, else returns the standard list.
 *
 * @param dir - the `cifar-10-batches-bin` directory
 */
export function readCifar10ClassNames(dir: string): readonly string[] {
  const p = join(dir, 'batches.meta.txt');
  if (!existsSync(p)) return CIFAR10_CLASSES;
  const names = readFileSync(p, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length === 10 ? Object.freeze(names) : CIFAR10_CLASSES;
}

/**
 * Loads the CIFAR-10 training set (the five `data_batch_*.bin`, concatenated in order) or the test set
 * (`test_batch.bin`). Files may also be gzipped (detected from the magic bytes).
 *
 * @param dir - directory holding the binary batches
 * @param split - `train` or `test`
 * @throws LatpruneError `NOT_FOUND` naming the first missing batch file, `BAD_FILE` for malformed ones
 */
export async function loadCifar10Split(dir: string, split: SplitName): Promise<ImageDataset> {
  const files = split === 'train' ? CIFAR10_TRAIN_FILES : [CIFAR10_TEST_FILE];
  for (const f of files) {
    if (!existsSync(join(dir, f))) {
      throw new LatpruneError(
        'NOT_FOUND',
        `${join(dir, f)}: file not found; expected the CIFAR-10 binary version (${files.join(', ')}) in ${dir} ` +
          '(the cifar-10-batches-bin folder of cifar-10-binary.tar.gz).',
      );
    }
  }
  const parts = await Promise.all(
    files.map(async (f) => {
      const path = join(dir, f);
      return parseCifar10Batch(await readMaybeGzip(path, 'a CIFAR-10 binary batch'), path);
    }),
  );
  const count = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  return { name: 'cifar10', images, labels, count, height: 32, width: 32, channels: 3, classNames: readCifar10ClassNames(dir) };
}
