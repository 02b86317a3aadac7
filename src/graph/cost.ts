/**
 * Parameters and multiply-adds of a model under a selection, with the same
 * conventions as the zoo's `modelStats` (batch 1; MACs of the layer classes
 * marked `macs` in `LAYER_CLASSES`: convolutions and Dense; biases not counted
 * as MACs; params include BatchNorm moving statistics).
 */

import { layerKeep } from './layer-keep.js';
import { isKernelWeight, layerClass } from './layer-rules.js';
import type { Selection } from './selection.js';
import type { ChannelGraph } from './types.js';

/** Counts of one layer under a selection. */
export interface LayerCost {
  /** Layer name. */
  readonly name: string;
  /** tfjs class name. */
  readonly className: string;
  /** All kept weights. */
  readonly params: number;
  /** Kept trainable weights. */
  readonly trainableParams: number;
  /** Multiply-adds at batch 1. */
  readonly macs: number;
}

/** Counts of a model under a selection. */
export interface SelectionCost {
  /** All kept weights (trainable and BatchNorm moving statistics). */
  readonly params: number;
  /** Kept trainable weights. */
  readonly trainableParams: number;
  /** Multiply-adds at batch 1. */
  readonly macs: number;
  /** Per layer, in graph order. */
  readonly layers: readonly LayerCost[];
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/**
 * Parameters and MACs of the model compacted to `sel`. Each conv/Dense layer
 * costs (kept kernel elements) x (output positions): Conv2D
 * `Ho*Wo*kh*kw*cin*cout`, DepthwiseConv2D `Ho*Wo*kh*kw*cin*m`, SeparableConv2D
 * `Ho*Wo*(kh*kw*cin*m + cin*m*cout)`, Dense `positions*in*units`. With
 * {@link fullSelection} it equals the zoo's `modelStats`.
 *
 * @param graph - the channel graph
 * @param sel - a valid selection
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection
 */
export function selectionCost(graph: ChannelGraph, sel: Selection): SelectionCost {
  const plan = layerKeep(graph, sel);
  const layers: LayerCost[] = plan.map((lk, i) => {
    const l = graph.layers[i]!;
    let params = 0;
    let trainableParams = 0;
    let kernel = 0;
    for (const w of lk.weights) {
      const n = prod(w.keptShape);
      params += n;
      if (w.trainable) trainableParams += n;
      if (isKernelWeight(w.name)) kernel += n;
    }
    const out = l.outputShapes[0] ?? [];
    const positions = out.length >= 2 ? prod(out.slice(0, -1)) : 1;
    const macs = layerClass(l.className)?.macs ? positions * kernel : 0;
    return { name: l.name, className: l.className, params, trainableParams, macs };
  });
  const sum = (f: (c: LayerCost) => number): number => layers.reduce((a, c) => a + f(c), 0);
  return { params: sum((c) => c.params), trainableParams: sum((c) => c.trainableParams), macs: sum((c) => c.macs), layers };
}
