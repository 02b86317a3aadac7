/**
 * Per-weight 0/1 masks of a selection (plain Float32Arrays): an element is 0
 * when any channel it belongs to — on the layer's input or output side — is
 * removed. They cover producers (kernel slices, biases), BatchNorm
 * parameters and statistics, depthwise kernels, and consumers (kernel input
 * slices, Dense rows after Flatten).
 */

import { keptChannelFlags, keptFlags, type Selection } from './selection.js';
import type { ChannelGraph, LayerWeight } from './types.js';

/** A 0/1 mask of one weight. */
export interface WeightMask {
  /** Layer name. */
  readonly layer: string;
  /** Short weight name (`kernel`, `gamma`, ...). */
  readonly name: string;
  /** tf.Variable name (the key of gradients). */
  readonly variable: string;
  /** Whether the weight is trainable. */
  readonly trainable: boolean;
  /** Weight shape. */
  readonly shape: readonly number[];
  /** 1 = kept, 0 = removed, row-major. */
  readonly data: Float32Array;
  /** Number of zeros in `data`. */
  readonly removed: number;
}

/** Options of {@link selectionMasks}. */
export interface MaskOptions {
  /** Also return masks without zeros (default false: only weights the selection touches). */
  readonly all?: boolean;
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

function maskOf(w: LayerWeight, ins: Uint8Array | undefined, outs: Uint8Array | undefined): Float32Array {
  const n = prod(w.shape);
  const data = new Float32Array(n).fill(1);
  for (const ax of w.axes) {
    const side = ax.role === 'input' ? ins : outs;
    if (side === undefined || side.every((f) => f === 1)) continue;
    const inner = prod(w.shape.slice(ax.axis + ax.span));
    const merged = prod(w.shape.slice(ax.axis, ax.axis + ax.span));
    for (let e = 0; e < n; e++) {
      const i = Math.floor(e / inner) % merged;
      if (!side[Math.floor(i / ax.div)]) data[e] = 0;
    }
  }
  return data;
}

/**
 * 0/1 masks of the weights a selection touches, keyed by layer and variable.
 *
 * @param graph - the channel graph
 * @param sel - a valid selection
 * @param opts - whether to include untouched weights
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection
 */
export function selectionMasks(graph: ChannelGraph, sel: Selection, opts: MaskOptions = {}): WeightMask[] {
  const flags = keptFlags(graph, sel);
  const out: WeightMask[] = [];
  for (const l of graph.layers) {
    const ins = l.inputs[0] && keptChannelFlags(l.inputs[0], flags);
    const outs = l.outputs[0] && keptChannelFlags(l.outputs[0], flags);
    for (const w of l.weights) {
      if (w.axes.length === 0) continue;
      const data = maskOf(w, ins, outs);
      let removed = 0;
      for (const v of data) if (v === 0) removed++;
      if (removed === 0 && !opts.all) continue;
      out.push({ layer: l.name, name: w.name, variable: w.variable, trainable: w.trainable, shape: w.shape, data, removed });
    }
  }
  return out;
}
