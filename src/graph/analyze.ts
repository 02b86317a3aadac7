/**
 * Channel-coupling analysis: from a {@link ModelSpec} to channel groups.
 *
 * Every channel a layer creates (Conv2D, Dense and SeparableConv2D outputs,
 * model inputs) is an atom. Walking the layers in topological order, each
 * tensor's last axis becomes a list of atoms: channelwise layers pass them on,
 * a depthwise conv repeats each input atom `multiplier` times, Concatenate
 * joins the lists (so a consumer sees each input at its offset), Flatten
 * repeats the list at every spatial position, and Add/Multiply/... unify their
 * inputs' atoms channel by channel. Model inputs, model outputs and ignored
 * layers pin their atoms (never pruned). Unpinned atoms become group
 * channels; atoms created by layers that were coupled to each other form one
 * group.
 */

import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import { AtomTable } from './atoms.js';
import { describeModel } from './describe.js';
import { isKernelWeight, ruleOf, weightAxes } from './layer-rules.js';
import type { LayerSpec, ModelSpec, TensorRef } from './spec.js';
import type { ChannelGraph, ChannelGroup, ChannelMap, GroupMember, LayerChannels, LayerWeight, MemberWeight, WeightAxis } from './types.js';

/** Options of {@link analyzeGraph}. */
export interface AnalyzeOptions {
  /**
   * Layers whose input and output channels stay intact (as Torch-Pruning's
   * `ignored_layers`): use it for layers latprune does not support. The
   * groups feeding or fed by them become fixed.
   */
  readonly ignoredLayers?: readonly string[];
  /**
   * Fraction of each group's channels a selection must keep, in [0, 1]
   * (default 0: at least one channel; a group never drops to zero width).
   */
  readonly minKeepFraction?: number;
  /** Per-layer overrides of {@link AnalyzeOptions.minKeepFraction}; a group takes the largest among its member layers. */
  readonly minKeepByLayer?: Readonly<Record<string, number>>;
}

const lastDim = (s: readonly number[]): number => (s.length === 0 ? 1 : s[s.length - 1]!);
const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);
const key = (r: TensorRef): string => `${r.layer}#${r.tensor}`;

/** "input -> stem_conv -> foo (class Lambda)": the first-input path from a model input to `l`. */
export function tensorPath(spec: ModelSpec, layer: string): string {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const names: string[] = [];
  let cur = byName.get(layer);
  const seen = new Set<string>();
  while (cur !== undefined && !seen.has(cur.name)) {
    seen.add(cur.name);
    names.push(cur.name);
    const next = cur.inbound[0];
    cur = next === undefined ? undefined : byName.get(next.layer);
  }
  names.reverse();
  const l = byName.get(layer);
  names[names.length - 1] = `${layer} (class ${l?.className ?? '?'})`;
  return names.join(' -> ');
}

function unsupported(spec: ModelSpec, l: LayerSpec, reason: string): LatpruneError {
  return new LatpruneError(
    'UNSUPPORTED_LAYER',
    `layer "${l.name}" (class ${l.className}) is not supported by the channel analysis: ${reason}. ` +
      `Path: ${tensorPath(spec, l.name)}. Add "${l.name}" to ignoredLayers to keep its input and output channels intact, or replace the layer.`,
  );
}

function checkFraction(v: number, what: string): void {
  if (!(v >= 0 && v <= 1)) throw new LatpruneError('BAD_ARGUMENT', `${what} must be a fraction in [0, 1], got ${v}.`);
}

/**
 * Computes the channel groups of a model described as plain data.
 *
 * @param spec - the model (see {@link describeModel})
 * @param opts - ignored layers, minimum kept fractions
 * @returns groups and per-layer channel maps
 * @throws LatpruneError `UNSUPPORTED_LAYER` naming the layer, its class and its path from the input;
 *   `BAD_ARGUMENT` for an unknown ignored layer or a bad fraction; `BAD_FILE` for an inconsistent spec
 */
