/**
 * Synthetic coupled latency models for tests, benchmarks and demos: conv
 * networks described as layers whose input/output widths are channel groups,
 * with a made-up latency `f(cin, cout, fmap, kernel)` that has the features
 * that break naive solvers: coupling between groups and non-monotone "cliffs"
 * (a width that is not a multiple of 8 is padded to the next multiple and pays
 * an efficiency penalty, so 17 channels are slower than 16 or even 24).
 *
 * These are not measurements of any device.
 */

import { LatpruneError } from '../errors.js';
import type { CoupledGroup, CoupledLatencyModel } from './coupled.js';
import type { KeepCounts } from './selection.js';

/** A seeded PRNG (mulberry32) returning floats in [0, 1); see `util/random.ts`. */
import { seededRandom } from '../util/random.js';
export { seededRandom };

/** One layer of a synthetic network. */
export interface SyntheticLayer {
  /** Layer name. */
  readonly name: string;
  /** Input width: a group id, or a fixed channel count (e.g. 3 for RGB). */
  readonly cin: string | number;
  /** Output width: a group id, or a fixed count. */
  readonly cout: string | number;
  /** Output feature-map side length. */
  readonly fmap: number;
  /** Kernel side length. */
  readonly kernel: number;
  /** Depthwise conv (`cin` and `cout` are the same group). */
  readonly depthwise?: boolean;
}

/** A synthetic network: groups (with full widths) and layers. */
export interface SyntheticNet {
  /** Group ids and their full widths. */
  readonly groups: readonly { readonly id: string; readonly width: number }[];
  /** The layers. */
  readonly layers: readonly SyntheticLayer[];
}

/** Constants of the synthetic per-layer latency. */
export interface SyntheticLatencyParams {
  /** ms per multiply-accumulate (on padded widths). Default 1e-8. */
  readonly msPerMac?: number;
  /** ms per activation element read or written. Default 2e-7. */
  readonly msPerElement?: number;
  /** Fixed per-layer overhead in ms. Default 0.02. */
  readonly overheadMs?: number;
  /** Extra relative cost of a width that is not a multiple of 8. Default 0.15. */
  readonly cliff?: number;
}

/** Coupled latency model of a {@link SyntheticNet}; `total` sums the layers. */
export class SyntheticLatencyModel implements CoupledLatencyModel {
  readonly net: SyntheticNet;
  private readonly mac: number;
  private readonly elem: number;
  private readonly overhead: number;
  private readonly cliff: number;
  private readonly touching: Map<string, SyntheticLayer[]>;
  private readonly widths: Map<string, number>;

  /**
   * @param net - groups and layers; every group id used by a layer must be declared
   * @param params - latency constants
   */
  constructor(net: SyntheticNet, params: SyntheticLatencyParams = {}) {
    this.net = net;
    this.mac = params.msPerMac ?? 1e-8;
    this.elem = params.msPerElement ?? 2e-7;
    this.overhead = params.overheadMs ?? 0.02;
    this.cliff = params.cliff ?? 0.15;
    this.widths = new Map(net.groups.map((g) => [g.id, g.width]));
    this.touching = new Map(net.groups.map((g) => [g.id, []]));
    for (const l of net.layers) {
      for (const end of new Set([l.cin, l.cout])) {
        if (typeof end === 'string') {
          const list = this.touching.get(end);
          if (!list) throw new LatpruneError('BAD_ARGUMENT', `synthetic net: layer ${l.name} uses undeclared group "${end}"`);
          list.push(l);
        }
      }
    }
  }

  private width(end: string | number, keep: KeepCounts): number {
    if (typeof end === 'number') return end;
    const k = keep[end];
    if (k === undefined) throw new LatpruneError('BAD_ARGUMENT', `synthetic latency model: keep has no entry for group "${end}"`);
    return k;
  }

  /** Latency of one layer at the given widths. */
  layerLatency(l: SyntheticLayer, cin: number, cout: number): number {
    const pad = (c: number): number => Math.ceil(c / 8) * 8;
    const pen = (c: number): number => (c % 8 === 0 ? 1 : 1 + this.cliff);
    const hw = l.fmap * l.fmap;
    const macs = l.depthwise
      ? hw * l.kernel * l.kernel * pad(cout) * pen(cout)
      : hw * l.kernel * l.kernel * pad(cin) * pad(cout) * pen(cin) * pen(cout);
    return this.overhead + this.mac * macs + this.elem * hw * (pad(cin) + pad(cout));
  }

  /** {@inheritDoc CoupledLatencyModel.total} */
  total(keep: KeepCounts): number {
    let t = 0;
    for (const l of this.net.layers) t += this.layerLatency(l, this.width(l.cin, keep), this.width(l.cout, keep));
    return t;
  }

