/**
 * Lists an image-folder dataset: `DIR/train/<class>/...` with `DIR/val/<class>/...`
 * (or `DIR/test/`), or one `DIR/<class>/...` folder split by a seeded fraction.
 *
 * Class order and file order follow torchvision's `ImageFolder` (class folders
 * sorted by name give labels 0, 1, ...; files are found by a sorted recursive walk
 * of each class folder), so labels and indices agree with a PyTorch pipeline over
 * the same folder. Departures, each reported in {@link ImageFolder.notes}:
 * - hidden entries (names starting with `.`, e.g. `.ipynb_checkpoints`) are skipped;
 *   torchvision would make a hidden folder a class and shift every label;
 * - BMP/PPM/PGM files, which torchvision lists but sharp cannot decode, are skipped;
 * - a validation folder takes the training folder's classes (a class missing from it
 *   keeps its label); torchvision would renumber the remaining classes.
 */

import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { LatpruneError } from '../../errors.js';
import { Rng } from '../rng.js';
import { compareCodePoints } from './transforms.js';

/** File extensions decoded (lower case): JPEG, PNG, WebP, TIFF. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff']);

/** Extensions torchvision's `ImageFolder` lists that sharp cannot decode; skipped and counted. */
export const UNSUPPORTED_IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.bmp', '.ppm', '.pgm']);

/** Most class folders a dataset may have: {@link Batch} labels are bytes. */
export const MAX_CLASSES = 256;

/** One split of an image folder: file paths and their labels, in index order. */
export interface ImageFolderSplit {
  /** What the split is, for messages: e.g. `/data/pets/train` or `/data/pets (90% of it, seed 0)`. */
  readonly name: string;
  /** Folder the class folders were read from. */
  readonly root: string;
  /** Absolute paths of the images, in index order. */
  readonly files: readonly string[];
  /** Label of each file. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** Class names indexed by label (shared by both splits). */
  readonly classNames: readonly string[];
}

/** Files a scan left out, by reason. */
export interface SkippedFiles {
  /** Files whose extension is not an image's (e.g. `.txt`, `.csv`). */
  readonly nonImage: number;
  /** BMP/PPM/PGM images (see {@link UNSUPPORTED_IMAGE_EXTENSIONS}). */
  readonly unsupported: number;
  /** Hidden files and folders (names starting with `.`). */
  readonly hidden: number;
  /** Count of skipped non-image and unsupported files per extension (`''` for none). */
  readonly byExtension: Readonly<Record<string, number>>;
}

/** How the two splits were found. */
export type ImageFolderLayout = 'train-val' | 'train-test' | 'train-split' | 'split';

/** A listed image-folder dataset. */
export interface ImageFolder {
  /** The folder given. */
  readonly dir: string;
  /** `train-val`/`train-test`: `DIR/train` + `DIR/val|test`; `train-split`: `DIR/train` split by `valFraction`; `split`: `DIR` split by `valFraction`. */
  readonly layout: ImageFolderLayout;
  /** Class names indexed by label: the sorted class folder names. */
  readonly classNames: readonly string[];
  /** Training images. */
  readonly train: ImageFolderSplit;
  /** Validation images. */
  readonly val: ImageFolderSplit;
  /** Files skipped in both splits. */
  readonly skipped: SkippedFiles;
  /** Warnings and departures from torchvision worth showing the user (empty classes, skipped files, ...). */
  readonly notes: readonly string[];
}

/** Options of {@link scanImageFolder}. */
export interface ScanImageFolderOptions {
  /**
   * Fraction of the images held out for validation when there is no `val/` or `test/`
   * folder, in (0, 1); default 0.1. Ignored (with a note) when there is one.
   */
  readonly valFraction?: number;
  /** Seed of the validation split (default 0); per class, like {@link trainValSplit}. */
  readonly seed?: number;
  /**
   * Index order: `torchvision` (default) is `ImageFolder`'s, class by class; `file-name`
   * sorts all files of a split by file name (then class), so a folder exported with
   * zero-padded index names (`00042.png`) keeps the exporter's order.
   */
  readonly order?: 'torchvision' | 'file-name';
  /**
   * An empty training class folder is an error by default (as in torchvision: the class
   * would get a label no image has). With true it is a warning and keeps its label.
   */
  readonly allowEmptyClasses?: boolean;
}

