/**
 * `latprune doctor`: what latprune will run on here.
 */
import * as tf from '@tensorflow/tfjs';
import { latpruneVersion } from '../util/version.js';
import { activeBackend } from '../backend/index.js';
import { describeDevice, deviceFingerprint, type DeviceDescription } from '../latency/device.js';
import { describeGpu, gpuFingerprint, gpuSummary, type GpuDescription } from '../latency/gpu.js';

/** Everything `doctor` reports. */
export interface DoctorReport {
  readonly latprune: string;
  readonly node: string;
  readonly tfjs: { readonly version: string; readonly backend: string; readonly why: string };
  readonly wasm: { readonly simd: boolean; readonly threads: boolean } | null;
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
  return {
    latprune: latpruneVersion(),
    node: process.version,
    tfjs: { version: tf.version.tfjs, backend: name, why: active?.summary ?? '' },
    wasm,
    onnxruntime: ort0,
    device,
    fingerprint: deviceFingerprint(device),
    ...(ort0 && 'executionProviders' in ort0 && ort0.executionProviders.includes('webgpu') ? { gpu: { ...describeGpu(), fingerprint: gpuFingerprint() } } : {}),
  };
}

/** Human-readable lines for a report. */
export function formatDoctor(r: DoctorReport): string[] {
  const ort = 'error' in r.onnxruntime ? `unavailable (${r.onnxruntime.error})` : `${r.onnxruntime.version}, execution providers: ${r.onnxruntime.executionProviders.join(', ')}`;
  return [
    `latprune        ${r.latprune}`,
    `node            ${r.node}`,
    `tfjs            ${r.tfjs.version}, backend '${r.tfjs.backend}'`,
    ...(r.wasm ? [`wasm            SIMD ${r.wasm.simd ? 'yes' : 'no'}, threads ${r.wasm.threads ? 'yes' : 'no (tfjs disables the threaded build in Node)'}`] : []),
    `onnxruntime     ${ort}`,
    `cpu             ${r.device.cpuModel} (${r.device.arch}), ${r.device.cores} cores, flags ${r.device.cpuFlags.join(' ') || '-'}`,
    `memory          ${r.device.memoryGiB} GiB`,
    `fingerprint     ${r.fingerprint}`,
    ...(r.gpu ? [r.gpu.available ? `gpu (webgpu)    ${gpuSummary(r.gpu)}, fingerprint ${r.gpu.fingerprint}` : `gpu (webgpu)    unavailable: ${r.gpu.reason} (Vulkan devices: ${r.gpu.vulkanDevices.join(', ') || 'none'})`] : []),
  ];
}
