/**
 * ONNX Runtime (onnxruntime-node) as a profiling target. Layers are timed in
 * context (see `micrograph.ts`) with ORT's per-node profiler, so the time is
 * the layer's own kernels as they run inside a network; whole networks are
 * timed by wall clock.
 *
 * On the WebGPU execution provider (`ep: 'webgpu'`, Dawn on Vulkan) the
 * profiler's `Node` `*_kernel_time` events measure only the CPU's dispatch;
 * the GPU's own kernel times are its `Api` events (named
 * `<node>&<op>&<program>`, 1 us resolution), read here instead. The first
 * run of a session compiles its shaders, so sessions are warmed up until a
 * two consecutive runs agree within 1.25x (see {@link warmUpUntilStable}),
 * and GPU timings, far steadier than the CPU's, get their own shorter
 * protocol ({@link GPU_TIMING}).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LatpruneError } from '../errors.js';
import { randomFloats } from '../util/random.js';
import { describeGpu, isWebGpu, type GpuDescription } from './gpu.js';
import { inferRule, type LayoutRules } from './layout.js';
import { LAYER_PREFIX, buildMicroGraph } from './micrograph.js';
import {
  alternatingSpeedup,
  median,
  medianCiRel,
  timeAlternating,
  timeRepeated,
  type TimedWorkload,
  type LatencyRuntime,
  type LayerMeasurement,
  type NetworkSpec,
  type TimingOptions,
} from './runtime.js';
import { modelToOnnx } from '../onnx/index.js';
import { OnnxGraph, addConv, addGemm, decodeModel } from '../onnx/index.js';
import type { LayerSignature } from './signature.js';

/** Options of {@link OrtRuntime.create}. */
export interface OrtRuntimeOptions {
  /** Execution provider: 'cpu' (default), 'webgpu' or 'cuda'. */
  readonly ep?: string;
  /** Intra-op threads; 0 lets ORT choose (one per core). */
  readonly threads?: number;
  /** Version string written into the micro-graphs. */
  readonly producerVersion?: string;
}

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly ts: number;
  readonly dur: number;
  readonly args?: {
    readonly op_name?: string;
    readonly output_type_shape?: Array<Record<string, number[]>>;
    readonly cache_key?: string;
    readonly shapes?: string;
  };
}

/**
 * The timing protocol's defaults on the GPU (`--ep webgpu`): its kernel
 * times vary far less than the CPU's, so fewer runs reach the confidence
 * bound; whole networks get two sessions instead of three. Warm-up runs
 * continue past `warmup` until shader compilation is over (see
 * {@link warmUpUntilStable}).
 */
export const GPU_TIMING: Readonly<Required<Pick<TimingOptions, 'warmup' | 'minRuns' | 'maxRuns' | 'relCi' | 'capSeconds' | 'sessions'>>> = {
  warmup: 3,
  minRuns: 8,
  maxRuns: 32,
  relCi: 0.02,
  capSeconds: 1,
  sessions: 2,
};

/** Resolution of the GPU kernel times in ORT's profile (ms): its `Api` events are whole microseconds. */
export const GPU_RESOLUTION_MS = 0.001;

/** Most warm-up runs {@link warmUpUntilStable} makes. */
const MAX_WARMUP = 20;

/**
 * Warm-up for the GPU: at least `min` runs, then more until two
 * consecutive runs agree within 1.25x (the first runs compile shaders and
 * allocate buffers, seconds on lavapipe, and each is far faster than the
 * one before), at most {@link MAX_WARMUP}. Returns the number of runs made.
 */
export async function warmUpUntilStable(once: () => Promise<number>, min: number): Promise<number> {
  let prev = Infinity;
  for (let i = 0; i < MAX_WARMUP; i++) {
    const ms = await once();
    const stable = ms <= 1.25 * prev && prev <= 1.25 * ms;
    prev = ms;
    if (i + 1 >= Math.max(1, min) && stable) return i + 1;
  }
  return MAX_WARMUP;
}

/** One run of `session` on `feeds`, as a function returning its wall time in ms. */
export function timedRun(session: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType): () => Promise<number> {
  return async () => {
    const t0 = performance.now();
    await session.run(feeds);
    return performance.now() - t0;
  };
}

