/**
 * ONNX Runtime (onnxruntime-node) as a profiling target. Layers are timed in
 * context (see `micrograph.ts`) with ORT's per-node profiler, so the time is
 * the layer's own kernels as they run inside a network; whole networks are
 * timed by wall clock.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LatpruneError } from '../errors.js';
import { randomFloats } from '../util/random.js';
import { inferRule, type LayoutRules } from './layout.js';
import { LAYER_PREFIX, buildMicroGraph } from './micrograph.js';
import { alternatingSpeedup, median, timeAlternating, timeRepeated, type TimedWorkload, type LatencyRuntime, type LayerMeasurement, type NetworkSpec, type TimingOptions } from './runtime.js';
import { modelToOnnx } from '../onnx/index.js';
import { OnnxGraph, addConv, addGemm, decodeModel } from '../onnx/index.js';
import type { LayerSignature } from './signature.js';

/** Options of {@link OrtRuntime.create}. */
export interface OrtRuntimeOptions {
  /** Execution provider: 'cpu' (default) or 'cuda'. */
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
  readonly args?: { readonly op_name?: string; readonly output_type_shape?: Array<Record<string, number[]>> };
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
    const dims = shape ? Object.values(shape)[0] ?? [] : [];
    const node = e.name.slice(0, -KERNEL_SUFFIX.length);
    out[i]!.set(node, { ms: e.dur / 1000, op: e.args?.op_name ?? '', elems: dims.reduce((a, b) => a * b, 1) });
  }
  return out;
}

/** An ONNX model as a {@link TimedWorkload}: a block opens a session, runs it on `input`, releases it. */
export function sessionWorkload(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, input: ort.Tensor): TimedWorkload {
  return {
    open: async () => {
      const s = await ort.InferenceSession.create(bytes, options);
      const feeds = { [s.inputNames[0]!]: input };
      return { run: () => s.run(feeds), close: () => s.release() };
    },
  };
}