interface ClassListing {
  readonly files: string[];
  readonly labels: number[];
  readonly perClass: number[];
}

interface SkipCounter {
  nonImage: number;
  unsupported: number;
  hidden: number;
  byExtension: Record<string, number>;
  hiddenNames: Set<string>;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Sorted names of the non-hidden sub-folders of `dir` (symbolic links followed). */
async function classFolders(dir: string, skip: SkipCounter): Promise<string[]> {
  const names: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!(e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name)))))) continue;
    if (e.name.startsWith('.')) {
      skip.hidden++;
      skip.hiddenNames.add(join(dir, e.name));
      continue;
    }
    names.push(e.name);
  }
  return names.sort(compareCodePoints);
}

/** Images under `dir`, found like `sorted(os.walk(dir, followlinks=True))` + `sorted(fnames)`. */
async function walkImages(dir: string, skip: SkipCounter): Promise<string[]> {
  const roots: string[] = [];
  const filesOf = new Map<string, string[]>();
  const visit = async (d: string, seen: Set<string>): Promise<void> => {
    roots.push(d);
    const files: string[] = [];
    filesOf.set(d, files);
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name.startsWith('.')) {
        skip.hidden++;
        continue;
      }
      let directory = e.isDirectory();
      let file = e.isFile();
      if (e.isSymbolicLink()) {
        const s = await stat(p).catch(() => undefined);
        directory = s?.isDirectory() ?? false;
        file = s?.isFile() ?? false;
      }
      if (directory) {
        const real = resolve(p);
        if (seen.has(real)) continue;
        await visit(p, new Set([...seen, real]));
      } else if (file) {
        const ext = extname(e.name).toLowerCase();
        if (IMAGE_EXTENSIONS.includes(ext)) files.push(e.name);
        else {
          if (UNSUPPORTED_IMAGE_EXTENSIONS.includes(ext)) skip.unsupported++;
          else skip.nonImage++;
          skip.byExtension[ext] = (skip.byExtension[ext] ?? 0) + 1;
        }
      }
    }
  };
  await visit(dir, new Set([resolve(dir)]));
  roots.sort(compareCodePoints);
  const out: string[] = [];
  for (const r of roots) for (const f of (filesOf.get(r) as string[]).sort(compareCodePoints)) out.push(join(r, f));
  return out;
}

async function listClasses(root: string, classNames: readonly string[], present: readonly string[], skip: SkipCounter): Promise<ClassListing> {
  const files: string[] = [];
  const labels: number[] = [];
  const perClass = new Array<number>(classNames.length).fill(0);
  for (const name of present) {
    const label = classNames.indexOf(name);
    const found = await walkImages(join(root, name), skip);
    for (const f of found) {
      files.push(f);
      labels.push(label);
    }
    perClass[label] = found.length;
  }
  return { files, labels, perClass };
}

function reorder(listing: ClassListing, order: 'torchvision' | 'file-name'): ClassListing {
  if (order === 'torchvision') return listing;
  const idx = listing.files.map((_, i) => i);
  idx.sort((a, b) => compareCodePoints(basename(listing.files[a]), basename(listing.files[b])) || a - b);
  return { files: idx.map((i) => listing.files[i]), labels: idx.map((i) => listing.labels[i]), perClass: listing.perClass };
}

function makeSplit(name: string, root: string, files: string[], labels: number[], classNames: readonly string[]): ImageFolderSplit {
  return { name, root, files, labels: Uint8Array.from(labels), count: files.length, classNames };
}

/**
 * Lists an image-folder dataset. Reads directories only; images are decoded later by
 * an {@link ImageFolderStream}.
 *
 * @param dir - `DIR` holding `train/` and `val/` (or `test/`), or the class folders themselves
 * @param opts - validation fraction and seed (when there is no `val/`), index order, empty classes
 * @throws LatpruneError `NOT_FOUND` for a missing folder or no class folders; `BAD_ARGUMENT` for one
 *   class only, more than {@link MAX_CLASSES} classes or a bad option; `BAD_FILE` for an empty class
 *   folder (unless `allowEmptyClasses`), a validation class the training split lacks, or no images
 */
