/**
 * Opens a run's model and data together, so the two agree: a model file fixes the
 * input size and channels (an image folder is resized to them), a zoo model is built
 * for the data's; the normalisation comes from the flags, a preprocessing file, the
 * model's sidecar or its saved metadata, else the dataset's default. `train`, `prune`
 * and `eval` all call this.
 */
import { stat } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import {
  IMAGE_FOLDER_DATASET,
  dataKind,
  findPreprocessSidecar,
  mergePreprocess,
  openData,
  preprocessFromMetadata,
  readPreprocessFile,
  specNormalization,
  type DataSpec,
  type PreprocessSpec,
  type TrainingData,
} from '../data/index.js';
import { isOnnxPath, readModelMetadata, resolveModel } from '../model/index.js';
import { zooNames } from '../zoo/index.js';

/** An ONNX model's import record (as `resolveModel` gives it). */
type ImportInfo = NonNullable<Awaited<ReturnType<typeof resolveModel>>['onnx']>;

/** Options of {@link openModelAndData}. */
export interface ModelDataOptions {
  /** Seed of a zoo model's initialisation. */
  readonly seed?: number;
  /** A preprocessing JSON file given by the user (`--preprocess`), between the flags and the sidecar. */
  readonly preprocessFile?: string;
}

/** A model and the data opened for it. */
export interface ModelAndData {
  /** The model (a zoo model is built for the data's image shape and classes). */
  readonly model: tf.LayersModel;
  /** `zoo:<name>` or the model's absolute path. */
  readonly source: string;
  /** Whether the model was built from the zoo. */
  readonly fromZoo: boolean;
  /** Import record of an ONNX model. */
  readonly onnx?: ImportInfo;
  /** The data, preprocessed for the model. */
  readonly data: TrainingData;
  /** The preprocessing in effect (input, channels, mean/std, classes), for saving with the model. */
  readonly preprocess: Required<Pick<PreprocessSpec, 'input' | 'channels' | 'mean' | 'std'>> & Pick<PreprocessSpec, 'classes'>;
  /** Where the normalisation came from, in words (`--mean/--std`, a file, the dataset's default). */
  readonly normalizationSource: string;
  /** Things worth telling the user (e.g. class names that differ from the model's). */
  readonly warnings: readonly string[];
}

/** `[height, width, channels]` of a model's input, when all three are fixed. */
function fixedInput(model: tf.LayersModel): [number, number, number] | undefined {
  const s = model.inputs[0]!.shape;
  return s.length === 4 && s.slice(1).every((d) => typeof d === 'number' && d > 0) ? [s[1]!, s[2]!, s[3]!] : undefined;
}

/**
 * Opens a model (zoo name, tfjs model, ONNX file) and the data it is trained or
 * evaluated on, checking that they fit (input size, channels, classes).
 *
 * Normalisation, by priority: `spec.normalization` (flags), `opts.preprocessFile`, the
 * model's sidecar (`model.preprocess.json`), latprune's metadata in a saved model, the
 * dataset's default (an image folder's: ImageNet's).
 *
 * @param modelRef - zoo name or model path
 * @param spec - the data flags
 * @param opts - zoo seed, preprocessing file
 * @throws LatpruneError naming the flag or file when the model and the data do not fit
 */
