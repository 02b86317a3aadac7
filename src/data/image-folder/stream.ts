/**
 * {@link ImageFolderStream}: batches of an image folder, decoded and augmented
 * from disk in worker threads ahead of the trainer, with {@link BatchIterator}'s
 * determinism contract.
 *
 * Determinism: the stream holds the same per-epoch state as {@link BatchIterator}
 * (epoch-start RNG state `S` -> permutation, augmentation seed `A` -> next `S`),
 * and every random choice of batch `b` comes from a generator seeded with
 * `mixSeeds(A, b)`, drawn on the main thread when the batch is planned: for the
 * pad-and-crop augmentation the draws are exactly {@link assembleBatch}'s; for
 * RandomResizedCrop one 32-bit seed per image, from which the worker draws the
 * crop once it knows the image's size. Which worker decodes an image, and when,
 * changes nothing, and a {@link BatchCursor} replays the stream bit for bit.
 * Over a folder whose images already have the output size, in the same order
 * as an in-memory dataset (see `order: 'file-name'`), the batches equal
 * {@link BatchIterator}'s for the same seed and options.
 *
 * Memory: at most `prefetch` batches are planned ahead (decoding or decoded);
 * nothing else grows with the dataset except the list of file paths.
 *
 * Bad files: an image that cannot be read or decoded is left out of its batch
 * (the batch is smaller; `indices` tells which images it holds), with one
 * warning naming the file; when more than `maxBadFraction` of the split's files
 * have failed, `next()` rejects with a `BAD_FILE` error (workers closed).
 */

import { Worker } from 'node:worker_threads';
import { LatpruneError } from '../../errors.js';
import { normalizationLut, type Batch, type BatchCursor, type BatchSource } from '../batches.js';
import { NO_AUGMENTATION, type Augmentation, type Normalization } from '../preprocess.js';
import { Rng, mixSeeds, type RngState } from '../rng.js';
import type { DecodeConfig, ItemAugmentation, ResizeKernel } from './decode.js';
import { fileChannels } from './decode.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import type { ImageFolderSplit } from './scan.js';
import { checkRandomResizedCrop, RRC_DEFAULT_RATIO, RRC_DEFAULT_SCALE, type RandomResizedCropOptions } from './transforms.js';

/** ImageNet's per-channel mean/std (torchvision's recipes); one channel gets their averages. */
export const IMAGENET_NORMALIZATION: Normalization = Object.freeze({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });

/** Grey counterpart of {@link IMAGENET_NORMALIZATION}: the mean of its means and stds. */
export const IMAGENET_GREY_NORMALIZATION: Normalization = Object.freeze({ mean: [0.449], std: [0.226] });

/** Augmentation of an image-folder stream. */
export type FolderAugmentation =
  | { readonly kind: 'none' }
  /** {@link BatchIterator}'s: shift by up to `cropPadding` pixels (zero-filled), flip; same draws. */
  | { readonly kind: 'pad-crop'; readonly cropPadding: number; readonly horizontalFlip: boolean }
  /** torchvision's `RandomResizedCrop(input, scale, ratio)` then `RandomHorizontalFlip()` (default on). */
  | ({ readonly kind: 'random-resized-crop'; readonly horizontalFlip?: boolean } & RandomResizedCropOptions);

