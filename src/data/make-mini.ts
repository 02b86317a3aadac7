/**
 * Regenerates the embedded Fashion-MNIST subset (`data/fashion-mnist-mini/`)
 * from a full copy of the dataset, reproducibly: the first `trainPerClass`
 * training images of each class and the first `testPerClass` test images of
 * each class, in file order, written as gzipped IDX files with a README.
 */

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LatpruneError } from '../errors.js';
import { subsetDataset, type ImageDataset } from './dataset.js';
import { encodeIdx } from './idx.js';
import { findIdxFile, idxFileNames, loadIdxSplit, type SplitName } from './idx-dataset.js';

/** Options of {@link makeFashionMnistMini}. */
export interface MakeMiniOptions {
  /** Directory of the full dataset (default `/usr/share/datasets/fashion-mnist`). */
  readonly sourceDir?: string;
  /** Output directory (created if needed), normally `<repo>/data/fashion-mnist-mini`. */
  readonly outDir: string;
  /** Training images taken per class (default 400, i.e. 4,000 images). */
  readonly trainPerClass?: number;
  /** Test images taken per class (default 100, i.e. 1,000 images). */
  readonly testPerClass?: number;
}

/** Summary of one written split. */
export interface MiniSplitSummary {
  /** Number of images written. */
  readonly count: number;
  /** Largest source index taken (the selection is "first N per class", so this bounds it). */
  readonly lastSourceIndex: number;
  /** SHA-256 of the uncompressed IDX images / labels written (independent of the gzip implementation). */
  readonly imagesSha256: string;
  readonly labelsSha256: string;
}

/** Summary returned by {@link makeFashionMnistMini}. */
export interface MakeMiniSummary {
  readonly outDir: string;
  readonly train: MiniSplitSummary;
  readonly test: MiniSplitSummary;
  /** SHA-256 of each source file, by file name. */
  readonly sourceSha256: Readonly<Record<string, string>>;
}

/**
 * Source indices of the first `perClass` images of each class, ascending (file order).
 *
 * @param ds - source split
 * @param perClass - images per class
 * @throws LatpruneError `BAD_ARGUMENT` when a class has fewer images
 */
export function firstPerClass(ds: ImageDataset, perClass: number): Uint32Array {
  const taken = new Array<number>(ds.classNames.length).fill(0);
  const out: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    const l = ds.labels[i];
    if (taken[l] < perClass) {
      taken[l]++;
      out.push(i);
    }
  }
  const short = taken.findIndex((t) => t < perClass);
  if (short >= 0) {
    throw new LatpruneError('BAD_ARGUMENT', `${ds.name}: class ${short} has only ${taken[short]} images, fewer than the ${perClass} requested per class.`);
  }
  return Uint32Array.from(out);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Writes the subset and its README to `opts.outDir`.
 *
 * @param opts - source, destination and sizes
 * @returns what was written, with checksums
 */
export async function makeFashionMnistMini(opts: MakeMiniOptions): Promise<MakeMiniSummary> {
  const sourceDir = opts.sourceDir ?? '/usr/share/datasets/fashion-mnist';
  const per: Record<SplitName, number> = { train: opts.trainPerClass ?? 400, test: opts.testPerClass ?? 100 };
  await mkdir(opts.outDir, { recursive: true });
  const sourceSha256: Record<string, string> = {};
  const summaries = {} as Record<SplitName, MiniSplitSummary>;
  for (const split of ['train', 'test'] as const) {
    const full = await loadIdxSplit(sourceDir, split, 'fashion-mnist');
    for (const kind of ['images', 'labels'] as const) {
      const p = findIdxFile(sourceDir, split, kind) as string;
      sourceSha256[p.slice(p.lastIndexOf('/') + 1)] = sha256(await readFile(p));
    }
    const idx = firstPerClass(full, per[split]);
    const sub = subsetDataset(full, idx);
    const images = encodeIdx([sub.count, sub.height, sub.width], sub.images);
    const labels = encodeIdx([sub.count], sub.labels);
    await writeFile(join(opts.outDir, idxFileNames(split, 'images')[0]), gzipSync(images, { level: 9 }));
    await writeFile(join(opts.outDir, idxFileNames(split, 'labels')[0]), gzipSync(labels, { level: 9 }));
    summaries[split] = {
      count: sub.count,
      lastSourceIndex: idx[idx.length - 1],
      imagesSha256: sha256(images),
      labelsSha256: sha256(labels),
    };
  }
  const summary: MakeMiniSummary = { outDir: opts.outDir, train: summaries.train, test: summaries.test, sourceSha256 };
  await writeFile(join(opts.outDir, 'README.md'), miniReadme(summary, per));
  return summary;
}

function miniReadme(s: MakeMiniSummary, per: Record<SplitName, number>): string {
  const src = Object.entries(s.sourceSha256)
    .map(([f, h]) => `| \`${f}\` | \`${h}\` |`)
    .join('\n');
  return `# Fashion-MNIST mini subset

A small, class-balanced subset of Fashion-MNIST shipped with latprune so that
training, pruning and the tests work without downloading anything. It is the
last-resort location of the \`fashion-mnist\` dataset (after \`--data DIR\`,
\`$LATPRUNE_DATA\` and \`/usr/share/datasets/fashion-mnist\`).

| split | images | selection | drawn from source indices |
|---|---|---|---|
| train | ${s.train.count} | first ${per.train} images of each class, in file order | within 0..${s.train.lastSourceIndex} of the training file |
| test | ${s.test.count} | first ${per.test} images of each class, in file order | within 0..${s.test.lastSourceIndex} of the test file |

Images keep their order in the source files (classes interleaved as in the
original). Files are the standard IDX format (28x28 unsigned bytes), gzipped.

SHA-256 of the uncompressed IDX contents:

| file | sha256 |
|---|---|
| train-images-idx3-ubyte | \`${s.train.imagesSha256}\` |
| train-labels-idx1-ubyte | \`${s.train.labelsSha256}\` |
| t10k-images-idx3-ubyte | \`${s.test.imagesSha256}\` |
| t10k-labels-idx1-ubyte | \`${s.test.labelsSha256}\` |

## Provenance and licence

Fashion-MNIST by Zalando Research (Han Xiao, Kashif Rasul, Roland Vollgraf,
"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
Algorithms", 2017), Copyright 2017 Zalando SE, released under the MIT (Expat)
licence. The shipped copy was made from the Debian package \`dataset-fashion-mnist\`
(version 0.0~git20200523.55506a9-1, files in \`/usr/share/datasets/fashion-mnist\`):

| source file | sha256 |
|---|---|
${src}

## Regenerating

\`\`\`js
import { makeFashionMnistMini } from './dist/src/data/index.js';
await makeFashionMnistMini({ sourceDir: '/usr/share/datasets/fashion-mnist', outDir: 'data/fashion-mnist-mini' });
\`\`\`

The selection is deterministic, so the uncompressed contents (checksums above)
are reproduced exactly; the gzip bytes may differ between zlib versions.
`;
}
