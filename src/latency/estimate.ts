/**
 * Network latency under a channel selection, from a latency table:
 *
 *   total = a * (sum of layer look-ups + layout conversions - plain)
 *         + p * plain + b * other + c
 *
 * - layer look-ups: each conv/depthwise/dense layer at its actual kept
 *   (cin, cout), measured in context (`micrograph.ts`), regime-aware;
 * - layout conversions: where a tensor produced in one layout (the runtime's
 *   blocked layout or plain) is read in the other, one reorder of its
 *   elements, costed from the reorders observed while profiling;
 * - plain: the look-ups of layers on the runtime's plain (unblocked)
 *   kernels, which a network pays differently from the in-context micro-graph
 *   (measured here: networks of blocked layers ran at 0.90x the sum, networks
 *   with plain layers at 0.95-1.05x);
 * - other: elements through ops the table does not time (unfused adds,
 *   pooling), in millions;
 * - a, p, b, c: calibrated against whole-network measurements made during
 *   profiling (identity until calibrated); networks with plain layers may
 *   have coefficients of their own (`calibrate.ts`).
 *
 * Also the solver's coupled latency model: `total(keep)` for kept counts per
 * channel group.
 */
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import {
  analyzeModel,
  describeModel,
  layerWidths,
  type ChannelGraph,
  type ChannelMap,
  type LayerWidths,
  type Selection,
} from '../graph/index.js';
import { isFast, roundUp, type LayoutRule } from './layout.js';
import { makeLookup, type SignatureLookup } from './interpolate.js';
import { signedLayers, type SignedLayer } from './signature.js';
import { reorderCost, type CalibrationCoefficients, type LatencyTable, type MixedCalibration } from './table.js';

/** Parts of an estimate. */
export interface LatencyBreakdown {
  /** Calibrated total, ms. */
  readonly totalMs: number;
  /** Sum of layer look-ups, ms. */
  readonly layersMs: number;
  /** Layout conversions, ms. */
  readonly reorderMs: number;
  /** The part of `layersMs` from layers on plain (unblocked) kernels, ms. */
  readonly plainMs: number;
  /** Elements through untimed ops, millions. */
  readonly otherMElems: number;
  /** Per timed layer: look-up (ms) at its (cin, cout). */
  readonly perLayer: Readonly<Record<string, { readonly cin: number; readonly cout: number; readonly ms: number }>>;
}

/** The estimator's uncalibrated parts of one network. */
export interface CalibrationParts {
  /** Layer look-ups plus layout conversions, ms. */
  readonly partsMs: number;
  /** The part of `partsMs` from layers on plain kernels, ms (0 when absent). */
  readonly plainMs?: number;
  readonly otherMElems: number;
}

/** A calibration sample: measured whole-network latency and the estimator's uncalibrated parts. */
export interface CalibrationSample extends CalibrationParts {
  readonly measuredMs: number;
}

/** Fitted calibration (see the table schema's `calibration`). */
export interface CalibrationFit extends CalibrationCoefficients {
  /**
   * Coefficients for networks with plain-kernel layers; the top-level ones
   * then serve networks without. Absent: one fit serves all.
   */
  readonly mixed?: MixedCalibration;
}

/** Share of a network's layer time on plain kernels (plain / parts). */
export function plainShare(p: CalibrationParts): number {
  return (p.plainMs ?? 0) / Math.max(1e-12, p.partsMs);
}

function linear(c: CalibrationCoefficients, p: CalibrationParts, plain: number): number {
  return c.scale * (p.partsMs - plain) + (c.plainScale ?? c.scale) * plain + c.otherMsPerMElem * p.otherMElems + c.overheadMs;
}

/** The calibrated estimate of a network's parts under `f` (the mixed coefficients blended in by plain share). */
export function applyCalibration(f: CalibrationFit, p: CalibrationParts): number {
  const plain = p.plainMs ?? 0;
  const top = linear(f, p, plain);
  if (!f.mixed || plain <= 0) return top;
  const w = f.mixed.fromPlainShare > 0 ? Math.min(1, plainShare(p) / f.mixed.fromPlainShare) : 1;
  return (1 - w) * top + w * linear(f.mixed, p, plain);
}

const PASS = new Set(['BatchNormalization', 'ReLU', 'Activation', 'Dropout', 'LeakyReLU']);
const MERGE = new Set(['Add', 'Multiply', 'Concatenate']);
const POOL = new Set(['MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D']);

interface Node {
  readonly name: string;
  readonly cls: string;
  /** Upstream materialised producers (through pass-through layers). */
  readonly sources: string[];
  /** Output spatial size (1x1 for 2-D outputs). */
  readonly hw: number;
}

