/**
 * tfjs LayersModel (NHWC) -> ONNX graph (NCHW), the one converter behind both
 * `latprune export` (real weights, batch norm folded into the preceding conv
 * by default) and the latency profiler's whole-network timings (random
 * weights at chosen widths: latency does not depend on weight values).
 *
 * The ONNX model takes NCHW input named `input` with a dynamic batch
 * dimension. Dense layers after Flatten get their rows permuted from tfjs'
 * (h, w, c) order to ONNX's (c, h, w) order, so outputs match exactly.
 */
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { OnnxGraph } from './graph.js';
import {
  addAdd,
  addAveragePool,
  addBatchNormalization,
  addClip,
  addConcat,
  addConv,
  addFlatten,
  addGemm,
  addGlobalAveragePool,
  addLeakyRelu,
  addMaxPool,
  addMul,
  addPad,
  addRelu,
  addSoftmax,
} from './ops.js';
import { floatAttr } from './types.js';
import { describeModel } from '../graph/index.js';
import { conv2dKernelToOnnx, denseKernelToGemm, depthwiseKernelToOnnx, foldBatchNorm, samePadding } from './layout.js';
import { randomFloats } from '../util/random.js';

/** Options of {@link modelToOnnx}. */
export interface ToOnnxOptions {
  /** Producer version (latprune's). */
  readonly producerVersion: string;
  /** ONNX opset (default 13). */
  readonly opset?: number;
  /** Fold BatchNormalization into the preceding conv/dense (default true). */
  readonly foldBn?: boolean;
  /**
   * Random weights with these output widths per conv/dense layer (default:
   * the layer's own), for latency measurements. Without it, real weights.
   */
  readonly synthetic?: { readonly coutOf?: (layer: string) => number | undefined; readonly seed?: number };
  /** Model metadata (metadata_props). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Fixed batch size instead of a dynamic one. */
  readonly batch?: number;
  /**
   * The graph's interface, for a model imported from ONNX (see
   * `importOnnx` and `exportInterfaceOf` in `onnx/import`): the input's name
   * and symbolic batch dim name, and the output names, in order (an output is
   * an `Identity` of the last node, named as given). Default: input `input`,
   * batch dim `batch`, outputs named after their layers.
   */
  readonly io?: OnnxInterface;
}

/** Names of the exported graph's input, batch dim and outputs. */
export interface OnnxInterface {
  /** Name of the (single) graph input. */
  readonly input: string;
  /** Names of the graph outputs, one per model output. */
  readonly outputs: readonly string[];
  /** Name of the dynamic batch dim (`dim_param`); ignored with a fixed `batch`. */
  readonly batchDim?: string;
}

/** A value in the ONNX graph with its NCHW shape (without batch) and, after Flatten, the NHWC shape it came from. */
interface Value {
  readonly name: string;
  readonly shape: number[];
  readonly flattenedFrom?: [number, number, number];
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
}

/** A layer's weights as host arrays, in `getWeights()` order. */
type LayerWeights = ReadonlyArray<{ readonly data: Float32Array; readonly dims: number[] }>;

/**
 * Converts `model` to ONNX bytes, reading its weights synchronously (CPU
 * backends; a GPU backend cannot read synchronously in Node: use
 * {@link modelToOnnxAsync} there).
 *
 * @throws LatpruneError `UNSUPPORTED_LAYER` naming a layer the converter does not handle
 */
export function modelToOnnx(model: tf.LayersModel, o: ToOnnxOptions): Uint8Array {
  return convert(model, o, (name) =>
    model
      .getLayer(name)
      .getWeights()
      .map((w) => ({ data: w.dataSync() as Float32Array, dims: w.shape })),
  );
}

/**
 * {@link modelToOnnx} with the weights read asynchronously first (all of
 * them, except with `o.synthetic`, whose weights are generated): works on
 * every backend, GPU included.
 *
 * @throws LatpruneError `UNSUPPORTED_LAYER` naming a layer the converter does not handle
 */
export async function modelToOnnxAsync(model: tf.LayersModel, o: ToOnnxOptions): Promise<Uint8Array> {
  const read = new Map<string, LayerWeights>();
  if (!o.synthetic) {
    for (const layer of model.layers) {
      const ws = layer.getWeights();
      if (ws.length)
        read.set(layer.name, await Promise.all(ws.map(async (w) => ({ data: (await w.data()) as Float32Array, dims: w.shape }))));
    }
  }
  // a layer without weights reads as [] here as in the synchronous path
  return convert(model, o, (name) => read.get(name) ?? []);
}

