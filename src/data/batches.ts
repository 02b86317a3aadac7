/**
 * Pure, resumable batch iterator: shuffles with a seeded {@link Rng}, applies
 * augmentation and normalisation, and yields NHWC `Float32Array` batches.
 *
 * Determinism and resumption: at the start of each epoch the iterator holds an
 * RNG state `S`. From `S` it draws the epoch's permutation, then one 32-bit
 * augmentation seed `A`; the state after these draws is the next epoch's `S`.
 * Batch `b` of the epoch is augmented with a fresh generator seeded from
 * `(A, b)`. A {@link BatchCursor} `(epoch, index, S)` therefore pins down the
 * whole remaining stream, and restoring it replays exactly the same batches.
 */

import { LatpruneError } from '../errors.js';
import { imageSize, type ImageDataset } from './dataset.js';
import { NO_AUGMENTATION, defaultNormalization, normalizationForChannels, type Augmentation, type Normalization } from './preprocess.js';
import { Rng, mixSeeds, type RngState } from './rng.js';

/** Options of {@link BatchIterator}. */
export interface BatchOptions {
  /** Images per batch (>= 1). */
  readonly batchSize: number;
  /** Seed of the stream, used when no cursor is given (default 0). */
  readonly seed?: number;
  /** Shuffle each epoch (default true). With false, batches follow file order. */
  readonly shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default false). */
  readonly dropLast?: boolean;
  /** Normalisation; defaults to {@link defaultNormalization} of the dataset's name. */
  readonly normalization?: Normalization;
  /** Augmentation; defaults to none. Use {@link defaultAugmentation} for training-time defaults. */
  readonly augmentation?: Augmentation;
}

/**
 * Position in the batch stream; plain JSON, suitable for checkpoints.
 */
export interface BatchCursor {
  /** Epoch of the next batch (0-based). */
  readonly epoch: number;
  /** Index of the next batch within its epoch (0-based). */
  readonly index: number;
  /** RNG state at the start of `epoch` (not at `index`). */
  readonly rng: RngState;
}

/** One batch. */
export interface Batch {
  /** Normalised pixels, NHWC, length `size * height * width * channels`. */
  readonly x: Float32Array;
  /** Labels, one per image. */
  readonly labels: Uint8Array;
  /** Shape of `x`: `[size, height, width, channels]`. */
  readonly shape: readonly [number, number, number, number];
  /** Dataset indices of the images, in batch order. */
  readonly indices: Uint32Array;
  /** Epoch this batch belongs to. */
  readonly epoch: number;
  /** Index of this batch within its epoch. */
  readonly index: number;
}

/**
 * What a trainer needs from a stream of batches; {@link BatchIterator} (in memory) and
 * `ImageFolderStream` (decoded from disk in worker threads) both implement it.
 *
 * Both cross epochs indefinitely, follow the determinism contract of the module comment (so a
 * {@link BatchCursor} taken from one replays the same batch positions), and must be closed.
 *
 * Typical use: `const b = await source.next()` (awaiting also works on {@link BatchIterator}'s
 * synchronous `next`), `source.cursor()` into a checkpoint, `await source.close()` in a `finally`.
 */
export interface BatchSource {
  /** Number of batches in each epoch. */
  readonly batchesPerEpoch: number;
  /** Epoch of the next batch. */
  readonly currentEpoch: number;
  /** Class names indexed by label. */
  readonly classNames: readonly string[];
  /** Shape of one image: `[height, width, channels]`. */
  readonly imageShape: readonly [number, number, number];
  /** Returns the next batch, moving to the next epoch after the last one. */
  next(): Batch | Promise<Batch>;
  /** Position of the next batch `next()` returns; pass it back to the source's constructor to resume. */
  cursor(): BatchCursor;
  /** Releases the source's resources (worker threads); idempotent. Later `next()` calls fail. */
  close(): Promise<void>;
}

/**
 * Yields the remaining batches of the current epoch of any {@link BatchSource}; afterwards its
 * cursor is at the next epoch's start.
 *
 * @param source - batch source
 */
export async function* sourceEpochBatches(source: BatchSource): AsyncGenerator<Batch, void, undefined> {
  const e = source.currentEpoch;
  while (source.currentEpoch === e) yield await source.next();
}