/** Options of {@link ImageFolderStream}. */
export interface ImageFolderStreamOptions {
  /** Images per batch (>= 1). */
  readonly batchSize: number;
  /** Seed of the stream, used when no cursor is given (default 0). */
  readonly seed?: number;
  /** Shuffle each epoch (default true); with false, batches follow the split's index order. */
  readonly shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default false). */
  readonly dropLast?: boolean;
  /** Output `[height, width]`. */
  readonly input: readonly [number, number];
  /** Output channels: 1 (grey; colour images converted like PIL's `convert('L')`) or 3 (grey replicated). See {@link detectChannels}. */
  readonly channels: 1 | 3;
  /** Per-channel normalisation (default {@link IMAGENET_NORMALIZATION}, or its grey counterpart for 1 channel). */
  readonly normalization?: Normalization;
  /**
   * Augmentation (default none). A plain {@link Augmentation} (`defaultAugmentation(...)`) means
   * `pad-crop`. Evaluation streams should use none.
   */
  readonly augmentation?: FolderAugmentation | Augmentation;
  /** Evaluation crop fraction: resize to `int(max(H, W) / cropFraction)`, then centre-crop (default 0.875). */
  readonly cropFraction?: number;
  /** Use an image that already is `H x W` as it is, without the evaluation resize + crop (default true; torchvision would resize it). */
  readonly skipResizeWhenSized?: boolean;
  /** Resampling kernel (default `linear`, like torchvision's bilinear). */
  readonly kernel?: ResizeKernel;
  /** Decode worker threads (default 1). */
  readonly workers?: number;
  /** Batches planned ahead of the consumer, decoding or decoded (default 2). Bounds memory. */
  readonly prefetch?: number;
  /** Images per worker task (default `min(batchSize, 32)`). */
  readonly chunkSize?: number;
  /** Images each worker decodes at once (default 2; sharp's work runs on libuv's pool). */
  readonly decodeConcurrency?: number;
  /** Fraction of the split's files allowed to fail before `next()` rejects (default 0.01). */
  readonly maxBadFraction?: number;
  /** Receives each warning (a file skipped); default: printed to stderr as `warning: ...`. */
  readonly onWarning?: (message: string) => void;
}

/** Counts of a stream so far. */
export interface ImageFolderStreamStats {
  /** Images decoded into batches. */
  readonly decoded: number;
  /** Image slots left out of batches because their file failed (a bad file counts once per epoch). */
  readonly skippedImages: number;
  /** Distinct files that failed, with the decoder's message. */
  readonly badFiles: readonly { readonly path: string; readonly message: string }[];
}

interface EpochPlan {
  readonly start: RngState;
  readonly order: Uint32Array;
  readonly augSeed: number;
  readonly nextStart: RngState;
}

interface ChunkResult {
  readonly x: Float32Array;
  readonly failed: readonly { readonly i: number; readonly message: string }[];
}

interface Pending {
  readonly epoch: number;
  readonly index: number;
  readonly indices: Uint32Array;
  readonly chunks: (ChunkResult | undefined)[];
  remaining: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

interface Task {
  readonly id: number;
  readonly batch: Pending;
  readonly chunk: number;
  readonly files: string[];
  readonly augs: ItemAugmentation[];
}

interface Slot {
  readonly worker: Worker;
  readonly tasks: Map<number, Task>;
}

/** Decode worker threads alive in this process (tests assert every path ends them). */
const liveWorkers = new Set<Worker>();

/** Number of image-folder decode workers started and not yet exited. */
export function liveImageFolderWorkers(): number {
  return liveWorkers.size;
}

const MAX_TASKS_PER_WORKER = 2;

function normalizeAugmentation(a: FolderAugmentation | Augmentation | undefined): FolderAugmentation {
  if (a === undefined) return { kind: 'none' };
  if ('kind' in a) return a;
  if (a.cropPadding === 0 && !a.horizontalFlip) return { kind: 'none' };
  return { kind: 'pad-crop', cropPadding: a.cropPadding, horizontalFlip: a.horizontalFlip };
}

function positiveInt(v: number, what: string, hint: string): number {
  if (!Number.isInteger(v) || v < 1) throw new LatpruneError('BAD_ARGUMENT', `${what} must be a positive integer, got ${v}; ${hint}`);
  return v;
}

/**
 * A {@link BatchSource} over an {@link ImageFolderSplit}, decoded in worker threads.
 * Workers start with the first `next()`; `close()` ends them (also after an error).
 * Workers are unreferenced while idle, so a stream left open does not keep the process alive.
 */
export class ImageFolderStream implements BatchSource {
  /** Number of batches in each epoch. */
  readonly batchesPerEpoch: number;
  /** The split read. */
  readonly split: ImageFolderSplit;
  private readonly batchSize: number;
  private readonly shuffleEnabled: boolean;
  private readonly augmentation: FolderAugmentation;
  private readonly config: DecodeConfig;
  private readonly normalization: Normalization;
  private readonly workerCount: number;
  private readonly prefetch: number;
  private readonly chunkSize: number;
  private readonly decodeConcurrency: number;
  private readonly maxBadFraction: number;
  private readonly warn: (message: string) => void;
  private readonly plans = new Map<number, EpochPlan>();
  private epoch: number;
  private index: number;
  private schedEpoch: number;
  private schedIndex: number;
  private readonly ahead: Pending[] = [];
  private readonly queue: Task[] = [];
  private slots: Slot[] | undefined;
  private nextTaskId = 0;
  private failure: Error | undefined;
  private closed = false;
  private terminating: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly bad = new Map<number, string>();
  private decoded = 0;
  private skippedImages = 0;

