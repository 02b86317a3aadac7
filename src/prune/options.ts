/**
 * The options of a pruning run, as one schema: grouped sections (data, target,
 * latency, training, run) and the method as a tagged union
 * (`{ method: 'iee', iee: {...} } | { method: 'halp', halp: {...} }`).
 * Defaults, validation (before anything is read or trained), the CLI's flags
 * and `--config` files, and which options a resumed run must keep all derive
 * from it.
 */
import os from 'node:os';
import { z } from 'zod';
import { LatpruneError } from '../errors.js';
import { parseOptions, wholeNumber, type OptionNaming } from '../util/options.js';
import { AUGMENT_NAMES, DATASET_NAMES, IMAGE_FOLDER_DATASET } from '../data/index.js';
import { GROW_RULES, type GrowRule } from './engine.js';
import type { PruneRunOptions } from './run.js';
import { DEFAULT_LATENCY_MARGIN } from './check.js';

const posInt = wholeNumber(1, 'a positive integer');
const fraction = (hi: number, open: boolean) => {
  const msg = `must be in [0, ${hi}${open ? ')' : ']'}`;
  const n = z.number({ invalid_type_error: 'must be a number' }).min(0, msg);
  return open ? n.lt(hi, msg) : n.max(hi, msg);
};

/** Where the training and test images come from, and how they are fed to the model. */
const dataSchema = z
  .object({
    /** Dataset (`fashion-mnist`, `mnist`, `cifar10`) or `folder` (an image folder); default: what `dir` holds, else `fashion-mnist`. */
    dataset: z.enum([...DATASET_NAMES, IMAGE_FOLDER_DATASET] as unknown as [string, ...string[]]).optional(),
    /** Directory holding its files, or the image folder (default: found as `latprune doctor` says). */
    dir: z.string().min(1).optional(),
    /** Use only the first N training images. */
    trainSubset: posInt.optional(),
    /** Image folders: model input `[height, width]` (default: the model's own, or its preprocessing file's). */
    input: z.tuple([posInt, posInt]).optional(),
    /** Per-channel mean in [0, 1] units (with `std`; default: the model's preprocessing file, else the dataset's). */
    mean: z.array(z.number().finite()).min(1).optional(),
    /** Per-channel standard deviation in [0, 1] units (with `mean`). */
    std: z.array(z.number().positive('must be positive').finite()).min(1).optional(),
    /** A preprocessing JSON file (`{"input", "channels", "mean", "std", "classes"}`); default: the model's sidecar. */
    preprocess: z.string().min(1).optional(),
    /** Training augmentation: auto, rrc (RandomResizedCrop + flip; image folders), pad-crop, none. */
    augment: z.enum(AUGMENT_NAMES as unknown as [string, ...string[]]).default('auto'),
    /** Image folders without `val/`: fraction of the images held out for validation. */
    valFraction: z.number().gt(0, 'must be in (0, 1)').lt(1, 'must be in (0, 1)').optional(),
    /** Image folders: image order, `torchvision` (class by class, as ImageFolder) or `file-name`. */
    order: z.enum(['torchvision', 'file-name']).default('torchvision'),
    /** Image folders: decode worker threads. */
    workers: posInt.default(1),
  })
  .strict()
  .refine((d) => (d.mean === undefined) === (d.std === undefined), { message: 'give --mean and --std together', path: ['mean'] });

/** The latency target: exactly one form. */
const targetSchema = z.union([
  z.object({ latencyMs: z.number().positive() }).strict(),
  z.object({ fps: z.number().positive() }).strict(),
  z.object({ speedup: z.number().gt(1, 'must be above 1 (e.g. 2 for 2x)') }).strict(),
]);

/** The latency model and the on-device check. */
const latencySchema = z
  .object({
    /** Latency table file (`latprune profile`). */
    table: z.string().min(1),
    /** Aim at `(1 - margin) x` the target latency. */
    margin: fraction(0.5, true).default(DEFAULT_LATENCY_MARGIN),
    /** Time the selected network with ONNX Runtime after pruning and re-solve when it lands off the aim. */
    check: z.boolean().default(true),
    /** Kept channel counts are multiples of this; `auto` = the table's channel multiple. */
    granularity: z.union([z.literal('auto'), posInt]).default('auto'),
    /** Fraction of each channel group always kept (0: at least one channel). */
    minKeepFraction: fraction(1, false).default(0),
  })
  .strict();

