/**
 * Training checkpoints: one self-contained file (magic, JSON header, float32
 * payload) holding every model weight (including batch-norm moving
 * statistics), the optimizer state, and caller metadata (step, data cursor
 * with its RNG state, configuration). Written atomically, so a kill during a
 * save leaves the previous checkpoint intact.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { SgdState } from './optimizer.js';

const MAGIC = 'LPCKPT1\n';

interface TensorEntry {
  readonly name: string;
  readonly shape: number[];
  readonly offset: number;
  readonly length: number;
}

interface Header {
  readonly format: 'latprune-checkpoint';
  readonly version: 1;
  readonly meta: unknown;
  readonly weights: TensorEntry[];
  readonly velocities: TensorEntry[];
  readonly extra?: TensorEntry[];
}

/** Named float32 arrays stored alongside (e.g. the pruning engine's MRU store). */
export type ExtraTensors = Record<string, { readonly shape: number[]; readonly data: Float32Array }>;

/** What a checkpoint holds. */
export interface Checkpoint<M> {
  /** Caller metadata (plain JSON). */
  readonly meta: M;
  /** Model weights by variable name. */
  readonly weights: ReadonlyMap<string, { readonly shape: number[]; readonly data: Float32Array }>;
  /** Optimizer state. */
  readonly optimizer: SgdState;
  /** Extra tensors. */
  readonly extra: ExtraTensors;
}

/**
 * A weight's name within its model (`layer/weight`). tfjs makes variable
 * names unique per process (`stem_conv/kernel_2` for a second build), so
 * checkpoints key weights by the name before that suffix.
 */
export function weightKey(w: tf.LayerVariable): string {
  return (w as unknown as { originalName: string }).originalName;
}

/** Encodes a checkpoint of `model`, `optimizer` state and `meta` to bytes (the weights are read asynchronously). */
export async function encodeCheckpoint<M>(
  model: tf.LayersModel,
  optimizer: SgdState,
  meta: M,
  extraTensors: ExtraTensors = {},
): Promise<Uint8Array> {
  const data = await Promise.all(model.weights.map(async (w) => ((await w.read().data()) as Float32Array).slice()));
  const arrays: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], data: Float32Array): TensorEntry => {
    arrays.push(data);
    const e = { name, shape, offset, length: data.length };
    offset += data.length;
    return e;
  };
  const weights = model.weights.map((w, i) => add(weightKey(w), w.shape.slice() as number[], data[i]!));
  const velocities = Object.entries(optimizer.velocities).map(([name, v]) => add(name, v.shape, v.data));
  const extra = Object.entries(extraTensors).map(([name, v]) => add(name, v.shape, v.data));
  const header: Header = { format: 'latprune-checkpoint', version: 1, meta, weights, velocities, extra };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headLen = MAGIC.length + 4 + json.length;
  const pad = (4 - (headLen % 4)) % 4;
  const out = new Uint8Array(headLen + pad + offset * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length + pad, true);
  out.set(json, MAGIC.length + 4);
  out.fill(0x20, MAGIC.length + 4 + json.length, headLen + pad); // JSON-safe padding (spaces)
  const payload = new Float32Array(out.buffer, headLen + pad, offset);
  let at = 0;
  for (const a of arrays) {
    payload.set(a, at);
    at += a.length;
  }
  return out;
}

