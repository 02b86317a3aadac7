/**
 * Saving and loading tfjs LayersModels as files (`model.json` + `weights.bin`,
 * tfjs' standard layout) without tfjs-node's `file://` handlers, so the same
 * code works on every backend. Zoo names and model files resolve through one
 * function, so a user's own model works wherever a zoo model does.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { buildZooModel, zooNames, type ZooOptions } from '../zoo/index.js';
// also registers the layer classes of imported models (GroupedConv2D, HardSigmoid) with tfjs
import { importOnnx, type ImportInfo } from '../onnx/index.js';

/** Whether a model path names an ONNX file (imported on load) rather than a tfjs model. */
export function isOnnxPath(path: string): boolean {
  return /\.onnx$/i.test(path);
}

/**
 * Reads and imports an ONNX file (a CNN as PyTorch's exporter writes it) as a
 * tfjs model; see `docs/onnx-import.md`.
 *
 * @throws LatpruneError `NOT_FOUND` / `BAD_FILE` naming the file, `UNSUPPORTED_LAYER` naming the node
 */
export async function loadOnnxModel(path: string): Promise<{ model: tf.LayersModel; info: ImportInfo }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE';
    throw new LatpruneError(code, `model file ${path}: cannot read it (${err instanceof Error ? err.message : String(err)}).`);
  }
  return importOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { source: path });
}

/** tfjs' model.json layout (the fields latprune reads and writes). */
interface ModelJsonFile {
  readonly modelTopology: object;
  readonly format?: string;
  readonly generatedBy?: string;
  readonly weightsManifest: ReadonlyArray<{ readonly paths: readonly string[]; readonly weights: tf.io.WeightsManifestEntry[] }>;
  readonly userDefinedMetadata?: Record<string, unknown>;
}

/**
 * Saves `model` as `<dir>/model.json` and `<dir>/weights.bin` (each written
 * atomically; weights first, so a model.json always has its weights).
 */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(bytes));
      const json: ModelJsonFile = {
        modelTopology: artifacts.modelTopology as object,
        format: 'layers-model',
        generatedBy: `latprune (tfjs ${tf.version.tfjs})`,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

async function modelJsonPath(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new LatpruneError(
      'NOT_FOUND',
      `model file ${path} does not exist. Give a zoo name (${zooNames().join(', ')}), an ONNX file, or the path of a tfjs model.json (or its folder).`,
    );
  }
  return st.isDirectory() ? join(path, 'model.json') : path;
}

/** What to do about a damaged model. */
const REDO = 'Re-save the model, or download model.json and all its .bin weight files again (and keep them in one folder).';

