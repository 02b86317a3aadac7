/**
 * A narrow, typed view of the tfjs wasm backend internals that latprune's
 * gradient kernels use, and helpers to compose the backend's own kernel
 * functions without going through the op layer.
 *
 * Why compose kernel functions instead of calling ops: a kernel that calls
 * `tf.*` ops from inside its kernel function re-enters the engine (tape,
 * scopes, `moveData`) while the engine is in the middle of the outer kernel,
 * which was observed to recurse during a real training step. Kernel functions
 * of the same backend operate on `TensorInfo`s directly and never touch the
 * engine, so intermediate results are plain backend buffers that we free
 * ourselves.
 */
import * as tf from '@tensorflow/tfjs';

/** The subset of tfjs' `TensorInfo` the kernels need. */
export interface Info {
  readonly dataId: object;
  readonly shape: number[];
  readonly dtype: tf.DataType;
}

/** The parts of `BackendWasm` used here (it is not exported with types we can import). */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

type KernelFn = (args: { inputs: Record<string, Info>; backend: WasmBackend; attrs?: object }) => Info;

const kernelCache = new Map<string, KernelFn>();

/** The wasm backend's own kernel function for `name` (throws if it is not registered). */
export function wasmKernel(name: string): KernelFn {
  let fn = kernelCache.get(name);
  if (!fn) {
    const cfg = tf.getKernel(name, 'wasm');
    if (!cfg) throw new Error(`latprune: the wasm backend has no '${name}' kernel to build on`);
    fn = cfg.kernelFunc as unknown as KernelFn;
    kernelCache.set(name, fn);
  }
  return fn;
}

/** Runs a wasm kernel function on backend buffers; the caller owns (and must free) the result. */
export function run(backend: WasmBackend, name: string, inputs: Record<string, Info>, attrs: object = {}): Info {
  return wasmKernel(name)({ inputs, backend, attrs });
}

/** The same buffer under another shape of equal size (no copy, no new reference). */
export function view(info: Info, shape: number[]): Info {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Frees intermediate buffers created by {@link run}. */
export function free(backend: WasmBackend, ...infos: Array<Info | undefined>): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

/**
 * Zero-inserts a NHWC tensor along H and W: element (n, i, j, c) moves to
 * (n, i*sh, j*sw, c) of a tensor of size ((H-1)*sh+1, (W-1)*sw+1). This turns
 * the input gradient of a strided convolution into a stride-1 convolution.
 */
export function zeroInsert(backend: WasmBackend, x: Info, sh: number, sw: number): Info {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const oh = (h - 1) * sh + 1;
  const ow = (w - 1) * sw + 1;
  const out = backend.makeOutput([n, oh, ow, c], 'float32');
  // Views are taken after the allocation: malloc may grow (and detach) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const srcRow = (b * h + i) * w * c;
      const dstRow = (b * oh + i * sh) * ow * c;
      if (sw === 1) {
        dst.set(src.subarray(srcRow, srcRow + w * c), dstRow);
      } else {
        for (let j = 0; j < w; j++) {
          dst.set(src.subarray(srcRow + j * c, srcRow + (j + 1) * c), dstRow + j * sw * c);
        }
      }
    }
  }
  return out;
}

/** Explicit [top, bottom, left, right] padding; negative entries mean cropping. */
export type Pads = readonly [number, number, number, number];

/**
 * Prepares a NHWC input for a convolution whose required padding may be
 * negative on some side (the convolution needs fewer rows than the input
 * has): crops those sides with the Slice kernel and returns the remaining
 * non-negative padding in tfjs' explicit-padding form.
 */
export function cropForPads(
  backend: WasmBackend,
  x: Info,
  pads: Pads,
): { input: Info; owned: boolean; explicit: [[number, number], [number, number], [number, number], [number, number]] } {
  const [t, b, l, r] = pads;
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [Math.max(t, 0), Math.max(b, 0)],
    [Math.max(l, 0), Math.max(r, 0)],
    [0, 0],
  ];
  if (t >= 0 && b >= 0 && l >= 0 && r >= 0) return { input: x, owned: false, explicit };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const top = Math.max(-t, 0);
  const left = Math.max(-l, 0);
  const size = [n, h - top - Math.max(-b, 0), w - left - Math.max(-r, 0), c];
  const input = run(backend, 'Slice', { x }, { begin: [0, top, left, 0], size });
  return { input, owned: true, explicit };
}
