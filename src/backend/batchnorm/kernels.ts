/**
 * Kernels `LatpruneBatchNormTrain` and `LatpruneBatchNormTrainGrad` for the
 * wasm and cpu backends, wrapping the loops of `math.ts`. They let a training
 * step normalise a batch and differentiate through its statistics in four
 * passes over the activations, instead of the ~20 elementwise/reduction ops
 * (including a full `Tile`) of tfjs' generic batch-norm gradient.
 */
import type * as tf from '@tensorflow/tfjs';
import { bnTrainBackward, bnTrainForward } from './math.js';
import type { Info, WasmBackend } from '../wasm/internals.js';

/** Kernel names (also used by the op to decide whether the fast path exists). */
export const BN_TRAIN = 'LatpruneBatchNormTrain';
/** See {@link BN_TRAIN}. */
export const BN_TRAIN_GRAD = 'LatpruneBatchNormTrainGrad';

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): Info;
}

/** Uniform access to the two backends' buffers. */
interface Buffers {
  read(info: Info): Float32Array;
  /** Allocates outputs, then returns writable views (views after all allocations). */
  alloc(shapes: number[][]): { infos: Info[]; views: () => Float32Array[] };
}

function wasmBuffers(backend: WasmBackend): Buffers {
  return {
    read: (info) => backend.typedArrayFromHeap(info),
    alloc(shapes) {
      const infos = shapes.map((s) => backend.makeOutput(s, 'float32'));
      return { infos, views: () => infos.map((i) => backend.typedArrayFromHeap(i)) };
    },
  };
}

function cpuBuffers(backend: CpuBackend): Buffers {
  return {
    read: (info) => backend.data.get(info.dataId).values,
    alloc(shapes) {
      const arrays = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
      const infos = shapes.map((s, i) => backend.makeTensorInfo(s, 'float32', arrays[i]));
      return { infos, views: () => arrays };
    },
  };
}

function forward(buf: Buffers, inputs: { x: Info; gamma: Info; beta: Info }, epsilon: number): Info[] {
  const { x, gamma, beta } = inputs;
  const c = x.shape[x.shape.length - 1]!;
  const { infos, views } = buf.alloc([x.shape, [c], [c], [c]]);
  const [y, mean, variance, invStd] = views() as [Float32Array, Float32Array, Float32Array, Float32Array];
  bnTrainForward(buf.read(x), buf.read(gamma), buf.read(beta), c, epsilon, { y, mean, variance, invStd });
  return infos;
}

function backward(buf: Buffers, inputs: { dy: Info; x: Info; mean: Info; invStd: Info; gamma: Info }): Info[] {
  const { dy, x, mean, invStd, gamma } = inputs;
  const c = x.shape[x.shape.length - 1]!;
  const { infos, views } = buf.alloc([x.shape, [c], [c]]);
  const [dx, dgamma, dbeta] = views() as [Float32Array, Float32Array, Float32Array];
  bnTrainBackward(buf.read(dy), buf.read(x), buf.read(mean), buf.read(invStd), buf.read(gamma), c, { dx, dgamma, dbeta });
  return infos;
}

type Args<I> = { inputs: I; backend: unknown; attrs: { epsilon?: number } };

/** Kernel configs for both backends. */
export const BATCH_NORM_KERNELS: readonly tf.KernelConfig[] = (['wasm', 'cpu'] as const).flatMap((backendName) => {
  const buffers = (b: unknown): Buffers => (backendName === 'wasm' ? wasmBuffers(b as WasmBackend) : cpuBuffers(b as CpuBackend));
  return [
    {
      kernelName: BN_TRAIN,
      backendName,
      kernelFunc: ((a: Args<{ x: Info; gamma: Info; beta: Info }>) =>
        forward(buffers(a.backend), a.inputs, a.attrs.epsilon ?? 1e-3)) as unknown as tf.KernelFunc,
    },
    {
      kernelName: BN_TRAIN_GRAD,
      backendName,
      kernelFunc: ((a: Args<{ dy: Info; x: Info; mean: Info; invStd: Info; gamma: Info }>) =>
        backward(buffers(a.backend), a.inputs)) as unknown as tf.KernelFunc,
    },
  ];
});