export async function openModelAndData(modelRef: string, spec: DataSpec, opts: ModelDataOptions = {}): Promise<ModelAndData> {
  const fromFlags: PreprocessSpec = {
    ...(spec.input ? { input: spec.input } : {}),
    ...(spec.channels ? { channels: spec.channels } : {}),
    ...(spec.normalization ? { mean: spec.normalization.mean, std: spec.normalization.std } : {}),
  };
  const fromFile = opts.preprocessFile ? await readPreprocessFile(opts.preprocessFile) : undefined;
  const isZoo = zooNames().includes(modelRef);
  let sidecar: { path: string; spec: PreprocessSpec } | undefined;
  let saved: PreprocessSpec | undefined;
  let loaded: { model: tf.LayersModel; source: string; fromZoo: boolean; onnx?: ImportInfo } | undefined;
  if (!isZoo) {
    loaded = await resolveModel(modelRef);
    const isDir = await stat(modelRef).then(
      (s) => s.isDirectory(),
      () => false,
    );
    sidecar = await findPreprocessSidecar(modelRef, isDir);
    if (!isOnnxPath(modelRef)) saved = preprocessFromMetadata(await readModelMetadata(modelRef).catch(() => ({})), modelRef);
  }
  try {
    const fixed = loaded ? fixedInput(loaded.model) : undefined;
    const modelSpec: PreprocessSpec | undefined = fixed ? { input: [fixed[0], fixed[1]], channels: fixed[2] === 1 ? 1 : 3 } : undefined;
    if (fixed && fixed[2] !== 1 && fixed[2] !== 3)
      throw new LatpruneError('BAD_ARGUMENT', `${modelRef} takes ${fixed[2]} input channels; latprune feeds images with 1 or 3.`);
    // the model's own input beats every file: a sidecar cannot resize a fixed model
    const merged = mergePreprocess(modelSpec, fromFlags, fromFile, sidecar?.spec, saved);
    if (fixed && fromFlags.input && (fromFlags.input[0] !== fixed[0] || fromFlags.input[1] !== fixed[1])) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--input ${fromFlags.input.join('x')} does not match ${modelRef}, which takes ${fixed[0]}x${fixed[1]}; drop --input or give ${fixed[0]}x${fixed[1]}.`,
      );
    }
    // the normalisation comes whole from the first source that gives one
    const normSources: ReadonlyArray<readonly [string | undefined, PreprocessSpec | undefined]> = [
      ['--mean/--std', fromFlags],
      [opts.preprocessFile, fromFile],
      [sidecar?.path, sidecar?.spec],
      [`${modelRef} (saved with the model)`, saved],
    ];
    const normFrom = normSources.find(([, s]) => s !== undefined && specNormalization(s) !== undefined);
    const norm = normFrom && specNormalization(normFrom[1]!);
    // an image folder is resized to what the model (or a file) says; a built-in dataset is not resized,
    // so only what the model or the flags fix is checked against it
    const kind = await dataKind(spec);
    const folder = kind === IMAGE_FOLDER_DATASET;
    const builtinInput = modelSpec?.input ?? fromFlags.input;
    const shape: Pick<DataSpec, 'input' | 'channels'> = folder
      ? { ...(merged.input ? { input: merged.input } : {}), ...(merged.channels ? { channels: merged.channels } : {}) }
      : { ...(builtinInput ? { input: builtinInput } : {}), ...(modelSpec?.channels ? { channels: modelSpec.channels } : {}) };
    const data = await openData({ ...spec, dataset: kind, ...shape, ...(norm ? { normalization: norm } : {}) });
    const numClasses = data.classNames.length;
    const model =
      loaded?.model ??
      (
        await resolveModel(modelRef, {
          inputShape: [...data.imageShape] as [number, number, number],
          numClasses,
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        })
      ).model;
    const out = model.outputs[0]!.shape;
    const units = out[out.length - 1];
    if (typeof units === 'number' && units !== numClasses) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${modelRef} gives ${units} classes, but ${data.dir} has ${numClasses} (${data.classNames.slice(0, 5).join(', ')}${numClasses > 5 ? ', ...' : ''}); give data with the model's classes.`,
      );
    }
    const classes = merged.classes;
    const warnings: string[] = [];
    if (classes && classes.length === numClasses && classes.some((c, i) => c !== data.classNames[i]) && data.kind === 'image-folder') {
      const sameSet = [...classes].sort().join('\u0000') === [...data.classNames].sort().join('\u0000');
      const both = `the classes saved for ${modelRef} (${classes.join(', ')}) and ${data.dir}'s class folders (${data.classNames.join(', ')})`;
      // the same names in another order: labels certainly do not match the outputs
      if (sameSet) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `${both} are the same names in another order: labels would not match the model's outputs. The folders are read in sorted order, as torchvision does; rename them so they sort like the model's classes.`,
        );
      }
      warnings.push(`${both} differ by name; label k is taken to be the k-th sorted folder. Check the order if the accuracy looks wrong.`);
    }
    return {
      model,
      source: loaded?.source ?? `zoo:${modelRef}`,
      fromZoo: isZoo,
      ...(loaded?.onnx ? { onnx: loaded.onnx } : {}),
      data,
      preprocess: {
        input: [data.imageShape[0], data.imageShape[1]],
        channels: data.imageShape[2] === 1 ? 1 : 3,
        mean: [...data.normalization.mean],
        std: [...data.normalization.std],
        classes: data.classNames,
      },
      warnings,
      normalizationSource:
        normFrom?.[0] ?? (data.kind === 'image-folder' ? "ImageNet's (the default for image folders)" : `${data.name}'s default`),
    };
  } catch (err) {
    loaded?.model.dispose();
    throw err;
  }
}

/**
 * What a run feeds the model, for its log: the warnings of {@link openModelAndData} (one line
 * each), then one line with the input, the normalisation and where it came from.
 *
 * @param md - result of {@link openModelAndData}
 * @param withWarnings - include the warnings (default true)
 */
export function describePreprocess(md: ModelAndData, withWarnings = true): string {
  const p = md.preprocess;
  return `${withWarnings ? md.warnings.map((w) => `warning: ${w}\n`).join('') : ''}input: ${p.input[0]}x${p.input[1]}x${p.channels}, normalization mean [${p.mean.map((v) => +v.toFixed(4)).join(', ')}] std [${p.std.map((v) => +v.toFixed(4)).join(', ')}] from ${md.normalizationSource}`;
}

/** The learning rate above which {@link noBatchNormAdvice} warns. */
export const NO_BN_MAX_LR = 0.005;

/**
 * Advice for a model without batch normalisation, or undefined when it has some or is shallow.
 * PyTorch's ONNX export of a model in eval mode always folds each BatchNorm into the convolution
 * before it, so an imported ResNet arrives with no normalisation left: fine-tuned at the usual
 * rates it diverges within a few steps (an imported ResNet-20 at lr 0.02: loss 0.25 -> 141 ->
 * 8.5e5 -> NaN by step 5; at 0.002 it trains).
 *
 * @param model - the model to train
 * @param lr - the learning rate asked for
 * @returns the line for the run's log (`WARNING:` above {@link NO_BN_MAX_LR}, else `note:`) and the bare
 *   reason, for a divergence error
 */
export function noBatchNormAdvice(model: tf.LayersModel, lr: number): { readonly line: string; readonly reason: string } | undefined {
  const classes = model.layers.map((l) => l.getClassName());
  if (classes.includes('BatchNormalization')) return undefined;
  const convs = classes.filter((c) => /Conv2D$/.test(c)).length;
  if (convs < 8) return undefined;
  const base = `the model has ${convs} convolutions and no batch normalisation (PyTorch's eval-mode ONNX export folds every BatchNorm into its convolution); without it fine-tuning needs a small learning rate`;
  const reason = lr > NO_BN_MAX_LR ? `${base}, and --lr ${lr} is likely to diverge: use --lr 0.002 or lower.` : `${base} (--lr ${lr}).`;
  return { line: `${lr > NO_BN_MAX_LR ? 'WARNING' : 'note'}: ${reason}`, reason };
}
