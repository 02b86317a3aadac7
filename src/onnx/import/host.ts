/**
 * Host-side constant folding for the ONNX importer: the shape arithmetic
 * PyTorch's exporter writes around `view`, `flatten` and `ZeroPad2d`
 * (Shape, Gather, Unsqueeze, Concat, Slice, Cast, ConstantOfShape, ...) is
 * evaluated on plain arrays. A dimension that depends on the dynamic batch is
 * carried as `NaN`, so `x.view(x.size(0), -1)` folds to the shape `[NaN, -1]`.
 *
 * @internal
 */
import type { OnnxNodeSummary, OnnxReadAttribute } from '../read.js';
import type { DecodedTensor } from '../tensor.js';

/** A constant tensor: float32 weights stay Float32Array; everything else is Float64Array (NaN = depends on the batch). */
export interface HostTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array | Float64Array;
  /** Whether the ONNX type is an integer type. */
  readonly int: boolean;
}

const size = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

/** A {@link HostTensor} from a decoded initializer or tensor attribute; `undefined` for element types it cannot hold. */
export function hostFromDecoded(t: DecodedTensor): HostTensor | undefined {
  if (t.data === null) return undefined;
  if (t.data instanceof Float32Array) return { dims: t.dims, data: t.data, int: false };
  if (t.data instanceof Float64Array) return { dims: t.dims, data: t.data, int: false };
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return { dims: t.dims, data: out, int: true };
}

/** A host tensor of plain numbers. */
export function hostOf(values: readonly number[], dims: readonly number[] = [values.length], int = true): HostTensor {
  return { dims, data: Float64Array.from(values), int };
}

/** The values as a number array. */
export function valuesOf(t: HostTensor): number[] {
  return Array.from(t.data);
}

function strides(d: readonly number[]): number[] {
  const s = new Array<number>(d.length).fill(1);
  for (let i = d.length - 2; i >= 0; i--) s[i] = s[i + 1]! * d[i + 1]!;
  return s;
}

/** Maps each output element to a source element index. */
function gatherIndex(outDims: readonly number[], src: (coord: number[]) => number): Float64Array {
  const n = size(outDims);
  const idx = new Float64Array(n);
  const coord = new Array<number>(outDims.length).fill(0);
  for (let e = 0; e < n; e++) {
    idx[e] = src(coord);
    for (let k = outDims.length - 1; k >= 0; k--) {
      if (++coord[k]! < outDims[k]!) break;
      coord[k] = 0;
    }
  }
  return idx;
}

function pick(t: HostTensor, dims: readonly number[], idx: Float64Array): HostTensor {
  const data = t.data instanceof Float32Array ? new Float32Array(idx.length) : new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) data[i] = t.data[idx[i]!]!;
  return { dims, data, int: t.int };
}