/** Whether GPU samples pin their median down: 95% half-width within `relCi` of it, or within the profiler's resolution. */
export function gpuSamplesSettled(samples: readonly number[], relCi: number): boolean {
  const m = median(samples);
  const half = medianCiRel(samples) * m;
  return half <= Math.max(relCi * m, GPU_RESOLUTION_MS);
}

/** A node's GPU work in one run: its kernels' summed time and their programs' cache keys. */
export interface GpuNodeTime {
  readonly ms: number;
  readonly programs: readonly string[];
  readonly keys: readonly string[];
}

/**
 * Splits the WebGPU EP's `Api` events (one per GPU kernel, named
 * `<node>&<op>&<program>`) into runs by the `model_run` session events
 * (an event after a run's end, before the next, belongs to the run before),
 * and sums them per node.
 */
export function apiTimesPerRun(events: readonly ProfileEvent[]): Array<Map<string, GpuNodeTime>> {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const out = runs.map(() => new Map<string, { ms: number; programs: string[]; keys: string[] }>());
  for (const e of events) {
    if (e.cat !== 'Api') continue;
    let i = -1;
    while (i + 1 < runs.length && runs[i + 1]!.ts <= e.ts) i++;
    if (i < 0) continue;
    const [node = e.name, , program = ''] = e.name.split('&');
    const cur = out[i]!.get(node) ?? { ms: 0, programs: [], keys: [] };
    cur.ms += e.dur / 1000;
    cur.programs.push(program);
    cur.keys.push(e.args?.cache_key ?? '');
    out[i]!.set(node, cur);
  }
  return out;
}

/**
 * Vector width of a WebGPU program from its cache key: the data types of its
 * inputs and outputs, written after the options as `type;rank` pairs
 * (ORT's ProgramVariableDataType: 0 f32, 1 vec2<f32>, 2 vec4<f32>). The
 * smallest width among them; undefined when the key has none.
 */
export function programVectorWidth(cacheKey: string): number | undefined {
  const close = cacheKey.indexOf(']');
  if (close < 0) return undefined;
  const pairs = [...cacheKey.slice(close + 1).matchAll(/(?:^|[:|])(\d+);(\d+)/g)].map((m) => Number(m[1]));
  if (!pairs.length) return undefined;
  const width = (t: number) => (t === 2 ? 4 : t === 1 ? 2 : 1);
  return Math.min(...pairs.map(width));
}

const KERNEL_SUFFIX = '_kernel_time';

/** Splits node events into runs using the `model_run` session events. */
export function nodeTimesPerRun(events: readonly ProfileEvent[]): Array<Map<string, { ms: number; op: string; elems: number }>> {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const out = runs.map(() => new Map<string, { ms: number; op: string; elems: number }>());
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith(KERNEL_SUFFIX)) continue;
    const i = runs.findIndex((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
    if (i < 0) continue;
    const shape = e.args?.output_type_shape?.[0];
    const dims = shape ? (Object.values(shape)[0] ?? []) : [];
    const node = e.name.slice(0, -KERNEL_SUFFIX.length);
    out[i]!.set(node, { ms: e.dur / 1000, op: e.args?.op_name ?? '', elems: dims.reduce((a, b) => a * b, 1) });
  }
  return out;
}

/**
 * An ONNX model as a {@link TimedWorkload}: a block opens a session, runs it
 * on `input`, releases it. `gpu`: opening also warms the session up until
 * its runs are stable (shader compilation; see {@link warmUpUntilStable}).
 */
export function sessionWorkload(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  input: ort.Tensor,
  gpu = false,
): TimedWorkload {
  return {
    open: async () => {
      const s = await ort.InferenceSession.create(bytes, options);
      const feeds = { [s.inputNames[0]!]: input };
      if (gpu) await warmUpUntilStable(timedRun(s, feeds), 1);
      return { run: () => s.run(feeds), close: () => s.release() };
    },
  };
}

/** Fixed input shape of a model (batch must be fixed). */
function inputShapeOf(bytes: Uint8Array): number[] {
  const m = decodeModel(bytes, 'model');
  const dims = m.inputs[0]?.shape ?? [];
  if (!dims.every((d) => typeof d === 'number')) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `the model's input shape [${dims.join(', ')}] is not fixed; pass the input shape (batch) explicitly.`,
    );
  }
  return dims as number[];
}

