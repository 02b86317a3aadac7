/**
 * What the profiler needs from a runtime: time one layer in context, probe
 * the layout rules, time a whole network.
 */
import type * as tf from '@tensorflow/tfjs';
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

/**
 * Runs two workloads in alternation (A B, then B A, ... so neither always goes
 * first): warm-up (5 pairs and 500 ms), then pairs until `timeMs` has passed
 * and at least `minPairs` were timed. Returns each one's latencies (ms), pair
 * by pair. A ratio of paired latencies is insensitive to the machine's speed
 * moving during the measurement, which absolute latencies are not.
 */
export async function timeInterleaved(a: () => Promise<unknown>, b: () => Promise<unknown>, timeMs: number, minPairs: number): Promise<{ a: number[]; b: number[] }> {
  const once = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const warmEnd = performance.now() + 500;
  for (let i = 0; i < 5 || performance.now() < warmEnd; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const start = performance.now();
  for (let i = 0; ta.length < minPairs || performance.now() - start < timeMs; i++) {
    if (i % 2 === 0) {
      ta.push(await once(a));
      tb.push(await once(b));
    } else {
      tb.push(await once(b));
      ta.push(await once(a));
    }
  }
  return { a: ta, b: tb };
}
