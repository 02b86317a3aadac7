/**
 * The tfjs WebGPU backend in Node, through Dawn's Node bindings (the optional
 * npm package `webgpu`, whose tarball carries a prebuilt `dawn.node`) and
 * `@tensorflow/tfjs-backend-webgpu`.
 *
 * Node has no `navigator.gpu`: {@link probeWebGpu} creates Dawn's GPU object,
 * installs it (and Dawn's WebGPU globals such as `GPUBufferUsage`, which the
 * tfjs backend reads) on `globalThis`, and asks it for an adapter.
 *
 * A software adapter (Mesa's lavapipe on llvmpipe, SwiftShader) runs the GPU
 * kernels on the CPU, far slower than the wasm backend: it is never chosen
 * automatically, only when forced (`--backend webgpu`), which is what the
 * tests on a machine without a GPU do.
 */
import { existsSync, readdirSync } from 'node:fs';

/** What Dawn says of its adapter (WebGPU's `GPUAdapterInfo`, plus its fallback flag). */
export interface WebGpuAdapterInfo {
  /** e.g. `nvidia`, `mesa`. */
  readonly vendor: string;
  /** e.g. `hopper`, `software`. */
  readonly architecture: string;
  /** e.g. `llvmpipe-llvm-15-0-6-256-bits-`. */
  readonly device: string;
  /** The driver's description, e.g. `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)`. */
  readonly description: string;
  /** WebGPU's `isFallbackAdapter` (true for a software implementation). */
  readonly isFallbackAdapter: boolean;
}

/** Result of {@link probeWebGpu}. */
export interface WebGpuProbe {
  /** Whether an adapter was found (hardware or software). */
  readonly available: boolean;
  /** Why not, when not available: names what is missing. */
  readonly reason?: string;
  /** The adapter, when available. */
  readonly adapter?: WebGpuAdapterInfo;
  /** Whether the adapter runs on the CPU (lavapipe/llvmpipe, SwiftShader, any fallback adapter). */
  readonly software: boolean;
}

/** What to install or set up for WebGPU, appended to error messages. */
export const WEBGPU_HINT =
  'WebGPU in Node needs the optional packages `webgpu` (Dawn) and `@tensorflow/tfjs-backend-webgpu` ' +
  '(`npm install webgpu @tensorflow/tfjs-backend-webgpu`) and a Vulkan driver Dawn accepts: a GPU driver, ' +
  'or for tests on a machine without a GPU Mesa >= 25\'s lavapipe (`eval "$(bench/gpu/lavapipe.sh)"`)';

/** The parts of Dawn's module used here. */
interface DawnModule {
  create(options: string[]): DawnGpu;
  globals: Record<string, unknown>;
}
interface DawnGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  readonly info?: Partial<WebGpuAdapterInfo>;
  readonly isFallbackAdapter?: boolean;
}

let probed: Promise<WebGpuProbe> | undefined;
/** Dawn's GPU object: kept referenced for the life of the process. */
let gpuObject: DawnGpu | undefined;

/**
 * Whether adapter info describes a software implementation: WebGPU's
 * fallback flag, Dawn's `software` architecture, or a CPU rasteriser's name
 * (llvmpipe/lavapipe, SwiftShader) in vendor, device or description.
 */
export function isSoftwareAdapter(info: WebGpuAdapterInfo): boolean {
  if (info.isFallbackAdapter || info.architecture === 'software') return true;
  return /llvmpipe|lavapipe|swiftshader|softpipe/i.test(`${info.vendor} ${info.device} ${info.description}`);
}

/** One line: `NVIDIA H200 (nvidia, hopper)` / `llvmpipe: Mesa 25.0.7 (mesa, software; software adapter)`. */
export function adapterSummary(info: WebGpuAdapterInfo): string {
  const name = info.description || info.device || 'unnamed adapter';
  const what = [info.vendor, info.architecture].filter(Boolean).join(', ');
  return `${name}${what ? ` (${what}${isSoftwareAdapter(info) ? '; software adapter' : ''})` : isSoftwareAdapter(info) ? ' (software adapter)' : ''}`;
}

