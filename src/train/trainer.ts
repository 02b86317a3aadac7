/**
 * The step-level trainer the pruning engine drives: one call trains n steps,
 * with hooks before each step, after the gradients are known (read them for
 * importance, replace entries to mask them) and after the update (re-apply
 * masks). SGD with momentum, cosine LR with warm-up, label smoothing, top-1
 * evaluation, divergence detection.
 */
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import type { BatchSource, ImageDataset, Normalization, TrainingData } from '../data/index.js';
import { BatchIterator, defaultNormalization, sourceEpochBatches } from '../data/index.js';
import {
  PLAIN_VIEW,
  createGradientEngine,
  outputView,
  trainableVariables,
  type GradientEngine,
  type HostBatch,
  type OutputView,
} from './gradients.js';
import type { LossConfig } from './loss.js';
import { SgdMomentum, type SgdOptions, type SgdState } from './optimizer.js';
import { cosineWithWarmup, validateSchedule, type CosineSchedule } from './schedule.js';
import { weightKey } from './checkpoint.js';

/** Trainer configuration (plain data; stored with checkpoints). */
export interface TrainerConfig {
  readonly loss: LossConfig;
  readonly sgd: Omit<SgdOptions, 'decays'>;
  readonly schedule: CosineSchedule;
  /** Threads per batch (1 = main thread; more = data-parallel gradient workers). */
  readonly workers: number;
}

/** What the gradient hook sees and may change. */
export interface GradientContext {
  /** 0-based global step. */
  readonly step: number;
  /** Learning rate for this step. */
  readonly lr: number;
  /** Mean loss of the batch. */
  readonly loss: number;
  /** Trainable variables, in a stable order. */
  readonly vars: readonly tf.Variable[];
  /**
   * Gradients by variable name. A hook may replace an entry (e.g. with a
   * masked gradient); it then disposes the tensor it replaced.
   */
  readonly grads: tf.NamedTensorMap;
}

/** Hooks around each training step. */
export interface StepHooks {
  /** Before the forward pass (e.g. zero pruned channels). */
  beforeStep?(step: number): void;
  /** After gradients are computed, before the update (awaited when it returns a promise, e.g. to read the gradients). */
  afterGradients?(ctx: GradientContext): void | Promise<void>;
  /** Per-element update masks (1 = may change, 0 = frozen) by variable name, or undefined. */
  updateMasks?(): tf.NamedTensorMap | undefined;
  /** After the update. */
  afterStep?(step: number, loss: number): void;
}

/** Result of one step. */
export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly images: number;
  readonly ms: number;
}

/** Serializable trainer state (besides model weights). */
export interface TrainerState {
  readonly step: number;
  readonly imagesSeen: number;
  readonly optimizer: SgdState;
}

/** Top-1 accuracy and mean loss over a dataset. */
export interface EvalResult {
  readonly top1: number;
  readonly loss: number;
  readonly count: number;
}

/** Trains a tfjs model step by step. Create with {@link Trainer.create}. */
export class Trainer {
  /** Next global step (0-based). */
  step = 0;
  /** Images processed by training so far. */
  imagesSeen = 0;
  readonly vars: tf.Variable[];
  readonly optimizer: SgdMomentum;
  /** Variable name -> weight name within the model. */
  private readonly keyOf: Map<string, string>;
  /**
   * Lines to log: set when the model (or the teacher) ends in softmax and is
   * trained on its pre-softmax logits (see `outputView` in gradients.ts).
   */
  readonly notes: readonly string[];

  private constructor(
    readonly model: tf.LayersModel,
    readonly config: TrainerConfig,
    private readonly engine: GradientEngine,
    teacher?: tf.LayersModel,
  ) {
    validateSchedule(config.schedule);
    const views = [outputView(model), ...(teacher && config.loss.distill ? [outputView(teacher, 'the teacher')] : [])];
    this.notes = views.flatMap((v) => (v.note ? [v.note] : []));
    this.vars = trainableVariables(model);
    this.optimizer = new SgdMomentum(config.sgd);
    this.keyOf = new Map(model.trainableWeights.map((w) => [(w as unknown as { val: tf.Variable }).val.name, weightKey(w)]));
  }