/** Estimates latency from a table for one model. Create with {@link LatencyEstimator.create}. */
export class LatencyEstimator {
  private constructor(
    readonly table: LatencyTable,
    private readonly graph: ChannelGraph,
    private readonly signed: Map<string, SignedLayer>,
    private readonly lookups: Map<string, SignatureLookup>,
    private readonly nodes: Node[],
  ) {}

  /**
   * @param model - the (unpruned) model the table was built for
   * @param table - its latency table
   * @param graph - the model's channel graph (`analyzeModel`)
   * @throws LatpruneError `SCHEMA` when a layer's signature is missing from the table
   */
  static create(model: tf.LayersModel, table: LatencyTable, graph: ChannelGraph): LatencyEstimator {
    const signed = new Map(signedLayers(model).map((l) => [l.layer, l]));
    const lookups = new Map<string, SignatureLookup>();
    for (const l of signed.values()) {
      const sig = table.signatures[l.key];
      if (!sig)
        throw new LatpruneError(
          'SCHEMA',
          `latency table for '${table.model}' has no entry for layer '${l.layer}' (signature ${l.key}); it was built for another model or input size. Re-run \`latprune profile\`.`,
        );
      if (!sig.points.length)
        throw new LatpruneError(
          'SCHEMA',
          `latency table for '${table.model}' has no measured points for signature ${l.key} (layer '${l.layer}'); finish the table with \`latprune profile\` (it resumes).`,
        );
      if (!lookups.has(l.key)) lookups.set(l.key, makeLookup(sig.op, sig.points, table.layout));
    }
    return new LatencyEstimator(table, graph, signed, lookups, tensorNodes(model));
  }

  /** Breakdown for per-layer kept widths (see `layerWidths` in the graph module). */
  estimate(widths: Readonly<Record<string, LayerWidths>>): LatencyBreakdown {
    const t = this.table;
    const batch = t.batch;
    const perLayer: Record<string, { cin: number; cout: number; ms: number }> = {};
    let layersMs = 0;
    for (const [name, l] of this.signed) {
      const w = widths[name];
      const cin = w?.inputs[0] ?? l.cin;
      const cout = w?.outputs[0] ?? l.cout;
      const ms = this.lookups.get(l.key)!(cin, cout);
      perLayer[name] = { cin, cout, ms };
      layersMs += ms;
    }
    // layouts of materialised tensors and what their consumers need
    const layout = new Map<string, 'c' | 'p'>();
    const channels = (name: string) => widths[name]?.outputs[0] ?? 0;
    const rule = (op: string): LayoutRule | undefined => (op === 'dwconv' ? t.layout.dwconv : t.layout.conv);
    const need = new Map<string, Set<'c' | 'p'>>();
    const want = (src: string, l: 'c' | 'p') => need.set(src, (need.get(src) ?? new Set()).add(l));
    let otherMElems = 0;
    let plainMs = 0;
    for (const n of this.nodes) {
      const s = this.signed.get(n.name);
      if (s) {
        const r = rule(s.signature.op);
        const cin = perLayer[n.name]!.cin;
        const fast = s.signature.op !== 'gemm' && r !== undefined && isFast(r, cin, perLayer[n.name]!.cout);
        if (r !== undefined && s.signature.op !== 'gemm' && !fast) plainMs += perLayer[n.name]!.ms;
        layout.set(n.name, fast ? 'c' : 'p');
        for (const src of n.sources) want(src, fast && (cin >= r!.below || cin % r!.outPad === 0) ? 'c' : 'p');
      } else if (MERGE.has(n.cls) || POOL.has(n.cls)) {
        const l: 'c' | 'p' = n.sources.every((src) => layout.get(src) === 'c') ? 'c' : 'p';
        layout.set(n.name, l);
        for (const src of n.sources) want(src, l);
        otherMElems += (batch * channels(n.name) * n.hw) / 1e6;
      } else {
        layout.set(n.name, 'p');
        for (const src of n.sources) want(src, 'p');
      }
    }
    let reorderMs = 0;
    const pad = t.layout.conv?.outPad ?? 1;
    for (const n of this.nodes) {
      const have = layout.get(n.name);
      const needs = need.get(n.name);
      if (!have || !needs) continue;
      // a conversion costs by the elements it writes (what the table's reorder samples were fitted on):
      // to the blocked layout, padded channels; back to plain, the tensor's own
      for (const l of needs)
        if (l !== have) reorderMs += reorderCost(t, batch * (l === 'c' ? roundUp(channels(n.name), pad) : channels(n.name)) * n.hw);
    }
    const parts = layersMs + reorderMs;
    const totalMs = t.calibration ? applyCalibration(t.calibration, { partsMs: parts, plainMs, otherMElems }) : parts;
    return { totalMs, layersMs, reorderMs, plainMs, otherMElems, perLayer };
  }

