/**
 * Per-layer consequences of a selection: which input and output channels of
 * every layer survive, and which indices of every weight axis — the metadata
 * for physically compacting a model, for per-layer (cin, cout) latency
 * look-ups and for parameter/FLOP counts.
 */

import { LatpruneError } from '../errors.js';
import { keptChannelFlags, keptFlags, type Selection } from './selection.js';
import type { ChannelGraph, LayerChannels, LayerWeight, WeightAxis } from './types.js';

/** Kept indices along one axis of a weight. */
export interface AxisKeep {
  /** Axis of the weight. */
  readonly axis: number;
  /** Kept indices along it, ascending. */
  readonly keep: readonly number[];
}

/** How one weight shrinks. */
export interface WeightKeep {
  /** Short weight name (`kernel`, `gamma`, ...). */
  readonly name: string;
  /** tf.Variable name. */
  readonly variable: string;
  /** Original shape. */
  readonly shape: readonly number[];
  /** Shape after compaction. */
  readonly keptShape: readonly number[];
  /**
   * Kept indices along each axis that carries channels, ascending by axis (a
   * depthwise kernel lists both its input axis 2 and its multiplier axis 3).
   * Axes not listed keep everything.
   */
  readonly axes: readonly AxisKeep[];
  /** Whether the weight is trainable. */
  readonly trainable: boolean;
}

/** How one layer shrinks under a selection. */
export interface LayerKeep {
  /** Layer name. */
  readonly name: string;
  /** tfjs class name. */
  readonly className: string;
  /** Kept channel indices (last axis) of each input tensor. */
  readonly inputs: readonly (readonly number[])[];
  /** Kept channel indices (last axis) of each output tensor. */
  readonly outputs: readonly (readonly number[])[];
  /** Per weight, the kept indices along its channel axes. */
  readonly weights: readonly WeightKeep[];
}

const indicesOf = (flags: Uint8Array): number[] => {
  const out: number[] = [];
  flags.forEach((f, i) => f && out.push(i));
  return out;
};

/**
 * Kept element flags along the merged axes of a weight axis: index `i` is
 * kept when layer channel `floor(i / div)` is.
 */
function mergedFlags(ax: WeightAxis, whole: Uint8Array): Uint8Array {
  const side = (ax.groups ?? 1) > 1 ? whole.subarray(0, whole.length / ax.groups!) : whole;
  const out = new Uint8Array(side.length * ax.div);
  for (let i = 0; i < out.length; i++) out[i] = side[Math.floor(i / ax.div)]!;
  return out;
}

function weightKeep(layer: string, w: LayerWeight, ins: Uint8Array | undefined, outs: Uint8Array | undefined): WeightKeep {
  const perAxis = new Map<number, Uint8Array>();
  const restrict = (axis: number, flags: Uint8Array): void => {
    const prev = perAxis.get(axis);
    if (prev === undefined) perAxis.set(axis, flags);
    else
      perAxis.set(
        axis,
        prev.map((v, i) => v & flags[i]!),
      );
  };
  for (const ax of w.axes) {
    const side = ax.role === 'input' ? ins : outs;
    if (side === undefined) continue;
    const merged = mergedFlags(ax, side);
    const dims = w.shape.slice(ax.axis, ax.axis + ax.span);
    // Project the kept merged indices onto each axis; they must form a product set.
    const proj = dims.map((d) => new Uint8Array(d));
    let count = 0;
    for (let i = 0; i < merged.length; i++) {
      if (!merged[i]) continue;
      count++;
      let rest = i;
      for (let k = dims.length - 1; k >= 0; k--) {
        proj[k]![rest % dims[k]!] = 1;
        rest = Math.floor(rest / dims[k]!);
      }
    }
    const product = proj.reduce((a, p) => a * p.reduce((s, v) => s + v, 0), 1);
    if (product !== count) {
      throw new LatpruneError(
        'RUNTIME',
        `layer ${layer}: kept channels of weight ${w.name} do not form a box over axes ${ax.axis}..${ax.axis + ax.span - 1}; this is a latprune bug, please report it.`,
      );
    }
    proj.forEach((p, k) => restrict(ax.axis + k, p));
  }
  const axes: AxisKeep[] = [...perAxis.entries()].sort((a, b) => a[0] - b[0]).map(([axis, flags]) => ({ axis, keep: indicesOf(flags) }));
  const keptShape = w.shape.map((d, i) => perAxis.get(i)?.reduce((s, v) => s + v, 0) ?? d);
  return { name: w.name, variable: w.variable, shape: w.shape, keptShape, axes, trainable: w.trainable };
}

/** {@link layerKeep} for one layer, given the per-group kept flags. */
export function layerKeepOf(l: LayerChannels, flags: readonly Uint8Array[]): LayerKeep {
  const ins = l.inputs.map((m) => keptChannelFlags(m, flags));
  const outs = l.outputs.map((m) => keptChannelFlags(m, flags));
  return {
    name: l.name,
    className: l.className,
    inputs: ins.map(indicesOf),
    outputs: outs.map(indicesOf),
    weights: l.weights.map((w) => weightKeep(l.name, w, ins[0], outs[0])),
  };
}

/**
 * What survives of every layer under a selection, in the graph's layer order:
 * the compaction plan (slice each weight along `axes[i].axis` at
 * `axes[i].keep`; set Conv2D `filters` / Dense `units` to the kept output count).
 *
 * @param graph - the channel graph
 * @param sel - a valid selection
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection
 */
export function layerKeep(graph: ChannelGraph, sel: Selection): LayerKeep[] {
  const flags = keptFlags(graph, sel);
  return graph.layers.map((l) => layerKeepOf(l, flags));
}

/** Kept channel counts of one layer. */
export interface LayerWidths {
  /** Kept channels of each input tensor. */
  readonly inputs: readonly number[];
  /** Kept channels of each output tensor. */
  readonly outputs: readonly number[];
}

/**
 * Per-layer kept channel counts under a selection (the `cin`/`cout` of latency look-ups).
 * For a Dense layer after Flatten the input count is the number of kept kernel rows.
 *
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection
 */
export function layerWidths(graph: ChannelGraph, sel: Selection): Record<string, LayerWidths> {
  const flags = keptFlags(graph, sel);
  const count = (f: Uint8Array): number => f.reduce((s, v) => s + v, 0);
  return Object.fromEntries(
    graph.layers.map((l) => [
      l.name,
      { inputs: l.inputs.map((m) => count(keptChannelFlags(m, flags))), outputs: l.outputs.map((m) => count(keptChannelFlags(m, flags))) },
    ]),
  );
}