  /**
   * @param split - files and labels ({@link scanImageFolder})
   * @param opts - batching, output size, preprocessing, workers
   * @param cursor - resume position from {@link ImageFolderStream.cursor} (or from a {@link BatchIterator} over
   *   the same images); overrides `opts.seed`
   * @throws LatpruneError `BAD_ARGUMENT` for a bad option, an empty epoch or an out-of-range cursor
   */
  constructor(split: ImageFolderSplit, opts: ImageFolderStreamOptions, cursor?: BatchCursor) {
    this.split = split;
    this.batchSize = positiveInt(opts.batchSize, 'batchSize', 'e.g. --batch-size 128.');
    this.shuffleEnabled = opts.shuffle ?? true;
    const dropLast = opts.dropLast ?? false;
    const [height, width] = opts.input ?? [];
    positiveInt(height as number, 'input height', 'e.g. input: [224, 224].');
    positiveInt(width as number, 'input width', 'e.g. input: [224, 224].');
    const channels = opts.channels;
    if (channels !== 1 && channels !== 3) throw new LatpruneError('BAD_ARGUMENT', `channels must be 1 or 3, got ${String(channels)}.`);
    this.normalization = opts.normalization ?? (channels === 1 ? IMAGENET_GREY_NORMALIZATION : IMAGENET_NORMALIZATION);
    const lut = normalizationLut(this.normalization, channels);
    this.augmentation = normalizeAugmentation(opts.augmentation);
    const aug = this.augmentation;
    if (aug.kind === 'pad-crop' && (!Number.isInteger(aug.cropPadding) || aug.cropPadding < 0)) {
      throw new LatpruneError('BAD_ARGUMENT', `augmentation.cropPadding must be a non-negative integer, got ${aug.cropPadding}.`);
    }
    if (aug.kind === 'random-resized-crop') checkRandomResizedCrop(aug);
    const cropFraction = opts.cropFraction ?? 0.875;
    if (!(cropFraction > 0 && cropFraction <= 1)) throw new LatpruneError('BAD_ARGUMENT', `cropFraction must be in (0, 1], got ${cropFraction}; torchvision uses 0.875.`);
    this.config = {
      height: height as number,
      width: width as number,
      channels,
      lut,
      cropFraction,
      skipResizeWhenSized: opts.skipResizeWhenSized ?? true,
      kernel: opts.kernel ?? 'linear',
      randomResizedCrop: aug.kind === 'random-resized-crop' ? { scale: aug.scale ?? RRC_DEFAULT_SCALE, ratio: aug.ratio ?? RRC_DEFAULT_RATIO } : {},
      rrcFlip: aug.kind === 'random-resized-crop' ? (aug.horizontalFlip ?? true) : false,
    };
    this.workerCount = positiveInt(opts.workers ?? 1, 'workers', 'e.g. 1 or 2 decode threads.');
    this.prefetch = positiveInt(opts.prefetch ?? 2, 'prefetch', 'the number of batches decoded ahead, e.g. 2.');
    this.chunkSize = positiveInt(opts.chunkSize ?? Math.min(this.batchSize, 32), 'chunkSize', 'images per worker task, e.g. 32.');
    this.decodeConcurrency = positiveInt(opts.decodeConcurrency ?? 2, 'decodeConcurrency', 'e.g. 2.');
    this.maxBadFraction = opts.maxBadFraction ?? 0.01;
    if (!(this.maxBadFraction >= 0 && this.maxBadFraction <= 1)) throw new LatpruneError('BAD_ARGUMENT', `maxBadFraction must be in [0, 1], got ${this.maxBadFraction}.`);
    this.warn = opts.onWarning ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    this.batchesPerEpoch = dropLast ? Math.floor(split.count / this.batchSize) : Math.ceil(split.count / this.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new LatpruneError('BAD_ARGUMENT', `${split.name}: ${split.count} images give no batch of size ${this.batchSize}${dropLast ? ' with dropLast' : ''}; lower the batch size.`);
    }
    const start = cursor ?? { epoch: 0, index: 0, rng: Rng.fromSeed(opts.seed ?? 0).getState() };
    if (!Number.isInteger(start.epoch) || start.epoch < 0 || !Number.isInteger(start.index) || start.index < 0 || start.index >= this.batchesPerEpoch) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `Batch cursor (epoch ${start.epoch}, index ${start.index}) is out of range: an epoch of ${split.name} has ${this.batchesPerEpoch} batches. ` +
          'The checkpoint was written with another dataset or batch size.',
      );
    }
    this.epoch = this.schedEpoch = start.epoch;
    this.index = this.schedIndex = start.index;
    this.plans.set(start.epoch, this.makePlan(Rng.fromState(start.rng).getState()));
  }

  /** Class names indexed by label. */
  get classNames(): readonly string[] {
    return this.split.classNames;
  }

  /** Shape of one image: `[height, width, channels]`. */
  get imageShape(): readonly [number, number, number] {
    return [this.config.height, this.config.width, this.config.channels];
  }

  /** Epoch of the next batch. */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** Position of the next batch `next()` returns (not of the prefetched ones); pass it to the constructor to resume. */
  cursor(): BatchCursor {
    return { epoch: this.epoch, index: this.index, rng: this.planOf(this.epoch).start };
  }

  /** Counts so far: images decoded, slots skipped, bad files. */
  stats(): ImageFolderStreamStats {
    return {
      decoded: this.decoded,
      skippedImages: this.skippedImages,
      badFiles: [...this.bad].map(([i, message]) => ({ path: this.split.files[i], message })),
    };
  }

  /** One line: source, output shape, augmentation, normalisation, workers. */
  describe(): string {
    const a = this.augmentation;
    const aug =
      a.kind === 'none'
        ? 'none'
        : a.kind === 'pad-crop'
          ? `pad-crop ${a.cropPadding}${a.horizontalFlip ? ' + flip' : ''}`
          : `random-resized-crop scale [${this.config.randomResizedCrop.scale}] ratio [${(this.config.randomResizedCrop.ratio ?? []).map((r) => +r.toFixed(4))}]${this.config.rrcFlip ? ' + flip' : ''}`;
    const c = this.config;
    const evalT = `resize ${Math.floor(Math.max(c.height, c.width) / c.cropFraction)} + centre crop${c.skipResizeWhenSized ? ` (not for ${c.height}x${c.width} images)` : ''}`;
    return (
      `stream: ${this.split.name}: ${this.split.count} images -> ${c.height}x${c.width}x${c.channels}, batches of ${this.batchSize} (${this.batchesPerEpoch}/epoch), ` +
      `${a.kind === 'random-resized-crop' ? '' : `${evalT}, `}augmentation ${aug}, normalization mean [${this.normalization.mean}] std [${this.normalization.std}], ` +
      `${this.workerCount} decode worker(s), prefetch ${this.prefetch}`
    );
  }

  /**
   * Returns the next batch (waiting for its decoding), moving to the next epoch after the last one.
   * A batch whose files all failed is passed over.
   *
   * @throws LatpruneError `BAD_FILE` past `maxBadFraction` failed files, `RUNTIME` when a worker died,
   *   `BAD_ARGUMENT` after `close()`; the workers are ended in every case
   */
  next(): Promise<Batch> {
    const p = this.chain.then(() => this.nextBatch());
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Ends the workers and rejects batches being decoded; idempotent. Later `next()` calls reject. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const err = new LatpruneError('BAD_ARGUMENT', `${this.split.name}: the image stream is closed.`);
      for (const p of this.ahead) p.reject(err);
      this.ahead.length = 0;
      this.queue.length = 0;
    }
    await this.terminate();
  }

  private async nextBatch(): Promise<Batch> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new LatpruneError('BAD_ARGUMENT', `${this.split.name}: the image stream is closed (next() after close()).`);
      this.fill();
      const head = this.ahead[0];
      try {
        await head.done;
      } catch (err) {
        await this.terminate();
        throw this.failure ?? err;
      }
      this.ahead.shift();
      this.index++;
      if (this.index >= this.batchesPerEpoch) {
        this.epoch++;
        this.index = 0;
        this.planOf(this.epoch);
        for (const e of this.plans.keys()) if (e < this.epoch) this.plans.delete(e);
      }
      const batch = this.assemble(head);
      if (this.bad.size > this.maxBadFraction * this.split.count) {
        const shown = [...this.bad].slice(0, 3).map(([i, m]) => `${this.split.files[i]} (${m})`).join('; ');
        this.failure = new LatpruneError(
          'BAD_FILE',
          `${this.split.name}: ${this.bad.size} of ${this.split.count} image files could not be decoded, more than the ${100 * this.maxBadFraction}% allowed; e.g. ${shown}. ` +
            'Remove or fix the files, or raise maxBadFraction.',
        );
        await this.close();
        throw this.failure;
      }
      this.fill();
      if (batch !== undefined) return batch;
    }
  }

  private makePlan(start: RngState): EpochPlan {
    const rng = Rng.fromState(start);
    let order: Uint32Array;
    if (this.shuffleEnabled) order = rng.permutation(this.split.count);
    else {
      order = new Uint32Array(this.split.count);
      for (let i = 0; i < order.length; i++) order[i] = i;
    }
    const augSeed = rng.nextUint32();
    return { start, order, augSeed, nextStart: rng.getState() };
  }

  private planOf(epoch: number): EpochPlan {
    let plan = this.plans.get(epoch);
    if (plan) return plan;
    const latest = Math.max(...this.plans.keys());
    if (epoch < latest) throw new Error(`internal: plan of epoch ${epoch} was dropped`);
    for (let e = latest + 1; e <= epoch; e++) {
      plan = this.makePlan((this.plans.get(e - 1) as EpochPlan).nextStart);
      this.plans.set(e, plan);
    }
    return plan as EpochPlan;
  }

  private itemAugmentations(plan: EpochPlan, b: number, n: number): ItemAugmentation[] {
    const a = this.augmentation;
    if (a.kind === 'none' || (a.kind === 'pad-crop' && a.cropPadding === 0 && !a.horizontalFlip)) return new Array<ItemAugmentation>(n).fill({ kind: 'none' });
    const rng = Rng.fromSeed(mixSeeds(plan.augSeed, b));
    const out: ItemAugmentation[] = [];
    for (let i = 0; i < n; i++) {
      if (a.kind === 'pad-crop') {
        // assembleBatch's draws, in its order: dy, dx, flip
        const pad = a.cropPadding;
        const dy = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0;
        const dx = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0;
        const flip = a.horizontalFlip ? rng.nextBool() : false;
        out.push({ kind: 'shift', dy, dx, flip });
      } else {
        out.push({ kind: 'rrc', seed: rng.nextUint32() });
      }
    }
    return out;
  }

  /** Plans batches until `prefetch` are ahead, and hands their chunks to the workers. */
  private fill(): void {
    if (this.closed || this.failure) return;
    while (this.ahead.length < this.prefetch) {
      const e = this.schedEpoch;
      const b = this.schedIndex;
      const plan = this.planOf(e);
      const from = b * this.batchSize;
      const to = Math.min(from + this.batchSize, this.split.count);
      const indices = plan.order.slice(from, to);
      const augs = this.itemAugmentations(plan, b, indices.length);
      const nChunks = Math.ceil(indices.length / this.chunkSize);
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      done.catch(() => undefined);
      const pending: Pending = { epoch: e, index: b, indices, chunks: new Array<ChunkResult | undefined>(nChunks), remaining: nChunks, done, resolve, reject };
      this.ahead.push(pending);
      for (let c = 0; c < nChunks; c++) {
        const lo = c * this.chunkSize;
        const hi = Math.min(lo + this.chunkSize, indices.length);
        const files: string[] = [];
        for (let i = lo; i < hi; i++) files.push(this.split.files[indices[i]]);
        this.queue.push({ id: this.nextTaskId++, batch: pending, chunk: c, files, augs: augs.slice(lo, hi) });
      }
      this.schedIndex++;
      if (this.schedIndex >= this.batchesPerEpoch) {
        this.schedEpoch++;
        this.schedIndex = 0;
      }
    }
    this.dispatch();
  }

  private startWorkers(): Slot[] {
    const slots: Slot[] = [];
    const init: DecodeRequest = { kind: 'init', config: this.config, concurrency: this.decodeConcurrency };
    for (let i = 0; i < this.workerCount; i++) {
      // a worker inherits the process's node flags; --input-type (of `node -e`) would stop it loading its module
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const worker = new Worker(new URL('./decode-worker.js', import.meta.url), { execArgv });
      liveWorkers.add(worker);
      const slot: Slot = { worker, tasks: new Map() };
      worker.on('message', (m: DecodeReply) => this.onReply(slot, m));
      worker.on('error', (err) => this.fail(`decode worker ${i} failed: ${err.message}`, err));
      worker.on('exit', (code) => {
        liveWorkers.delete(worker);
        if (this.terminating === undefined) this.fail(`decode worker ${i} exited with code ${code}`);
      });
      worker.postMessage(init);
      slots.push(slot);
    }
    return slots;
  }

  private dispatch(): void {
    if (this.closed || this.failure || this.queue.length === 0) return;
    this.slots ??= this.startWorkers();
    for (;;) {
      const task = this.queue[0];
      if (task === undefined) break;
      let best: Slot | undefined;
      for (const s of this.slots) if (s.tasks.size < MAX_TASKS_PER_WORKER && (best === undefined || s.tasks.size < best.tasks.size)) best = s;
      if (best === undefined) break;
      this.queue.shift();
      best.tasks.set(task.id, task);
      const msg: DecodeRequest = { kind: 'task', id: task.id, files: task.files, augs: task.augs };
      best.worker.postMessage(msg);
    }
    this.updateRefs();
  }

  /** Idle workers do not keep the event loop alive; busy ones do (a `next()` is waiting on them). */
  private updateRefs(): void {
    for (const s of this.slots ?? []) {
      if (s.tasks.size > 0) s.worker.ref();
      else s.worker.unref();
    }
  }

  private onReply(slot: Slot, m: DecodeReply): void {
    if (m.kind === 'fatal') {
      this.fail(`decode worker failed: ${m.message}`);
      return;
    }
    const task = slot.tasks.get(m.id);
    if (task === undefined) return;
    slot.tasks.delete(m.id);
    const p = task.batch;
    p.chunks[task.chunk] = { x: m.x, failed: m.failed };
    p.remaining--;
    if (p.remaining === 0) p.resolve();
    this.dispatch();
    this.updateRefs();
  }

  private fail(message: string, cause?: unknown): void {
    if (this.failure || this.closed) return;
    this.failure = new LatpruneError('RUNTIME', `${this.split.name}: ${message}. The stream is closed; restart from the last cursor.`, cause === undefined ? undefined : { cause });
    for (const p of this.ahead) p.reject(this.failure);
    this.queue.length = 0;
    void this.terminate();
  }

  private terminate(): Promise<void> {
    if (this.terminating === undefined) {
      const slots = this.slots ?? [];
      this.slots = [];
      this.terminating = Promise.all(slots.map((s) => s.worker.terminate())).then(() => undefined);
    }
    return this.terminating;
  }

  /** Builds the batch of a decoded {@link Pending}, leaving out failed images; undefined when none is left. */
  private assemble(p: Pending): Batch | undefined {
    const [h, w, c] = this.imageShape;
    const size = h * w * c;
    const n = p.indices.length;
    const keep = new Uint8Array(n).fill(1);
    let failures = 0;
    p.chunks.forEach((chunk, k) => {
      for (const f of (chunk as ChunkResult).failed) {
        const pos = k * this.chunkSize + f.i;
        keep[pos] = 0;
        failures++;
        const file = p.indices[pos];
        if (!this.bad.has(file)) {
          this.bad.set(file, f.message);
          this.warn(`skipping ${this.split.files[file]}: ${f.message}`);
        }
      }
    });
    this.skippedImages += failures;
    this.decoded += n - failures;
    const kept = n - failures;
    if (kept === 0) return undefined;
    let x: Float32Array;
    let indices = p.indices;
    if (p.chunks.length === 1 && failures === 0) x = (p.chunks[0] as ChunkResult).x;
    else {
      x = new Float32Array(kept * size);
      indices = new Uint32Array(kept);
      let o = 0;
      p.chunks.forEach((chunk, k) => {
        const cx = (chunk as ChunkResult).x;
        const base = k * this.chunkSize;
        for (let i = 0; i < cx.length / size; i++) {
          if (!keep[base + i]) continue;
          x.set(cx.subarray(i * size, (i + 1) * size), o * size);
          indices[o++] = p.indices[base + i];
        }
      });
    }
    const labels = new Uint8Array(kept);
    for (let i = 0; i < kept; i++) labels[i] = this.split.labels[indices[i]];
    return { x, labels, shape: [kept, h, w, c], indices, epoch: p.epoch, index: p.index };
  }
}

