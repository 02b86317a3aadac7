/**
 * What a model expects of its input, when the model file cannot say: input size,
 * channels, per-channel mean/std and class names. An ONNX file exported from PyTorch
 * carries none of it (the normalisation lives in the training script), so latprune
 * reads it from flags (`--input`, `--mean`, `--std`) or from a small JSON file next
 * to the model, its *sidecar*:
 *
 * ```json
 * { "input": [28, 28], "channels": 1, "mean": [0.5], "std": [0.5], "classes": ["T-shirt/top", "..."] }
 * ```
 *
 * `model.onnx` -> `model.preprocess.json`; a tfjs model folder (or its `model.json`)
 * -> `preprocess.json` in that folder. Every key is optional.
 */

import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { LatpruneError } from '../errors.js';
import type { Normalization } from './preprocess.js';

/** A model's input preprocessing, as far as it is known (all optional). */
export interface PreprocessSpec {
  /** Input `[height, width]` in pixels. */
  readonly input?: readonly [number, number];
  /** Input channels (1 grey, 3 RGB). */
  readonly channels?: 1 | 3;
  /** Per-channel mean in [0, 1] units (one value broadcasts). */
  readonly mean?: readonly number[];
  /** Per-channel standard deviation in [0, 1] units (one value broadcasts). */
  readonly std?: readonly number[];
  /** Class names by label. */
  readonly classes?: readonly string[];
}

/** The file name suffix of a model's sidecar. */
export const PREPROCESS_SIDECAR_SUFFIX = '.preprocess.json';

const positive = z.number().int().positive();
const SCHEMA = z
  .object({
    input: z.tuple([positive, positive]).optional(),
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    mean: z.array(z.number().finite()).min(1).optional(),
    std: z.array(z.number().positive().finite()).min(1).optional(),
    classes: z.array(z.string()).min(2).optional(),
  })
  .strict();

/**
 * Where a model's sidecar would be: `x.onnx` -> `x.preprocess.json`, `dir/model.json` or
 * `dir` -> `dir/preprocess.json`.
 *
 * @param modelPath - path of the model file or folder
 * @param isDirectory - whether `modelPath` is a folder
 */
export function sidecarPathFor(modelPath: string, isDirectory: boolean): string {
  if (isDirectory) return join(modelPath, 'preprocess.json');
  const name = basename(modelPath);
  if (name === 'model.json') return join(dirname(modelPath), 'preprocess.json');
  return join(dirname(modelPath), name.replace(/\.(onnx|json)$/i, '') + PREPROCESS_SIDECAR_SUFFIX);
}

/**
 * Validates a preprocessing object (from a sidecar or model metadata).
 *
 * @param value - parsed JSON
 * @param origin - file or source named in errors
 * @throws LatpruneError `BAD_FILE` naming the key and what it must be
 */
export function parsePreprocessSpec(value: unknown, origin: string): PreprocessSpec {
  const r = SCHEMA.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path.join('.') || '(top level)';
    throw new LatpruneError(
      'BAD_FILE',
      `${origin}: "${key}": ${issue.message}. Expected {"input": [H, W], "channels": 1|3, "mean": [...], "std": [...], "classes": [...]}, every key optional.`,
    );
  }
  const s = r.data;
  if (s.mean && s.std && s.mean.length !== s.std.length) {
    throw new LatpruneError('BAD_FILE', `${origin}: "mean" has ${s.mean.length} values and "std" ${s.std.length}; give one per channel (or one each).`);
  }
  for (const [k, v] of [['mean', s.mean], ['std', s.std]] as const) {
    if (v && s.channels && v.length !== 1 && v.length !== s.channels) {
      throw new LatpruneError('BAD_FILE', `${origin}: "${k}" has ${v.length} values for ${s.channels} channels; give ${s.channels} or 1.`);
    }
  }
  return s as PreprocessSpec;
}

/**
 * The preprocessing latprune saved in a model's metadata (`latprune.preprocess` of a tfjs
 * model's `userDefinedMetadata`), if any.
 *
 * @param metadata - the model's user-defined metadata
 * @param origin - the model's path, named in errors
 * @throws LatpruneError `BAD_FILE` when the saved object is invalid
 */