/** Knowledge distillation from a frozen teacher. */
const distillSchema = z
  .object({
    /** Teacher model file; default: the `model` itself when it is a file. */
    teacher: z.string().min(1).optional(),
    /** Weight of the distillation term (the label term gets `1 - alpha`). */
    alpha: fraction(1, false).default(0.5),
    /** Softmax temperature. */
    temperature: z.number().positive().default(4),
  })
  .strict();

/** Training of the run (pruning phases and fine-tuning). */
const trainingSchema = z
  .object({
    /** Channel importance: Taylor (first order, from gradients) or weight magnitude. */
    criterion: z.enum(['taylor', 'magnitude']).default('taylor'),
    /** Total epochs (pruning + fine-tuning). */
    epochs: posInt.default(3),
    /** Total iterations; overrides `epochs`. */
    iterations: posInt.optional(),
    batchSize: posInt.default(128),
    /** Peak learning rate (cosine decay). */
    lr: z.number().positive().finite().default(0.02),
    weightDecay: z.number().min(0).finite().default(5e-4),
    seed: z.number().int().default(1),
    /** Threads per batch (data-parallel workers). */
    workers: posInt.default(Math.min(2, os.cpus().length)),
    /** Distillation: on by default for a model file, `false` to train on labels only. */
    distill: z.union([z.literal(false), distillSchema]).default({}),
  })
  .strict();

/** IEE (iterative exploitation and exploration): schedule left undefined is planned for the run's length. */
const ieeSchema = z
  .object({
    /** Importance-estimation iterations (stage 1). */
    H: posInt.optional(),
    /** Accuracy-improvement iterations (stage 3). */
    J: posInt.optional(),
    /** Exploration iterations (stage 4). */
    Q: posInt.optional(),
    /** Steps. */
    T: posInt.optional(),
    /** Initial update budget (fraction of the latency budget pruned and regrown per step). */
    omega: fraction(1, true).default(0.05),
    /** Update-budget decay. */
    schedule: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
    /** Prunes of the initial descent along HALP's geometric path (1 = the paper's one-shot prune). */
    ramp: posInt.optional(),
    /** Scoring iterations before each prune of that descent. */
    rampInterval: posInt.optional(),
    /** Stage 5's rule. */
    grow: z.enum(GROW_RULES as unknown as [GrowRule, ...GrowRule[]]).default('explored'),
    /** `grow: 'evaluated'`: batches each candidate's loss is measured on. */
    evalBatches: posInt.default(2),
    /** `grow: 'evaluated'`: decide each step's prune by the measured loss too. */
    evaluatePrune: z.boolean().default(false),
    /** Ablation: reactivate and explore pruned channels (stage 4). */
    explore: z.boolean().default(true),
    /** Ablation: freeze active channels while exploring. */
    freeze: z.boolean().default(true),
    /** Ablation: revive channels with zero filters instead of their most recent values. */
    zeroInit: z.boolean().default(false),
  })
  .strict();

/** HALP: the geometric prune schedule; left undefined it is planned for the run's length. */
const halpSchema = z
  .object({
    /** Pruning steps. */
    steps: posInt.optional(),
    /** Iterations between them. */
    interval: posInt.optional(),
  })
  .strict();

/** Where the run lives. */
const runSchema = z
  .object({
    /** Run directory (checkpoint, metrics, model, result.json). */
    out: z.string().min(1),
    /** Continue the run in `out`. */
    resume: z.boolean().default(false),
    /** Stop after this many iterations in this invocation (continue with `resume`). */
    maxIterations: posInt.optional(),
  })
  .strict();

const common = {
  /** Zoo name or tfjs model.json / folder. */
  model: z.string().min(1),
  /** Start from random weights (zoo architectures). */
  fromScratch: z.boolean().default(false),
  data: dataSchema.default({}),
  target: targetSchema,
  latency: latencySchema,
  training: trainingSchema.default({}),
  run: runSchema,
};

/** The schema of {@link PruneOptions}. */
export const pruneOptionsSchema = z.discriminatedUnion('method', [
  z.object({ ...common, method: z.literal('iee'), iee: ieeSchema.default({}) }).strict(),
  z.object({ ...common, method: z.literal('halp'), halp: halpSchema.default({}) }).strict(),
]);