export async function scanImageFolder(dir: string, opts: ScanImageFolderOptions = {}): Promise<ImageFolder> {
  const root = resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (st === undefined) {
    throw new LatpruneError('NOT_FOUND', `${root}: image folder not found; expected ${root}/train/<class>/<images> and ${root}/val/<class>/<images>, or ${root}/<class>/<images>.`);
  }
  if (!st.isDirectory()) {
    throw new LatpruneError('BAD_ARGUMENT', `${root} is a file, not a folder; an image-folder dataset is a directory of class folders (or of train/ and val/).`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new LatpruneError('BAD_ARGUMENT', `seed must be an integer, got ${seed}.`);
  const order = opts.order ?? 'torchvision';
  if (order !== 'torchvision' && order !== 'file-name') throw new LatpruneError('BAD_ARGUMENT', `order must be "torchvision" or "file-name", got "${String(order)}".`);
  const notes: string[] = [];
  const skip: SkipCounter = { nonImage: 0, unsupported: 0, hidden: 0, byExtension: {}, hiddenNames: new Set() };

  const hasTrain = await isDir(join(root, 'train'));
  const valDir = (await isDir(join(root, 'val'))) ? 'val' : (await isDir(join(root, 'test'))) ? 'test' : undefined;
  const layout: ImageFolderLayout = hasTrain ? (valDir === 'val' ? 'train-val' : valDir === 'test' ? 'train-test' : 'train-split') : 'split';
  if (hasTrain && valDir === 'val' && (await isDir(join(root, 'test')))) notes.push(`${join(root, 'test')} is not used: validation reads ${join(root, 'val')}.`);
  const trainRoot = hasTrain ? join(root, 'train') : root;

  const classNames = await classFolders(trainRoot, skip);
  if (classNames.length === 0) {
    const loose = (await walkImages(trainRoot, { ...skip, byExtension: {}, hiddenNames: new Set() })).length;
    throw new LatpruneError(
      'NOT_FOUND',
      `${trainRoot}: no class folders; expected one sub-folder per class (${trainRoot}/<class>/<images>)` +
        (loose > 0 ? `, but found ${loose} image(s) directly in it: move them into per-class folders.` : '.'),
    );
  }
  if (classNames.length === 1) {
    throw new LatpruneError('BAD_ARGUMENT', `${trainRoot}: only one class folder (${classNames[0]}); a classifier needs at least two classes.`);
  }
  if (classNames.length > MAX_CLASSES) {
    throw new LatpruneError('BAD_ARGUMENT', `${trainRoot}: ${classNames.length} class folders; latprune's batches hold labels as bytes, so at most ${MAX_CLASSES} classes.`);
  }

  const trainList = reorder(await listClasses(trainRoot, classNames, classNames, skip), order);
  const empty = classNames.filter((_, k) => trainList.perClass[k] === 0);
  if (empty.length === classNames.length) {
    throw new LatpruneError('BAD_FILE', `${trainRoot}: the class folders hold no images (${IMAGE_EXTENSIONS.join(' ')}).`);
  }
  if (empty.length > 0) {
    const where = empty.map((c) => join(trainRoot, c)).join(', ');
    if (!opts.allowEmptyClasses) {
      throw new LatpruneError(
        'BAD_FILE',
        `empty class folder(s) ${where}: no ${IMAGE_EXTENSIONS.join(' ')} files, so their label(s) would have no training image (torchvision's ImageFolder refuses this too); ` +
          'add images, remove the folder(s), or allow empty classes.',
      );
    }
    notes.push(`empty class folder(s) ${where} keep their label(s) but have no training images.`);
  }

  let train: ImageFolderSplit;
  let val: ImageFolderSplit;
  if (valDir !== undefined) {
    if (opts.valFraction !== undefined) notes.push(`valFraction ${opts.valFraction} is not used: ${join(root, valDir)} is the validation split.`);
    const valRoot = join(root, valDir);
    const valClasses = await classFolders(valRoot, skip);
    const unknown = valClasses.filter((c) => !classNames.includes(c));
    if (unknown.length > 0) {
      throw new LatpruneError(
        'BAD_FILE',
        `${valRoot}: class folder(s) ${unknown.join(', ')} are not in ${trainRoot} (classes: ${classNames.join(', ')}); the two splits must use the same class names.`,
      );
    }
    const valList = reorder(await listClasses(valRoot, classNames, valClasses, skip), order);
    if (valList.files.length === 0) throw new LatpruneError('BAD_FILE', `${valRoot}: no images in its class folders (${IMAGE_EXTENSIONS.join(' ')}).`);
    const missing = classNames.filter((c, k) => valList.perClass[k] === 0 && trainList.perClass[k] > 0);
    if (missing.length > 0) notes.push(`${valRoot} has no images of class(es) ${missing.join(', ')}; they keep their labels (torchvision would renumber the classes after them).`);
    train = makeSplit(trainRoot, trainRoot, trainList.files, trainList.labels, classNames);
    val = makeSplit(valRoot, valRoot, valList.files, valList.labels, classNames);
  } else {
    const f = opts.valFraction ?? 0.1;
    if (!(f > 0 && f < 1)) throw new LatpruneError('BAD_ARGUMENT', `valFraction must be in (0, 1), got ${f}; e.g. 0.1.`);
    // the protocol of trainValSplit: per class in label order, shuffle the members, the first round(f * n) go to validation
    const rng = Rng.fromSeed(seed);
    const isVal = new Uint8Array(trainList.files.length);
    const byClass: number[][] = classNames.map(() => []);
    trainList.labels.forEach((l, i) => byClass[l].push(i));
    for (const members of byClass) {
      rng.shuffle(members);
      const k = Math.round(f * members.length);
      for (let i = 0; i < k; i++) isVal[members[i]] = 1;
    }
    const part = (want: number) => {
      const files: string[] = [];
      const labels: number[] = [];
      trainList.files.forEach((p, i) => {
        if (isVal[i] === want) {
          files.push(p);
          labels.push(trainList.labels[i]);
        }
      });
      return { files, labels };
    };
    const t = part(0);
    const v = part(1);
    if (v.files.length === 0) throw new LatpruneError('BAD_ARGUMENT', `${trainRoot}: valFraction ${f} of ${trainList.files.length} images leaves no validation image; raise it.`);
    const pct = `${+(100 * f).toFixed(2)}%`;
    train = makeSplit(`${trainRoot} (${+(100 - 100 * f).toFixed(2)}% of it, seed ${seed})`, trainRoot, t.files, t.labels, classNames);
    val = makeSplit(`${trainRoot} (${pct} of it held out, seed ${seed})`, trainRoot, v.files, v.labels, classNames);
  }
  if (skip.hiddenNames.size > 0) {
    notes.push(`hidden folder(s) ${[...skip.hiddenNames].join(', ')} skipped (torchvision's ImageFolder would count them as classes).`);
  }
  if (skip.unsupported > 0) {
    notes.push(`${skip.unsupported} BMP/PPM/PGM file(s) skipped: not decodable here (torchvision would list them, so its indices differ).`);
  }
  return {
    dir: root,
    layout,
    classNames,
    train,
    val,
    skipped: { nonImage: skip.nonImage, unsupported: skip.unsupported, hidden: skip.hidden, byExtension: { ...skip.byExtension } },
    notes,
  };
}

/**
 * One line per fact about a listed folder: where, layout, classes, split sizes, skipped
 * files, then the notes (prefixed `warning:`), for a run's log.
 *
 * @param folder - result of {@link scanImageFolder}
 */
export function describeImageFolder(folder: ImageFolder): string {
  const k = folder.classNames.length;
  const shown = k <= 10 ? folder.classNames.join(', ') : `${folder.classNames.slice(0, 8).join(', ')}, ... ${folder.classNames[k - 1]}`;
  const s = folder.skipped;
  const ext = Object.entries(s.byExtension)
    .sort((a, b) => b[1] - a[1])
    .map(([e, n]) => `${e || '(none)'} ${n}`)
    .join(', ');
  const lines = [
    `data: image folder ${folder.dir} (${folder.layout}): ${k} classes (${shown}); ${folder.train.count} train images from ${folder.train.name}, ${folder.val.count} val images from ${folder.val.name}`,
  ];
  const skippedTotal = s.nonImage + s.unsupported;
  if (skippedTotal > 0 || s.hidden > 0) {
    lines.push(`data: skipped ${s.nonImage} non-image file(s)${s.unsupported > 0 ? `, ${s.unsupported} BMP/PPM/PGM` : ''}${ext ? ` (${ext})` : ''}${s.hidden > 0 ? `, ${s.hidden} hidden entr${s.hidden === 1 ? 'y' : 'ies'}` : ''}`);
  }
  for (const n of folder.notes) lines.push(`warning: ${n}`);
  return lines.join('\n');
}