/**
 * Output channels for a split when the model does not decide: 1 when every sampled file is
 * greyscale, else 3. Reads image headers only.
 *
 * @param split - split to sample
 * @param sample - files to look at, spread over the split (default 16)
 * @throws LatpruneError `BAD_FILE` when no sampled file can be read
 */
export async function detectChannels(split: ImageFolderSplit, sample = 16): Promise<1 | 3> {
  const n = Math.min(sample, split.count);
  let read = 0;
  let lastError = '';
  for (let k = 0; k < n; k++) {
    const path = split.files[Math.floor((k * split.count) / n)];
    try {
      if ((await fileChannels(path)) === 3) return 3;
      read++;
    } catch (err) {
      lastError = `${path}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (read === 0) throw new LatpruneError('BAD_FILE', `${split.name}: none of ${n} sampled images could be read (${lastError}).`);
  return 1;
}

/** Options of {@link openImageFolderSources}: the training stream's, plus the validation stream's worker count. */
export interface ImageFolderSourcesOptions extends ImageFolderStreamOptions {
  /** Decode workers of the validation stream (default 1). */
  readonly valWorkers?: number;
}

/**
 * The training and validation streams of a listed folder. Training: shuffled, with
 * `opts.augmentation` and `opts.dropLast`, resumed from `cursor`; validation: in index order,
 * no augmentation, every image, same size, channels and normalisation. Close both.
 *
 * @param folder - result of {@link scanImageFolder}
 * @param opts - training stream options
 * @param cursor - training cursor to resume from
 */
export function openImageFolderSources(
  folder: { readonly train: ImageFolderSplit; readonly val: ImageFolderSplit },
  opts: ImageFolderSourcesOptions,
  cursor?: BatchCursor,
): { train: ImageFolderStream; val: ImageFolderStream } {
  const { valWorkers, ...trainOpts } = opts;
  const train = new ImageFolderStream(folder.train, trainOpts, cursor);
  const val = new ImageFolderStream(folder.val, { ...trainOpts, shuffle: false, dropLast: false, augmentation: NO_AUGMENTATION, workers: valWorkers ?? 1 });
  return { train, val };
}