/** The ORT runtime. Create with {@link OrtRuntime.create}. */
export class OrtRuntime implements LatencyRuntime {
  readonly name = 'ort' as const;
  readonly version: string;
  private counter = 0;

  private constructor(
    readonly ep: string,
    readonly threads: number,
    private readonly dir: string,
    private readonly producerVersion: string,
    /** The GPU (WebGPU EP only). */
    readonly gpu?: GpuDescription,
  ) {
    this.version = ort.env.versions.node ?? ort.env.versions.common;
  }

  /**
   * Creates the runtime.
   *
   * @throws LatpruneError `RUNTIME` when the execution provider is not in this
   *   onnxruntime-node build (e.g. `--ep cuda` without the CUDA binaries)
   */
  static async create(opts: OrtRuntimeOptions = {}): Promise<OrtRuntime> {
    const ep = opts.ep ?? 'cpu';
    const available = ort
      .listSupportedBackends()
      .filter((b) => b.bundled)
      .map((b) => b.name);
    if (!available.includes(ep)) {
      throw new LatpruneError(
        'RUNTIME',
        `--ep ${ep}: this onnxruntime-node build has no '${ep}' execution provider (available: ${available.join(', ')}). ` +
          (ep === 'cuda'
            ? 'Install onnxruntime-node with its CUDA binaries (without onnxruntime-node-install=skip) on a machine with CUDA.'
            : 'Choose one of the available providers.'),
      );
    }
    let gpu: GpuDescription | undefined;
    if (isWebGpu(ep)) {
      gpu = describeGpu();
      if (!gpu.available) {
        throw new LatpruneError(
          'RUNTIME',
          `--ep webgpu: ONNX Runtime could not open a WebGPU device (${gpu.reason}). It needs a Vulkan driver Dawn accepts (an NVIDIA/AMD/Intel GPU driver, or Mesa >= 25: \`eval "$(bench/gpu/lavapipe.sh)"\` sets up software Vulkan for tests); Vulkan devices seen: ${gpu.vulkanDevices.join(', ') || 'none'}.`,
        );
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'latprune-ortprof-'));
    return new OrtRuntime(ep, opts.threads ?? 0, dir, opts.producerVersion ?? 'latprune', gpu);
  }

  /** Whether this runtime times a GPU (WebGPU EP). */
  get onGpu(): boolean {
    return isWebGpu(this.ep);
  }

  /** The caller's timing options over the GPU defaults on the GPU (the CPU protocol is left as it is). */
  private timingFor(t: TimingOptions): TimingOptions {
    return this.onGpu ? { ...GPU_TIMING, ...t } : t;
  }

  private options(profile: boolean): ort.InferenceSession.SessionOptions {
    return {
      executionProviders: [this.ep],
      graphOptimizationLevel: 'all',
      interOpNumThreads: 1,
      ...(this.threads > 0 ? { intraOpNumThreads: this.threads } : {}),
      ...(profile ? { enableProfiling: true, profileFilePrefix: join(this.dir, `p${this.counter++}`) } : {}),
    };
  }

  /** Reads and removes the profile file of the session whose file prefix ends in `prefix`. */
  private async readProfile(prefix: string): Promise<ProfileEvent[]> {
    const file = (await readdir(this.dir)).find((f) => f.startsWith(`${prefix}_`));
    if (!file) throw new LatpruneError('RUNTIME', `onnxruntime wrote no profile file in ${this.dir}`);
    const events = JSON.parse(await readFile(join(this.dir, file), 'utf8')) as ProfileEvent[];
    await rm(join(this.dir, file), { force: true });
    return events;
  }

