/**
 * Layer signatures: what decides a layer's latency apart from its channel
 * counts (operator, kernel, stride, padding, input size, fused epilogue), read
 * from a tfjs LayersModel. Layers with the same signature share a table entry.
 */
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import type { OpKind } from './layout.js';

/** A layer's latency signature (channel counts excluded). */
export interface LayerSignature {
  readonly op: OpKind;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  /** ONNX pads [top, left, bottom, right] (tfjs 'same' pads the extra row/column at the end). */
  readonly pads: [number, number, number, number];
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** What ONNX Runtime fuses into the layer (BN is folded into the weights beforehand). */
  readonly epilogue: 'none' | 'relu' | 'relu6' | 'add' | 'add_relu';
}

/** A prunable layer of the model with its signature and full widths. */
export interface SignedLayer {
  readonly layer: string;
  readonly signature: LayerSignature;
  readonly key: string;
  readonly cin: number;
  readonly cout: number;
}

/** Stable key of a signature, e.g. `conv_k3x3_s1x1_p1111_28x28_relu`. */
export function signatureKey(s: LayerSignature): string {
  return `${s.op}_k${s.kernel.join('x')}_s${s.stride.join('x')}_p${s.pads.join('')}_${s.inH}x${s.inW}_${s.epilogue}`;
}

/** tfjs 'same'/'valid' padding as explicit ONNX pads for one axis: [begin, end]. */
export function padsFor(padding: string, inSize: number, k: number, s: number): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

interface LayerJson {
  readonly class_name: string;
  readonly name?: string;
  readonly config: Record<string, unknown> & { name: string };
  readonly inbound_nodes?: unknown[];
}

const PASS_THROUGH = new Set(['BatchNormalization', 'Dropout']);

function inboundNames(l: LayerJson): string[] {
  const nodes = (l.inbound_nodes ?? []) as unknown[][];
  const first = nodes[0] ?? [];
  return first.map((e) => (Array.isArray(e) ? String(e[0]) : String((e as { name?: string }).name ?? '')));
}

/**
 * Lists the model's convolution, depthwise and dense layers with their
 * signatures and full widths.
 *
 * @throws LatpruneError `UNSUPPORTED_LAYER` for grouped/dilated convolutions,
 *   naming the layer
 */
export function signedLayers(model: tf.LayersModel): SignedLayer[] {
  const json = model.toJSON(undefined, false) as unknown as { config: { layers: LayerJson[] } };
  const layers = json.config.layers;
  const byName = new Map(layers.map((l) => [l.config.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of layers) for (const src of inboundNames(l)) consumers.set(src, [...(consumers.get(src) ?? []), l.config.name]);

  const epilogueOf = (name: string): LayerSignature['epilogue'] => {
    let cur = name;
    // follow single-consumer pass-through layers (BN folds into the conv)
    for (;;) {
      const next = consumers.get(cur) ?? [];
      if (next.length !== 1) return 'none';
      const n = byName.get(next[0]!)!;
      if (PASS_THROUGH.has(n.class_name)) {
        cur = n.config.name;
        continue;
      }
      const act = activationOf(n);
      if (act) return act;
      if (n.class_name === 'Add' && inboundNames(n).length === 2 && inboundNames(n)[0] === cur) {
        const after = consumers.get(n.config.name) ?? [];
        const a = after.length === 1 ? activationOf(byName.get(after[0]!)!) : undefined;
        return a === 'relu' ? 'add_relu' : 'add';
      }
      return 'none';
    }
  };

  const out: SignedLayer[] = [];
  for (const l of model.layers) {
    const cls = l.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D' && cls !== 'Dense') continue;
    const cfg = l.getConfig() as Record<string, unknown>;
    const inShape = l.inputSpec?.[0]?.shape ?? (Array.isArray(l.input) ? l.input[0]!.shape : l.input.shape);
    const outShape = (Array.isArray(l.output) ? l.output[0]!.shape : l.output.shape) as number[];
    const inS = inShape as number[];
    if (cls === 'Dense') {
      if (inS.length !== 2) continue; // Dense on 4-D tensors is not a classifier head
      out.push({
        layer: l.name,
        signature: { op: 'gemm', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], inH: 1, inW: 1, outH: 1, outW: 1, epilogue: epilogueOf(l.name) },
        key: '',
        cin: inS[1]!,
        cout: outShape[1]!,
      });
      continue;
    }
    const k = cfg['kernelSize'] as number[];
    const s = cfg['strides'] as number[];
    const d = (cfg['dilationRate'] as number[] | number | undefined) ?? 1;
    if ((Array.isArray(d) ? d : [d, d]).some((v) => v !== 1)) {
      throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${l.name}' (${cls}) is dilated; latency tables cover dilation 1 only.`);
    }
    const [inH, inW, cin] = [inS[1]!, inS[2]!, inS[3]!];
    const padding = String(cfg['padding']);
    const [pt, pb] = padsFor(padding, inH, k[0]!, s[0]!);
    const [pl, pr] = padsFor(padding, inW, k[1]!, s[1]!);
    const op: OpKind = cls === 'DepthwiseConv2D' ? 'dwconv' : 'conv';
    if (op === 'dwconv' && (cfg['depthMultiplier'] ?? 1) !== 1) {
      throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${l.name}' is a depthwise convolution with multiplier ${String(cfg['depthMultiplier'])}; latency tables cover multiplier 1.`);
    }
    out.push({
      layer: l.name,
      signature: { op, kernel: [k[0]!, k[1]!], stride: [s[0]!, s[1]!], pads: [pt, pl, pb, pr], inH, inW, outH: outShape[1]!, outW: outShape[2]!, epilogue: epilogueOf(l.name) },
      key: '',
      cin,
      cout: outShape[3]!,
    });
  }
  return out.map((e) => ({ ...e, key: signatureKey(e.signature) }));
}

function activationOf(l: LayerJson): 'relu' | 'relu6' | undefined {
  const c = l.config;
  if (l.class_name === 'ReLU') return c['max_value'] === 6 || c['maxValue'] === 6 ? 'relu6' : 'relu';
  if (l.class_name === 'Activation') {
    if (c['activation'] === 'relu') return 'relu';
    if (c['activation'] === 'relu6') return 'relu6';
  }
  return undefined;
}
