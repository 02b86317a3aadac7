/**
 * Shared helpers of the ONNX import tests: fixture lookup (committed small
 * fixtures and the ignored cache written by scripts/fixtures/export_onnx_fixtures.py),
 * ONNX Runtime reference runs, relative differences, random selections.
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { analyzeModel, applySelection } from '../../src/graph/index.js';
import { randomSelection } from './selection.js';
import { compactModel } from '../../src/model/index.js';
import { modelToOnnx } from '../../src/onnx/index.js';
import { exportInterfaceOf, type ImportInfo } from '../../src/onnx/index.js';

export const SMALL_DIR = join('test', 'fixtures', 'onnx');
export const CACHE_DIR = join('.latprune-cache', 'onnx-fixtures');

/** Path of a fixture, or undefined when it is not on this machine. */
export function fixturePath(name: string): string | undefined {
  for (const d of [SMALL_DIR, CACHE_DIR]) {
    const p = join(d, `${name}.onnx`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The manifest entry of a fixture (sha256, names, opset). */
export function manifestEntry(
  name: string,
): { sha256: string; input: string; output: string; opset: number; input_shape: number[] } | undefined {
  for (const d of [SMALL_DIR, CACHE_DIR]) {
    const p = join(d, 'manifest.json');
    if (!existsSync(p)) continue;
    const m = JSON.parse(readFileSync(p, 'utf8')) as Record<
      string,
      { sha256: string; input: string; output: string; opset: number; input_shape: number[] }
    >;
    if (m[name]) return m[name];
  }
  return undefined;
}

/** max |a - b| / max |a|. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

/** ORT (CPU EP) on ONNX bytes or a file, NCHW input. */
export async function ortRun(
  model: string | Uint8Array,
  inputName: string,
  outputName: string,
  x: Float32Array,
  dims: number[],
): Promise<Float32Array> {
  const s =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, { executionProviders: ['cpu'] })
      : await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    const r = await s.run({ [inputName]: new ort.Tensor('float32', x, dims) });
    return r[outputName]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** tfjs on the imported (NHWC) model with an NCHW input. */
export function tfjsRun(model: tf.LayersModel, x: Float32Array, dims: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.transpose(tf.tensor(x, dims), [0, 2, 3, 1])) as tf.Tensor).dataSync() as Float32Array);
}

/**
 * Compacts `model` to a random selection, exports it with the original
 * interface, and returns the ONNX bytes with the masked model's output on `x`.
 */
export async function compactAndExport(
  model: tf.LayersModel,
  info: ImportInfo,
  x: Float32Array,
  dims: number[],
  seed: number,
): Promise<{ bytes: Uint8Array; masked: Float32Array; before: number; after: number }> {
  const g = analyzeModel(model);
  const sel = randomSelection(g, seed);
  const compact = await compactModel(model, g, sel);
  const bytes = modelToOnnx(compact, { producerVersion: 'test', ...exportInterfaceOf(info) });
  const before = model.countParams();
  const after = compact.countParams();
  compact.dispose();
  applySelection(model, g, sel);
  return { bytes, masked: tfjsRun(model, x, dims), before, after };
}

/** Whether /usr/bin/python3 can import onnx (Debian python3-onnx); the reason when not. */
export function onnxCheckerMissing(): string | undefined {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  return probe.status === 0
    ? undefined
    : `python3-onnx is not installed (${(probe.stderr || 'no /usr/bin/python3').trim().split('\n').pop()})`;
}

/** Runs onnx.checker (full check) on a file; the error text, or '' when it passes. */
export function onnxCheck(file: string): string {
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? '' : r.stderr || `exit ${r.status}`;
}
