/**
 * ONNX (as PyTorch's exporter writes it, opsets 11-17) -> tfjs functional
 * LayersModel, NHWC, weights transposed once. See `docs/onnx-import.md`.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../../errors.js';
import { decodeModel, type OnnxNodeSummary, type OnnxValueSummary } from '../read.js';
import type { OnnxDim } from '../types.js';
import { HOST_OPS, evalHost, hostFromDecoded, hostOf, valuesOf, type HostTensor } from './host.js';
import type { ImportInfo, ImportedValue } from './info.js';
import { GroupedConv2D, HardSigmoid } from './layers.js';
import { convKernelToTfjs, denseKernelToTfjs, depthwiseKernelToTfjs } from './weights.js';

/** Options of {@link importOnnx}. */
export interface ImportOptions {
  /** File name (or label) used in messages and recorded in {@link ImportInfo.source}; default `<bytes>`. */
  readonly source?: string;
  /** Input `[C, H, W]` when the file leaves H or W dynamic (a pruned model needs fixed sizes). */
  readonly inputShape?: readonly [number, number, number];
  /** Name of the tfjs model; default the ONNX graph name (sanitised) or `onnx_model`. */
  readonly name?: string;
}

/** The result of {@link importOnnx}. */
export interface ImportResult {
  /** The functional tfjs model (NHWC input `[N, H, W, C]`). */
  readonly model: tf.LayersModel;
  /** What the importer recorded about the original file. */
  readonly info: ImportInfo;
}

/** A data tensor: ONNX dims (without batch) and its tfjs stand-in. */
interface Data {
  readonly kind: 'data';
  readonly t: tf.SymbolicTensor;
  /** ONNX dims without batch: `[C, H, W]` (tfjs `[H, W, C]`) or `[F]` (tfjs `[F]`). */
  readonly shape: readonly number[];
  /** A tfjs 2-D tensor standing for ONNX `[C, 1, 1]` (a global pool read only by Flatten/Reshape/Squeeze). */
  readonly squeezed?: boolean;
  /** Flattened from `[C, H, W]` with H*W > 1: tfjs holds the elements in (h, w, c) order. */
  readonly flatFrom?: readonly [number, number, number];
  /** Known to be >= 0 (after ReLU, sigmoid, ...): zero padding then equals -inf padding for max pooling. */
  readonly nonNeg: boolean;
  /** A Dense layer made from MatMul whose zero bias a following Add may fill. */
  readonly biasOf?: Pending;
  /** The ONNX node that produced it (for paths in messages). */
  readonly node?: string;
}
interface Host {
  readonly kind: 'host';
  readonly v: HostTensor;
  readonly node?: string;
}
/** An initializer not decoded yet (decoded on each use; small ones are then kept as {@link Host}). */
interface Lazy {
  readonly kind: 'lazy';
  readonly load: () => HostTensor | undefined;
}
type Value = Data | Host | Lazy;

/** Constants up to this many elements (shape arithmetic, biases) are kept once decoded; larger weights are decoded on each use. */
const KEEP_DECODED = 4096;

/** A layer's weights in tfjs layout: set as soon as the layer is built, or, for a Dense layer whose bias a later Add may fill, once the model is built. */
interface Pending {
  layer: tf.layers.Layer;
  weights: { data: Float32Array; dims: number[] }[];
}

const SUPPORTED =
  'Conv, BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Add, Mul, Concat, MaxPool, AveragePool, GlobalAveragePool, ReduceMean, Pad, Flatten, Reshape, Squeeze, Gemm, MatMul, Softmax, Identity, Dropout, Constant and shape arithmetic on constants';

