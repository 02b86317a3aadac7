/**
 * From a tfjs LayersModel to a plain-data {@link ModelSpec}: the topology from
 * `model.toJSON(undefined, false)` (functional or Sequential), the output and
 * weight shapes and the `tf.Variable` names from the live layers.
 */

import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import type { LayerSpec, ModelSpec, TensorRef, WeightSpec } from './spec.js';

type Json = Record<string, unknown>;

interface RawLayer {
  readonly name: string;
  readonly className: string;
  readonly config: Json;
  readonly inbound: TensorRef[];
  readonly calls: number;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tf.Variable behind a LayerVariable (tfjs keeps it in the `val` field). */
function variableOf(w: tf.LayerVariable): tf.Variable {
  return (w as unknown as { val: tf.Variable }).val;
}

function shortName(w: tf.LayerVariable): string {
  const n = w.originalName ?? w.name;
  const i = n.lastIndexOf('/');
  return i < 0 ? n : n.slice(i + 1);
}

function outputShapes(layer: tf.layers.Layer): number[][] {
  let s: tf.Shape | tf.Shape[];
  try {
    s = layer.outputShape;
  } catch {
    // A shared layer whose calls have different shapes: use the first call.
    const node = (layer as unknown as { inboundNodes: { outputShapes: tf.Shape | tf.Shape[] }[] }).inboundNodes[0];
    if (node === undefined)
      throw new LatpruneError('BAD_ARGUMENT', `layer ${layer.name}: has no output shape; build the model before analysing it.`);
    s = node.outputShapes;
  }
  const list = (Array.isArray(s[0]) || s.length === 0 ? s : [s]) as (number | null)[][];
  return list.map((shape) => {
    const dims = shape.slice(1);
    if (dims.some((d) => d === null)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `layer ${layer.name}: output shape [${shape.join(', ')}] has unknown dimensions; build the model with a fixed input size.`,
      );
    }
    return dims as number[];
  });
}

function weightSpecs(layer: tf.layers.Layer): WeightSpec[] {
  return layer.weights.map((w) => ({
    name: shortName(w),
    variable: variableOf(w).name,
    shape: [...w.shape] as number[],
    trainable: w.trainable,
  }));
}

function parseInbound(layerName: string, nodes: unknown): { inbound: TensorRef[]; calls: number } {
  if (!Array.isArray(nodes) || nodes.length === 0) return { inbound: [], calls: 1 };
  const first = nodes[0] as unknown;
  if (!Array.isArray(first))
    throw new LatpruneError('BAD_FILE', `layer ${layerName}: inbound_nodes has an unexpected form in the model JSON.`);
  const inbound = first.map((entry: unknown) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') {
      throw new LatpruneError('BAD_FILE', `layer ${layerName}: inbound_nodes has an unexpected form in the model JSON.`);
    }
    const nodeIndex = Number(entry[1] ?? 0);
    if (nodeIndex !== 0) {
      throw new LatpruneError(
        'UNSUPPORTED_LAYER',
        `layer ${layerName}: reads call ${nodeIndex} of the shared layer ${entry[0]}; latprune analyses layers called once. Add ${entry[0]} to ignoredLayers or unshare it.`,
      );
    }
    return { layer: entry[0], tensor: Number(entry[2] ?? 0) };
  });
  return { inbound, calls: nodes.length };
}

function refList(v: unknown): TensorRef[] {
  if (!Array.isArray(v)) return [];
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((e: unknown) => {
    const a = e as unknown[];
    return { layer: String(a[0]), tensor: Number(a[2] ?? 0) };
  });
}

/** Orders layers so that each comes after the layers it reads. */
function topoSort(layers: RawLayer[]): RawLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: RawLayer[] = [];
  const visit = (l: RawLayer): void => {
    if (done.has(l.name)) return;
    if (visiting.has(l.name)) throw new LatpruneError('BAD_FILE', `layer ${l.name}: the model graph has a cycle.`);
    visiting.add(l.name);
    for (const r of l.inbound) {
      const src = byName.get(r.layer);
      if (src === undefined) throw new LatpruneError('BAD_FILE', `layer ${l.name}: reads unknown layer ${r.layer}.`);
      visit(src);
    }
    visiting.delete(l.name);
    done.add(l.name);
    out.push(l);
  };
  layers.forEach(visit);
  return out;
}

/**
 * Describes a tfjs model as plain data for {@link analyzeGraph}.
 *
 * Functional models are read from their JSON topology; Sequential models are
 * chained, with an `InputLayer` named after the model's input tensor.
 *
 * @param model - a built tfjs LayersModel (functional or Sequential) with a fixed input size
 * @throws LatpruneError `BAD_ARGUMENT` for unknown dimensions, `UNSUPPORTED_LAYER` when a layer reads a
 *   second call of a shared layer
 */
export function describeModel(model: tf.LayersModel): ModelSpec {
  const json = model.toJSON(undefined, false) as unknown as Json;
  const cls = json['class_name'];
  const config = json['config'];
  let raw: RawLayer[];
  let inputs: TensorRef[];
  let outputs: TensorRef[];
  const live = new Map<string, tf.layers.Layer>();
  if (cls === 'Sequential') {
    const list = (Array.isArray(config) ? config : isObj(config) ? config['layers'] : undefined) as unknown;
    if (!Array.isArray(list)) throw new LatpruneError('BAD_FILE', `model ${model.name}: Sequential JSON without a layer list.`);
    const inputTensor = model.inputs[0];
    if (inputTensor === undefined) throw new LatpruneError('BAD_ARGUMENT', `model ${model.name}: has no input; build it first.`);
    const inputName = inputTensor.sourceLayer.name;
    live.set(inputName, inputTensor.sourceLayer as tf.layers.Layer);
    raw = [{ name: inputName, className: 'InputLayer', config: {}, inbound: [], calls: 1 }];
    let prev = inputName;
    for (const entry of list as Json[]) {
      const c = entry['config'] as Json;
      const name = String(c['name']);
      raw.push({ name, className: String(entry['class_name']), config: c, inbound: [{ layer: prev, tensor: 0 }], calls: 1 });
      prev = name;
    }
    inputs = [{ layer: inputName, tensor: 0 }];
    outputs = [{ layer: prev, tensor: 0 }];
  } else {
    if (!isObj(config) || !Array.isArray(config['layers'])) {
      throw new LatpruneError('BAD_FILE', `model ${model.name}: unexpected JSON topology (class ${String(cls)}).`);
    }
    raw = (config['layers'] as Json[]).map((l) => {
      const name = String(l['name'] ?? (l['config'] as Json)['name']);
      const { inbound, calls } = parseInbound(name, l['inbound_nodes']);
      return { name, className: String(l['class_name']), config: (l['config'] ?? {}) as Json, inbound, calls };
    });
    inputs = refList(config['input_layers']);
    outputs = refList(config['output_layers']);
  }
  const layers: LayerSpec[] = topoSort(raw).map((r) => {
    const layer = live.get(r.name) ?? model.getLayer(r.name);
    return { ...r, outputShapes: outputShapes(layer), weights: weightSpecs(layer) };
  });
  return { name: model.name, layers, inputs, outputs };
}