  /**
   * GPU kernel times per run of a profiled WebGPU session. Each round opens
   * a session, warms it up until stable (shader compilation), then times
   * `minRuns` runs; rounds repeat until `sample` of the runs settles (see
   * {@link gpuSamplesSettled}), `maxRuns` runs or `capSeconds` (per round
   * counted from its timed runs) are reached. `warmup: 0` with `maxRuns: 1`
   * is a single untimed-warm-up run (probes).
   */
  private async profiledGpu(
    bytes: Uint8Array,
    feeds: Record<string, ort.Tensor>,
    t: TimingOptions,
    sample: (run: Map<string, GpuNodeTime>) => number,
  ): Promise<Array<Map<string, GpuNodeTime>>> {
    const tt = { ...GPU_TIMING, ...t };
    const out: Array<Map<string, GpuNodeTime>> = [];
    const started = performance.now();
    while (out.length < tt.maxRuns) {
      const opts = this.options(true);
      const prefix = (opts.profileFilePrefix as string).split('/').pop()!;
      const session = await ort.InferenceSession.create(bytes, opts);
      let warm: number | undefined;
      try {
        const once = timedRun(session, feeds);
        warm = tt.warmup > 0 ? await warmUpUntilStable(once, tt.warmup) : 0;
        const n = Math.min(tt.maxRuns - out.length, Math.max(1, tt.minRuns));
        for (let i = 0; i < n; i++) await once();
        session.endProfiling();
      } finally {
        await session.release();
      }
      out.push(...apiTimesPerRun(await this.readProfile(prefix)).slice(warm ?? 0));
      const samples = out.map(sample);
      if (out.length >= tt.minRuns && gpuSamplesSettled(samples, tt.relCi)) break;
      if (performance.now() - started >= tt.capSeconds * 1000 * 4) break;
    }
    return out;
  }

  /** Runs a profiled session and returns per-run node times (warm-up runs dropped). */
  private async profiled(
    bytes: Uint8Array,
    feeds: Record<string, ort.Tensor>,
    t: TimingOptions,
  ): Promise<Array<Map<string, { ms: number; op: string; elems: number }>>> {
    const opts = this.options(true);
    const prefix = (opts.profileFilePrefix as string).split('/').pop()!;
    const session = await ort.InferenceSession.create(bytes, opts);
    try {
      const warmup = t.warmup ?? 2;
      await timeRepeated(timedRun(session, feeds), t);
      session.endProfiling();
      const file = (await readdir(this.dir)).find((f) => f.startsWith(`${prefix}_`));
      if (!file) throw new LatpruneError('RUNTIME', `onnxruntime wrote no profile file in ${this.dir}`);
      const events = JSON.parse(await readFile(join(this.dir, file), 'utf8')) as ProfileEvent[];
      await rm(join(this.dir, file), { force: true });
      return nodeTimesPerRun(events).slice(warmup);
    } finally {
      await session.release();
    }
  }

  /** {@inheritDoc LatencyRuntime.measureLayer} */
  async measureLayer(sig: LayerSignature, cin: number, cout: number, batch: number, t: TimingOptions = {}): Promise<LayerMeasurement> {
    const g = buildMicroGraph(sig, cin, cout, batch, this.producerVersion);
    const feeds: Record<string, ort.Tensor> = {};
    for (const inp of g.inputs) {
      const n = inp.shape.reduce((a, b) => a * b, 1);
      feeds[inp.name] = new ort.Tensor('float32', randomFloats(n, 11), inp.shape as number[]);
    }
    if (this.onGpu) return this.measureLayerGpu(sig, cin, cout, g.bytes, feeds, t);
    const runs = await this.profiled(g.bytes, feeds, t);
    const layerMs: number[] = [];
    const reorders: Array<{ elems: number; ms: number }> = [];
    let fast: boolean | undefined;
    for (const run of runs) {
      let ms = 0;
      for (const [node, v] of run) {
        if (node.startsWith(LAYER_PREFIX)) {
          ms += v.ms;
          if (sig.op !== 'gemm') fast = (fast ?? false) || node.endsWith('_nchwc');
        } else if (v.op === 'ReorderInput' || v.op === 'ReorderOutput') {
          reorders.push({ elems: v.elems, ms: v.ms });
        }
      }
      layerMs.push(ms);
    }
    if (!layerMs.length || layerMs.every((v) => v === 0)) {
      throw new LatpruneError(
        'RUNTIME',
        `onnxruntime profile has no node of the timed layer (${LAYER_PREFIX}*) for ${JSON.stringify(sig)} at ${cin}->${cout}`,
      );
    }
    return { ms: median(layerMs), runs: layerMs.length, ...(fast !== undefined ? { fast } : {}), reorders };
  }