/**
 * Whether this machine shows a GPU device node a hardware Vulkan driver
 * could open (Linux: `/dev/nvidia*` or `/dev/dri/renderD*`). Elsewhere
 * (macOS' Metal, Windows' D3D12) it is assumed true and Dawn decides.
 * Auto-selection checks it first, so that a machine without a GPU does not
 * load Dawn (and print its Vulkan warnings) on every command.
 */
export function gpuDeviceNode(): { readonly found: boolean; readonly where: string } {
  if (process.platform !== 'linux') return { found: true, where: process.platform };
  if (existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl')) return { found: true, where: '/dev/nvidia*' };
  try {
    const render = readdirSync('/dev/dri').filter((f) => f.startsWith('renderD'));
    if (render.length) return { found: true, where: `/dev/dri/${render[0]}` };
  } catch {
    // no /dev/dri
  }
  return { found: false, where: 'no /dev/nvidia* or /dev/dri/renderD* device node' };
}

function message(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] ?? m;
}

async function probeOnce(): Promise<WebGpuProbe> {
  let dawn: DawnModule;
  try {
    const spec = 'webgpu';
    dawn = (await import(spec)) as DawnModule;
  } catch (err) {
    const m = message(err);
    return {
      available: false,
      software: false,
      reason: /Cannot find (package|module)/.test(m)
        ? 'the optional package `webgpu` (Dawn) is not installed'
        : `Dawn's dawn.node did not load: ${m}`,
    };
  }
  let gpu: DawnGpu;
  try {
    gpu = dawn.create([]);
  } catch (err) {
    return { available: false, software: false, reason: `Dawn could not start: ${message(err)}` };
  }
  // Dawn's WebGPU globals (GPUBufferUsage, GPUMapMode, ...) and navigator.gpu, which tfjs reads
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!('gpu' in nav)) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  gpuObject = gpu;
  try {
    // registers the 'webgpu' backend, only if navigator.gpu exists when it is imported
    const spec = '@tensorflow/tfjs-backend-webgpu';
    await import(spec);
  } catch (err) {
    const m = message(err);
    return {
      available: false,
      software: false,
      reason: /Cannot find (package|module)/.test(m)
        ? 'the optional package `@tensorflow/tfjs-backend-webgpu` is not installed'
        : `@tensorflow/tfjs-backend-webgpu did not load: ${m}`,
    };
  }
  let adapter: DawnAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { available: false, software: false, reason: `navigator.gpu.requestAdapter() failed: ${message(err)}` };
  }
  if (!adapter) {
    return {
      available: false,
      software: false,
      reason: 'Dawn found no WebGPU adapter (no Vulkan device it accepts; its warnings on stderr, if any, say why: Mesa < 25 is rejected)',
    };
  }
  const i = adapter.info ?? {};
  const info: WebGpuAdapterInfo = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
  return { available: true, adapter: info, software: isSoftwareAdapter(info) };
}

/**
 * Why auto-selection does not take this probe's adapter (undefined: it
 * does). Forced (`--backend webgpu`), any adapter is taken.
 */
export function webGpuRefusal(probe: WebGpuProbe, forced: boolean): string | undefined {
  if (!probe.available || !probe.adapter) return probe.reason ?? 'no WebGPU adapter';
  if (probe.software && !forced)
    return `only a software adapter, ${adapterSummary(probe.adapter)}, slower than wasm (use it with --backend webgpu)`;
  return undefined;
}

/**
 * Loads Dawn, installs `navigator.gpu` and looks for an adapter (once per
 * process; later calls return the same result). Never throws: a missing
 * package or driver is reported in `reason`.
 */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probed ??= probeOnce();
  return probed;
}

/** Whether {@link probeWebGpu} has installed Dawn's GPU object in this process. */
export function webGpuInstalled(): boolean {
  return gpuObject !== undefined;
}