/** Decodes checkpoint bytes; `source` names the file in errors. */
export function decodeCheckpoint<M>(bytes: Uint8Array, source: string): Checkpoint<M> {
  const bad = (why: string) =>
    new LatpruneError(
      'BAD_FILE',
      `${source}: not a valid latprune checkpoint (${why}). Delete it to start over, or point --resume at another run.`,
    );
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw bad('wrong magic');
  const jsonLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const start = MAGIC.length + 4;
  if (start + jsonLen > bytes.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + jsonLen))) as Header;
  } catch {
    throw bad('corrupt header');
  }
  if (header.format !== 'latprune-checkpoint' || header.version !== 1)
    throw bad(`unsupported format ${String(header.format)} v${String(header.version)}`);
  const dataStart = start + jsonLen;
  const total = [...header.weights, ...header.velocities, ...(header.extra ?? [])].reduce((a, e) => Math.max(a, e.offset + e.length), 0);
  if (dataStart + total * 4 > bytes.length) throw bad(`truncated payload: ${bytes.length} bytes, expected ${dataStart + total * 4}`);
  const payload = new Float32Array(bytes.slice(dataStart, dataStart + total * 4).buffer);
  const get = (e: TensorEntry) => ({ shape: e.shape, data: payload.subarray(e.offset, e.offset + e.length) });
  const weights = new Map(header.weights.map((e) => [e.name, get(e)] as const));
  const velocities: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const e of header.velocities) velocities[e.name] = get(e);
  const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const e of header.extra ?? []) extra[e.name] = get(e);
  return { meta: header.meta as M, weights, optimizer: { velocities }, extra };
}

/** Writes a checkpoint file atomically. */
export async function saveCheckpoint<M>(
  path: string,
  model: tf.LayersModel,
  optimizer: SgdState,
  meta: M,
  extra: ExtraTensors = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(model, optimizer, meta, extra), 'checkpoint');
}

/** Reads a checkpoint file. */
export async function loadCheckpoint<M>(path: string): Promise<Checkpoint<M>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new LatpruneError('NOT_FOUND', `checkpoint ${path} does not exist; run without --resume to start a new run.`);
  }
  return decodeCheckpoint<M>(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * Writes checkpointed weights into `model` (every weight must be present with
 * the same shape).
 */
export function restoreWeights(model: tf.LayersModel, weights: Checkpoint<unknown>['weights'], source: string): void {
  for (const w of model.weights) {
    const saved = weights.get(weightKey(w));
    if (!saved)
      throw new LatpruneError('BAD_FILE', `${source}: checkpoint has no weight '${weightKey(w)}'; it belongs to a different model.`);
    if (saved.shape.join('x') !== w.shape.join('x')) {
      throw new LatpruneError(
        'BAD_FILE',
        `${source}: weight '${w.name}' has shape [${saved.shape}] in the checkpoint but [${w.shape}] in the model.`,
      );
    }
    tf.tidy(() => {
      w.write(tf.tensor(saved.data, saved.shape));
    });
  }
}

/**
 * Opens a run's checkpoint: with `resume`, loads it and checks that every
 * option in `keys` equals the saved run's (`meta.options`); without, refuses a
 * directory that already holds a run. Returns undefined for a new run.
 * `defaults` gives the value of an option that a run saved before the option
 * existed (or a caller that leaves it out) stands for, so that such runs
 * still resume.
 *
 * @throws LatpruneError naming the flag that differs, the missing checkpoint,
 *   or the occupied run directory
 */
export async function openRunCheckpoint<M extends { readonly options: object }>(
  path: string,
  out: string,
  resume: boolean,
  options: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  defaults: Readonly<Record<string, unknown>> = {},
): Promise<Checkpoint<M> | undefined> {
  if (!resume) {
    if (existsSync(path))
      throw new LatpruneError('BAD_ARGUMENT', `${out} already holds a run (${path}); add --resume to continue it or choose another --out.`);
    return undefined;
  }
  if (!existsSync(path)) throw new LatpruneError('NOT_FOUND', `--resume: ${path} does not exist; run without --resume to start the run.`);
  const ck = await loadCheckpoint<M>(path);
  const saved = ck.meta.options as Readonly<Record<string, unknown>>;
  for (const k of keys) {
    const was = saved[k] ?? defaults[k];
    const now = options[k] ?? defaults[k];
    if (JSON.stringify(was) !== JSON.stringify(now)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `--resume: --${k} is ${JSON.stringify(now)} but the run in ${out} used ${JSON.stringify(was)}; resume with the same flags or choose another --out.`,
      );
    }
  }
  return ck;
}