  /** {@link measureLayer} on the GPU: the layer's kernels' `Api` times; `fast` when every one of them runs on vec4 data. */
  private async measureLayerGpu(
    sig: LayerSignature,
    cin: number,
    cout: number,
    bytes: Uint8Array,
    feeds: Record<string, ort.Tensor>,
    t: TimingOptions,
  ): Promise<LayerMeasurement> {
    const layerOf = (run: Map<string, GpuNodeTime>) =>
      [...run.entries()].filter(([node]) => node.startsWith(LAYER_PREFIX)).map(([, v]) => v);
    const runs = await this.profiledGpu(bytes, feeds, t, (run) => layerOf(run).reduce((a, v) => a + v.ms, 0));
    const layerMs: number[] = [];
    let fast: boolean | undefined;
    for (const run of runs) {
      const l = layerOf(run);
      if (!l.length) continue;
      layerMs.push(l.reduce((a, v) => a + v.ms, 0));
      if (sig.op !== 'gemm') {
        const widths = l.flatMap((v) => v.keys.map(programVectorWidth)).filter((w): w is number => w !== undefined);
        if (widths.length) fast = Math.min(...widths) >= 4;
      }
    }
    if (!layerMs.length) {
      throw new LatpruneError(
        'RUNTIME',
        `onnxruntime's WebGPU profile has no GPU kernel ('Api' event) of the timed layer (${LAYER_PREFIX}*) for ${JSON.stringify(sig)} at ${cin}->${cout}`,
      );
    }
    // a kernel under the profiler's 1 us resolution reads 0: count it as half of that
    return {
      ms: Math.max(median(layerMs), GPU_RESOLUTION_MS / 2),
      runs: layerMs.length,
      ...(fast !== undefined ? { fast } : {}),
      reorders: [],
    };
  }

  /**
   * WebGPU's layout rules: which input and output widths 1..`maxWidth` run
   * vec4 kernels, for convolutions (3x3 and 1x1, which ORT runs as a matrix
   * product: a width is fast when both are) and depthwise convolutions, read
   * from the programs' cache keys (one run each, no timing; see
   * {@link programVectorWidth}). Input widths are probed at 32 outputs and
   * output widths at 32 inputs.
   */
  private async probeGpuLayout(maxWidth: number): Promise<LayoutRules> {
    const rules: LayoutRules = {};
    const quick: TimingOptions = { warmup: 0, minRuns: 1, maxRuns: 1 };
    const sigOf = (op: 'conv' | 'dwconv', k: number): LayerSignature => ({
      op,
      kernel: [k, k],
      stride: [1, 1],
      pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
      inH: 8,
      inW: 8,
      outH: 8,
      outW: 8,
      epilogue: 'relu',
    });
    const fastAt = async (op: 'conv' | 'dwconv', cin: number, cout: number): Promise<boolean> => {
      let all = true;
      for (const k of op === 'conv' ? [3, 1] : [3]) all = (await this.measureLayer(sigOf(op, k), cin, cout, 1, quick)).fast === true && all;
      return all;
    };
    const widths = Array.from({ length: maxWidth }, (_, i) => i + 1);
    const describe = (f: boolean[]) => f.map((v, i) => `${i + 1}:${v ? 'V' : '-'}`).join(' ');
    for (const op of ['conv', 'dwconv'] as const) {
      const fastIn: boolean[] = [];
      for (const c of widths) fastIn.push(await fastAt(op, c, op === 'dwconv' ? c : 32));
      if (fastIn.every((f) => !f)) continue; // scalar kernels only: one regime
      const rule = inferRule(fastIn, 1);
      if (!rule)
        throw new LatpruneError(
          'RUNTIME',
          `could not infer WebGPU's vec4 rule for ${op} inputs from probes ${describe(fastIn)}; please report this device.`,
        );
      if (op === 'dwconv') {
        rules[op] = rule;
        continue;
      }
      const fastOut: boolean[] = [];
      for (const c of widths) fastOut.push(await fastAt(op, 32, c));
      const out = inferRule(fastOut, 1);
      if (!out || out.below !== 1)
        throw new LatpruneError(
          'RUNTIME',
          `could not infer WebGPU's vec4 rule for ${op} outputs from probes ${describe(fastOut)}; please report this device.`,
        );
      rules[op] = { ...rule, outAlign: out.align };
    }
    return rules;
  }