function convert(model: tf.LayersModel, o: ToOnnxOptions, weightsOf: (layer: string) => LayerWeights): Uint8Array {
  const spec = describeModel(model);
  const layers = spec.layers;
  const consumers = new Map<string, string[]>();
  for (const l of layers) for (const t of l.inbound) consumers.set(t.layer, [...(consumers.get(t.layer) ?? []), l.name]);
  const g = new OnnxGraph({
    producerVersion: o.producerVersion,
    opsetVersion: o.opset ?? 13,
    graphName: model.name,
    metadata: o.metadata ?? {},
  });
  const batchDim: number | string = o.batch ?? o.io?.batchDim ?? 'batch';
  if (o.io !== undefined && o.io.outputs.length !== spec.outputs.length) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `io.outputs names ${o.io.outputs.length} outputs but model ${model.name} has ${spec.outputs.length}; pass one name per model output.`,
    );
  }
  const values = new Map<string, Value>();
  const foldBn = o.foldBn ?? true;
  const synthetic = o.synthetic;
  let seed = synthetic?.seed ?? 1;
  const folded = new Set<string>(); // BN layers folded into their producer
  const bnParams = (bnName: string) => {
    const bnLayer = model.getLayer(bnName);
    const cfg = bnLayer.getConfig() as { epsilon?: number; center?: boolean; scale?: boolean };
    const ws = weightsOf(bnName);
    let i = 0;
    const gamma = cfg.scale === false ? undefined : ws[i++]!.data;
    const beta = cfg.center === false ? undefined : ws[i++]!.data;
    return { gamma, beta, mean: ws[i++]!.data, variance: ws[i]!.data, epsilon: cfg.epsilon ?? 1e-3 };
  };
  // A conv/dense whose only consumer is a BatchNormalization absorbs it.
  const bnAfter = (name: string): string | undefined => {
    const next = consumers.get(name) ?? [];
    if (!foldBn || next.length !== 1) return undefined;
    const n = layers.find((l) => l.name === next[0]);
    return n?.className === 'BatchNormalization' ? n.name : undefined;
  };
  const activation = (x: string, act: unknown, name: string): string => {
    if (act === undefined || act === null || act === 'linear') return x;
    if (act === 'relu') return addRelu(g, x, { name: `${name}_relu` });
    if (act === 'relu6') return addClip(g, x, { name: `${name}_relu6`, min: 0, max: 6 });
    if (act === 'softmax') return addSoftmax(g, x, { name: `${name}_softmax` });
    if (act === 'sigmoid') return g.addNode({ opType: 'Sigmoid', inputs: [x], name: `${name}_sigmoid` })[0]!;
    throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${name}': activation '${String(act)}' is not supported by the ONNX exporter.`);
  };

  for (const l of layers) {
    const name = l.name;
    const cfg = l.config;
    const ins = l.inbound.map(({ layer: n }) => {
      const v = values.get(n);
      if (!v) throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${name}' reads '${n}', which the ONNX exporter has not produced.`);
      return v;
    });
    const x = ins[0]!;
    const set = (v: Value) => values.set(name, v);
    switch (l.className) {
      case 'InputLayer': {
        const [h, w, c] = l.outputShapes[0] as [number, number, number];
        set({ name: g.addInput(o.io?.input ?? 'input', [batchDim, c, h, w]), shape: [c, h, w] });
        break;
      }
      case 'Conv2D':
      case 'GroupedConv2D':
      case 'DepthwiseConv2D': {
        const depthwise = l.className === 'DepthwiseConv2D';
        const groups = l.className === 'GroupedConv2D' ? Number(cfg['groups']) : 1;
        const [kh, kw] = pair(cfg['kernel_size']);
        const [sh, sw] = pair(cfg['strides']);
        const dil = pair(cfg['dilation_rate'] ?? 1);
        const [cin, h, w] = x.shape as [number, number, number];
        const pads = cfg['padding'] === 'same' ? samePadding([h, w], [kh, kw], [sh, sw], dil) : [0, 0, 0, 0];
        let weight: { data: Float32Array; dims: number[] };
        let bias: Float32Array | undefined;
        let group: number;
        if (synthetic) {
          const cout = depthwise ? cin * Number(cfg['depth_multiplier'] ?? 1) : (synthetic.coutOf?.(name) ?? Number(cfg['filters']));
          group = depthwise ? cin : groups;
          weight = { data: randomFloats((cout * cin * kh * kw) / group, seed++, -0.1, 0.1), dims: [cout, cin / group, kh, kw] };
          bias = randomFloats(cout, seed++, -0.1, 0.1);
        } else {
          const ws = weightsOf(name);
          if (depthwise) {
            const t = depthwiseKernelToOnnx(ws[0]!.data, ws[0]!.dims);
            weight = { data: t.data, dims: [...t.dims] };
            group = t.group;
          } else {
            const t = conv2dKernelToOnnx(ws[0]!.data, ws[0]!.dims);
            weight = { data: t.data, dims: [...t.dims] };
            group = groups;
          }
          bias = cfg['use_bias'] === false ? undefined : ws[1]?.data;
        }
        const bn = bnAfter(name);
        let y: string;
        if (bn && !synthetic) {
          const f = foldBatchNorm(weight.data, weight.dims, bias, bnParams(bn));
          y = addConv(g, x.name, { name, weight: f.weight, bias: f.bias, strides: [sh, sw], pads, dilations: dil, group });
        } else {
          y = addConv(g, x.name, {
            name,
            weight,
            ...(bias ? { bias: { data: bias, dims: [weight.dims[0]!] } } : {}),
            strides: [sh, sw],
            pads,
            dilations: dil,
            group,
          });
        }
        if (bn) folded.add(bn);
        const cout = weight.dims[0]!;
        const oh = Math.floor((h + pads[0]! + pads[2]! - dil[0] * (kh - 1) - 1) / sh) + 1;
        const ow = Math.floor((w + pads[1]! + pads[3]! - dil[1] * (kw - 1) - 1) / sw) + 1;
        const out = { name: activation(y, cfg['activation'], name), shape: [cout, oh, ow] };
        set(out);
        if (bn) values.set(bn, out);
        break;
      }
      case 'BatchNormalization': {
        if (folded.has(name)) break;
        const c = x.shape[0]!;
        const p = synthetic
          ? {
              gamma: randomFloats(c, seed++, 0.5, 1.5),
              beta: randomFloats(c, seed++),
              mean: randomFloats(c, seed++),
              variance: randomFloats(c, seed++, 0.5, 1.5),
              epsilon: 1e-3,
            }
          : bnParams(name);
        const y = addBatchNormalization(g, x.name, {
          name,
          scale: { data: p.gamma ?? new Float32Array(c).fill(1), dims: [c] },
          bias: { data: p.beta ?? new Float32Array(c), dims: [c] },
          mean: { data: p.mean, dims: [c] },
          variance: { data: p.variance, dims: [c] },
          epsilon: p.epsilon,
        });
        set({ name: y, shape: x.shape });
        break;
      }
      case 'ReLU': {
        const max = cfg['max_value'] as number | null | undefined;
        const slope = Number(cfg['negative_slope'] ?? 0);
        if (slope !== 0)
          throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${name}': ReLU with negative_slope is not supported by the ONNX exporter.`);
        const y = max === null || max === undefined ? addRelu(g, x.name, { name }) : addClip(g, x.name, { name, min: 0, max });
        set({ ...x, name: y });
        break;
      }
      case 'HardSigmoid':
        set({
          ...x,
          name: g.addNode({
            opType: 'HardSigmoid',
            inputs: [x.name],
            name,
            attributes: { alpha: floatAttr(Number(cfg['alpha'])), beta: floatAttr(Number(cfg['beta'])) },
          })[0]!,
        });
        break;
      case 'LeakyReLU':
        set({ ...x, name: addLeakyRelu(g, x.name, { name, alpha: Number(cfg['alpha'] ?? 0.3) }) });
        break;
      case 'Activation':
        set({ ...x, name: activation(x.name, cfg['activation'], name) });
        break;
      case 'Dropout':
        set(x);
        break;
      case 'Add': {
        let y = x.name;
        for (let i = 1; i < ins.length; i++) y = addAdd(g, y, ins[i]!.name, { name: i === ins.length - 1 ? name : `${name}_${i}` });
        set({ ...x, name: y, shape: broadcastShape(ins) });
        break;
      }
      case 'Multiply': {
        let y = x.name;
        for (let i = 1; i < ins.length; i++) y = addMul(g, y, ins[i]!.name, { name: i === ins.length - 1 ? name : `${name}_${i}` });
        set({ ...x, name: y, shape: broadcastShape(ins) });
        break;
      }
      case 'Concatenate': {
        const axis = Number(cfg['axis'] ?? -1);
        if (axis !== -1 && axis !== 3)
          throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${name}': Concatenate on axis ${axis}; only the channel axis is supported.`);
        const c = ins.reduce((a, v) => a + v.shape[0]!, 0);
        set({
          name: addConcat(
            g,
            ins.map((v) => v.name),
            { name, axis: 1 },
          ),
          shape: [c, x.shape[1]!, x.shape[2]!],
        });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [kh, kw] = pair(cfg['pool_size']);
        const [sh, sw] = pair(cfg['strides'] ?? cfg['pool_size']);
        const [c, h, w] = x.shape as [number, number, number];
        const pads = cfg['padding'] === 'same' ? samePadding([h, w], [kh, kw], [sh, sw]) : [0, 0, 0, 0];
        const oh = Math.floor((h + pads[0]! + pads[2]! - kh) / sh) + 1;
        const ow = Math.floor((w + pads[1]! + pads[3]! - kw) / sw) + 1;
        const y =
          l.className === 'MaxPooling2D'
            ? addMaxPool(g, x.name, { name, kernelShape: [kh, kw], strides: [sh, sw], pads })
            : addAveragePool(g, x.name, { name, kernelShape: [kh, kw], strides: [sh, sw], pads, countIncludePad: false });
        set({ name: y, shape: [c, oh, ow] });
        break;
      }
      case 'GlobalAveragePooling2D': {
        const y = addGlobalAveragePool(g, x.name, { name });
        set({ name: addFlatten(g, y, { name: `${name}_flatten` }), shape: [x.shape[0]!] });
        break;
      }
      case 'Flatten': {
        const [c, h, w] = x.shape as [number, number, number];
        set({ name: addFlatten(g, x.name, { name }), shape: [c * h * w], flattenedFrom: [h, w, c] });
        break;
      }
      case 'ZeroPadding2D': {
        const p = cfg['padding'] as number[][] | number[] | number;
        const [[t, b], [lft, r]] =
          Array.isArray(p) && Array.isArray(p[0])
            ? (p as number[][] as [[number, number], [number, number]])
            : ([pair(p), pair(p)].map((v, i) => (i === 0 ? [v[0], v[0]] : [v[1], v[1]])) as [[number, number], [number, number]]);
        const y = addPad(g, x.name, { name, pads: [0, 0, t, lft, 0, 0, b, r] });
        set({ name: y, shape: [x.shape[0]!, x.shape[1]! + t + b, x.shape[2]! + lft + r] });
        break;
      }
      case 'Dense': {
        if (x.shape.length !== 1)
          throw new LatpruneError(
            'UNSUPPORTED_LAYER',
            `layer '${name}': Dense on a ${x.shape.length + 1}-D tensor; add Flatten or GlobalAveragePooling2D before it.`,
          );
        const cin = x.shape[0]!;
        let weight: { data: Float32Array; dims: number[] };
        let bias: Float32Array | undefined;
        if (synthetic) {
          const cout = synthetic.coutOf?.(name) ?? Number(cfg['units']);
          weight = { data: randomFloats(cout * cin, seed++, -0.1, 0.1), dims: [cout, cin] };
          bias = randomFloats(cout, seed++, -0.1, 0.1);
        } else {
          const ws = weightsOf(name);
          let k = ws[0]!.data;
          if (x.flattenedFrom) k = permuteFlattenRows(k, x.flattenedFrom, ws[0]!.dims[1]!);
          const t = denseKernelToGemm(k, ws[0]!.dims, true);
          weight = { data: t.data, dims: [...t.dims] };
          bias = cfg['use_bias'] === false ? undefined : ws[1]?.data;
        }
        const bn = bnAfter(name);
        let w2 = weight;
        let b2 = bias;
        if (bn && !synthetic) {
          const f = foldBatchNorm(weight.data, weight.dims, bias, bnParams(bn));
          w2 = { data: f.weight.data, dims: [...f.weight.dims] };
          b2 = f.bias.data;
        }
        if (bn) folded.add(bn);
        const y = addGemm(g, x.name, { name, weight: w2, ...(b2 ? { bias: { data: b2, dims: [w2.dims[0]!] } } : {}), transB: true });
        const out = { name: activation(y, cfg['activation'], name), shape: [w2.dims[0]!] };
        set(out);
        if (bn) values.set(bn, out);
        break;
      }
      case 'Softmax':
        set({ ...x, name: addSoftmax(g, x.name, { name }) });
        break;
      default:
        throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${name}' (class ${l.className}) is not supported by the ONNX exporter.`);
    }
  }
  spec.outputs.forEach((out, i) => {
    const v = values.get(out.layer)!;
    const want = o.io?.outputs[i];
    const name =
      want === undefined || want === v.name
        ? v.name
        : g.addNode({ opType: 'Identity', inputs: [v.name], outputs: [want], name: g.uniqueNodeName(`${want}_identity`) })[0]!;
    g.addOutput(name, [batchDim, ...v.shape]);
  });
  return g.encode();
}

/** Shape of a broadcasting elementwise merge (a squeeze-excitation [C, 1, 1] times [C, H, W] is [C, H, W]). */
function broadcastShape(ins: readonly Value[]): number[] {
  return ins[0]!.shape.map((_, i) => Math.max(...ins.map((v) => v.shape[i] ?? 1)));
}

/** Reorders Dense kernel rows from tfjs' flattened (h, w, c) order to ONNX's (c, h, w). */
function permuteFlattenRows(k: Float32Array, [h, w, c]: [number, number, number], units: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let hi = 0; hi < h; hi++)
    for (let wi = 0; wi < w; wi++)
      for (let ci = 0; ci < c; ci++) {
        const src = ((hi * w + wi) * c + ci) * units;
        const dst = ((ci * h + hi) * w + wi) * units;
        out.set(k.subarray(src, src + units), dst);
      }
  return out;
}