  /**
   * Creates a trainer; with `config.workers > 1` starts gradient workers on
   * `backend` (the active tfjs backend's name). `teacher`: the frozen model
   * distilled from when `config.loss.distill` is set.
   */
  static async create(model: tf.LayersModel, config: TrainerConfig, backend: string, teacher?: tf.LayersModel): Promise<Trainer> {
    const engine = await createGradientEngine(model, config.loss, config.workers, backend, teacher);
    try {
      return new Trainer(model, config, engine, teacher);
    } catch (err) {
      await engine.dispose();
      throw err;
    }
  }

  /** Learning rate of step `step` under the configured schedule. */
  lrAt(step: number): number {
    return cosineWithWarmup(this.config.schedule, step);
  }

  /**
   * One training step on `batch`.
   *
   * @throws LatpruneError `DIVERGED` when the loss is NaN or infinite; the
   *   update is not applied, so the weights stay at their last good values
   */
  async trainStep(batch: HostBatch, hooks: StepHooks = {}): Promise<StepResult> {
    const t0 = performance.now();
    const step = this.step;
    const lr = this.lrAt(step);
    hooks.beforeStep?.(step);
    const { loss, grads } = await this.engine.compute(batch);
    try {
      if (!Number.isFinite(loss)) {
        throw new LatpruneError(
          'DIVERGED',
          `training diverged: loss is ${loss} at step ${step} (learning rate ${lr.toPrecision(3)}). Lower --lr or raise --warmup-epochs.`,
        );
      }
      await hooks.afterGradients?.({ step, lr, loss, vars: this.vars, grads });
      this.optimizer.step(this.vars, grads, lr, hooks.updateMasks?.());
    } finally {
      tf.dispose(grads);
    }
    hooks.afterStep?.(step, loss);
    this.step++;
    this.imagesSeen += batch.shape[0];
    return { step, loss, lr, images: batch.shape[0], ms: performance.now() - t0 };
  }

  /**
   * The training loss on `batch` (training-mode forward, as in a step),
   * without updating anything but batch-norm running statistics, which the
   * caller restores if it must.
   */
  async lossOn(batch: HostBatch): Promise<number> {
    const { loss, grads } = await this.engine.compute(batch);
    tf.dispose(grads);
    return loss;
  }

  /** Runs `n` steps taking batches from `next`; `onStep` sees each result. */
  async trainSteps(
    next: () => HostBatch | Promise<HostBatch>,
    n: number,
    hooks: StepHooks = {},
    onStep?: (r: StepResult) => void | Promise<void>,
  ): Promise<StepResult[]> {
    const out: StepResult[] = [];
    for (let i = 0; i < n; i++) {
      const r = await this.trainStep(await next(), hooks);
      out.push(r);
      await onStep?.(r);
    }
    return out;
  }

  /**
   * State for a checkpoint (model weights are saved separately). Optimizer
   * state is keyed by weight names within the model ({@link weightKey}), so
   * it restores into a model built in another process.
   */
  async readState(): Promise<TrainerState> {
    return this.stateOf(await this.optimizer.readState());
  }

  /**
   * {@link Trainer.readState} with a synchronous read of the optimizer's
   * velocities, which works on the CPU backends only (a GPU backend cannot
   * read synchronously in Node); prefer `readState`.
   */
  getState(): TrainerState {
    return this.stateOf(this.optimizer.getState());
  }

  private stateOf(opt: SgdState): TrainerState {
    const velocities: SgdState['velocities'] = Object.fromEntries(
      Object.entries(opt.velocities).map(([name, v]) => [this.keyOf.get(name) ?? name, v]),
    );
    return { step: this.step, imagesSeen: this.imagesSeen, optimizer: { velocities } };
  }

  /** Restores {@link getState}. */
  setState(s: TrainerState): void {
    this.step = s.step;
    this.imagesSeen = s.imagesSeen;
    const varOf = new Map([...this.keyOf].map(([v, k]) => [k, v]));
    const velocities: SgdState['velocities'] = Object.fromEntries(
      Object.entries(s.optimizer.velocities).map(([key, v]) => [varOf.get(key) ?? key, v]),
    );
    this.optimizer.setState({ velocities });
  }

  /** Stops workers and frees optimizer state. */
  async dispose(): Promise<void> {
    this.optimizer.dispose();
    await this.engine.dispose();
  }
}

/**
 * Re-estimates batch-norm moving statistics: `n` forward passes in training
 * mode on batches from `next`, no weight updates. Needed after the network's
 * channels change (a grow makes revived channels feed active ones, so the
 * stored statistics no longer match); with momentum 0.9, 50 batches leave
 * under 1% of the old statistics.
 */