/**
 * Builds one normalised (and optionally augmented) NHWC batch from dataset indices.
 *
 * @param ds - dataset
 * @param indices - images to take, in order
 * @param normalization - per-channel mean/std in [0, 1] units
 * @param augmentation - crop padding and flip settings
 * @param rng - generator for augmentation draws (per image: crop dy, crop dx, then flip); required when
 *   augmentation is enabled
 * @returns `x` (Float32Array, NHWC) and `labels`
 */
export function assembleBatch(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  normalization: Normalization,
  augmentation: Augmentation = NO_AUGMENTATION,
  rng?: Rng,
): { x: Float32Array; labels: Uint8Array } {
  const { height: h, width: w, channels: c } = ds;
  const size = imageSize(ds);
  const lut = normalizationLut(normalization, c);
  const pad = augmentation.cropPadding;
  if (!Number.isInteger(pad) || pad < 0) {
    throw new LatpruneError('BAD_ARGUMENT', `augmentation.cropPadding must be a non-negative integer, got ${pad}.`);
  }
  const augment = pad > 0 || augmentation.horizontalFlip;
  if (augment && rng === undefined) {
    throw new LatpruneError('BAD_ARGUMENT', 'assembleBatch: augmentation is enabled but no Rng was given.');
  }
  const n = indices.length;
  const x = new Float32Array(n * size);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    labels[i] = ds.labels[j];
    const src = j * size;
    const dst = i * size;
    if (!augment) {
      for (let p = 0; p < size; p++) x[dst + p] = lut[(p % c) * 256 + ds.images[src + p]];
      continue;
    }
    const r = rng as Rng;
    const dy = pad > 0 ? r.nextInt(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? r.nextInt(2 * pad + 1) - pad : 0;
    const flip = augmentation.horizontalFlip ? r.nextBool() : false;
    writeShiftedImage(ds.images, src, h, w, c, lut, dy, dx, flip, x, dst);
  }
  return { x, labels };
}

/**
 * The normalisation lookup table of {@link assembleBatch}: entry `k * 256 + v` is
 * `(v / 255 - mean[k]) / std[k]` as a float32, for channel `k` and byte `v`.
 *
 * @param normalization - per-channel mean/std in [0, 1] units (one value broadcasts)
 * @param channels - channels per pixel
 * @throws LatpruneError `BAD_ARGUMENT` when the normalisation does not fit `channels`
 */
export function normalizationLut(normalization: Normalization, channels: number): Float32Array {
  const { mean, std } = normalizationForChannels(normalization, channels);
  const lut = new Float32Array(256 * channels);
  for (let k = 0; k < channels; k++) for (let v = 0; v < 256; v++) lut[k * 256 + v] = (v / 255 - mean[k]) / std[k];
  return lut;
}

/**
 * Writes one normalised image, shifted by `(dy, dx)` (pixels shifted in from outside read as byte 0)
 * and optionally mirrored, into `x` at `dst`: the per-image step of {@link assembleBatch}'s pad-and-crop
 * augmentation, shared with other batch sources so their pixels are bit-identical.
 *
 * @param images - source bytes, HWC per image
 * @param src - offset of the image in `images`
 * @param h - height
 * @param w - width
 * @param c - channels
 * @param lut - table from {@link normalizationLut}
 * @param dy - vertical shift of the crop window (0 for none)
 * @param dx - horizontal shift of the crop window (0 for none)
 * @param flip - mirror horizontally
 * @param x - destination
 * @param dst - offset in `x`
 */
export function writeShiftedImage(
  images: Uint8Array,
  src: number,
  h: number,
  w: number,
  c: number,
  lut: Float32Array,
  dy: number,
  dx: number,
  flip: boolean,
  x: Float32Array,
  dst: number,
): void {
  for (let yy = 0; yy < h; yy++) {
    const sy = yy + dy;
    for (let xx = 0; xx < w; xx++) {
      const cx = flip ? w - 1 - xx : xx;
      const sx = cx + dx;
      const o = dst + (yy * w + xx) * c;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) x[o + k] = lut[k * 256];
      } else {
        const s = src + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) x[o + k] = lut[k * 256 + images[s + k]];
      }
    }
  }
}

/**
 * Resumable iterator over shuffled, augmented, normalised batches of a dataset, crossing epochs
 * indefinitely. See the module comment for the determinism contract.
 */
export class BatchIterator implements BatchSource {
  /** Number of batches in each epoch. */
  readonly batchesPerEpoch: number;
  private readonly ds: ImageDataset;
  private readonly batchSize: number;
  private readonly shuffleEnabled: boolean;
  private readonly dropLast: boolean;
  private readonly normalization: Normalization;
  private readonly augmentation: Augmentation;
  private epoch: number;
  private index: number;
  private epochStart: RngState;
  private order: Uint32Array;
  private augSeed: number;
  private nextEpochStart: RngState;

