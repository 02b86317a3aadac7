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
    throw new LatpruneError('NOT_FOUND', `model file ${path} does not exist. Give a zoo name (${zooNames().join(', ')}) or the path of a tfjs model.json (or its folder).`);
  }
  return st.isDirectory() ? join(path, 'model.json') : path;
}

/**
 * Loads a tfjs LayersModel from a `model.json` path (or a folder holding
 * one) and the weight files its manifest lists.
 *
 * @throws LatpruneError naming the file for a missing file, bad JSON, a
 *   missing weights file or weights that do not match the topology
 */
export async function loadModel(path: string): Promise<tf.LayersModel> {
  const file = await modelJsonPath(path);
  let json: ModelJsonFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as ModelJsonFile;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE';
    throw new LatpruneError(code, `${file}: cannot read a tfjs model.json (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new LatpruneError('BAD_FILE', `${file}: not a tfjs LayersModel model.json (needs "modelTopology" and "weightsManifest").`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const wf = resolve(dirname(file), p);
      try {
        const b = await readFile(wf);
        buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      } catch {
        throw new LatpruneError('NOT_FOUND', `${wf}: weights file listed in ${file} is missing.`);
      }
    }
  }
  try {
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) }));
  } catch (err) {
    throw new LatpruneError('BAD_FILE', `${file}: tfjs could not build the model (${err instanceof Error ? err.message : String(err)}).`, { cause: err });
  }
}

/** Reads `userDefinedMetadata` of a saved model (empty when absent). */
export async function readModelMetadata(path: string): Promise<Record<string, unknown>> {
  const file = await modelJsonPath(path);
  const json = JSON.parse(await readFile(file, 'utf8')) as ModelJsonFile;
  return json.userDefinedMetadata ?? {};
}

/**
 * A zoo name (built with `zoo` options, e.g. the dataset's input shape and
 * classes) or a path to a saved model.
 */
export async function resolveModel(spec: string, zoo: ZooOptions = {}): Promise<{ model: tf.LayersModel; source: string; fromZoo: boolean }> {
  if (zooNames().includes(spec)) return { model: buildZooModel(spec, zoo), source: `zoo:${spec}`, fromZoo: true };
  return { model: await loadModel(spec), source: resolve(spec), fromZoo: false };
}
