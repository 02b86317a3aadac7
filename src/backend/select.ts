/**
 * Choosing the TensorFlow.js backend at start-up.
 *
 * Order of preference: `node-gpu` (@tensorflow/tfjs-node-gpu) > `node`
 * (@tensorflow/tfjs-node) > `webgpu` (@tensorflow/tfjs-backend-webgpu on
 * Dawn, when a hardware adapter is found) > `wasm`
 * (@tensorflow/tfjs-backend-wasm, with latprune's fast gradient kernels) >
 * `cpu` (pure JS). The native packages are optional peer dependencies: their
 * install script downloads libtensorflow, which fails on machines without
 * internet, so a missing or broken native package is detected here at run
 * time and skipped with a reason. The WebGPU packages are optional
 * dependencies; a software WebGPU adapter (lavapipe) is used only when forced
 * (see `webgpu.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { registerWasmGradientKernels } from './wasm/register.js';
import { installFastBatchNorm } from './batchnorm/op.js';
import { WEBGPU_HINT, adapterSummary, gpuDeviceNode, probeWebGpu, webGpuRefusal, type WebGpuAdapterInfo } from './webgpu.js';

/** User-facing backend names, in order of preference. */
export const BACKEND_NAMES = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'] as const;

/** A backend latprune can run on. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What {@link initBackend} chose and why. */
export interface BackendInfo {
  /** latprune's name for the active backend. */
  readonly name: BackendName;
  /** tfjs' own name for it (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  readonly tfjsName: string;
  /** The WebGPU adapter, when the backend is `webgpu`. */
  readonly adapter?: WebGpuAdapterInfo;
  /** Whether the user asked for it (flag or environment) rather than auto-selection. */
  readonly explicit: boolean;
  /** Why each preferred backend before it was skipped (empty if explicit). */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
  /** One human line: which backend is active and why. */
  readonly summary: string;
}

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /** Requested backend (e.g. from `--backend`); overrides `LATPRUNE_BACKEND`. */
  readonly requested?: string;
  /** Environment to read `LATPRUNE_BACKEND` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

let active: BackendInfo | undefined;

const PACKAGE_OF: Partial<Record<BackendName, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

/** Returns the backend chosen by the last {@link initBackend} call, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/** Parses a backend name, throwing a {@link LatpruneError} that lists the valid ones. */
export function parseBackendName(value: string, source: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new LatpruneError('BAD_ARGUMENT', `${source}: unknown backend '${value}'. Valid backends: ${BACKEND_NAMES.join(', ')}.`);
}