function sanitize(name: string): string {
  let s = name.replace(/^[/]+/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  if (!/^[A-Za-z0-9]/.test(s)) s = `n${s}`;
  return s;
}

const attrOf = (n: OnnxNodeSummary) => ({
  int: (k: string, d: number): number => {
    const a = n.attributes[k];
    return a?.type === 'int' ? a.value : d;
  },
  ints: (k: string): number[] | undefined => {
    const a = n.attributes[k];
    return a?.type === 'ints' ? [...a.value] : undefined;
  },
  float: (k: string, d: number): number => {
    const a = n.attributes[k];
    return a?.type === 'float' ? a.value : d;
  },
  str: (k: string, d: string): string => {
    const a = n.attributes[k];
    return a?.type === 'string' ? a.value : d;
  },
});

/** How one spatial axis of a conv/pool is padded in tfjs. */
type AxisPad = { same: boolean; valid: boolean; out: number };
function axisPad(n: number, k: number, s: number, d: number, pt: number, pb: number, ceil = false): AxisPad {
  const ek = d * (k - 1) + 1;
  const span = n + pt + pb - ek;
  const out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  const sameOut = Math.ceil(n / s);
  const total = Math.max((sameOut - 1) * s + ek - n, 0);
  const same = out === sameOut && pt === Math.floor(total / 2);
  const valid = pt === 0 && Math.floor((n - ek) / s) + 1 === out;
  return { same, valid, out };
}

/** Explicit pads `[top, left, bottom, right]` of a conv/pool node (auto_pad resolved). */
function explicitPads(
  n: OnnxNodeSummary,
  [H, W]: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
): number[] {
  const a = attrOf(n);
  const auto = a.str('auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const p = a.ints('pads') ?? [0, 0, 0, 0];
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  const pads = [0, 0, 0, 0];
  [H!, W!].forEach((size, i) => {
    const ek = d[i]! * (k[i]! - 1) + 1;
    const total = Math.max((Math.ceil(size / s[i]!) - 1) * s[i]! + ek - size, 0);
    const small = Math.floor(total / 2);
    pads[i] = auto === 'SAME_LOWER' ? total - small : small;
    pads[i + 2] = total - pads[i]!;
  });
  return pads;
}

class Importer {
  private readonly values = new Map<string, Value>();
  private readonly pending: Pending[] = [];
  private readonly names = new Set<string>();
  readonly layerOf: Record<string, string> = {};
  private readonly consumers = new Map<string, OnnxNodeSummary[]>();
  private readonly producer = new Map<string, OnnxNodeSummary>();
  private readonly graphOutputs: Set<string>;
  private current: OnnxNodeSummary | undefined;

  constructor(
    private readonly source: string,
    private readonly opset: number,
    private readonly nodes: OnnxNodeSummary[],
    outputs: readonly string[],
    private readonly inputName: string,
  ) {
    this.graphOutputs = new Set(outputs);
    for (const n of nodes) {
      for (const i of n.inputs) if (i !== '') this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
      for (const o of n.outputs) this.producer.set(o, n);
    }
  }

  /** "input -> /conv1/Conv (Conv) -> ... -> name (Op)": the first-data-input path to a node. */
  private pathTo(n: OnnxNodeSummary): string {
    const parts: string[] = [];
    let cur: OnnxNodeSummary | undefined = n;
    const seen = new Set<OnnxNodeSummary>();
    while (cur !== undefined && !seen.has(cur) && parts.length < 400) {
      seen.add(cur);
      parts.push(`${cur.name || cur.outputs[0]} (${cur.opType})`);
      const firstData: string | undefined = cur.inputs.find(
        (i) => i !== '' && (this.values.get(i)?.kind === 'data' || i === this.inputName),
      );
      if (firstData === undefined) break;
      if (firstData === this.inputName) {
        parts.push(this.inputName);
        break;
      }
      cur = this.producer.get(firstData);
    }
    parts.reverse();
    if (parts.length > 12) parts.splice(3, parts.length - 9, '...');
    return parts.join(' -> ');
  }

  fail(reason: string, todo: string, n = this.current): LatpruneError {
    if (n === undefined) return new LatpruneError('UNSUPPORTED_LAYER', `${this.source}: ${reason}. ${todo}`);
    return new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${this.source}: node "${n.name || n.outputs[0]}" (op ${n.opType}) is not supported by latprune's ONNX importer: ${reason}. Path: ${this.pathTo(n)}. ${todo}`,
    );
  }

  private layerName(n: OnnxNodeSummary, suffix = ''): string {
    const base = sanitize(n.name || `${n.opType}_${n.outputs[0] ?? ''}`) + suffix;
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    this.layerOf[name] = n.name || n.outputs[0] || n.opType;
    return name;
  }

  private apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
    return layer.apply(x) as tf.SymbolicTensor;
  }

  /** Whether `name` is computed from the input or a constant, without decoding it. */
  private kindOf(name: string): 'data' | 'host' {
    return this.lookup(name).kind === 'data' ? 'data' : 'host';
  }

  /** The value called `name` as registered (an initializer possibly not decoded yet). */
  private lookup(name: string): Value {
    const v = this.values.get(name);
    if (v === undefined)
      throw this.fail(
        `input "${name}" is not produced by any earlier node, initializer or graph input`,
        'Check that the file is a complete, topologically sorted ONNX graph (re-export it).',
      );
    return v;
  }

  private get(name: string): Data | Host | undefined {
    if (name === '') return undefined;
    const v = this.lookup(name);
    if (v.kind !== 'lazy') return v;
    const h = v.load();
    if (h === undefined)
      throw this.fail(
        `initializer "${name}" has an element type the importer does not read`,
        'Export float32 weights (model.float()) and int64 shapes.',
      );
    const host: Host = { kind: 'host', v: h };
    if (h.data.length <= KEEP_DECODED) this.values.set(name, host);
    return host;
  }

  private data(name: string, what: string): Data {
    const v = this.get(name);
    if (v === undefined || v.kind !== 'data')
      throw this.fail(
        `${what} "${name}" is a constant where the importer expects a tensor computed from the input`,
        'Re-export with do_constant_folding=True or simplify the graph (onnxsim).',
      );
    return v;
  }

  private host(name: string, what: string): HostTensor | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (v.kind !== 'host')
      throw this.fail(
        `${what} "${name}" is computed from the input; the importer needs it to be a constant (a weight or a shape)`,
        'Re-export with constant weights (export_params=True) and do_constant_folding=True.',
      );
    return v.v;
  }

  private floats(name: string, what: string): Float32Array {
    const h = this.host(name, what);
    if (h === undefined) throw this.fail(`${what} is missing`, 'Re-export the model.');
    return h.data instanceof Float32Array ? h.data : Float32Array.from(h.data);
  }

  private four(x: Data): [number, number, number] {
    if (x.shape.length !== 3 || x.squeezed)
      throw this.fail(
        `its input has shape [N, ${x.shape.join(', ')}]; a 4-D NCHW tensor is needed`,
        'Only 2-D image CNNs (NCHW) are supported.',
      );
    return x.shape as [number, number, number];
  }

  private set(n: OnnxNodeSummary, v: Omit<Data, 'kind' | 'node'>): void {
    this.values.set(n.outputs[0]!, { kind: 'data', ...v, node: n.name });
  }

  private zeroPad(n: OnnxNodeSummary, x: Data, [t, l, b, r]: number[]): Data {
    if (t === 0 && l === 0 && b === 0 && r === 0) return x;
    const [C, H, W] = this.four(x);
    const layer = tf.layers.zeroPadding2d({
      padding: [
        [t!, b!],
        [l!, r!],
      ],
      name: this.layerName(n, '_pad'),
    });
    return { ...x, t: this.apply(layer, x.t), shape: [C, H + t! + b!, W + l! + r!], biasOf: undefined };
  }

  addInput(name: string, shape: readonly [number, number, number]): tf.SymbolicTensor {
    const [C, H, W] = shape;
    const t = tf.input({ shape: [H, W, C], name: sanitize(name) });
    this.names.add(sanitize(name));
    this.values.set(name, { kind: 'data', t, shape: [C, H, W], nonNeg: false });
    return t;
  }

  /** Registers an initializer, decoded when a node first reads it. */
  addConstant(name: string, load: () => HostTensor | undefined): void {
    this.values.set(name, { kind: 'lazy', load });
  }

  /** Sets a built layer's weights (conv and batch norm at once, so the host copies can be collected as the import goes). */
  private setNow(p: Pending): void {
    const ts = p.weights.map((w) => tf.tensor(w.data, w.dims, 'float32'));
    p.layer.setWeights(ts);
    tf.dispose(ts);
    p.weights = [];
  }

  run(): void {
    for (const n of this.nodes) {
      this.current = n;
      if (n.domain !== '' && n.domain !== 'ai.onnx')
        throw this.fail(
          `operator domain "${n.domain}" is not ai.onnx`,
          'Export with standard ONNX operators only (no custom or contrib ops).',
        );
      // kinds only: a weight is decoded by the node that reads it, not here
      const kinds = n.inputs.map((i) => (i === '' ? undefined : this.kindOf(i)));
      const allHost = kinds.every((k) => k === undefined || k !== 'data');
      if (n.opType === 'Shape' && kinds[0] === 'data') {
        const x = this.data(n.inputs[0]!, 'input');
        this.values.set(n.outputs[0]!, { kind: 'host', v: hostOf([NaN, ...x.shape]) });
        continue;
      }
      if (allHost && (HOST_OPS.has(n.opType) || n.inputs.length === 0)) {
        const ins = n.inputs.map((i) => this.get(i) as Host | undefined);
        let v: HostTensor;
        try {
          v = evalHost(
            n,
            ins.map((h) => h?.v),
            this.opset,
          );
        } catch (err) {
          throw this.fail(
            `it cannot be evaluated on constants (${err instanceof Error ? err.message : String(err)})`,
            'Re-export with do_constant_folding=True or simplify the model with onnxsim.',
          );
        }
        this.values.set(n.outputs[0]!, { kind: 'host', v, node: n.name });
        continue;
      }
      this.convert(n);
    }
  }

  private convert(n: OnnxNodeSummary): void {
    const a = attrOf(n);
    const name = (): string => this.layerName(n);
    switch (n.opType) {
      case 'Identity':
      case 'Dropout': {
        this.values.set(n.outputs[0]!, this.data(n.inputs[0]!, 'input'));
        if (n.outputs[1] !== undefined && n.outputs[1] !== '' && this.consumers.has(n.outputs[1]))
          throw this.fail('its mask output is used', 'Export the model in eval mode (model.eval()).');
        return;
      }
      case 'Conv':
        return this.conv(n);
      case 'BatchNormalization': {
        const x = this.data(n.inputs[0]!, 'input');
        if (x.flatFrom || x.squeezed) throw this.fail('batch norm of a flattened tensor in (c, h, w) order', 'Apply it before Flatten.');
        if (n.outputs.slice(1).some((o) => o !== '' && this.consumers.has(o)))
          throw this.fail('training-mode outputs (running statistics) are used', 'Export the model in eval mode (model.eval()).');
        const C = x.shape[0]!;
        const w = ['scale', 'B', 'mean', 'var'].map((k, i) => this.floats(n.inputs[i + 1] ?? '', `BatchNormalization ${k}`));
        if (w.some((v) => v.length !== C))
          throw this.fail(`parameters of length ${w.map((v) => v.length).join('/')} for ${C} channels`, 'Re-export the model.');
        const layer = tf.layers.batchNormalization({
          axis: -1,
          epsilon: a.float('epsilon', 1e-5),
          momentum: a.float('momentum', 0.9),
          name: name(),
        });
        const t = this.apply(layer, x.t);
        this.setNow({ layer, weights: w.map((data) => ({ data, dims: [C] })) });
        this.set(n, { t, shape: x.shape, nonNeg: false, ...(x.flatFrom ? { flatFrom: x.flatFrom } : {}) });
        return;
      }
      case 'Relu':
      case 'LeakyRelu':
      case 'Sigmoid':
      case 'HardSigmoid':
      case 'Clip': {
        const x = this.data(n.inputs[0]!, 'input');
        let layer: tf.layers.Layer;
        let nonNeg = true;
        if (n.opType === 'Relu') layer = tf.layers.reLU({ name: name() });
        else if (n.opType === 'LeakyRelu') {
          layer = tf.layers.leakyReLU({ alpha: a.float('alpha', 0.01), name: name() });
          nonNeg = false;
        } else if (n.opType === 'Sigmoid') layer = tf.layers.activation({ activation: 'sigmoid', name: name() });
        else if (n.opType === 'HardSigmoid')
          layer = new HardSigmoid({ alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5), name: name() });
        else {
          const bound = (i: number, attr: string, d: number): number => {
            if (this.opset < 11) return a.float(attr, d);
            const h = n.inputs[i] === undefined ? undefined : this.host(n.inputs[i]!, `Clip ${attr}`);
            return h === undefined ? d : h.data[0]!;
          };
          const lo = bound(1, 'min', -Infinity);
          const hi = bound(2, 'max', Infinity);
          if (lo !== 0)
            throw this.fail(
              `Clip(min ${lo}, max ${hi}): only min 0 (ReLU, ReLU6) is supported`,
              'Use ReLU/ReLU6 (nn.ReLU6, F.hardtanh(x, 0, 6)) or add the clip after the last prunable layer.',
            );
          layer = Number.isFinite(hi) ? tf.layers.reLU({ maxValue: hi, name: name() }) : tf.layers.reLU({ name: name() });
        }
        this.set(n, {
          t: this.apply(layer, x.t),
          shape: x.shape,
          nonNeg,
          ...(x.flatFrom ? { flatFrom: x.flatFrom } : {}),
          ...(x.squeezed ? { squeezed: true } : {}),
        });
        return;
      }
      case 'HardSwish': {
        const x = this.data(n.inputs[0]!, 'input');
        const hs = this.apply(new HardSigmoid({ alpha: 1 / 6, beta: 0.5, name: this.layerName(n, '_hardsigmoid') }), x.t);
        const y = this.apply(tf.layers.multiply({ name: name() }), [x.t, hs]);
        this.set(n, { t: y, shape: x.shape, nonNeg: false, ...(x.flatFrom ? { flatFrom: x.flatFrom } : {}) });
        return;
      }
      case 'Softmax': {
        const x = this.data(n.inputs[0]!, 'input');
        const axis = a.int('axis', this.opset >= 13 ? -1 : 1);
        if (x.shape.length !== 1 || (axis !== 1 && axis !== -1) || x.flatFrom)
          throw this.fail(
            `softmax over axis ${axis} of a [N, ${x.shape.join(', ')}] tensor`,
            'Only a softmax over the classes of a [N, K] output is supported.',
          );
        this.set(n, { t: this.apply(tf.layers.softmax({ name: name() }), x.t), shape: x.shape, nonNeg: true });
        return;
      }
      case 'Add':
      case 'Mul':
        return this.binary(n);
      case 'Concat': {
        const xs = n.inputs.map((i) => this.data(i, 'input'));
        if (xs.length === 1) {
          this.values.set(n.outputs[0]!, xs[0]!);
          return;
        }
        const r = xs[0]!.shape.length + 1;
        let axis = a.int('axis', 1);
        if (axis < 0) axis += r;
        if (axis !== 1 || xs.some((x) => x.flatFrom || x.squeezed || x.shape.length !== xs[0]!.shape.length))
          throw this.fail(
            `concatenation on axis ${a.int('axis', 1)} of [N, ${xs.map((x) => x.shape.join('x')).join('] and [N, ')}]`,
            'Only concatenation along channels (axis 1) is supported.',
          );
        const t = this.apply(
          tf.layers.concatenate({ axis: -1, name: name() }),
          xs.map((x) => x.t),
        );
        this.set(n, { t, shape: [xs.reduce((s, x) => s + x.shape[0]!, 0), ...xs[0]!.shape.slice(1)], nonNeg: xs.every((x) => x.nonNeg) });
        return;
      }
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(n);
      case 'GlobalAveragePool':
        return this.globalPool(n, true);
      case 'ReduceMean': {
        const x = this.data(n.inputs[0]!, 'input');
        const axes = (this.opset >= 18 && n.inputs[1] ? valuesOf(this.host(n.inputs[1], 'axes')!) : a.ints('axes')) ?? [];
        const norm = axes.map((v) => (v < 0 ? v + 4 : v)).sort();
        if (x.shape.length !== 3 || norm.join(',') !== '2,3')
          throw this.fail(`mean over axes [${axes.join(', ')}]`, 'Only a mean over H and W (x.mean((2, 3))) is supported.');
        return this.globalPool(n, a.int('keepdims', 1) === 1);
      }
      case 'Pad': {
        const x = this.data(n.inputs[0]!, 'input');
        const mode = a.str('mode', 'constant');
        const pads = this.opset >= 11 ? valuesOf(this.host(n.inputs[1]!, 'pads')!) : (a.ints('pads') ?? []);
        const value = this.opset >= 11 ? (n.inputs[2] ? (this.host(n.inputs[2], 'constant_value')?.data[0] ?? 0) : 0) : a.float('value', 0);
        if (n.inputs[3]) throw this.fail('Pad with an axes input', 'Re-export with opset <= 17.');
        const [C] = this.four(x);
        void C;
        if (pads.length !== 8 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0)
          throw this.fail(`pads [${pads.join(', ')}] touch the batch or channel axis`, 'Pad only H and W.');
        const allZero = pads.every((p) => p === 0);
        if (!allZero && (mode !== 'constant' || value !== 0))
          throw this.fail(`${mode} padding with value ${value}`, 'Only zero padding (nn.ZeroPad2d, F.pad(x, p)) is supported.');
        if (pads.some((p) => p < 0 || !Number.isInteger(p)))
          throw this.fail(`negative or non-integer pads [${pads.join(', ')}]`, 'Crop with slicing before export instead.');
        const y = this.zeroPad(n, x, [pads[2]!, pads[3]!, pads[6]!, pads[7]!]);
        if (y !== x) this.layerOf[y.t.sourceLayer.name] = n.name;
        this.values.set(n.outputs[0]!, { ...y, node: n.name });
        return;
      }
      case 'Flatten': {
        const x = this.data(n.inputs[0]!, 'input');
        if (a.int('axis', 1) !== 1)
          throw this.fail(`Flatten(axis=${a.int('axis', 1)})`, 'Flatten all but the batch axis (torch.flatten(x, 1)).');
        return this.flatten(n, x);
      }
      case 'Reshape':
      case 'Squeeze': {
        const x = this.data(n.inputs[0]!, 'input');
        let target: number[];
        if (n.opType === 'Reshape') {
          const shape = valuesOf(this.host(n.inputs[1]!, 'shape')!);
          const allowZero = a.int('allowzero', 0) === 1;
          const full = [NaN, ...x.shape];
          target = shape.map((v, i) => (v === 0 && !allowZero ? full[i]! : v));
        } else {
          const axes = this.opset >= 13 ? (n.inputs[1] ? valuesOf(this.host(n.inputs[1], 'axes')!) : undefined) : a.ints('axes');
          const full = [NaN, ...x.shape];
          const drop = new Set((axes ?? full.flatMap((d, i) => (d === 1 ? [i] : []))).map((v) => (v < 0 ? v + full.length : v)));
          target = full.filter((_, i) => !drop.has(i));
        }
        const F = x.shape.reduce((p, q) => p * q, 1);
        const batchFirst = Number.isNaN(target[0]!) || target[0] === -1;
        if (batchFirst && target.length === 2 && (target[1] === -1 || target[1] === F || Number.isNaN(target[1]!)))
          return this.flatten(n, x);
        if (batchFirst && target.length === x.shape.length + 1 && target.slice(1).every((d, i) => d === x.shape[i])) {
          this.values.set(n.outputs[0]!, x);
          return;
        }
        throw this.fail(
          `reshape of [N, ${x.shape.join(', ')}] to [${target.map((d) => (Number.isNaN(d) ? 'N' : d)).join(', ')}]`,
          'Only reshapes that flatten per sample (x.view(x.size(0), -1), torch.flatten(x, 1)) are supported.',
        );
      }
      case 'Gemm':
      case 'MatMul':
        return this.dense(n);
      default:
        throw this.fail(
          'this operator (or this use of it) has no tfjs equivalent in the importer',
          `Supported: ${SUPPORTED}. Replace the op before export, or prune the model up to it by exporting the part that latprune supports.`,
        );
    }
  }

  private flatten(n: OnnxNodeSummary, x: Data): void {
    if (x.shape.length === 1) {
      this.values.set(n.outputs[0]!, x);
      return;
    }
    if (x.squeezed) {
      this.set(n, { t: x.t, shape: [x.shape[0]!], nonNeg: x.nonNeg });
      return;
    }
    const [C, H, W] = this.four(x);
    const t = this.apply(tf.layers.flatten({ name: this.layerName(n) }), x.t);
    this.set(n, { t, shape: [C * H * W], nonNeg: x.nonNeg, ...(H * W > 1 ? { flatFrom: [C, H, W] as const } : {}) });
  }

  /** GlobalAveragePool / ReduceMean over H, W. */
  private globalPool(n: OnnxNodeSummary, keepDims: boolean): void {
    const x = this.data(n.inputs[0]!, 'input');
    const [C, H, W] = this.four(x);
    const out = n.outputs[0]!;
    const flattenOnly =
      !keepDims ||
      (!this.graphOutputs.has(out) &&
        (this.consumers.get(out) ?? []).every((c) => ['Flatten', 'Reshape', 'Squeeze'].includes(c.opType) && c.inputs[0] === out));
    if (flattenOnly) {
      const t = this.apply(tf.layers.globalAveragePooling2d({ name: this.layerName(n) }), x.t);
      this.set(n, keepDims ? { t, shape: [C, 1, 1], squeezed: true, nonNeg: x.nonNeg } : { t, shape: [C], nonNeg: x.nonNeg });
      return;
    }
    const t = this.apply(tf.layers.averagePooling2d({ poolSize: [H, W], strides: [H, W], padding: 'valid', name: this.layerName(n) }), x.t);
    this.set(n, { t, shape: [C, 1, 1], nonNeg: x.nonNeg });
  }

  private conv(n: OnnxNodeSummary): void {
    const a = attrOf(n);
    const x0 = this.data(n.inputs[0]!, 'input');
    const wh = this.host(n.inputs[1]!, 'weight');
    if (wh === undefined || wh.dims.length !== 4)
      throw this.fail(`weight of dims [${wh?.dims.join(', ') ?? ''}]`, 'Only 2-D convolutions are supported.');
    const w = wh.data instanceof Float32Array ? wh.data : Float32Array.from(wh.data);
    const bias = n.inputs[2] ? this.floats(n.inputs[2], 'bias') : undefined;
    const [cout, cinG, kh, kw] = wh.dims as [number, number, number, number];
    const [C, H, W] = this.four(x0);
    const G = a.int('group', 1);
    if (cinG * G !== C)
      throw this.fail(`weight [${wh.dims.join(', ')}] with group ${G} does not read ${C} input channels`, 'Re-export the model.');
    const strides = a.ints('strides') ?? [1, 1];
    const dil = a.ints('dilations') ?? [1, 1];
    if ((strides[0]! > 1 || strides[1]! > 1) && (dil[0]! > 1 || dil[1]! > 1))
      throw this.fail('strides and dilations both above 1', 'tfjs cannot run strided dilated convolutions; use stride 1 or dilation 1.');
    const pads = explicitPads(n, [H, W], [kh, kw], strides, dil);
    const ph = axisPad(H, kh, strides[0]!, dil[0]!, pads[0]!, pads[2]!);
    const pw = axisPad(W, kw, strides[1]!, dil[1]!, pads[1]!, pads[3]!);
    let x = x0;
    let padding: 'same' | 'valid';
    if (ph.valid && pw.valid) padding = 'valid';
    else if (ph.same && pw.same) padding = 'same';
    else {
      x = this.zeroPad(n, x0, pads);
      padding = 'valid';
    }
    const common = {
      kernelSize: [kh, kw] as [number, number],
      strides: [strides[0]!, strides[1]!] as [number, number],
      dilationRate: [dil[0]!, dil[1]!] as [number, number],
      padding,
      useBias: bias !== undefined,
      name: this.layerName(n),
    };
    let layer: tf.layers.Layer;
    let kernel: Float32Array;
    if (G === 1) {
      layer = tf.layers.conv2d({ ...common, filters: cout, kernelInitializer: 'zeros' });
      kernel = convKernelToTfjs(w, wh.dims);
    } else if (G === C && cinG === 1) {
      layer = tf.layers.depthwiseConv2d({ ...common, depthMultiplier: cout / C, depthwiseInitializer: 'zeros' });
      kernel = depthwiseKernelToTfjs(w, wh.dims, C);
    } else {
      layer = new GroupedConv2D({ ...common, kernelSize: [kh, kw], filters: cout, groups: G });
      kernel = convKernelToTfjs(w, wh.dims);
    }
    const kdims = G === C && cinG === 1 ? [kh, kw, C, cout / C] : [kh, kw, cinG, cout];
    const t = this.apply(layer, x.t);
    this.setNow({ layer, weights: [{ data: kernel, dims: kdims }, ...(bias ? [{ data: bias, dims: [cout] }] : [])] });
    this.set(n, { t, shape: [cout, ph.out, pw.out], nonNeg: false });
  }

  private pool(n: OnnxNodeSummary): void {
    const a = attrOf(n);
    const x = this.data(n.inputs[0]!, 'input');
    const [C, H, W] = this.four(x);
    const k = a.ints('kernel_shape') ?? [1, 1];
    const s = a.ints('strides') ?? [1, 1];
    const d = a.ints('dilations') ?? [1, 1];
    if (d.some((v) => v !== 1)) throw this.fail(`dilations [${d.join(', ')}]`, 'Use undilated pooling.');
    const ceil = a.int('ceil_mode', 0) === 1;
    const pads = explicitPads(n, [H, W], k, s, d);
    const max = n.opType === 'MaxPool';
    if (max && n.outputs[1] !== undefined && n.outputs[1] !== '' && this.consumers.has(n.outputs[1]))
      throw this.fail('its indices output is used', 'MaxUnpool is not supported.');
    const ph = axisPad(H, k[0]!, s[0]!, 1, pads[0]!, pads[2]!, ceil);
    const pw = axisPad(W, k[1]!, s[1]!, 1, pads[1]!, pads[3]!, ceil);
    const includePad = !max && a.int('count_include_pad', 0) === 1;
    let padding: 'same' | 'valid';
    let input = x;
    if (
      ph.valid &&
      pw.valid &&
      (!ceil ||
        (ph.out === axisPad(H, k[0]!, s[0]!, 1, pads[0]!, pads[2]!).out && pw.out === axisPad(W, k[1]!, s[1]!, 1, pads[1]!, pads[3]!).out))
    )
      padding = 'valid';
    else if (ph.same && pw.same && !includePad) padding = 'same';
    else if (max ? x.nonNeg : includePad && !ceil) {
      // zero padding = ONNX's padding here: -inf and 0 give the same max of a non-negative input; the average counts pads
      const extra = (o: number, n0: number, k0: number, s0: number, p0: number, p1: number): number =>
        Math.max(p1, (o - 1) * s0 + k0 - n0 - p0);
      const full = [
        pads[0]!,
        pads[1]!,
        extra(ph.out, H, k[0]!, s[0]!, pads[0]!, pads[2]!),
        extra(pw.out, W, k[1]!, s[1]!, pads[1]!, pads[3]!),
      ];
      input = this.zeroPad(n, x, full);
      padding = 'valid';
    } else {
      throw this.fail(
        `${n.opType} with pads [${pads.join(', ')}]${ceil ? ', ceil_mode' : ''}${max ? ' on an input that may be negative' : includePad ? '' : ' and count_include_pad=0'}: tfjs 'same' padding does not place the padding the same way`,
        max
          ? 'Put the pooling after a ReLU, or pad explicitly (nn.ZeroPad2d) before an unpadded pool.'
          : 'Use count_include_pad=True, or padding that tfjs "same" reproduces (stride 1, odd kernel).',
      );
    }
    const opts = {
      poolSize: [k[0]!, k[1]!] as [number, number],
      strides: [s[0]!, s[1]!] as [number, number],
      padding,
      name: this.layerName(n),
    };
    const layer = max ? tf.layers.maxPooling2d(opts) : tf.layers.averagePooling2d(opts);
    this.set(n, { t: this.apply(layer, input.t), shape: [C, ph.out, pw.out], nonNeg: x.nonNeg });
  }

  private binary(n: OnnxNodeSummary): void {
    const [va, vb] = [this.get(n.inputs[0]!), this.get(n.inputs[1]!)];
    if (va?.kind === 'data' && vb?.kind === 'data') {
      for (const v of [va, vb])
        if (v.flatFrom || v.squeezed)
          throw this.fail('an elementwise op on a flattened tensor in (c, h, w) order', 'Apply it before Flatten.');
      const r = (v: Data): number => v.shape.length;
      if (r(va) !== r(vb))
        throw this.fail(
          `operands [N, ${va.shape.join(', ')}] and [N, ${vb.shape.join(', ')}] of different rank`,
          'Broadcast explicitly (same rank) before export.',
        );
      const shape = va.shape.map((s, i) => Math.max(s, vb.shape[i]!));
      const ok = (v: Data): boolean => v.shape.every((s, i) => s === shape[i] || (s === 1 && i > 0));
      if (!ok(va) || !ok(vb))
        throw this.fail(
          `operands [N, ${va.shape.join(', ')}] and [N, ${vb.shape.join(', ')}] broadcast over channels`,
          'Only same-shape operands and [N, C, 1, 1] x [N, C, H, W] (squeeze-excitation) are supported.',
        );
      const layer = n.opType === 'Add' ? tf.layers.add({ name: this.layerName(n) }) : tf.layers.multiply({ name: this.layerName(n) });
      this.set(n, { t: this.apply(layer, [va.t, vb.t]), shape, nonNeg: va.nonNeg && vb.nonNeg });
      return;
    }
    const dataSide = va?.kind === 'data' ? va : vb?.kind === 'data' ? vb : undefined;
    const hostSide = va?.kind === 'host' ? va.v : vb?.kind === 'host' ? vb.v : undefined;
    if (n.opType === 'Add' && dataSide?.biasOf !== undefined && hostSide !== undefined) {
      const p = dataSide.biasOf;
      const units = p.weights[1]!.data.length;
      if (hostSide.data.length === units || hostSide.data.length === 1) {
        const b = p.weights[1]!.data;
        for (let i = 0; i < units; i++) b[i] = b[i]! + hostSide.data[hostSide.data.length === 1 ? 0 : i]!;
        this.values.set(n.outputs[0]!, { ...dataSide, biasOf: undefined, node: n.name });
        this.layerOf[p.layer.name] = `${this.layerOf[p.layer.name]} + ${n.name}`;
        return;
      }
    }
    throw this.fail(
      `${n.opType} of a tensor and a constant`,
      'Only Add/Mul of two computed tensors, and the bias Add after MatMul, are supported; fold constants into the neighbouring conv or linear layer before export.',
    );
  }

  private dense(n: OnnxNodeSummary): void {
    const a = attrOf(n);
    const x = this.data(n.inputs[0]!, 'input');
    if (x.shape.length !== 1 && !x.squeezed)
      throw this.fail(`${n.opType} on a [N, ${x.shape.join(', ')}] tensor`, 'Flatten before the linear layer (torch.flatten(x, 1)).');
    const wh = this.host(n.inputs[1]!, 'weight');
    if (wh === undefined || wh.dims.length !== 2)
      throw this.fail(`weight of dims [${wh?.dims.join(', ') ?? ''}]`, 'Only 2-D weights are supported.');
    const w = wh.data instanceof Float32Array ? wh.data : Float32Array.from(wh.data);
    const gemm = n.opType === 'Gemm';
    if (gemm && a.int('transA', 0) !== 0) throw this.fail('transA = 1', 'Export a plain nn.Linear.');
    const transB = gemm && a.int('transB', 0) === 1;
    const K = transB ? wh.dims[1]! : wh.dims[0]!;
    const N = transB ? wh.dims[0]! : wh.dims[1]!;
    if (K !== x.shape[0]) throw this.fail(`weight [${wh.dims.join(', ')}] does not read ${x.shape[0]} features`, 'Re-export the model.');
    const kernel = denseKernelToTfjs(w, wh.dims, transB, gemm ? a.float('alpha', 1) : 1, x.flatFrom);
    const bias = new Float32Array(N);
    if (gemm && n.inputs[2]) {
      const c = this.host(n.inputs[2], 'bias')!;
      const beta = a.float('beta', 1);
      if (c.data.length !== N && c.data.length !== 1)
        throw this.fail(`bias of ${c.data.length} values for ${N} outputs`, 'Only a per-output bias is supported.');
      for (let i = 0; i < N; i++) bias[i] = beta * c.data[c.data.length === 1 ? 0 : i]!;
    }
    const layer = tf.layers.dense({ units: N, useBias: true, kernelInitializer: 'zeros', name: this.layerName(n) });
    const p: Pending = {
      layer,
      weights: [
        { data: kernel, dims: [K, N] },
        { data: bias, dims: [N] },
      ],
    };
    this.pending.push(p);
    const single = (this.consumers.get(n.outputs[0]!) ?? []).length === 1 && !this.graphOutputs.has(n.outputs[0]!);
    this.set(n, { t: this.apply(layer, x.t), shape: [N], nonNeg: false, ...(!gemm && single ? { biasOf: p } : {}) });
  }

  output(name: string): tf.SymbolicTensor {
    const v = this.values.get(name);
    if (v === undefined || v.kind !== 'data')
      throw this.fail(
        `graph output "${name}" is ${v === undefined ? 'not produced by any node' : 'a constant'}`,
        'Export a model whose outputs are computed from its input.',
        undefined,
      );
    if (v.flatFrom)
      throw this.fail(
        `graph output "${name}" is a flattened feature map (its element order differs between NCHW and NHWC)`,
        'End the model with a linear layer or a global pool.',
        undefined,
      );
    if (v.squeezed) throw this.fail(`graph output "${name}" is a [N, C, 1, 1] pooled map`, 'Flatten it before the output.', undefined);
    return v.t;
  }

  setWeights(): void {
    for (const p of this.pending) this.setNow(p);
  }
}