/** Reads and checks a model.json (named errors for a missing, unreadable or malformed file). */
async function readModelJson(file: string): Promise<ModelJsonFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE';
    throw new LatpruneError(code, `${file}: cannot read a tfjs model.json (${err instanceof Error ? err.message : String(err)}).`);
  }
  let json: ModelJsonFile;
  try {
    json = JSON.parse(text) as ModelJsonFile;
  } catch (err) {
    const what = text.trim() === '' ? 'the file is empty' : `it is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    throw new LatpruneError(
      'BAD_FILE',
      `${file}: cannot read a tfjs model.json (${what}; ${text.length} bytes, possibly truncated). ${REDO}`,
    );
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new LatpruneError('BAD_FILE', `${file}: not a tfjs LayersModel model.json (needs "modelTopology" and "weightsManifest").`);
  }
  (json.weightsManifest as unknown[]).forEach((entry, i) => {
    const g = (entry ?? {}) as { paths?: unknown; weights?: unknown };
    const isWeight = (x: unknown): boolean => {
      const w = (x ?? {}) as { name?: unknown; shape?: unknown; dtype?: unknown };
      return (
        typeof w.name === 'string' &&
        typeof w.dtype === 'string' &&
        Array.isArray(w.shape) &&
        w.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)
      );
    };
    const ok =
      typeof entry === 'object' &&
      Array.isArray(g.paths) &&
      g.paths.every((p: unknown) => typeof p === 'string' && p !== '') &&
      Array.isArray(g.weights) &&
      g.weights.every(isWeight);
    if (!ok)
      throw new LatpruneError(
        'BAD_FILE',
        `${file}: weightsManifest[${i}] is malformed (each group needs "paths": [file names] and "weights": [{name, shape, dtype}]). ${REDO}`,
      );
  });
  return json;
}

/** Bytes per value of each dtype in a weights file (tfjs' DTYPE_VALUE_SIZE_MAP). */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, float16: 2, int32: 4, uint16: 2, uint8: 1, bool: 1, complex64: 8 };

/**
 * Bytes a manifest group's weights take in its files, as tfjs reads them
 * (product of the shape times the bytes of the dtype, or of the quantized
 * dtype); undefined when it cannot be known (string weights, unknown dtypes).
 */
export function manifestGroupBytes(weights: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const w of weights) {
    const per = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
    if (per === undefined) return undefined;
    total += w.shape.reduce((a, d) => a * d, 1) * per;
  }
  return total;
}

/**
 * Checks one manifest group's shard sizes against the bytes its weights
 * need. tfjs concatenates a group's shards in order and slices the weights
 * off the result; its converter cuts a group into shards of one fixed size
 * (the last one holds the rest), so with several shards the intact size is
 * read off the largest non-last shard and each shard is compared with it.
 *
 * @throws LatpruneError `BAD_FILE` naming the shard(s) and the byte counts
 */
function checkGroupSizes(
  file: string,
  group: number,
  paths: readonly string[],
  sizes: readonly number[],
  nWeights: number,
  expected: number,
): void {
  const actual = sizes.reduce((a, b) => a + b, 0);
  if (actual === expected) return;
  const n = paths.length;
  const state = (have: number, want: number) => (have < want ? 'truncated' : 'too long');
  if (n === 1) {
    throw new LatpruneError(
      'BAD_FILE',
      `${paths[0]}: weights file has ${actual} bytes, but ${file} lists ${nWeights} weights that take ${expected} bytes (${state(actual, expected)}). ${REDO}`,
    );
  }
  const group1 = `weights group ${group + 1} of ${file} (${nWeights} weights) takes ${expected} bytes, but its ${n} shards hold ${actual} bytes (${state(actual, expected)})`;
  // the converter's shard size: the largest non-last shard, trusted when two shards agree on it or it is a round size
  const nonLast = sizes.slice(0, -1);
  const shard = Math.max(...nonLast);
  const last = expected - (n - 1) * shard;
  const trusted = (nonLast.filter((x) => x === shard).length >= 2 || shard % 65536 === 0) && last > 0 && last <= shard;
  if (trusted) {
    const bad = paths.flatMap((p, i) => {
      const want = i < n - 1 ? shard : last;
      return sizes[i] === want ? [] : [`${p} has ${sizes[i]} bytes, expected ${want} (${state(sizes[i]!, want)})`];
    });
    if (bad.length > 0) throw new LatpruneError('BAD_FILE', `${group1}: ${bad.join('; ')}. ${REDO}`);
  }
  throw new LatpruneError('BAD_FILE', `${group1}; shard sizes: ${paths.map((p, i) => `${p} ${sizes[i]} bytes`).join(', ')}. ${REDO}`);
}

/**
 * Loads a tfjs LayersModel from a `model.json` path (or a folder holding
 * one) and the weight files its manifest lists. Every weights file is
 * checked before tfjs sees it: present, and its manifest group's files hold
 * exactly the bytes the group's weights need.
 *
 * @throws LatpruneError naming the file for a missing file, bad JSON, a
 *   missing or truncated weights file or weights that do not match the
 *   topology
 */
export async function loadModel(path: string): Promise<tf.LayersModel> {
  if (isOnnxPath(path)) return (await loadOnnxModel(path)).model;
  const file = await modelJsonPath(path);
  const json = await readModelJson(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const [gi, group] of json.weightsManifest.entries()) {
    specs.push(...group.weights);
    const files = group.paths.map((p) => resolve(dirname(file), p));
    const sizes: number[] = [];
    for (const wf of files) {
      let b: Buffer;
      try {
        b = await readFile(wf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new LatpruneError('NOT_FOUND', `${wf}: weights file listed in ${file} is missing. ${REDO}`);
        throw new LatpruneError(
          'BAD_FILE',
          `${wf}: cannot read this weights file listed in ${file} (${err instanceof Error ? err.message : String(err)}).`,
        );
      }
      sizes.push(b.byteLength);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
    const expected = manifestGroupBytes(group.weights);
    if (expected !== undefined) checkGroupSizes(file, gi, files, sizes, group.weights.length, expected);
  }
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) }),
    );
  } catch (err) {
    throw new LatpruneError('BAD_FILE', `${file}: tfjs could not build the model (${err instanceof Error ? err.message : String(err)}).`, {
      cause: err,
    });
  }
}

/** Reads `userDefinedMetadata` of a saved model (empty when absent). */
export async function readModelMetadata(path: string): Promise<Record<string, unknown>> {
  const json = await readModelJson(await modelJsonPath(path));
  return json.userDefinedMetadata ?? {};
}

/**
 * A zoo name (built with `zoo` options, e.g. the dataset's input shape and
 * classes) or a path to a saved model.
 */
export async function resolveModel(
  spec: string,
  zoo: ZooOptions = {},
): Promise<{ model: tf.LayersModel; source: string; fromZoo: boolean; onnx?: ImportInfo }> {
  if (zooNames().includes(spec)) return { model: buildZooModel(spec, zoo), source: `zoo:${spec}`, fromZoo: true };
  if (isOnnxPath(spec)) {
    const { model, info } = await loadOnnxModel(spec);
    return { model, source: resolve(spec), fromZoo: false, onnx: info };
  }
  return { model: await loadModel(spec), source: resolve(spec), fromZoo: false };
}
