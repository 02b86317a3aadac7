/**
 * Applying a selection to a live tfjs model by zeroing removed channels, and
 * mask tensors for gradient masking during training.
 */

import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { selectionMasks } from './masks.js';
import type { Selection } from './selection.js';
import type { ChannelGraph } from './types.js';

function variablesByName(model: tf.LayersModel): Map<string, tf.Variable> {
  return new Map(
    model.weights.map((w) => {
      const v = (w as unknown as { val: tf.Variable }).val;
      return [v.name, v];
    }),
  );
}

/** What {@link applySelection} changed. */
export interface ApplyReport {
  /** Variables that were (partly) zeroed. */
  readonly variables: readonly string[];
  /** Number of weight elements set to zero. */
  readonly zeroed: number;
}

/**
 * Zeroes every weight element of the removed channels, in place: producer
 * kernel slices and biases, BatchNorm gamma, beta and moving mean, depthwise
 * kernels, and the consumers' input slices (next conv's kernel along its
 * input axis, Dense rows — all `H*W` rows of a channel after Flatten). BN
 * moving variance is left as is (zeroing it would blow up the channel if it
 * is later regrown; with gamma = beta = 0 it has no effect).
 *
 * Exactness: in inference mode (moving statistics) the zeroed model computes
 * exactly what the model with those channels physically removed computes: a
 * removed channel is 0 after its producer and BN, and even where an
 * activation maps 0 to something else (sigmoid), its consumers' input slices
 * are zero, so it contributes nothing downstream.
 *
 * Training mode: BatchNorm then normalises with batch statistics; a zeroed
 * channel has batch mean 0 and variance 0, so BN outputs `beta` for it — this
 * is why beta must be zeroed, not only gamma. Keep the channels at zero while
 * training by masking their updates (see {@link maskTensors}; pass them as the
 * trainer's `updateMasks`, which also freezes the momentum of masked elements,
 * or multiply the gradients): momentum from before pruning would otherwise
 * move gamma and beta away from zero. The running moving mean of a zeroed
 * channel stays 0 and its moving variance decays towards 0, which is harmless
 * while gamma = beta = 0.
 *
 * @param model - the model the graph was computed from (same variables)
 * @param graph - its channel graph
 * @param sel - a valid selection
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection or when a variable of the graph is not in the model
 */
export function applySelection(model: tf.LayersModel, graph: ChannelGraph, sel: Selection): ApplyReport {
  const vars = variablesByName(model);
  const variables: string[] = [];
  let zeroed = 0;
  for (const m of selectionMasks(graph, sel)) {
    if (m.name === 'moving_variance') continue;
    const v = vars.get(m.variable);
    if (v === undefined) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `variable ${m.variable} (layer ${m.layer}) is not in model ${model.name}; analyse this model instance (analyzeModel(model)) and use its graph.`,
      );
    }
    tf.tidy(() => v.assign(tf.mul(v, tf.tensor(m.data, [...m.shape]))));
    variables.push(m.variable);
    zeroed += m.removed;
  }
  return { variables, zeroed };
}

/** Options of {@link maskTensors}. */
export interface MaskTensorOptions {
  /** Only trainable weights (default true: the gradients the trainer sees). */
  readonly trainableOnly?: boolean;
  /** Also weights the selection leaves intact (all-ones masks); default false. */
  readonly all?: boolean;
}

/**
 * 0/1 mask tensors by tf.Variable name (1 = kept), for the trainer's
 * `updateMasks` hook or for multiplying gradients. The caller disposes them.
 *
 * @param graph - the channel graph
 * @param sel - a valid selection
 * @param opts - which weights to include
 * @throws LatpruneError `BAD_ARGUMENT` for an invalid selection
 */
export function maskTensors(graph: ChannelGraph, sel: Selection, opts: MaskTensorOptions = {}): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const m of selectionMasks(graph, sel, { all: opts.all ?? false })) {
    if ((opts.trainableOnly ?? true) && !m.trainable) continue;
    out[m.variable] = tf.tensor(m.data, [...m.shape]);
  }
  return out;
}
