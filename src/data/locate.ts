/**
 * Resolves where a dataset's files live: an explicit directory (the CLI's
 * `--data DIR`), else the `LATPRUNE_DATA` environment variable, else a system
 * location (Debian's `dataset-fashion-mnist` package installs
 * `/usr/share/datasets/fashion-mnist`), else — for Fashion-MNIST only — the
 * small subset shipped in the repository at `data/fashion-mnist-mini/`.
 *
 * An explicit directory or `LATPRUNE_DATA` may point either at the folder
 * holding the files or at a parent holding a conventionally named subfolder
 * (`fashion-mnist/`, `mnist/`, `cifar-10-batches-bin/`, ...).
 */

import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatpruneError } from '../errors.js';
import type { DatasetName } from './dataset.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES } from './cifar10.js';
import { findIdxFile, idxFileNames } from './idx-dataset.js';

/** Where a resolved dataset directory came from. */
export type DataOrigin = 'explicit' | 'env' | 'system' | 'embedded';

/** A resolved dataset location. */
export interface DataLocation {
  /** Absolute directory holding the dataset files. */
  readonly dir: string;
  /** Which rule found it. */
  readonly origin: DataOrigin;
}

/** Options of {@link resolveDataDir}. */
export interface ResolveOptions {
  /** Explicit directory (`--data DIR`); when given it must hold the dataset. */
  readonly dir?: string;
  /** Environment to read `LATPRUNE_DATA` from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** System directories to probe; defaults to {@link SYSTEM_DATA_DIRS} for the dataset. */
  readonly systemDirs?: readonly string[];
  /** Whether the embedded Fashion-MNIST subset may be used as last resort (default true). */
  readonly allowEmbedded?: boolean;
}

/** Name of the environment variable naming a data directory. */
export const DATA_ENV_VAR = 'LATPRUNE_DATA';

/** System directories probed per dataset. */
export const SYSTEM_DATA_DIRS: Readonly<Record<DatasetName, readonly string[]>> = Object.freeze({
  'fashion-mnist': ['/usr/share/datasets/fashion-mnist'],
  mnist: ['/usr/share/datasets/mnist'],
  cifar10: [],
});

/** Conventional subfolder names looked for under a parent data directory. */
export const DATASET_SUBDIRS: Readonly<Record<DatasetName, readonly string[]>> = Object.freeze({
  'fashion-mnist': ['fashion-mnist', 'fashion_mnist', 'FashionMNIST'],
  mnist: ['mnist', 'MNIST'],
  cifar10: ['cifar-10-batches-bin', 'cifar10', 'cifar-10'],
});

/** Repository-relative location of the embedded subset. */
export const EMBEDDED_SUBSET_RELPATH = join('data', 'fashion-mnist-mini');

/**
 * Lists the files `dir` lacks to hold `name` (empty when complete).
 *
 * @param dir - candidate directory
 * @param name - dataset
 */
export function missingDatasetFiles(dir: string, name: DatasetName): string[] {
  if (name === 'cifar10') {
    return [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].filter((f) => !existsSync(join(dir, f)));
  }
  const missing: string[] = [];
  for (const split of ['train', 'test'] as const) {
    for (const kind of ['images', 'labels'] as const) {
      if (findIdxFile(dir, split, kind) === undefined) missing.push(idxFileNames(split, kind)[0]);
    }
  }
  return missing;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Returns `dir` or one of its conventional subfolders if it holds the dataset. */
function probe(dir: string, name: DatasetName): string | undefined {
  if (missingDatasetFiles(dir, name).length === 0) return dir;
  for (const sub of DATASET_SUBDIRS[name]) {
    const p = join(dir, sub);
    if (isDir(p) && missingDatasetFiles(p, name).length === 0) return p;
  }
  return undefined;
}

function requireDir(dir: string, name: DatasetName, source: string): string {
  const abs = resolve(dir);
  if (!isDir(abs)) {
    throw new LatpruneError('NOT_FOUND', `${abs} (from ${source}): directory does not exist; expected a folder holding the ${name} files.`);
  }
  const found = probe(abs, name);
  if (found === undefined) {
    const missing = missingDatasetFiles(abs, name);
    throw new LatpruneError(
      'NOT_FOUND',
      `${join(abs, missing[0])} (from ${source}): file not found; ${abs} does not hold the ${name} dataset ` +
        `(missing ${missing.join(', ')}) nor a subfolder ${DATASET_SUBDIRS[name].join(' / ')} that does.`,
    );
  }
  return found;
}

/**
 * Absolute path of the embedded Fashion-MNIST subset, found by walking up from this module's own
 * location (works from `src/data/` under ts-node-like runners and from `dist/src/data/`).
 *
 * @returns the directory, or `undefined` when it is not present (e.g. an install without `data/`)
 */
export function embeddedSubsetDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, EMBEDDED_SUBSET_RELPATH);
    if (isDir(p) && missingDatasetFiles(p, 'fashion-mnist').length === 0) return p;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * Finds the directory of `name` following the documented order.
 *
 * @param name - dataset
 * @param opts - explicit directory, environment, probes
 * @throws LatpruneError `NOT_FOUND` when an explicit/env directory is missing or incomplete, or when no
 *   location holds the dataset (the message lists what was tried and how to fix it)
 */
export function resolveDataDir(name: DatasetName, opts: ResolveOptions = {}): DataLocation {
  if (opts.dir !== undefined) return { dir: requireDir(opts.dir, name, '--data'), origin: 'explicit' };
  const env = opts.env ?? process.env;
  const fromEnv = env[DATA_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { dir: requireDir(fromEnv, name, `$${DATA_ENV_VAR}`), origin: 'env' };
  }
  const systemDirs = opts.systemDirs ?? SYSTEM_DATA_DIRS[name];
  for (const d of systemDirs) {
    if (isDir(d)) {
      const found = probe(d, name);
      if (found !== undefined) return { dir: found, origin: 'system' };
    }
  }
  if (name === 'fashion-mnist' && opts.allowEmbedded !== false) {
    const emb = embeddedSubsetDir();
    if (emb !== undefined) return { dir: emb, origin: 'embedded' };
  }
  const tried = [...systemDirs, ...(name === 'fashion-mnist' && opts.allowEmbedded !== false ? [EMBEDDED_SUBSET_RELPATH] : [])];
  const hint =
    name === 'cifar10'
      ? 'extract cifar-10-binary.tar.gz and pass --data <dir>/cifar-10-batches-bin'
      : name === 'fashion-mnist'
        ? 'install the Debian package dataset-fashion-mnist or pass --data DIR'
        : 'pass --data DIR pointing at the four MNIST IDX files';
  throw new LatpruneError(
    'NOT_FOUND',
    `No ${name} data found (tried --data, $${DATA_ENV_VAR}${tried.length ? ', ' + tried.join(', ') : ''}); ${hint}, ` +
      `or set ${DATA_ENV_VAR}.`,
  );
}