/** Options of a pruning run, defaults filled in (the output of {@link parsePruneOptions}). */
export type PruneOptions = z.output<typeof pruneOptionsSchema>;
/** Options of a pruning run as a user writes them (sections and fields with defaults may be left out). */
export type PruneOptionsInput = z.input<typeof pruneOptionsSchema>;

/**
 * The CLI flag of each option path (for error messages and `--help`); a path
 * not listed is only settable from a `--config` file.
 */
export const PRUNE_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  model: '--model',
  fromScratch: '--from-scratch',
  method: '--method',
  'data.dataset': '--dataset',
  'data.dir': '--data',
  'data.trainSubset': '--train-subset',
  'data.input': '--input',
  'data.mean': '--mean',
  'data.std': '--std',
  'data.preprocess': '--preprocess',
  'data.augment': '--augment',
  'data.valFraction': '--val-fraction',
  'data.order': '--data-order',
  'data.workers': '--data-workers',
  'target.latencyMs': '--target-latency-ms',
  'target.fps': '--target-fps',
  'target.speedup': '--speedup',
  'latency.table': '--lut',
  'latency.margin': '--margin',
  'latency.check': '--no-check-latency',
  'latency.granularity': '--granularity',
  'latency.minKeepFraction': '--min-keep-fraction',
  'training.criterion': '--criterion',
  'training.epochs': '--epochs',
  'training.iterations': '--iterations',
  'training.batchSize': '--batch',
  'training.lr': '--lr',
  'training.weightDecay': '--weight-decay',
  'training.seed': '--seed',
  'training.workers': '--workers',
  'training.distill': '--distill',
  'training.distill.teacher': '--distill',
  'training.distill.alpha': '--distill-alpha',
  'training.distill.temperature': '--distill-temperature',
  'iee.H': '--H',
  'iee.J': '--J',
  'iee.Q': '--Q',
  'iee.T': '--T',
  'iee.omega': '--omega',
  'iee.schedule': '--schedule',
  'iee.ramp': '--ramp',
  'iee.rampInterval': '--ramp-interval',
  'iee.grow': '--grow',
  'iee.evalBatches': '--eval-batches',
  'iee.evaluatePrune': '--evaluate-prune',
  'iee.explore': '--no-explore',
  'iee.freeze': '--no-freeze',
  'iee.zeroInit': '--zero-init',
  'halp.steps': '--steps',
  'halp.interval': '--interval',
  'run.out': '--out',
  'run.resume': '--resume',
  'run.maxIterations': '--max-iterations',
});

/** How prune options are named in messages: flag and path (a `--config` file addresses them by path). */
const PRUNE_NAMING: OptionNaming = {
  flags: PRUNE_FLAGS,
  paths: true,
  // a missing section is named by the field it needs
  required: { latency: ['latency', 'table'], run: ['run', 'out'] },
  message: (issue) => {
    if (issue.code === 'invalid_union' && issue.path.join('.') === 'target')
      return 'give exactly one of --target-fps, --target-latency-ms, --speedup (target: { "fps" | "latencyMs" | "speedup": number })';
    if (issue.code === 'invalid_union_discriminator') return `--method must be one of iee, halp`;
    return undefined;
  },
};

/**
 * Validates pruning options and fills in their defaults, before anything is
 * read, trained or written.
 *
 * @param input - options as a user writes them (a `--config` file merged with flags, or library input)
 * @param origin - what the options came from, for the message (e.g. `run.json`)
 * @throws LatpruneError `BAD_ARGUMENT` naming every bad option by its flag and its path
 */
export function parsePruneOptions(input: unknown, origin = 'prune options'): PruneOptions {
  return parseOptions(pruneOptionsSchema, input, PRUNE_NAMING, origin);
}

const isModelFile = (p: string): boolean => /[/\\]|\.json$|\.onnx$/.test(p);

/**
 * The distillation teacher of a run: the given one, else the `model` itself
 * when it is a trained model file (not a zoo name, not from scratch).
 *
 * @throws LatpruneError `BAD_ARGUMENT` when distillation is asked for explicitly with no teacher file to use
 */
