/**
 * Layer signatures: what decides a layer's latency apart from its channel
 * counts (operator, kernel, stride, padding, input size, fused epilogue), read
 * from a tfjs LayersModel. Layers with the same signature share a table entry.
 */
import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { describeModel, layerClass, type LayerSpec } from '../graph/index.js';
import { samePadding } from '../onnx/layout.js';
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

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/**
 * Lists the model's convolution, depthwise and dense layers with their
 * signatures and full widths (from the graph module's plain description of
 * the model, so functional and Sequential models both work).
 *
 * @throws LatpruneError `UNSUPPORTED_LAYER` for grouped/dilated convolutions,
 *   naming the layer
 */
export function signedLayers(model: tf.LayersModel): SignedLayer[] {
  const spec = describeModel(model);
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of spec.layers) for (const t of l.inbound) consumers.set(t.layer, [...(consumers.get(t.layer) ?? []), l.name]);

  const epilogueOf = (name: string): LayerSignature['epilogue'] => {
    let cur = name;
    // follow single-consumer pass-through layers (BN folds into the conv)
    for (;;) {
      const next = consumers.get(cur) ?? [];
      if (next.length !== 1) return 'none';
      const n = byName.get(next[0]!)!;
      if (layerClass(n.className)?.folded) {
        cur = n.name;
        continue;
      }
      const act = activationOf(n);
      if (act) return act;
      if (n.className === 'Add' && n.inbound.length === 2 && n.inbound[0]!.layer === cur) {
        const after = consumers.get(n.name) ?? [];
        const a = after.length === 1 ? activationOf(byName.get(after[0]!)!) : undefined;
        return a === 'relu' ? 'add_relu' : 'add';
      }
      return 'none';
    }
  };

  const out: SignedLayer[] = [];
  for (const l of spec.layers) {
    const cls = l.className;
    const timedAs = layerClass(cls)?.latencyOp;
    if (timedAs === undefined) continue;
    const cfg = l.config;
    const src = l.inbound[0]!;
    const inS = byName.get(src.layer)!.outputShapes[src.tensor]!;
    const outS = l.outputShapes[0]!;
    if (timedAs === 'gemm') {
      if (inS.length !== 1) continue; // Dense on 4-D tensors is not a classifier head
      out.push({
        layer: l.name,
        signature: {
          op: 'gemm',
          kernel: [1, 1],
          stride: [1, 1],
          pads: [0, 0, 0, 0],
          inH: 1,
          inW: 1,
          outH: 1,
          outW: 1,
          epilogue: epilogueOf(l.name),
        },
        key: '',
        cin: inS[0]!,
        cout: outS[0]!,
      });
      continue;
    }
    const k = pair(cfg['kernel_size']);
    const s = pair(cfg['strides']);
    if (pair(cfg['dilation_rate'] ?? 1).some((v) => v !== 1)) {
      throw new LatpruneError('UNSUPPORTED_LAYER', `layer '${l.name}' (${cls}) is dilated; latency tables cover dilation 1 only.`);
    }
    const [inH, inW, cin] = [inS[0]!, inS[1]!, inS[2]!];
    const pads = cfg['padding'] === 'same' ? samePadding([inH, inW], k, s) : [0, 0, 0, 0];
    const op: OpKind = timedAs;
    if (op === 'dwconv' && (cfg['depth_multiplier'] ?? 1) !== 1) {
      throw new LatpruneError(
        'UNSUPPORTED_LAYER',
        `layer '${l.name}' is a depthwise convolution with multiplier ${String(cfg['depth_multiplier'])}; latency tables cover multiplier 1.`,
      );
    }
    out.push({
      layer: l.name,
      signature: {
        op,
        kernel: k,
        stride: s,
        pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!],
        inH,
        inW,
        outH: outS[0]!,
        outW: outS[1]!,
        epilogue: epilogueOf(l.name),
      },
      key: '',
      cin,
      cout: outS[2]!,
    });
  }
  return out.map((e) => ({ ...e, key: signatureKey(e.signature) }));
}

function activationOf(l: LayerSpec): 'relu' | 'relu6' | undefined {
  const c = l.config;
  if (l.className === 'ReLU') return c['max_value'] === 6 || c['maxValue'] === 6 ? 'relu6' : 'relu';
  if (l.className === 'Activation') {
    if (c['activation'] === 'relu') return 'relu';
    if (c['activation'] === 'relu6') return 'relu6';
  }
  return undefined;
}