export function analyzeGraph(spec: ModelSpec, opts: AnalyzeOptions = {}): ChannelGraph {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const ignored = new Set(opts.ignoredLayers ?? []);
  for (const n of ignored) {
    if (!byName.has(n)) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `ignoredLayers: model ${spec.name} has no layer "${n}"; layer names: ${[...byName.keys()].slice(0, 12).join(', ')}${byName.size > 12 ? ', ...' : ''}.`,
      );
    }
  }
  checkFraction(opts.minKeepFraction ?? 0, 'minKeepFraction');
  for (const [n, f] of Object.entries(opts.minKeepByLayer ?? {})) checkFraction(f, `minKeepByLayer["${n}"]`);

  const atoms = new AtomTable();
  const tensors = new Map<string, Int32Array>();
  const shapes = new Map<string, readonly number[]>();
  const perLayer: { spec: LayerSpec; ins: Int32Array[]; outs: Int32Array[]; weights: LayerWeight[] }[] = [];

  for (const l of spec.layers) {
    const ins = l.inbound.map((r) => {
      const m = tensors.get(key(r));
      if (m === undefined)
        throw new LatpruneError('BAD_FILE', `layer ${l.name}: input ${r.layer}[${r.tensor}] is unknown or comes later in the layer list.`);
      return m;
    });
    const inShape = (i: number): readonly number[] => shapes.get(key(l.inbound[i]!))!;
    let outs: Int32Array[];
    let axes = new Map<string, WeightAxis[]>();
    if (ignored.has(l.name)) {
      for (const m of ins) for (const a of m) atoms.pin(a);
      outs = l.outputShapes.map((s) => atoms.fresh(lastDim(s), l.name, true));
    } else {
      const rule = ruleOf(l);
      if (rule.kind === 'unsupported') throw unsupported(spec, l, rule.reason);
      if (l.calls > 1) throw unsupported(spec, l, `it is a shared layer called ${l.calls} times`);
      if (l.outputShapes.length !== 1) throw unsupported(spec, l, `it has ${l.outputShapes.length} outputs`);
      const outShape = l.outputShapes[0]!;
      const C = lastDim(outShape);
      const needOneInput = (): Int32Array => {
        if (ins.length !== 1) throw unsupported(spec, l, `expected one input, got ${ins.length}`);
        return ins[0]!;
      };
      const checkWidth = (got: number, what: string): void => {
        if (got !== C)
          throw new LatpruneError(
            'BAD_FILE',
            `layer ${l.name}: ${what} gives ${got} channels but its output shape [${outShape.join(', ')}] has ${C}.`,
          );
      };
      let out: Int32Array;
      switch (rule.kind) {
        case 'input':
          out = atoms.fresh(C, l.name, true);
          break;
        case 'create':
          needOneInput();
          out = atoms.fresh(C, l.name);
          if (rule.mixingActivation) for (const a of out) atoms.pin(a);
          break;
        case 'grouped': {
          const inp = needOneInput();
          const G = rule.groups;
          if (inp.length % G !== 0 || C % G !== 0)
            throw unsupported(spec, l, `${inp.length} input and ${C} output channels are not divisible by groups ${G}`);
          const cin = inp.length / G;
          for (let g = 1; g < G; g++) for (let j = 0; j < cin; j++) atoms.union(inp[j]!, inp[g * cin + j]!);
          out = atoms.fresh(C, l.name);
          const cout = C / G;
          for (let g = 1; g < G; g++) for (let k = 0; k < cout; k++) atoms.union(out[k]!, out[g * cout + k]!);
          break;
        }
        case 'depthwise': {
          const inp = needOneInput();
          checkWidth(inp.length * rule.multiplier, `input channels x depth multiplier ${rule.multiplier}`);
          out = new Int32Array(C);
          for (let o = 0; o < C; o++) out[o] = inp[Math.floor(o / rule.multiplier)]!;
          if (rule.mixingActivation) for (const a of out) atoms.pin(a);
          break;
        }
        case 'channelwise': {
          const inp = needOneInput();
          checkWidth(inp.length, 'its input');
          out = inp.slice();
          break;
        }
        case 'pin': {
          const inp = needOneInput();
          checkWidth(inp.length, 'its input');
          for (const a of inp) atoms.pin(a);
          out = inp.slice();
          break;
        }
        case 'merge':
          out = mergeInputs(spec, l, ins, C, atoms);
          break;
        case 'concat': {
          const rank = outShape.length + 1;
          const axis = rule.axis < 0 ? rule.axis + rank : rule.axis;
          if (axis === rank - 1) {
            checkWidth(
              ins.reduce((a, m) => a + m.length, 0),
              'the concatenated inputs',
            );
            out = new Int32Array(C);
            let off = 0;
            for (const m of ins) {
              out.set(m, off);
              off += m.length;
            }
          } else {
            out = mergeInputs(spec, l, ins, C, atoms);
          }
          break;
        }
        case 'flatten': {
          const inp = needOneInput();
          const n = prod(inShape(0));
          checkWidth(n, 'flattening its input');
          out = new Int32Array(n);
          for (let e = 0; e < n; e++) out[e] = inp[e % inp.length]!;
          break;
        }
        case 'reshape': {
          const inp = needOneInput();
          if (C === inp.length) {
            out = inp.slice();
            break;
          }
          const n = prod(inShape(0));
          out = new Int32Array(C).fill(-1);
          for (let e = 0; e < n; e++) {
            const a = inp[e % inp.length]!;
            const i = e % C;
            if (out[i] === -1) out[i] = a;
            else if (atoms.find(out[i]!) !== atoms.find(a)) {
              throw unsupported(
                spec,
                l,
                `it mixes channels (last axis ${inp.length} -> ${C}); only reshapes that keep each element's channel are supported`,
              );
            }
          }
          break;
        }
      }
      outs = [out];
      axes = weightAxes(l);
    }
    const weights: LayerWeight[] = l.weights.map((w) => ({ ...w, axes: axes.get(w.name) ?? [] }));
    for (const w of weights) {
      for (const ax of w.axes) {
        const width = ax.role === 'input' ? ins[0]?.length : outs[0]?.length;
        const merged = prod(w.shape.slice(ax.axis, ax.axis + ax.span));
        if (width === undefined || merged * (ax.groups ?? 1) !== width * ax.div) {
          throw new LatpruneError(
            'BAD_FILE',
            `layer ${l.name}: weight ${w.name} of shape [${w.shape.join(', ')}] does not match ${width ?? 0} ${ax.role} channels.`,
          );
        }
      }
    }
    outs.forEach((m, i) => {
      tensors.set(key({ layer: l.name, tensor: i }), m);
      shapes.set(key({ layer: l.name, tensor: i }), l.outputShapes[i] ?? [m.length]);
    });
    perLayer.push({ spec: l, ins, outs, weights });
  }
  for (const r of spec.outputs) {
    const m = tensors.get(key(r));
    if (m === undefined) throw new LatpruneError('BAD_FILE', `model ${spec.name}: output ${r.layer}[${r.tensor}] is not a layer output.`);
    for (const a of m) atoms.pin(a);
  }
  return assemble(spec, atoms, perLayer, opts, [...ignored]);
}