  /**
   * Probes which input widths 1..`maxWidth` run ORT's blocked (NCHWc) kernels,
   * for convolutions and depthwise convolutions, from the names of the nodes
   * in the optimised graph (one quick run each, no timing).
   */
  async probeLayout(maxWidth = 48): Promise<LayoutRules> {
    if (this.onGpu) return this.probeGpuLayout(Math.min(maxWidth, 24));
    const rules: LayoutRules = {};
    const quick: TimingOptions = { warmup: 0, minRuns: 1, maxRuns: 1 };
    for (const op of ['conv', 'dwconv'] as const) {
      const sig: LayerSignature = {
        op,
        kernel: [3, 3],
        stride: [1, 1],
        pads: [1, 1, 1, 1],
        inH: 8,
        inW: 8,
        outH: 8,
        outW: 8,
        epilogue: 'relu',
      };
      const fast: boolean[] = [];
      for (let c = 1; c <= maxWidth; c++) fast.push((await this.measureLayer(sig, c, op === 'dwconv' ? c : 32, 1, quick)).fast === true);
      if (fast.every((f) => !f)) continue; // one regime: nothing to record
      const outPad = await this.probeOutputBlock();
      const rule = inferRule(fast, outPad);
      if (!rule) {
        throw new LatpruneError(
          'RUNTIME',
          `could not infer ORT's blocked-layout rule for ${op} from probes ${fast.map((f, i) => `${i + 1}:${f ? 'B' : '-'}`).join(' ')}; please report this device.`,
        );
      }
      rules[op] = rule;
    }
    return rules;
  }

  /** The channel block of ORT's blocked layout: the padded width of a 1-channel blocked tensor. */
  private async probeOutputBlock(): Promise<number> {
    const sig: LayerSignature = {
      op: 'conv',
      kernel: [1, 1],
      stride: [1, 1],
      pads: [0, 0, 0, 0],
      inH: 4,
      inW: 4,
      outH: 4,
      outW: 4,
      epilogue: 'relu',
    };
    // the consumer Q of a 1-output conv reads the padded blocked tensor: its input shape shows the block
    const g = buildMicroGraph(sig, 16, 1, 1, this.producerVersion);
    const feeds = { x: new ort.Tensor('float32', randomFloats(16 * 16, 5), [1, 16, 4, 4]) };
    const runs = await this.profiled(g.bytes, feeds, { warmup: 0, minRuns: 1, maxRuns: 1 });
    const l = [...(runs[0] ?? new Map()).entries()].find(([n]) => n.startsWith(LAYER_PREFIX));
    const elems = l?.[1].elems ?? 16;
    return Math.max(1, Math.round(elems / 16));
  }

  /**
   * HALP's way, for comparison: the layer alone (graph input -> conv -> graph
   * output, no neighbours, no fused epilogue), wall-clock median in ms.
   */
  async measureStandalone(sig: LayerSignature, cin: number, cout: number, batch: number, t: TimingOptions = {}): Promise<number> {
    const g = new OnnxGraph({ producerVersion: this.producerVersion, graphName: 'latprune_layer_alone' });
    const depthwise = sig.op === 'dwconv';
    const group = depthwise ? cin : 1;
    let inputShape: number[];
    if (sig.op === 'gemm') {
      inputShape = [batch, cin];
      const x = g.addInput('x', inputShape);
      g.addOutput('y', [batch, cout]);
      addGemm(g, x, {
        output: 'y',
        weight: { data: randomFloats(cout * cin, 1), dims: [cout, cin] },
        bias: { data: randomFloats(cout, 2), dims: [cout] },
        transB: true,
      });
    } else {
      inputShape = [batch, cin, sig.inH, sig.inW];
      const x = g.addInput('x', inputShape);
      g.addOutput('y', [batch, cout, sig.outH, sig.outW]);
      addConv(g, x, {
        output: 'y',
        weight: {
          data: randomFloats((cout * cin * sig.kernel[0] * sig.kernel[1]) / group, 3),
          dims: [cout, cin / group, sig.kernel[0], sig.kernel[1]],
        },
        bias: { data: randomFloats(cout, 4), dims: [cout] },
        strides: sig.stride,
        pads: sig.pads,
        group,
      });
    }
    return (await this.measureOnnx(g.encode(), t, inputShape)).ms;
  }