/** Fixed input shape of a model (batch must be fixed). */
function inputShapeOf(bytes: Uint8Array): number[] {
  const m = decodeModel(bytes, 'model');
  const dims = m.inputs[0]?.shape ?? [];
  if (!dims.every((d) => typeof d === 'number')) {
    throw new LatpruneError('BAD_ARGUMENT', `the model's input shape [${dims.join(', ')}] is not fixed; pass the input shape (batch) explicitly.`);
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
    const available = ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
    if (!available.includes(ep)) {
      throw new LatpruneError(
        'RUNTIME',
        `--ep ${ep}: this onnxruntime-node build has no '${ep}' execution provider (available: ${available.join(', ')}). ` +
          (ep === 'cuda' ? 'Install onnxruntime-node with its CUDA binaries (without onnxruntime-node-install=skip) on a machine with CUDA.' : 'Choose one of the available providers.'),
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'latprune-ortprof-'));
    return new OrtRuntime(ep, opts.threads ?? 0, dir, opts.producerVersion ?? 'latprune');
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

  /** Runs a profiled session and returns per-run node times (warm-up runs dropped). */
  private async profiled(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, t: TimingOptions): Promise<Array<Map<string, { ms: number; op: string; elems: number }>>> {
    const opts = this.options(true);
    const prefix = (opts.profileFilePrefix as string).split('/').pop()!;
    const session = await ort.InferenceSession.create(bytes, opts);
    try {
      const warmup = t.warmup ?? 2;
      await timeRepeated(async () => {
        const t0 = performance.now();
        await session.run(feeds);
        return performance.now() - t0;
      }, t);
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
      throw new LatpruneError('RUNTIME', `onnxruntime profile has no node of the timed layer (${LAYER_PREFIX}*) for ${JSON.stringify(sig)} at ${cin}->${cout}`);
    }
    return { ms: median(layerMs), runs: layerMs.length, ...(fast !== undefined ? { fast } : {}), reorders };
  }

  /**
   * Probes which input widths 1..`maxWidth` run ORT's blocked (NCHWc) kernels,
   * for convolutions and depthwise convolutions, from the names of the nodes
   * in the optimised graph (one quick run each, no timing).
   */
  async probeLayout(maxWidth = 48): Promise<LayoutRules> {
    const rules: LayoutRules = {};
    const quick: TimingOptions = { warmup: 0, minRuns: 1, maxRuns: 1 };
    for (const op of ['conv', 'dwconv'] as const) {
      const sig: LayerSignature = { op, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], inH: 8, inW: 8, outH: 8, outW: 8, epilogue: 'relu' };
      const fast: boolean[] = [];
      for (let c = 1; c <= maxWidth; c++) fast.push((await this.measureLayer(sig, c, op === 'dwconv' ? c : 32, 1, quick)).fast === true);
      if (fast.every((f) => !f)) continue; // one regime: nothing to record
      const outPad = await this.probeOutputBlock();
      const rule = inferRule(fast, outPad);
      if (!rule) {
        throw new LatpruneError('RUNTIME', `could not infer ORT's blocked-layout rule for ${op} from probes ${fast.map((f, i) => `${i + 1}:${f ? 'B' : '-'}`).join(' ')}; please report this device.`);
      }
      rules[op] = rule;
    }
    return rules;
  }

  /** The channel block of ORT's blocked layout: the padded width of a 1-channel blocked tensor. */
  private async probeOutputBlock(): Promise<number> {
    const sig: LayerSignature = { op: 'conv', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], inH: 4, inW: 4, outH: 4, outW: 4, epilogue: 'relu' };
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
      addGemm(g, x, { output: 'y', weight: { data: randomFloats(cout * cin, 1), dims: [cout, cin] }, bias: { data: randomFloats(cout, 2), dims: [cout] }, transB: true });
    } else {
      inputShape = [batch, cin, sig.inH, sig.inW];
      const x = g.addInput('x', inputShape);
      g.addOutput('y', [batch, cout, sig.outH, sig.outW]);
      addConv(g, x, {
        output: 'y',
        weight: { data: randomFloats((cout * cin * sig.kernel[0] * sig.kernel[1]) / group, 3), dims: [cout, cin / group, sig.kernel[0], sig.kernel[1]] },
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
    return this.measureOnnx(this.networkBytes(net), t, undefined, t.sessions ?? 3);
  }

  /**
   * Two whole networks of the same input timed in alternating sessions (see
   * {@link timeAlternating}): `sessions` pairs (default 3), each session
   * warmed up and timed for `capSeconds` (default 1.5) and at least `minRuns`
   * runs. Returns each one's median latency and `ratio`, the median over the
   * pairs of `b / a`: how many times faster `a` runs than `b` at the same time.
   */
  async measureNetworkPair(a: NetworkSpec, b: NetworkSpec, t: TimingOptions = {}): Promise<{ aMs: number; bMs: number; ratio: number; pairs: number }> {
    if (a.batch !== b.batch) throw new LatpruneError('BAD_ARGUMENT', `paired timing needs one batch size (got ${a.batch} and ${b.batch}).`);
    const bytesA = this.networkBytes(a);
    const bytesB = this.networkBytes(b);
    const input = inputShapeOf(bytesA);
    if (inputShapeOf(bytesB).join('x') !== input.join('x')) throw new LatpruneError('BAD_ARGUMENT', 'paired timing needs networks of the same input shape.');
    const x = new ort.Tensor('float32', randomFloats(input.reduce((p, q) => p * q, 1), 13), input);
    const opts = this.options(false);
    const r = await timeAlternating(sessionWorkload(bytesA, opts, x), sessionWorkload(bytesB, opts, x), { pairs: t.sessions ?? 3, blockMs: (t.capSeconds ?? 1.5) * 1000, minRuns: t.minRuns ?? 5, warmup: t.warmup ?? 3 });
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
  async measureOnnx(bytes: Uint8Array, t: TimingOptions = {}, inputShape?: readonly number[], sessions = 3): Promise<{ ms: number; runs: number }> {
    const input = inputShape ?? inputShapeOf(bytes);
    const x = new ort.Tensor('float32', randomFloats(input.reduce((a, b) => a * b, 1), 13), input as number[]);
    const medians: number[] = [];
    let runs = 0;
    for (let k = 0; k < sessions; k++) {
      const session = await ort.InferenceSession.create(bytes, this.options(false));
      try {
        const feeds = { [session.inputNames[0]!]: x };
        const samples = await timeRepeated(async () => {
          const t0 = performance.now();
          await session.run(feeds);
          return performance.now() - t0;
        }, t);
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
