/**
 * Backend selection and the wasm gradient kernels.
 * @packageDocumentation
 */
export {
  BACKEND_NAMES,
  activeBackend,
  initBackend,
  parseBackendName,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
} from './select.js';
export {
  WEBGPU_HINT,
  adapterSummary,
  gpuDeviceNode,
  isSoftwareAdapter,
  probeWebGpu,
  webGpuRefusal,
  type WebGpuAdapterInfo,
  type WebGpuProbe,
} from './webgpu.js';
export { registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from './wasm/register.js';