function mergeInputs(spec: ModelSpec, l: LayerSpec, ins: Int32Array[], C: number, atoms: AtomTable): Int32Array {
  const ref = ins.find((m) => m.length === C);
  if (ref === undefined) throw unsupported(spec, l, `no input has the output's ${C} channels`);
  for (const m of ins) {
    if (m.length === C) {
      for (let c = 0; c < C; c++) atoms.union(ref[c]!, m[c]!);
    } else if (m.length === 1) {
      atoms.pin(m[0]!);
    } else {
      throw unsupported(spec, l, `inputs with ${m.length} and ${C} channels do not broadcast channel-wise`);
    }
  }
  return ref.slice();
}

interface GroupDraft {
  id: string;
  index: number;
  size: number;
}

function assemble(
  spec: ModelSpec,
  atoms: AtomTable,
  perLayer: { spec: LayerSpec; ins: Int32Array[]; outs: Int32Array[]; weights: LayerWeight[] }[],
  opts: AnalyzeOptions,
  ignoredLayers: string[],
): ChannelGraph {
  const n = atoms.size;
  const rootGroup = new Int32Array(n).fill(-1);
  const rootChannel = new Int32Array(n).fill(-1);
  const byClass = new Map<number, GroupDraft>();
  const drafts: GroupDraft[] = [];
  for (let a = 0; a < n; a++) {
    const r = atoms.find(a);
    if (atoms.isPinned(r) || rootGroup[r] !== -1) continue;
    const space = atoms.spaceOf[a]!;
    const cls = atoms.findSpace(space);
    let g = byClass.get(cls);
    if (g === undefined) {
      g = { id: atoms.spaceLayer[space]!, index: drafts.length, size: 0 };
      byClass.set(cls, g);
      drafts.push(g);
    }
    rootGroup[r] = g.index;
    rootChannel[r] = g.size++;
  }
  const toMap = (m: Int32Array): ChannelMap => {
    const group: number[] = new Array<number>(m.length);
    const channel: number[] = new Array<number>(m.length);
    for (let c = 0; c < m.length; c++) {
      const r = atoms.find(m[c]!);
      group[c] = rootGroup[r]!;
      channel[c] = rootChannel[r]!;
    }
    return { group, channel };
  };

  const members: GroupMember[][] = drafts.map(() => []);
  const producers: Set<string>[] = drafts.map(() => new Set());
  const consumers: Set<string>[] = drafts.map(() => new Set());
  const batchNorms: Set<string>[] = drafts.map(() => new Set());
  const memberNames: Set<string>[] = drafts.map(() => new Set());
  const layers: LayerChannels[] = perLayer.map(({ spec: l, ins, outs, weights }) => {
    const inputs = ins.map(toMap);
    const outputs = outs.map(toMap);
    const side = (role: 'input' | 'output', maps: ChannelMap[]): void => {
      maps.forEach((map, t) => {
        const buckets = new Map<number, { lc: number[]; gc: number[] }>();
        map.group.forEach((g, c) => {
          if (g < 0) return;
          let b = buckets.get(g);
          if (b === undefined) buckets.set(g, (b = { lc: [], gc: [] }));
          b.lc.push(c);
          b.gc.push(map.channel[c]!);
        });
        for (const [g, b] of buckets) {
          const mw: MemberWeight[] =
            t === 0
              ? weights.flatMap((w) =>
                  w.axes
                    .filter((ax) => ax.role === role)
                    .map((ax) => ({ name: w.name, variable: w.variable, shape: w.shape, trainable: w.trainable, axis: ax })),
                )
              : [];
          members[g]!.push({
            layer: l.name,
            className: l.className,
            role,
            tensor: t,
            layerChannels: b.lc,
            groupChannels: b.gc,
            weights: mw,
          });
          memberNames[g]!.add(l.name);
          if (mw.some((w) => isKernelWeight(w.name))) (role === 'output' ? producers : consumers)[g]!.add(l.name);
          if (role === 'output' && l.className === 'BatchNormalization') batchNorms[g]!.add(l.name);
        }
      });
    };
    side('input', inputs);
    side('output', outputs);
    return {
      name: l.name,
      className: l.className,
      ignored: ignoredLayers.includes(l.name),
      inbound: l.inbound,
      inputs,
      outputs,
      outputShapes: l.outputShapes,
      weights,
    };
  });
  const groups: ChannelGroup[] = drafts.map((d) => {
    let f = opts.minKeepFraction ?? 0;
    for (const name of memberNames[d.index]!) f = Math.max(f, opts.minKeepByLayer?.[name] ?? 0);
    const minKeep = Math.min(d.size, Math.max(1, Math.ceil(f * d.size - 1e-9)));
    return {
      id: d.id,
      index: d.index,
      size: d.size,
      minKeep,
      producers: [...producers[d.index]!],
      consumers: [...consumers[d.index]!],
      batchNorms: [...batchNorms[d.index]!],
      members: members[d.index]!,
    };
  });
  return { model: spec.name, groups, layers, inputs: spec.inputs, outputs: spec.outputs, ignoredLayers };
}

/**
 * Computes the channel groups of a tfjs model: {@link describeModel} then {@link analyzeGraph}.
 *
 * @param model - a built tfjs LayersModel (functional or Sequential), NHWC, fixed input size
 * @param opts - ignored layers, minimum kept fractions
 * @throws LatpruneError `UNSUPPORTED_LAYER` naming the layer, class and path; see {@link analyzeGraph}
 */
export function analyzeModel(model: tf.LayersModel, opts: AnalyzeOptions = {}): ChannelGraph {
  return analyzeGraph(describeModel(model), opts);
}