export function distillTeacher(o: PruneOptions, explicit: boolean): PruneRunOptions['distill'] {
  const d = o.training.distill;
  if (d === false) return undefined;
  if (d.teacher !== undefined) return { teacher: d.teacher, alpha: d.alpha, temperature: d.temperature };
  if (o.fromScratch || !isModelFile(o.model)) {
    if (!explicit) return undefined;
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--distill needs a teacher model file when --model is a zoo architecture (${o.model}); give it as --distill <model.json or directory>.`,
    );
  }
  return { teacher: o.model, alpha: d.alpha, temperature: d.temperature };
}

/**
 * The flat options {@link runPrune} and the engine take, from parsed options.
 *
 * @param o - parsed options
 * @param command - the command line recorded in the run's files
 * @param distillExplicit - distillation was asked for (a zoo model then needs a teacher file)
 */
export function toRunOptions(o: PruneOptions, command: string, distillExplicit = false): PruneRunOptions {
  const iee = o.method === 'iee' ? o.iee : ieeSchema.parse({});
  const halp = o.method === 'halp' ? o.halp : halpSchema.parse({});
  const target = o.target;
  const distill = distillTeacher(o, distillExplicit);
  return {
    model: o.model,
    fromScratch: o.fromScratch,
    ...(o.data.dataset !== undefined ? { dataset: o.data.dataset } : {}),
    ...(o.data.dir !== undefined ? { dataDir: o.data.dir } : {}),
    ...(o.data.trainSubset !== undefined ? { trainSubset: o.data.trainSubset } : {}),
    ...(o.data.input !== undefined ? { input: o.data.input } : {}),
    ...(o.data.mean !== undefined && o.data.std !== undefined ? { mean: o.data.mean, std: o.data.std } : {}),
    ...(o.data.preprocess !== undefined ? { preprocess: o.data.preprocess } : {}),
    augment: o.data.augment as PruneRunOptions['augment'],
    ...(o.data.valFraction !== undefined ? { valFraction: o.data.valFraction } : {}),
    dataOrder: o.data.order,
    dataWorkers: o.data.workers,
    lut: o.latency.table,
    target: 'latencyMs' in target ? { latencyMs: target.latencyMs } : 'fps' in target ? { fps: target.fps } : { speedup: target.speedup },
    method: o.method,
    criterion: o.training.criterion,
    epochs: o.training.epochs,
    ...(o.training.iterations !== undefined ? { iterations: o.training.iterations } : {}),
    batchSize: o.training.batchSize,
    lr: o.training.lr,
    weightDecay: o.training.weightDecay,
    seed: o.training.seed,
    workers: o.training.workers,
    H: iee.H,
    J: iee.J,
    Q: iee.Q,
    T: iee.T,
    omega: iee.omega,
    schedule: iee.schedule,
    ramp: iee.ramp,
    rampInterval: iee.rampInterval,
    grow: iee.grow,
    evalBatches: iee.evalBatches,
    evaluatePrune: iee.evaluatePrune,
    explore: iee.explore,
    freeze: iee.freeze,
    zeroInit: iee.zeroInit,
    steps: halp.steps,
    interval: halp.interval,
    granularity: o.latency.granularity === 'auto' ? 0 : o.latency.granularity,
    minKeepFraction: o.latency.minKeepFraction,
    checkLatency: o.latency.check,
    margin: o.latency.margin,
    ...(distill ? { distill } : {}),
    out: o.run.out,
    resume: o.run.resume,
    ...(o.run.maxIterations !== undefined ? { maxIterations: o.run.maxIterations } : {}),
    command,
  };
}

/** Flat options that do not bind a resumed run: where it lives and is read from, and this invocation's stop. */
const RESUME_FREE = new Set(['out', 'resume', 'maxIterations', 'command', 'dataDir', 'dataWorkers', 'preprocess', 'target']);

/**
 * The flat option names a resumed run must keep: every option the schema maps
 * to (the optional ones included) except where the run lives and reads its
 * data, and the target (kept in the run's engine state).
 */
export const RESUME_MUST_MATCH: readonly string[] = Object.freeze(
  (() => {
    const full = parsePruneOptions({
      model: 'a/model.json',
      method: 'iee',
      target: { speedup: 2 },
      latency: { table: 't' },
      data: { dir: 'd', trainSubset: 128, input: [8, 8], mean: [0], std: [1], preprocess: 'p.json', valFraction: 0.1 },
      training: { iterations: 100 },
      run: { out: 'o', maxIterations: 1 },
    });
    return Object.keys(toRunOptions(full, '')).filter((k) => !RESUME_FREE.has(k));
  })(),
);