export function preprocessFromMetadata(metadata: Readonly<Record<string, unknown>>, origin: string): PreprocessSpec | undefined {
  const p = (metadata['latprune'] as { preprocess?: unknown } | undefined)?.preprocess;
  return p === undefined ? undefined : parsePreprocessSpec(p, `${origin} (latprune.preprocess metadata)`);
}

/**
 * Reads a preprocessing JSON file.
 *
 * @throws LatpruneError `NOT_FOUND` when the file is missing, `BAD_FILE` when it is not valid JSON or not such an object
 */
export async function readPreprocessFile(path: string): Promise<PreprocessSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE';
    throw new LatpruneError(code, `preprocessing file ${path}: cannot read it (${err instanceof Error ? err.message : String(err)}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LatpruneError('BAD_FILE', `preprocessing file ${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  return parsePreprocessSpec(json, path);
}

/**
 * The sidecar of a model file, when there is one.
 *
 * @param modelPath - path of the model file or folder
 * @param isDirectory - whether `modelPath` is a folder
 * @returns the path and its contents, or undefined when no sidecar exists
 * @throws LatpruneError `BAD_FILE` when the sidecar exists but is invalid
 */
export async function findPreprocessSidecar(modelPath: string, isDirectory: boolean): Promise<{ readonly path: string; readonly spec: PreprocessSpec } | undefined> {
  const path = sidecarPathFor(modelPath, isDirectory);
  try {
    return { path, spec: await readPreprocessFile(path) };
  } catch (err) {
    if (err instanceof LatpruneError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * Parses `--input`: `HxW` (e.g. `224x224`) or one number for a square.
 *
 * @param text - flag value
 * @param flag - flag named in errors
 * @throws LatpruneError `BAD_ARGUMENT` naming the flag
 */
export function parseInputSize(text: string, flag = '--input'): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*$/i.exec(text);
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
    throw new LatpruneError('BAD_ARGUMENT', `${flag} must be HxW in pixels (e.g. 224x224) or one size for a square (224), got "${text}".`);
  }
  return [h, w];
}

/**
 * Parses a per-channel list flag (`--mean 0.485,0.456,0.406`).
 *
 * @param text - comma- or space-separated numbers
 * @param flag - flag named in errors
 * @param positiveOnly - require values > 0 (for `--std`)
 * @throws LatpruneError `BAD_ARGUMENT` naming the flag
 */
export function parseChannelList(text: string, flag: string, positiveOnly = false): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  const values = parts.map(Number);
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v) || (positiveOnly && !(v > 0)))) {
    throw new LatpruneError('BAD_ARGUMENT', `${flag} must be one ${positiveOnly ? 'positive ' : ''}number per channel in [0, 1] units (e.g. ${flag} ${positiveOnly ? '0.229,0.224,0.225' : '0.485,0.456,0.406'}) or one for all, got "${text}".`);
  }
  return values;
}

/**
 * The normalisation a spec gives, when it gives both mean and std.
 *
 * @param spec - preprocessing spec
 */
export function specNormalization(spec: PreprocessSpec): Normalization | undefined {
  return spec.mean && spec.std ? { mean: [...spec.mean], std: [...spec.std] } : undefined;
}

/**
 * Merges preprocessing specs: earlier ones win key by key (flags, then sidecar, then model metadata).
 *
 * @param specs - specs in priority order (undefined ones are skipped)
 */
export function mergePreprocess(...specs: ReadonlyArray<PreprocessSpec | undefined>): PreprocessSpec {
  const out: { -readonly [K in keyof PreprocessSpec]: PreprocessSpec[K] } = {};
  for (const s of specs) {
    if (!s) continue;
    for (const k of ['input', 'channels', 'mean', 'std', 'classes'] as const) {
      if (out[k] === undefined && s[k] !== undefined) (out as Record<string, unknown>)[k] = s[k];
    }
  }
  return out;
}