export async function recalibrateBatchNorm(model: tf.LayersModel, next: () => HostBatch | Promise<HostBatch>, n = 50): Promise<void> {
  for (let i = 0; i < n; i++) {
    const b = await next();
    tf.tidy(() => {
      model.apply(tf.tensor4d(b.x, b.shape as [number, number, number, number]), { training: true });
    });
  }
}

/**
 * Whether a top-1 accuracy is about chance for `numClasses` classes (below
 * 1.5x chance): the model has learned nothing. `train` and `prune` fail such
 * a run, and `prune` warns when its starting model is one.
 */
export function aboutChance(top1: number, numClasses: number): boolean {
  return top1 < 1.5 / numClasses;
}

/**
 * Top-1 accuracy and mean cross-entropy of `model` on `ds` in inference mode
 * (batch norm with moving statistics), in batches of `batchSize`, in index
 * order: {@link evaluateSource} over a {@link BatchIterator} of `ds`.
 */
export async function evaluate(
  model: tf.LayersModel,
  ds: ImageDataset,
  opts: { batchSize?: number; normalization?: Normalization; onProgress?: (done: number, total: number) => void } = {},
): Promise<EvalResult> {
  if (ds.count === 0) throw new LatpruneError('BAD_ARGUMENT', `cannot evaluate on an empty dataset (${ds.name}).`);
  const source = new BatchIterator(ds, {
    batchSize: opts.batchSize ?? 500,
    shuffle: false,
    normalization: opts.normalization ?? defaultNormalization(ds.name),
  });
  const progress = opts.onProgress;
  return evaluateSource(model, source, progress ? (images) => progress(images, ds.count) : undefined);
}

/**
 * Top-1 accuracy and mean cross-entropy of `model` over one epoch of a {@link BatchSource}
 * (a test split opened with `TrainingData.openTest`, in memory or streamed from an image
 * folder), in inference mode. For a model ending in softmax the cross-entropy is of its
 * pre-softmax logits (see `outputView`), not of softmax applied twice. The source is read
 * from its current position to its epoch's end and left open. Images a stream skipped
 * (unreadable files) are not counted.
 *
 * @param model - model to evaluate (inference mode)
 * @param source - batches of the split, unshuffled and unaugmented
 * @param onProgress - called after each batch with images done and the split's batch count
 * @throws LatpruneError `BAD_ARGUMENT` when the split yields no image
 */
export async function evaluateSource(
  model: tf.LayersModel,
  source: BatchSource,
  onProgress?: (images: number, batchesDone: number, batchesPerEpoch: number) => void,
): Promise<EvalResult> {
  let view: OutputView;
  try {
    view = outputView(model);
  } catch {
    view = PLAIN_VIEW;
  }
  let correct = 0;
  let lossSum = 0;
  let count = 0;
  let batches = 0;
  for await (const b of sourceEpochBatches(source)) {
    const n = b.shape[0];
    if (n === 0) continue;
    const [hit, ce] = tf.tidy(() => {
      const logits = view.run(() => model.predict(tf.tensor4d(b.x, b.shape as [number, number, number, number])) as tf.Tensor2D);
      const labels = tf.tensor1d(b.labels, 'int32');
      const h = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      const l = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits, undefined, 0, tf.Reduction.SUM);
      return [h, l];
    });
    const [c, l] = await Promise.all([hit.data(), ce.data()]);
    tf.dispose([hit, ce]);
    correct += c[0]!;
    lossSum += l[0]!;
    count += n;
    onProgress?.(count, ++batches, source.batchesPerEpoch);
  }
  if (count === 0) throw new LatpruneError('BAD_ARGUMENT', 'cannot evaluate on an empty split (no image could be read).');
  return { top1: correct / count, loss: lossSum / count, count };
}

/**
 * {@link evaluateSource} over the whole test (or validation) split of a run's data: a fresh
 * stream, closed afterwards (an image folder's is decoded as it goes).
 *
 * @param model - model to evaluate
 * @param data - the run's data
 */
export async function evaluateTestSplit(model: tf.LayersModel, data: TrainingData): Promise<EvalResult> {
  const src = data.openTest();
  try {
    return await evaluateSource(model, src);
  } finally {
    await src.close();
  }
}