function describeValue(v: OnnxValueSummary, source: string, role: string): ImportedValue {
  if (v.elemType !== 'float32') {
    throw new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${source}: graph ${role} "${v.name}" has element type ${v.elemType}; latprune imports float32 models only. Export the model in float32 (model.float()).`,
    );
  }
  const dims = v.shape ?? [];
  return { name: v.name, elemType: 'float32', dims, dynamicAxes: dims.flatMap((d, i) => (typeof d === 'number' && d > 0 ? [] : [i])) };
}

/**
 * Converts an ONNX CNN (as PyTorch's `torch.onnx.export` writes it, opsets
 * 11-17, with or without constant folding, dynamic batch) into a tfjs
 * functional LayersModel in NHWC that latprune's channel analysis, trainer,
 * compaction and exporter use unchanged.
 *
 * Conv with `group` becomes Conv2D (1), DepthwiseConv2D (= channels) or the
 * importer's `GroupedConv2D` layer; PyTorch's explicit padding becomes tfjs
 * `same` where that places the padding identically, else ZeroPadding2D + a
 * `valid` conv or pool. BatchNormalization stays a BatchNormalization layer
 * (momentum and epsilon kept). Shape arithmetic (`x.view(x.size(0), -1)`) is
 * folded on the host. Weights are transposed once to tfjs layouts.
 *
 * @param bytes - the `.onnx` file's bytes
 * @param opts - source name for messages, input size when H/W are dynamic, model name
 * @returns the model (built, weights set, on the active tfjs backend) and the import record
 * @throws LatpruneError `BAD_FILE` for bytes that are not (complete) ONNX; `UNSUPPORTED_LAYER` naming the
 *   node, its op type, the path from the input to it and what to do; `BAD_ARGUMENT` for a missing or wrong `inputShape`
 */
export async function importOnnx(bytes: Uint8Array, opts: ImportOptions = {}): Promise<ImportResult> {
  const source = opts.source ?? '<bytes>';
  const m = decodeModel(bytes, source, { deferInitializerData: true });
  if (m.nodes.length === 0)
    throw new LatpruneError('BAD_FILE', `${source}: the ONNX graph has no nodes; check that it is a complete model file.`);
  if (m.opsetVersion < 7 || m.opsetVersion > 21)
    throw new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${source}: ai.onnx opset ${m.opsetVersion} is outside what the importer reads (tested 11-17); re-export with opset_version between 11 and 17.`,
    );
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const inits = new Set(m.initializers.map((t) => t.name));
  const realInputs = m.inputs.filter((v) => !inits.has(v.name));
  if (realInputs.length !== 1) {
    throw new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${source}: the graph has ${realInputs.length} inputs (${realInputs.map((v) => v.name).join(', ')}); latprune imports single-input image models. Export with one NCHW image input.`,
    );
  }
  const input = describeValue(realInputs[0]!, source, 'input');
  const outputs = m.outputs.map((o) => describeValue(o, source, 'output'));
  if (input.dims.length !== 4)
    throw new LatpruneError(
      'UNSUPPORTED_LAYER',
      `${source}: input "${input.name}" has dims [${input.dims.join(', ')}]; latprune imports NCHW image models ([N, C, H, W]).`,
    );
  const fixed = input.dims.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : undefined));
  let shape: [number, number, number];
  if (opts.inputShape !== undefined) {
    const s = opts.inputShape;
    if (s.length !== 3 || s.some((d) => !Number.isInteger(d) || d < 1) || s.some((d, i) => fixed[i] !== undefined && fixed[i] !== d)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `inputShape [${s.join(', ')}] does not fit input "${input.name}" of ${source} with dims [${input.dims.join(', ')}]; pass [C, H, W] with the file's fixed sizes.`,
      );
    }
    shape = [s[0], s[1], s[2]];
  } else {
    if (fixed.some((d) => d === undefined)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `${source}: input "${input.name}" has dims [${input.dims.join(', ')}] with a dynamic channel or spatial size; pass inputShape [C, H, W] (the size to prune for).`,
      );
    }
    shape = fixed as [number, number, number];
  }
  const b0: OnnxDim | undefined = input.dims[0];
  const batchDim = typeof b0 === 'string' && b0 !== '?' ? b0 : 'batch';

  const imp = new Importer(
    source,
    m.opsetVersion,
    m.nodes,
    m.outputs.map((o) => o.name),
    input.name,
  );
  for (const t of m.initializers) imp.addConstant(t.name, () => hostFromDecoded(t));
  const x = imp.addInput(input.name, shape);
  imp.run();
  const outs = m.outputs.map((o) => imp.output(o.name));
  const name = sanitize(opts.name ?? (m.graphName || 'onnx_model'));
  const model = tf.model({ inputs: x, outputs: outs.length === 1 ? outs[0]! : outs, name });
  imp.setWeights();
  const info: ImportInfo = {
    source,
    sha256,
    opset: m.opsetVersion,
    producer: `${m.producerName} ${m.producerVersion}`.trim(),
    input,
    outputs,
    inputShape: shape,
    batchDim,
    nodes: m.nodes.length,
    layers: imp.layerOf,
  };
  return { model, info };
}
