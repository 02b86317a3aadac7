/**
 * Registers latprune's gradient kernels on the tfjs wasm backend. Idempotent.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.js';

/** The kernels latprune adds to (or replaces in) the wasm backend. */
export const WASM_GRADIENT_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

let registered = false;

/**
 * Adds the missing conv/depthwise gradient kernels to the wasm backend and
 * replaces its slow `Conv2DBackpropInput`. Must run after
 * `@tensorflow/tfjs-backend-wasm` has been imported.
 */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  for (const cfg of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(cfg.kernelName, 'wasm')) tf.unregisterKernel(cfg.kernelName, 'wasm');
    tf.registerKernel(cfg);
  }
  registered = true;
}