  /** {@inheritDoc CoupledLatencyModel.delta} */
  delta(groupId: string, k: number, keep: KeepCounts): number {
    const layers = this.touching.get(groupId);
    if (!layers) throw new LatpruneError('BAD_ARGUMENT', `synthetic latency model: unknown group "${groupId}"`);
    let d = 0;
    for (const l of layers) {
      const cin = this.width(l.cin, keep);
      const cout = this.width(l.cout, keep);
      const nin = l.cin === groupId ? k : cin;
      const nout = l.cout === groupId ? k : cout;
      d += this.layerLatency(l, nin, nout) - this.layerLatency(l, cin, cout);
    }
    return d;
  }

  /** Latency with every group at full width. */
  fullLatency(): number {
    const keep: Record<string, number> = {};
    for (const [id, w] of this.widths) keep[id] = w;
    return this.total(keep);
  }
}

/**
 * Coupled groups for a synthetic net: random descending importance and the
 * domain `{granularity, 2·granularity, ..., width}` (width rounded down).
 *
 * @param net - the net
 * @param granularity - channel step (1 = per channel)
 * @param seed - PRNG seed
 */
export function syntheticGroups(net: SyntheticNet, granularity: number, seed: number): CoupledGroup[] {
  const rnd = seededRandom(seed);
  return net.groups.map((g) => {
    const values = Array.from({ length: g.width }, (_, i) => (Math.exp((-3 * i) / g.width) * (0.2 + rnd())) / g.width).sort(
      (a, b) => b - a,
    );
    const max = g.width - ((g.width - granularity) % granularity);
    return { id: g.id, values, domain: { min: granularity, max, step: granularity } };
  });
}

/**
 * ResNet-50 (ImageNet, 224×224) coupling structure: stem (64), 16 bottleneck
 * blocks in stages of 3/4/6/3, each with conv1 and conv2 groups, and one
 * residual group per stage shared by its blocks' conv3 and the downsample
 * conv: 37 groups over 53 convolutions.
 */
export function syntheticResNet50Net(): SyntheticNet {
  const groups: { id: string; width: number }[] = [{ id: 'stem', width: 64 }];
  const layers: SyntheticLayer[] = [{ name: 'conv1', cin: 3, cout: 'stem', fmap: 112, kernel: 7 }];
  const stages = [
    { blocks: 3, mid: 64, out: 256, fmap: 56 },
    { blocks: 4, mid: 128, out: 512, fmap: 28 },
    { blocks: 6, mid: 256, out: 1024, fmap: 14 },
    { blocks: 3, mid: 512, out: 2048, fmap: 7 },
  ];
  let input = 'stem';
  stages.forEach((s, si) => {
    const res = `layer${si + 1}.out`;
    groups.push({ id: res, width: s.out });
    for (let b = 0; b < s.blocks; b++) {
      const p = `layer${si + 1}.${b}`;
      groups.push({ id: `${p}.conv1`, width: s.mid }, { id: `${p}.conv2`, width: s.mid });
      const blockIn = b === 0 ? input : res;
      // torchvision v1.5: the stride sits on conv2 of the first block (stages 2-4).
      const inFmap = b === 0 && si > 0 ? s.fmap * 2 : s.fmap;
      layers.push(
        { name: `${p}.conv1`, cin: blockIn, cout: `${p}.conv1`, fmap: inFmap, kernel: 1 },
        { name: `${p}.conv2`, cin: `${p}.conv1`, cout: `${p}.conv2`, fmap: s.fmap, kernel: 3 },
        { name: `${p}.conv3`, cin: `${p}.conv2`, cout: res, fmap: s.fmap, kernel: 1 },
      );
      if (b === 0) layers.push({ name: `${p}.downsample`, cin: blockIn, cout: res, fmap: s.fmap, kernel: 1 });
    }
    input = res;
  });
  return { groups, layers };
}

/**
 * MobileNet-V1 (224×224) coupling structure: the stem conv (32) and 13
 * depthwise-separable blocks; each depthwise conv shares its group with the
 * preceding pointwise (or stem) output: 14 groups over 27 convolutions.
 */
export function syntheticMobileNetV1Net(): SyntheticNet {
  const groups: { id: string; width: number }[] = [{ id: 'conv0', width: 32 }];
  const layers: SyntheticLayer[] = [{ name: 'conv0', cin: 3, cout: 'conv0', fmap: 112, kernel: 3 }];
  const blocks: [number, number][] = [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [512, 2],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [1024, 2],
    [1024, 1],
  ];
  let prev = 'conv0';
  let fmap = 112;
  blocks.forEach(([out, stride], i) => {
    fmap /= stride;
    const id = `block${i + 1}.pw`;
    groups.push({ id, width: out });
    layers.push(
      { name: `block${i + 1}.dw`, cin: prev, cout: prev, fmap, kernel: 3, depthwise: true },
      { name: `block${i + 1}.pw`, cin: prev, cout: id, fmap, kernel: 1 },
    );
    prev = id;
  });
  return { groups, layers };
}