  /**
   * @param ds - dataset to iterate
   * @param opts - batch size, seed, shuffling, preprocessing
   * @param cursor - resume position previously returned by {@link BatchIterator.cursor}; overrides `opts.seed`
   * @throws LatpruneError `BAD_ARGUMENT` for a bad batch size, an empty epoch or an out-of-range cursor
   */
  constructor(ds: ImageDataset, opts: BatchOptions, cursor?: BatchCursor) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new LatpruneError('BAD_ARGUMENT', `batchSize must be a positive integer, got ${opts.batchSize}; e.g. --batch-size 128.`);
    }
    this.ds = ds;
    this.batchSize = opts.batchSize;
    this.shuffleEnabled = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.normalization = opts.normalization ?? defaultNormalization(ds.name);
    normalizationForChannels(this.normalization, ds.channels);
    this.augmentation = opts.augmentation ?? NO_AUGMENTATION;
    this.batchesPerEpoch = this.dropLast ? Math.floor(ds.count / this.batchSize) : Math.ceil(ds.count / this.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${ds.name}: ${ds.count} images give no batch of size ${this.batchSize}${this.dropLast ? ' with dropLast' : ''}; lower the batch size.`,
      );
    }
    const start = cursor ?? { epoch: 0, index: 0, rng: Rng.fromSeed(opts.seed ?? 0).getState() };
    if (!Number.isInteger(start.epoch) || start.epoch < 0 || !Number.isInteger(start.index) || start.index < 0 || start.index >= this.batchesPerEpoch) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `Batch cursor (epoch ${start.epoch}, index ${start.index}) is out of range: an epoch has ${this.batchesPerEpoch} batches. ` +
          'The checkpoint was written with another dataset or batch size.',
      );
    }
    this.epoch = start.epoch;
    this.index = start.index;
    this.epochStart = Rng.fromState(start.rng).getState();
    this.order = new Uint32Array(0);
    this.augSeed = 0;
    this.nextEpochStart = this.epochStart;
    this.beginEpoch();
  }

  private beginEpoch(): void {
    const rng = Rng.fromState(this.epochStart);
    if (this.shuffleEnabled) {
      this.order = rng.permutation(this.ds.count);
    } else {
      this.order = new Uint32Array(this.ds.count);
      for (let i = 0; i < this.ds.count; i++) this.order[i] = i;
    }
    this.augSeed = rng.nextUint32();
    this.nextEpochStart = rng.getState();
  }

  /** Position of the next batch; pass it to the constructor to resume. */
  cursor(): BatchCursor {
    return { epoch: this.epoch, index: this.index, rng: this.epochStart };
  }

  /** Epoch of the next batch. */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** Class names of the dataset, indexed by label. */
  get classNames(): readonly string[] {
    return this.ds.classNames;
  }

  /** Shape of one image: `[height, width, channels]`. */
  get imageShape(): readonly [number, number, number] {
    return [this.ds.height, this.ds.width, this.ds.channels];
  }

  /** Nothing to release (the dataset is in memory); present for {@link BatchSource}. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Returns the next batch, moving to the next epoch after the last one. */
  next(): Batch {
    const b = this.index;
    const from = b * this.batchSize;
    const to = Math.min(from + this.batchSize, this.ds.count);
    const indices = this.order.slice(from, to);
    const aug = this.augmentation;
    const rng = aug.cropPadding > 0 || aug.horizontalFlip ? Rng.fromSeed(mixSeeds(this.augSeed, b)) : undefined;
    const { x, labels } = assembleBatch(this.ds, indices, this.normalization, aug, rng);
    const batch: Batch = {
      x,
      labels,
      shape: [indices.length, this.ds.height, this.ds.width, this.ds.channels],
      indices,
      epoch: this.epoch,
      index: b,
    };
    this.index++;
    if (this.index >= this.batchesPerEpoch) {
      this.epoch++;
      this.index = 0;
      this.epochStart = this.nextEpochStart;
      this.beginEpoch();
    }
    return batch;
  }

  /** Yields the remaining batches of the current epoch; afterwards the cursor is at the next epoch's start. */
  *epochBatches(): Generator<Batch, void, undefined> {
    const e = this.epoch;
    while (this.epoch === e) yield this.next();
  }
}
