/**
 * `latprune doctor`: what latprune will run on here.
 */
import * as tf from '@tensorflow/tfjs';
import { latpruneVersion } from '../util/version.js';
import { activeBackend, adapterSummary, gpuDeviceNode, probeWebGpu, webGpuRefusal, type WebGpuAdapterInfo } from '../backend/index.js';
import { describeDevice, deviceFingerprint, type DeviceDescription } from '../latency/device.js';
import { describeGpu, gpuFingerprint, gpuSummary, type GpuDescription } from '../latency/gpu.js';

/** Everything `doctor` reports. */
export interface DoctorReport {
  readonly latprune: string;
  readonly node: string;
  readonly tfjs: { readonly version: string; readonly backend: string; readonly why: string };
  readonly wasm: { readonly simd: boolean; readonly threads: boolean } | null;
  /**
   * tfjs' WebGPU backend (Dawn): the adapter found, or why none; whether
   * auto-selection would take it (a software adapter, such as lavapipe, is
   * only used when forced with `--backend webgpu`).
   */
  readonly webgpu: {
    readonly available: boolean;
    readonly reason?: string;
    readonly adapter?: WebGpuAdapterInfo;
    readonly software: boolean;
    /** A GPU device node (Linux), without which auto-selection does not load Dawn. */
    readonly deviceNode: string;
    /** Why auto-selection passes it over; absent when it would choose it. */
    readonly autoRefusal?: string;
  };
  readonly onnxruntime: { readonly version: string; readonly executionProviders: readonly string[] } | { readonly error: string };
  readonly device: DeviceDescription;
  readonly fingerprint: string;
  /** The GPU of ORT's WebGPU EP and its table fingerprint (absent: no webgpu EP in this ORT build). */
  readonly gpu?: GpuDescription & { readonly fingerprint: string };
}

/** Version of this package (read from package.json). */
export { latpruneVersion };

async function ortInfo(): Promise<DoctorReport['onnxruntime']> {
  try {
    const ort = await import('onnxruntime-node');
    const eps = ort.listSupportedBackends?.() ?? [];
    return {
      version: ort.env.versions.node ?? ort.env.versions.common,
      executionProviders: eps.filter((b) => b.bundled).map((b) => b.name),
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

/** Gathers the report (the backend must already be initialised). */
export async function doctorReport(): Promise<DoctorReport> {
  const active = activeBackend();
  const name = active?.name ?? tf.getBackend();
  let wasm: DoctorReport['wasm'] = null;
  if (name === 'wasm') {
    wasm = { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') };
  }
  const device = describeDevice();
  const ort0 = await ortInfo();
  const probe = await probeWebGpu();
  const node = gpuDeviceNode();
  const refusal = webGpuRefusal(probe, false) ?? (node.found ? undefined : `no GPU (${node.where})`);
  const webgpu: DoctorReport['webgpu'] = { ...probe, deviceNode: node.where, ...(refusal !== undefined ? { autoRefusal: refusal } : {}) };
  return {
    latprune: latpruneVersion(),
    node: process.version,
    tfjs: { version: tf.version.tfjs, backend: name, why: active?.summary ?? '' },
    wasm,
    webgpu,
    onnxruntime: ort0,
    device,
    fingerprint: deviceFingerprint(device),
    ...(ort0 && 'executionProviders' in ort0 && ort0.executionProviders.includes('webgpu')
      ? { gpu: { ...describeGpu(), fingerprint: gpuFingerprint() } }
      : {}),
  };
}

/** Human-readable lines for a report. */
export function formatDoctor(r: DoctorReport): string[] {
  const ort =
    'error' in r.onnxruntime
      ? `unavailable (${r.onnxruntime.error})`
      : `${r.onnxruntime.version}, execution providers: ${r.onnxruntime.executionProviders.join(', ')}`;
  return [
    `latprune        ${r.latprune}`,
    `node            ${r.node}`,
    `tfjs            ${r.tfjs.version}, backend '${r.tfjs.backend}'`,
    ...(r.wasm
      ? [
          `wasm            SIMD ${r.wasm.simd ? 'yes' : 'no'}, threads ${r.wasm.threads ? 'yes' : 'no (tfjs disables the threaded build in Node)'}`,
        ]
      : []),
    r.webgpu.adapter
      ? `tfjs webgpu     ${adapterSummary(r.webgpu.adapter)}${r.webgpu.autoRefusal ? `; not auto-selected: ${r.webgpu.autoRefusal}` : '; auto-selected when no native backend loads'}`
      : `tfjs webgpu     unavailable: ${r.webgpu.reason ?? 'no adapter'}`,
    `onnxruntime     ${ort}`,
    `cpu             ${r.device.cpuModel} (${r.device.arch}), ${r.device.cores} cores, flags ${r.device.cpuFlags.join(' ') || '-'}`,
    `memory          ${r.device.memoryGiB} GiB`,
    `fingerprint     ${r.fingerprint}`,
    ...(r.gpu
      ? [
          r.gpu.available
            ? `gpu (webgpu)    ${gpuSummary(r.gpu)}, fingerprint ${r.gpu.fingerprint}`
            : `gpu (webgpu)    unavailable: ${r.gpu.reason} (Vulkan devices: ${r.gpu.vulkanDevices.join(', ') || 'none'})`,
        ]
      : []),
  ];
}
