/**
 * Run as a child process by `describeGpu` (gpu.ts): opens one ONNX Runtime
 * session on the WebGPU execution provider with verbose logging, so that the
 * parent can read, from this process's output, the Vulkan loader's list of
 * physical devices (`VK_LOADER_DEBUG=driver`, set by the parent) and the
 * hardware devices ORT discovered. Prints `latprune-gpu-probe: ok` or
 * `latprune-gpu-probe: error <message>` as its last line.
 */
import * as ort from 'onnxruntime-node';
import { OnnxGraph, addConv } from '../onnx/index.js';

const g = new OnnxGraph({ producerVersion: 'latprune', graphName: 'latprune_gpu_probe' });
const x = g.addInput('x', [1, 4, 2, 2]);
g.addOutput('y', [1, 4, 2, 2]);
addConv(g, x, {
  output: 'y',
  weight: { data: new Float32Array(16).fill(0.25), dims: [4, 4, 1, 1] },
  bias: { data: new Float32Array(4), dims: [4] },
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  group: 1,
});
try {
  ort.env.logLevel = 'verbose';
  const s = await ort.InferenceSession.create(g.encode(), { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(16).fill(1), [1, 4, 2, 2]) });
    const y = out['y']?.data as Float32Array | undefined;
    if (!y || Math.abs(y[0]! - 1) > 1e-5) throw new Error(`wrong result from the WebGPU EP (${y?.[0]}, expected 1)`);
  } finally {
    await s.release();
  }
  process.stdout.write('\nlatprune-gpu-probe: ok\n');
} catch (err) {
  process.stdout.write(`\nlatprune-gpu-probe: error ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}\n`);
}
