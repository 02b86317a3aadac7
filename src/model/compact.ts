/**
 * Physical compaction: a new tfjs model whose layers hold only the kept
 * channels of a selection (conv filters, depthwise channels, batch-norm
 * parameters and statistics, Dense rows after Flatten/GAP, Concatenate
 * offsets follow from the inputs). Its outputs equal the masked model's.
 */
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { layerKeep, type ChannelGraph, type Selection } from '../graph/index.js';

/** Slices `t` along each listed axis at the kept indices. */
async function sliceAxes(
  t: tf.Tensor,
  axes: ReadonlyArray<{ readonly axis: number; readonly keep: readonly number[] }>,
): Promise<tf.Tensor> {
  let gathered = false;
  const out = tf.tidy(() => {
    let o = t;
    for (const { axis, keep } of axes) {
      if (keep.length === o.shape[axis]) continue;
      o = tf.gather(o, tf.tensor1d(keep as number[], 'int32'), axis);
      gathered = true;
    }
    // getWeights() returns the variables themselves: never hand one out (it would be disposed)
    return gathered ? o : t.clone();
  });
  if (!gathered) return out;
  // Gathered tensors are copied into fresh buffers: the wasm backend keeps the shape a
  // buffer was made with (gather makes [1, 1, n, 1]) and its FusedConv2D rejects a bias
  // whose buffer is not rank 1. The read is asynchronous, as a GPU backend needs.
  try {
    return tf.tensor(await out.data(), out.shape, out.dtype);
  } finally {
    out.dispose();
  }
}

/**
 * Rebuilds `model`'s topology with other conv filter / dense unit counts
 * (fresh weights; depthwise, batch-norm and concatenation widths follow from
 * their inputs). Used by compaction and by latency measurements at chosen
 * widths.
 */
export async function modelAtWidths(
  model: tf.LayersModel,
  coutOf: (layer: string) => number | undefined,
  name = model.name,
): Promise<tf.LayersModel> {
  const topo = model.toJSON(undefined, false) as unknown as {
    config: { name: string; layers: Array<{ class_name: string; config: Record<string, unknown> & { name: string } }> };
  };
  for (const l of topo.config.layers) {
    const w = coutOf(l.config.name);
    if (w === undefined) continue;
    if (l.class_name === 'Conv2D' || l.class_name === 'GroupedConv2D' || l.class_name === 'SeparableConv2D') l.config['filters'] = w;
    if (l.class_name === 'Dense') l.config['units'] = w;
  }
  topo.config.name = name;
  return tf.models.modelFromJSON(topo as never);
}

/**
 * Builds the compacted model of `model` under `sel` (the model's current
 * weights are sliced; they need not be zeroed).
 *
 * @throws LatpruneError `RUNTIME` when the rebuilt model's weights do not
 *   match the slices (a bug: please report)
 */
export async function compactModel(model: tf.LayersModel, graph: ChannelGraph, sel: Selection): Promise<tf.LayersModel> {
  const plan = new Map(layerKeep(graph, sel).map((l) => [l.name, l]));
  const compact = await modelAtWidths(model, (l) => plan.get(l)?.outputs[0]?.length, `${model.name}_compact`);
  for (const layer of model.layers) {
    const k = plan.get(layer.name);
    const target = compact.getLayer(layer.name);
    const src = layer.getWeights();
    if (!src.length) continue;
    const sliced = await Promise.all(
      layer.weights.map((w, i) => {
        const variable = (w as unknown as { val: tf.Variable }).val.name;
        const wk = k?.weights.find((x) => x.variable === variable);
        return wk ? sliceAxes(src[i]!, wk.axes) : Promise.resolve(src[i]!.clone());
      }),
    );
    const want = target.weights.map((w) => w.shape.join('x'));
    const have = sliced.map((t) => t.shape.join('x'));
    if (want.join(',') !== have.join(',')) {
      tf.dispose(sliced);
      throw new LatpruneError(
        'RUNTIME',
        `compaction of layer '${layer.name}': sliced weights [${have.join(', ')}] do not fit the rebuilt layer [${want.join(', ')}]; please report this model.`,
      );
    }
    target.setWeights(sliced);
    tf.dispose(sliced);
  }
  return compact;
}