  /** {@inheritDoc LatencyRuntime.measureNetwork} */
  async measureNetwork(net: NetworkSpec, t: TimingOptions = {}): Promise<{ ms: number; runs: number }> {
    const tt = this.timingFor(t);
    return this.measureOnnx(this.networkBytes(net), tt, undefined, tt.sessions ?? 3);
  }

  /**
   * Two whole networks of the same input timed in alternating sessions (see
   * {@link timeAlternating}): `sessions` pairs (default 3), each session
   * warmed up and timed for `capSeconds` (default 1.5) and at least `minRuns`
   * runs. Returns each one's median latency and `ratio`, the median over the
   * pairs of `b / a`: how many times faster `a` runs than `b` at the same time.
   */
  async measureNetworkPair(
    a: NetworkSpec,
    b: NetworkSpec,
    t: TimingOptions = {},
  ): Promise<{ aMs: number; bMs: number; ratio: number; pairs: number }> {
    if (a.batch !== b.batch) throw new LatpruneError('BAD_ARGUMENT', `paired timing needs one batch size (got ${a.batch} and ${b.batch}).`);
    const bytesA = this.networkBytes(a);
    const bytesB = this.networkBytes(b);
    const input = inputShapeOf(bytesA);
    if (inputShapeOf(bytesB).join('x') !== input.join('x'))
      throw new LatpruneError('BAD_ARGUMENT', 'paired timing needs networks of the same input shape.');
    const x = new ort.Tensor(
      'float32',
      randomFloats(
        input.reduce((p, q) => p * q, 1),
        13,
      ),
      input,
    );
    const opts = this.options(false);
    const wa = sessionWorkload(bytesA, opts, x, this.onGpu);
    const wb = sessionWorkload(bytesB, opts, x, this.onGpu);
    const r = await timeAlternating(wa, wb, {
      pairs: t.sessions ?? 3,
      blockMs: (t.capSeconds ?? 1.5) * 1000,
      minRuns: t.minRuns ?? 5,
      warmup: t.warmup ?? 3,
    });
    return { aMs: median(r.a.map(median)), bMs: median(r.b.map(median)), ratio: alternatingSpeedup(r), pairs: r.a.length };
  }

  /** A whole network as ONNX bytes with random weights at its kept widths. */
  private networkBytes(net: NetworkSpec): Uint8Array {
    return modelToOnnx(net.model, { producerVersion: this.producerVersion, batch: net.batch, synthetic: { coutOf: net.coutOf } });
  }

  /**
   * Median wall-clock latency (ms) of an ONNX model with one NCHW float input
   * of fixed shape. Measured in `sessions` separate sessions (default 3) and
   * the median of their medians returned: on this CPU the same model varies up
   * to 2x between sessions (measured: a pruned ResNet-20 at 60-77 ms in six
   * sessions, 120 ms in another process), far more than within one session.
   */
  async measureOnnx(
    bytes: Uint8Array,
    t: TimingOptions = {},
    inputShape?: readonly number[],
    sessions = 3,
  ): Promise<{ ms: number; runs: number }> {
    const input = inputShape ?? inputShapeOf(bytes);
    const x = new ort.Tensor(
      'float32',
      randomFloats(
        input.reduce((a, b) => a * b, 1),
        13,
      ),
      input as number[],
    );
    const medians: number[] = [];
    let runs = 0;
    for (let k = 0; k < sessions; k++) {
      const session = await ort.InferenceSession.create(bytes, this.options(false));
      try {
        const feeds = { [session.inputNames[0]!]: x };
        const once = timedRun(session, feeds);
        // on the GPU: compile the shaders first, then the usual protocol (its warm-up included)
        if (this.onGpu) await warmUpUntilStable(once, 1);
        const samples = await timeRepeated(once, t);
        medians.push(median(samples));
        runs += samples.length;
      } finally {
        await session.release();
      }
    }
    return { ms: median(medians), runs };
  }

  /** {@inheritDoc LatencyRuntime.dispose} */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
