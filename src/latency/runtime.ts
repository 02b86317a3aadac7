/**
 * What the profiler needs from a runtime: time one layer in context, probe
 * the layout rules, time a whole network.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GpuDescription } from './gpu.js';
import type { LayoutRules } from './layout.js';
import type { LayerSignature } from './signature.js';

/** Timing protocol of one entry. */
export interface TimingOptions {
  /** Untimed runs first (default 2). */
  readonly warmup?: number;
  /** Fewest timed runs (default 5). */
  readonly minRuns?: number;
  /** Most timed runs (default 50). */
  readonly maxRuns?: number;
  /** Stop once the 95% confidence half-width of the median is below this fraction (default 0.02). */
  readonly relCi?: number;
  /** Stop after this many seconds of timed runs (default 1.5). */
  readonly capSeconds?: number;
  /** Whole networks: separate sessions, the median of their medians (ORT; default 3). */
  readonly sessions?: number;
}

/** One layer measurement. */
export interface LayerMeasurement {
  /** Median latency of the layer's own kernels, ms. */
  readonly ms: number;
  /** Timed runs. */
  readonly runs: number;
  /** Whether the runtime ran the layer in its fast (blocked) form, when it can tell. */
  readonly fast?: boolean;
  /** Layout conversions seen around the layer: elements converted and their time (ms). */
  readonly reorders: ReadonlyArray<{ readonly elems: number; readonly ms: number }>;
}

/** A network to time: a model at chosen widths (random weights: latency does not depend on them). */
export interface NetworkSpec {
  readonly model: tf.LayersModel;
  /** Output width of each conv/dense layer (undefined: the model's own). */
  readonly coutOf: (layer: string) => number | undefined;
  readonly batch: number;
}

/** A runtime latprune can profile. */
export interface LatencyRuntime {
  readonly name: 'ort' | 'tfjs';
  readonly version: string;
  /** Execution provider or tfjs backend. */
  readonly ep: string;
  /** Intra-op threads (0 = runtime default). */
  readonly threads: number;
  /** The GPU it times, for a GPU runtime (ORT's WebGPU EP); its fingerprint names the table. */
  readonly gpu?: GpuDescription;
  /** Times a layer of `sig` with `cin` inputs and `cout` outputs at `batch`, in context. */
  measureLayer(sig: LayerSignature, cin: number, cout: number, batch: number, t?: TimingOptions): Promise<LayerMeasurement>;
  /** Finds which input widths run the fast kernels (empty when the runtime has one regime). */
  probeLayout(): Promise<LayoutRules>;
  /** Median wall-clock latency (ms) of a whole network: `net.model` with conv/dense widths from `net.coutOf`. */
  measureNetwork(net: NetworkSpec, t?: TimingOptions): Promise<{ ms: number; runs: number }>;
  /** Releases resources. */
  dispose(): Promise<void>;
}

/** Median of a sample. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * Relative half-width of a distribution-free 95% confidence interval of the
 * median (order statistics n/2 -+ 0.98 sqrt(n)); Infinity for small samples.
 */
export function medianCiRel(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 6) return Infinity;
  const s = [...xs].sort((a, b) => a - b);
  const h = 0.98 * Math.sqrt(n);
  const lo = s[Math.max(0, Math.floor(n / 2 - h))]!;
  const hi = s[Math.min(n - 1, Math.ceil(n / 2 + h))]!;
  const m = median(s);
  return m > 0 ? (hi - lo) / 2 / m : Infinity;
}

/** Runs `once` (returning elapsed ms) under a timing protocol; returns the timed samples. */
export async function timeRepeated(once: () => Promise<number>, t: TimingOptions = {}): Promise<number[]> {
  const warmup = t.warmup ?? 2;
  const minRuns = t.minRuns ?? 5;
  const maxRuns = t.maxRuns ?? 50;
  const relCi = t.relCi ?? 0.02;
  const cap = (t.capSeconds ?? 1.5) * 1000;
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < maxRuns) {
    samples.push(await once());
    if (samples.length >= minRuns && (medianCiRel(samples) <= relCi || performance.now() - start >= cap)) break;
  }
  return samples;
}

/** Something to time in blocks: `open` prepares it (an ORT session), `run` is one timed call. */
export interface TimedWorkload {
  open(): Promise<{ run(): Promise<unknown>; close(): Promise<void> }>;
}

/**
 * Times two workloads in alternating blocks: `pairs` pairs of blocks, in the
 * order A B, B A, A B, ... so neither always goes first. A block opens its
 * workload, runs it `warmup` times untimed, then times runs until `blockMs`
 * have passed and at least `minRuns` were timed, and closes it. Returns each
 * block's timed latencies (ms), pair by pair; the ratio of a pair's medians is
 * insensitive to the machine's speed moving over minutes, which absolute
 * latencies are not.
 *
 * Blocks, not single runs, alternate, and each closes its workload before the
 * next opens: ONNX Runtime's intra-op threads keep spinning after a run (a
 * second session run right after a first one here ran 1.7x slower), and
 * releasing the session stops them.
 */
export async function timeAlternating(
  a: TimedWorkload,
  b: TimedWorkload,
  o: { readonly pairs: number; readonly blockMs: number; readonly minRuns: number; readonly warmup?: number },
): Promise<{ a: number[][]; b: number[][] }> {
  const block = async (w: TimedWorkload): Promise<number[]> => {
    const h = await w.open();
    try {
      for (let i = 0; i < (o.warmup ?? 3); i++) await h.run();
      const times: number[] = [];
      const start = performance.now();
      while (times.length < o.minRuns || performance.now() - start < o.blockMs) {
        const t0 = performance.now();
        await h.run();
        times.push(performance.now() - t0);
      }
      return times;
    } finally {
      await h.close();
    }
  };
  const ta: number[][] = [];
  const tb: number[][] = [];
  for (let i = 0; i < o.pairs; i++) {
    if (i % 2 === 0) {
      ta.push(await block(a));
      tb.push(await block(b));
    } else {
      tb.push(await block(b));
      ta.push(await block(a));
    }
  }
  return { a: ta, b: tb };
}

/** How many times faster A ran than B in {@link timeAlternating}'s blocks: the median over the pairs of median(B) / median(A). */
export function alternatingSpeedup(r: { readonly a: readonly number[][]; readonly b: readonly number[][] }): number {
  return median(r.a.map((t, i) => median(r.b[i]!) / median(t)));
}