  /** Breakdown for a selection of kept channel indices per group. */
  estimateSelection(sel: Selection): LatencyBreakdown {
    return this.estimate(layerWidths(this.graph, sel));
  }

  /**
   * Per-layer widths when each group keeps its first `keep[id]` channels
   * (latency depends only on the counts), from precomputed prefix counts:
   * O(layers x groups per layer) instead of building a selection.
   */
  widthsForKeep(keep: Readonly<Record<string, number>>): Record<string, LayerWidths> {
    const sizes = this.graph.groups.map((g) => g.size);
    this.prefix ??= this.graph.layers.map((l) => ({
      name: l.name,
      inputs: l.inputs.map((m) => prefixCounts(m, sizes)),
      outputs: l.outputs.map((m) => prefixCounts(m, sizes)),
    }));
    const k = this.graph.groups.map((g) => Math.max(0, Math.min(g.size, keep[g.id] ?? g.size)));
    const width = (p: PrefixCounts) => p.fixed + p.groups.reduce((a, [gi, counts]) => a + counts[k[gi]!]!, 0);
    const out: Record<string, LayerWidths> = {};
    for (const l of this.prefix) out[l.name] = { inputs: l.inputs.map(width), outputs: l.outputs.map(width) };
    return out;
  }

  /** Total (ms) for kept channel counts per group id (the solver's coupled model). */
  total(keep: Readonly<Record<string, number>>): number {
    return this.estimate(this.widthsForKeep(keep)).totalMs;
  }

  private prefix: Array<{ name: string; inputs: PrefixCounts[]; outputs: PrefixCounts[] }> | undefined;
}

/** For one tensor's channel map: fixed channels, and per group the number of its channels below each k. */
interface PrefixCounts {
  readonly fixed: number;
  readonly groups: ReadonlyArray<readonly [number, Int32Array]>;
}

function prefixCounts(m: ChannelMap, sizes: readonly number[]): PrefixCounts {
  let fixed = 0;
  const byGroup = new Map<number, number[]>();
  m.group.forEach((g, i) => {
    if (g < 0) fixed++;
    else byGroup.set(g, [...(byGroup.get(g) ?? []), m.channel[i]!]);
  });
  const groups: Array<readonly [number, Int32Array]> = [];
  for (const [g, chans] of byGroup) {
    const counts = new Int32Array(sizes[g]! + 1);
    for (const c of chans) counts[c + 1]! += 1;
    for (let i = 1; i < counts.length; i++) counts[i]! += counts[i - 1]!;
    groups.push([g, counts]);
  }
  return { fixed, groups };
}

/** Materialised tensors of the model in topological order (conv/dense/merge/pool/input nodes). */
function tensorNodes(model: tf.LayersModel): Node[] {
  const spec = describeModel(model);
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const resolve = (name: string): string => {
    let cur = byName.get(name)!;
    while (PASS.has(cur.className)) cur = byName.get(cur.inbound[0]!.layer)!;
    return cur.name;
  };
  const out: Node[] = [];
  for (const l of spec.layers) {
    if (PASS.has(l.className) || l.className === 'Flatten') continue;
    const shape = l.outputShapes[0]!;
    const hw = shape.length === 3 ? shape[0]! * shape[1]! : 1;
    out.push({ name: l.name, cls: l.className, sources: l.inbound.map((t) => resolve(t.layer)), hw });
  }
  return out;
}

/**
 * The table's estimate of a network's latency (ms per batch of the table):
 * the dense model, or the model with `keep` channels kept per channel group
 * (group ids of `analyzeModel`; groups left out stay at full width).
 *
 * @param model - the (dense) model the table was built for
 * @param table - its latency table (`loadTable`)
 * @param keep - kept channels per group id (default: all)
 * @throws LatpruneError when the model has layers the table has no entries for (names the layer and the profile command)
 */
export function estimate(
  model: tf.LayersModel,
  table: LatencyTable,
  keep: Readonly<Record<string, number>> = {},
): { readonly ms: number; readonly fps: number } {
  const graph = analyzeModel(model);
  const est = LatencyEstimator.create(model, table, graph);
  const full = Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
  const ms = est.total({ ...full, ...keep });
  return { ms, fps: (table.batch * 1000) / ms };
}