function silenceCpuBanner(): void {
  // The cpu backend prints an "install tfjs-node" banner on its first write in
  // Node; latprune prints its own one-line backend summary instead.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

async function tryNative(pkg: string): Promise<void> {
  // tfjs-node registers the 'tensorflow' backend as a side effect of import.
  // A missing package or a missing libtensorflow binary throws here.
  await import(pkg);
  if (tf.findBackend('tensorflow') === null && !tf.engine().registryFactory['tensorflow']) {
    throw new Error(`${pkg} loaded but did not register the 'tensorflow' backend`);
  }
}

/** Brings up WebGPU; `forced`: a software adapter is accepted (auto-selection refuses it). */
async function activateWebGpu(forced: boolean): Promise<WebGpuAdapterInfo> {
  if (!forced) {
    // a machine without a GPU device node has no hardware adapter: do not load Dawn at all
    const node = gpuDeviceNode();
    if (!node.found) throw new Error(`no GPU (${node.where})`);
  }
  const probe = await probeWebGpu();
  const refusal = webGpuRefusal(probe, forced);
  if (refusal !== undefined || !probe.adapter) throw new Error(refusal ?? 'no WebGPU adapter');
  return probe.adapter;
}

async function activate(name: BackendName, forced: boolean): Promise<{ tfjsName: string; adapter?: WebGpuAdapterInfo }> {
  let adapter: WebGpuAdapterInfo | undefined;
  switch (name) {
    case 'node-gpu':
      await tryNative('@tensorflow/tfjs-node-gpu');
      break;
    case 'node':
      await tryNative('@tensorflow/tfjs-node');
      break;
    case 'webgpu':
      adapter = await activateWebGpu(forced);
      break;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmGradientKernels();
      break;
    case 'cpu':
      break;
  }
  // Training-mode batch norm with an analytic gradient on wasm and cpu (a
  // no-op on the native backends, where tfjs' own ops are fast).
  installFastBatchNorm();
  const tfjsName = name === 'node-gpu' || name === 'node' ? 'tensorflow' : name;
  const ok = await tf.setBackend(tfjsName);
  if (!ok) throw new Error(`tf.setBackend('${tfjsName}') returned false`);
  await tf.ready();
  if (tf.getBackend() !== tfjsName) throw new Error(`active backend is '${tf.getBackend()}', not '${tfjsName}'`);
  return { tfjsName, ...(adapter ? { adapter } : {}) };
}

/** What to do about a backend that cannot load, for the error message. */
function remedy(name: BackendName): string {
  if (name === 'webgpu') return `${WEBGPU_HINT}; or choose another of: ${BACKEND_NAMES.join(', ')}.`;
  const pkg = PACKAGE_OF[name];
  return `${pkg ? `Install ${pkg} (its install downloads libtensorflow) or choose` : 'Choose'} another of: ${BACKEND_NAMES.join(', ')}.`;
}

function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n')[0] ?? msg;
  if (/Cannot find (package|module)/.test(first)) return 'package not installed';
  return first.length > 240 ? `${first.slice(0, 237)}...` : first;
}

/**
 * Selects and initialises the tfjs backend.
 *
 * With an explicit request (argument or `LATPRUNE_BACKEND`) only that backend
 * is tried and failure is an error with the reason. Otherwise backends are
 * tried in {@link BACKEND_NAMES} order and the first that loads wins.
 *
 * @returns what was chosen, with a one-line summary to print
 * @throws LatpruneError `BAD_ARGUMENT` for an unknown name, `BACKEND_UNAVAILABLE`
 *   when an explicitly requested backend cannot load
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  silenceCpuBanner();
  let requested: BackendName | undefined;
  let source = '';
  if (options.requested !== undefined && options.requested !== '') {
    requested = parseBackendName(options.requested, '--backend');
    source = '--backend';
  } else if (env['LATPRUNE_BACKEND']) {
    requested = parseBackendName(env['LATPRUNE_BACKEND'], 'LATPRUNE_BACKEND');
    source = 'LATPRUNE_BACKEND';
  }

  if (requested) {
    try {
      const { tfjsName, adapter } = await activate(requested, true);
      silenceCpuBanner();
      active = {
        name: requested,
        tfjsName,
        ...(adapter ? { adapter } : {}),
        explicit: true,
        skipped: [],
        summary: `latprune: tfjs backend '${requested}'${adapter ? ` on ${adapterSummary(adapter)}` : ''} (requested by ${source})`,
      };
      return active;
    } catch (err) {
      throw new LatpruneError(
        'BACKEND_UNAVAILABLE',
        `${source}: backend '${requested}' cannot be loaded: ${reasonOf(err)}. ${remedy(requested)}`,
        { cause: err },
      );
    }
  }

  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const name of BACKEND_NAMES) {
    try {
      const { tfjsName, adapter } = await activate(name, false);
      silenceCpuBanner();
      const why = skipped.length ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ' (fastest available)';
      active = {
        name,
        tfjsName,
        ...(adapter ? { adapter } : {}),
        explicit: false,
        skipped,
        summary: `latprune: tfjs backend '${name}'${adapter ? ` on ${adapterSummary(adapter)}` : ''}${why}`,
      };
      return active;
    } catch (err) {
      skipped.push({ name, reason: reasonOf(err) });
    }
  }
  throw new LatpruneError(
    'BACKEND_UNAVAILABLE',
    `no tfjs backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}