function broadcast(a: HostTensor, b: HostTensor, f: (x: number, y: number) => number, int: boolean): HostTensor {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array<number>(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array<number>(r - b.dims.length).fill(1), ...b.dims];
  const dims = ad.map((d, i) => {
    const e = bd[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new Error(`shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast`);
    return Math.max(d, e);
  });
  const as = strides(ad);
  const bs = strides(bd);
  const ia = gatherIndex(dims, (c) => c.reduce((s, v, i) => s + (ad[i] === 1 ? 0 : v * as[i]!), 0));
  const ib = gatherIndex(dims, (c) => c.reduce((s, v, i) => s + (bd[i] === 1 ? 0 : v * bs[i]!), 0));
  const data = new Float64Array(ia.length);
  for (let i = 0; i < data.length; i++) data[i] = f(a.data[ia[i]!]!, b.data[ib[i]!]!);
  return { dims, data, int };
}

const attrInt = (n: OnnxNodeSummary, k: string, d: number): number => {
  const a = n.attributes[k];
  return a?.type === 'int' ? a.value : d;
};
const attrInts = (n: OnnxNodeSummary, k: string): number[] | undefined => {
  const a = n.attributes[k];
  return a?.type === 'ints' ? [...a.value] : undefined;
};
const normAxis = (a: number, r: number): number => (a < 0 ? a + r : a);

/** The tensor of a `Constant` node's attribute. */
export function constantValue(n: OnnxNodeSummary): HostTensor {
  const a: OnnxReadAttribute | undefined =
    n.attributes['value'] ??
    n.attributes['value_float'] ??
    n.attributes['value_floats'] ??
    n.attributes['value_int'] ??
    n.attributes['value_ints'];
  if (a === undefined) throw new Error('Constant without a supported value attribute');
  switch (a.type) {
    case 'tensor': {
      const t = hostFromDecoded(a.value);
      if (t === undefined) throw new Error(`Constant of unsupported element type (data type ${a.value.dataType})`);
      return t;
    }
    case 'float':
      return hostOf([a.value], [], false);
    case 'floats':
      return hostOf([...a.value], [a.value.length], false);
    case 'int':
      return hostOf([a.value], []);
    case 'ints':
      return hostOf([...a.value]);
    default:
      throw new Error(`Constant with a ${a.type} value`);
  }
}

/** Ops {@link evalHost} evaluates. */
export const HOST_OPS = new Set([
  'Constant',
  'Identity',
  'Cast',
  'Shape',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Slice',
  'Reshape',
  'Transpose',
  'ConstantOfShape',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Floor',
  'Neg',
  'Flatten',
]);

/**
 * Evaluates a node on host tensors.
 *
 * @param n - the node
 * @param ins - its inputs (`undefined` for an omitted optional input)
 * @param opset - the model's ai.onnx opset
 * @throws Error with the reason (the caller wraps it with the node's name and path)
 */
export function evalHost(n: OnnxNodeSummary, ins: readonly (HostTensor | undefined)[], opset: number): HostTensor {
  const x = ins[0];
  const need = (t: HostTensor | undefined, what: string): HostTensor => {
    if (t === undefined) throw new Error(`missing input ${what}`);
    return t;
  };
  switch (n.opType) {
    case 'Constant':
      return constantValue(n);
    case 'Identity':
      return need(x, 'input');
    case 'Cast': {
      const t = need(x, 'input');
      const to = attrInt(n, 'to', 1);
      const int = to !== 1 && to !== 10 && to !== 11 && to !== 16;
      if (!int)
        return {
          dims: t.dims,
          data: t.data instanceof Float32Array ? t.data : Float64Array.from(t.data, (v) => Math.fround(v)),
          int: false,
        };
      return { dims: t.dims, data: Float64Array.from(t.data, (v) => Math.trunc(v)), int: true };
    }
    case 'Shape': {
      const t = need(x, 'input');
      const r = t.dims.length;
      let start = normAxis(attrInt(n, 'start', 0), r);
      let end = normAxis(attrInt(n, 'end', r), r);
      start = Math.max(0, Math.min(r, start));
      end = Math.max(0, Math.min(r, end));
      return hostOf(t.dims.slice(start, Math.max(start, end)));
    }
    case 'Gather': {
      const t = need(x, 'data');
      const ind = need(ins[1], 'indices');
      const axis = normAxis(attrInt(n, 'axis', 0), t.dims.length);
      const dims = [...t.dims.slice(0, axis), ...ind.dims, ...t.dims.slice(axis + 1)];
      const ts = strides(t.dims);
      const k = ind.dims.length;
      const is = strides(ind.dims);
      const idx = gatherIndex(dims, (c) => {
        let flat = 0;
        for (let i = 0; i < k; i++) flat += c[axis + i]! * is[i]!;
        const j = normAxis(ind.data[flat]!, t.dims[axis]!);
        let s = j * ts[axis]!;
        for (let i = 0; i < axis; i++) s += c[i]! * ts[i]!;
        for (let i = axis + 1; i < t.dims.length; i++) s += c[i + k - 1]! * ts[i]!;
        return s;
      });
      return pick(t, dims, idx);
    }
    case 'Unsqueeze': {
      const t = need(x, 'input');
      const axes = opset >= 13 ? valuesOf(need(ins[1], 'axes')) : (attrInts(n, 'axes') ?? []);
      const r = t.dims.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const dims: number[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) dims.push(set.has(i) ? 1 : t.dims[j++]!);
      return { ...t, dims };
    }
    case 'Squeeze': {
      const t = need(x, 'input');
      const given = opset >= 13 ? (ins[1] === undefined ? undefined : valuesOf(ins[1])) : attrInts(n, 'axes');
      const set = new Set((given ?? t.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, t.dims.length)));
      return { ...t, dims: t.dims.filter((_, i) => !set.has(i)) };
    }
    case 'Flatten': {
      const t = need(x, 'input');
      const axis = normAxis(attrInt(n, 'axis', 1), t.dims.length);
      return { ...t, dims: [size(t.dims.slice(0, axis)), size(t.dims.slice(axis))] };
    }
    case 'Concat': {
      const parts = ins.map((t, i) => need(t, `input ${i}`));
      const r = parts[0]!.dims.length;
      const axis = normAxis(attrInt(n, 'axis', 0), r);
      const dims = [...parts[0]!.dims];
      dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
      const outer = size(dims.slice(0, axis));
      const data = new Float64Array(size(dims));
      let o = 0;
      for (let b = 0; b < outer; b++) {
        for (const p of parts) {
          const chunk = size(p.dims.slice(axis));
          for (let i = 0; i < chunk; i++) data[o++] = p.data[b * chunk + i]!;
        }
      }
      return { dims, data, int: parts.every((p) => p.int) };
    }
    case 'Slice': {
      const t = need(x, 'data');
      const r = t.dims.length;
      let starts: number[];
      let ends: number[];
      let axes: number[];
      let steps: number[];
      if (opset >= 10) {
        starts = valuesOf(need(ins[1], 'starts'));
        ends = valuesOf(need(ins[2], 'ends'));
        axes = ins[3] === undefined ? starts.map((_, i) => i) : valuesOf(ins[3]);
        steps = ins[4] === undefined ? starts.map(() => 1) : valuesOf(ins[4]);
      } else {
        starts = attrInts(n, 'starts') ?? [];
        ends = attrInts(n, 'ends') ?? [];
        axes = attrInts(n, 'axes') ?? starts.map((_, i) => i);
        steps = starts.map(() => 1);
      }
      const st = new Array<number>(r).fill(0);
      const sp = new Array<number>(r).fill(1);
      const dims = [...t.dims];
      axes.forEach((a0, i) => {
        const a = normAxis(a0, r);
        const d = t.dims[a]!;
        const step = steps[i]!;
        if (step === 0) throw new Error('Slice step 0');
        const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v < 0 ? v + d : v));
        const s = step > 0 ? clamp(starts[i]!, 0, d) : clamp(starts[i]!, -1, d - 1);
        const e = step > 0 ? clamp(ends[i]!, 0, d) : clamp(ends[i]!, -1, d - 1);
        st[a] = s;
        sp[a] = step;
        dims[a] = Math.max(0, Math.ceil((e - s) / step));
      });
      const ts = strides(t.dims);
      return pick(
        t,
        dims,
        gatherIndex(dims, (c) => c.reduce((s, v, i) => s + (st[i]! + v * sp[i]!) * ts[i]!, 0)),
      );
    }
    case 'Reshape': {
      const t = need(x, 'data');
      const shape = valuesOf(need(ins[1], 'shape'));
      const allowZero = attrInt(n, 'allowzero', 0) === 1;
      const dims = shape.map((v, i) => (v === 0 && !allowZero ? t.dims[i]! : v));
      const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      return { ...t, dims: dims.map((d) => (d === -1 ? size(t.dims) / known : d)) };
    }
    case 'Transpose': {
      const t = need(x, 'data');
      const perm = attrInts(n, 'perm') ?? t.dims.map((_, i) => t.dims.length - 1 - i);
      const dims = perm.map((p) => t.dims[p]!);
      const ts = strides(t.dims);
      return pick(
        t,
        dims,
        gatherIndex(dims, (c) => c.reduce((s, v, i) => s + v * ts[perm[i]!]!, 0)),
      );
    }
    case 'ConstantOfShape': {
      const dims = valuesOf(need(x, 'shape'));
      if (dims.some((d) => !Number.isInteger(d))) throw new Error('ConstantOfShape with a batch-dependent shape');
      const a = n.attributes['value'];
      const v = a?.type === 'tensor' ? hostFromDecoded(a.value) : undefined;
      const fill = v === undefined ? 0 : v.data[0]!;
      return { dims, data: new Float64Array(size(dims)).fill(fill), int: v?.int ?? false };
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const a = need(x, 'A');
      const b = need(ins[1], 'B');
      const int = a.int && b.int;
      const f =
        n.opType === 'Add'
          ? (p: number, q: number) => p + q
          : n.opType === 'Sub'
            ? (p: number, q: number) => p - q
            : n.opType === 'Mul'
              ? (p: number, q: number) => p * q
              : int
                ? (p: number, q: number) => Math.trunc(p / q)
                : (p: number, q: number) => p / q;
      return broadcast(a, b, f, int);
    }
    case 'Floor':
      return { ...need(x, 'X'), data: Float64Array.from(need(x, 'X').data, Math.floor) };
    case 'Neg':
      return { ...need(x, 'X'), data: Float64Array.from(need(x, 'X').data, (v) => -v) };
    default:
      throw new Error(`op ${n.opType} cannot be evaluated on constants`);
  }
}
