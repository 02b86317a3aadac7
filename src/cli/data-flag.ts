/**
 * The data flags `train`, `eval` and `prune` share: `--data` (a dataset name, a folder
 * holding one, or an image folder), `--dataset`, and how images are fed to the model
 * (`--input`, `--mean`/`--std`, `--preprocess`, `--augment`, `--val-fraction`, ...).
 */
import { Option, type Command } from 'commander';
import {
  AUGMENT_NAMES,
  DATASET_NAMES,
  IMAGE_FOLDER_DATASET,
  parseChannelList,
  parseInputSize,
  type AugmentName,
  type DataSpec,
} from '../data/index.js';
import { LatpruneError } from '../errors.js';

/** Parsed `--data`/`--dataset`. */
export interface DataChoice {
  /** A built-in dataset, `folder`, or undefined (guessed from `dir`). */
  readonly dataset?: string;
  readonly dir?: string;
}

/** Interprets `--data` (a dataset name or a directory) and `--dataset`. */
export function parseDataFlag(data: string | undefined, dataset: string | undefined): DataChoice {
  if (data && (DATASET_NAMES as readonly string[]).includes(data)) {
    if (dataset !== undefined && dataset !== data)
      throw new LatpruneError('BAD_ARGUMENT', `--data ${data} names a dataset, but --dataset says ${dataset}; give one of them.`);
    return { dataset: data };
  }
  if (dataset !== undefined && !([...DATASET_NAMES, IMAGE_FOLDER_DATASET] as readonly string[]).includes(dataset)) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `--dataset must be one of ${[...DATASET_NAMES, IMAGE_FOLDER_DATASET].join(', ')}, got "${dataset}".`,
    );
  }
  return { ...(dataset !== undefined ? { dataset } : {}), ...(data ? { dir: data } : {}) };
}

/** Help of the data flags (one table for every command, and for `prune`'s flag list). */
export const DATA_FLAGS = [
  {
    flags: '--data <name|dir>',
    help: 'dataset name, a folder holding one, or an image folder (DIR/train/<class>/*); default as `latprune doctor` says',
    advanced: false,
  },
  {
    flags: '--dataset <name>',
    help: 'what --data DIR holds: fashion-mnist, mnist, cifar10 or folder (default: guessed from its files)',
    advanced: true,
  },
  { flags: '--input <HxW>', help: "image folders: model input HxW (default: the model's)", advanced: false },
  {
    flags: '--mean <list>',
    help: "per-channel mean, 0-1 units, e.g. 0.485,0.456,0.406 (default: the model's .preprocess.json, else the data's)",
    advanced: false,
  },
  { flags: '--std <list>', help: 'per-channel std, with --mean', advanced: false },
  {
    flags: '--preprocess <file>',
    help: 'preprocessing JSON {"input", "channels", "mean", "std", "classes"} (default: <model>.preprocess.json next to the model)',
    advanced: true,
  },
  {
    flags: '--augment <kind>',
    help: `training augmentation: ${AUGMENT_NAMES.join(', ')} (auto: the dataset's; image folders: rrc from 96 px, else none)`,
    advanced: true,
  },
  { flags: '--val-fraction <x>', help: 'image folders without val/: fraction held out for validation (default 0.1)', advanced: true },
  { flags: '--data-order <order>', help: 'image folders: torchvision (default, class by class) or file-name', advanced: true },
  { flags: '--data-workers <n>', help: 'image folders: decode threads (default 1)', advanced: true },
] as const;

/**
 * Adds the data flags to a command.
 *
 * @param cmd - command
 * @param opts - `training`: include the training-only flags (augmentation); `hideAdvanced`: keep the advanced ones out of `--help`
 */
export function addDataOptions(cmd: Command, opts: { training: boolean; hideAdvanced: boolean }): Command {
  for (const f of DATA_FLAGS) {
    if (!opts.training && f.flags.startsWith('--augment')) continue;
    const o = new Option(f.flags, f.help);
    if (opts.hideAdvanced && f.advanced) o.hideHelp();
    cmd.addOption(o);
  }
  return cmd;
}

/** The data flags' values as commander parsed them. */
export interface DataFlagValues {
  readonly data?: string;
  readonly dataset?: string;
  readonly input?: string;
  readonly mean?: string;
  readonly std?: string;
  readonly preprocess?: string;
  readonly augment?: string;
  readonly valFraction?: string | number;
  readonly dataOrder?: string;
  readonly dataWorkers?: string | number;
}

/**
 * The data spec and preprocessing file the data flags give.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming the flag
 */
export function dataSpecFromFlags(o: DataFlagValues): { spec: DataSpec; preprocessFile?: string } {
  const choice = parseDataFlag(o.data, o.dataset);
  if ((o.mean === undefined) !== (o.std === undefined))
    throw new LatpruneError('BAD_ARGUMENT', `give --mean and --std together (got only ${o.mean !== undefined ? '--mean' : '--std'}).`);
  if (o.augment !== undefined && !(AUGMENT_NAMES as readonly string[]).includes(o.augment)) {
    throw new LatpruneError('BAD_ARGUMENT', `--augment must be one of ${AUGMENT_NAMES.join(', ')}, got "${o.augment}".`);
  }
  if (o.dataOrder !== undefined && o.dataOrder !== 'torchvision' && o.dataOrder !== 'file-name') {
    throw new LatpruneError('BAD_ARGUMENT', `--data-order must be torchvision or file-name, got "${o.dataOrder}".`);
  }
  const num = (v: string | number | undefined, flag: string, ok: (n: number) => boolean, want: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (String(v).trim() === '' || !ok(n)) throw new LatpruneError('BAD_ARGUMENT', `${flag} must be ${want}, got "${String(v)}".`);
    return n;
  };
  const valFraction = num(o.valFraction, '--val-fraction', (n) => n > 0 && n < 1, 'a fraction in (0, 1), e.g. 0.1');
  const workers = num(o.dataWorkers, '--data-workers', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const spec: DataSpec = {
    ...choice,
    ...(o.input !== undefined ? { input: parseInputSize(o.input) } : {}),
    ...(o.mean !== undefined && o.std !== undefined
      ? { normalization: { mean: parseChannelList(o.mean, '--mean'), std: parseChannelList(o.std, '--std', true) } }
      : {}),
    ...(o.augment !== undefined ? { augment: o.augment as AugmentName } : {}),
    ...(valFraction !== undefined ? { valFraction } : {}),
    ...(o.dataOrder !== undefined ? { order: o.dataOrder as 'torchvision' | 'file-name' } : {}),
    ...(workers !== undefined ? { workers } : {}),
  };
  return { spec, ...(o.preprocess !== undefined ? { preprocessFile: o.preprocess } : {}) };
}
