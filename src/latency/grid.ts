/**
 * Which (cin, cout) points to measure for a signature: a grid per layout
 * regime in effective units (so every measured point stands for a whole
 * class of widths), the model's own widths, and adaptive refinement where
 * latency jumps between grid neighbours more than the work ratio explains.
 */
import { isFast, regimeOf, roundUp, type LayoutRules, type OpKind } from './layout.js';

/** Grid options (stored in the table; a resumed run must use the same). */
export interface GridOptions {
  /** Smallest channel step between grid values (HALP used 2). */
  readonly step: number;
  /** Grid values per axis and regime (at most). */
  readonly points: number;
  /** Refinement passes. */
  readonly refine: number;
}

/** Defaults: step 8, 8 values per axis, 2 refinement passes. */
export const DEFAULT_GRID: GridOptions = { step: 8, points: 8, refine: 2 };

/** What the planner needs to know about a signature. */
export interface SignatureExtent {
  readonly op: OpKind;
  readonly cinMax: number;
  readonly coutMax: number;
  /** The model's own (cin, cout) pairs at this signature: always measured. */
  readonly native: ReadonlyArray<readonly [number, number]>;
  /** Input width cannot change (it is the model input). */
  readonly cinFixed: boolean;
  /** Output width cannot change (it is the model output). */
  readonly coutFixed: boolean;
}

function spread(lo: number, hi: number, n: number, lattice: number): number[] {
  const out = new Set<number>();
  if (hi < lo) return [];
  for (let i = 0; i < n; i++) {
    const v = n === 1 ? hi : lo + ((hi - lo) * i) / (n - 1);
    out.add(Math.min(hi, Math.max(lo, Math.round(v / lattice) * lattice)));
  }
  out.add(hi);
  return [...out].filter((v) => v >= 1).sort((a, b) => a - b);
}

/** Values of one axis for one regime. */
function axis(rules: LayoutRules, op: OpKind, max: number, g: GridOptions, cls: 'fast' | 'plain' | 'single', isInput: boolean): number[] {
  const rule = rules[op];
  if (!rule || cls === 'single') return spread(Math.min(g.step, max), max, g.points, Math.min(g.step, max));
  if (cls === 'fast') {
    // blocked kernels: padded widths; inputs below the threshold read plain tensors at their width
    // (a rule with outAlign, WebGPU's: widths on the vector multiple of their axis, no padding)
    const pad = rule.outAlign === undefined ? rule.outPad : isInput ? rule.align : rule.outAlign;
    const vals = new Set(spread(Math.min(pad, roundUp(max, pad)), roundUp(max, pad), g.points, pad).map((v) => Math.min(v, max)));
    if (isInput && op !== 'dwconv') for (const v of max > 64 ? [1, 8] : [1, 4, 8]) if (v < rule.below && v <= max) vals.add(v);
    const outOk = (v: number) => rule.outAlign === undefined || v % rule.outAlign === 0;
    return [...vals].filter((v) => (isInput ? isFast(rule, v) : outOk(v)) || op === 'dwconv').sort((a, b) => a - b);
  }
  // plain regime: widths the fast kernels refuse (inputs only; outputs are never padded here)
  if (!isInput) return spread(Math.min(g.step, max), max, Math.max(2, Math.ceil(g.points / 2)), 1);
  // a fast candidate moves to its plain neighbour above, or below when that passes the top (max is
  // usually fast itself, e.g. 64: the widest plain input, 63, must be on the grid, or lookups
  // between the last plain value and it would be extrapolated)
  const plainNear = (v: number): number | undefined => {
    for (const c of [v, v + 1, v - 1]) if (c >= rule.below && c <= max && !isFast(rule, c)) return c;
    return undefined;
  };
  const cands = spread(rule.below, max, Math.max(2, Math.ceil(g.points / 2)), 1).map(plainNear);
  return [...new Set(cands.filter((v): v is number => v !== undefined))].sort((a, b) => a - b);
}

/** The base grid of a signature: every regime's grid plus the native widths. */
export function baseGrid(ext: SignatureExtent, rules: LayoutRules, g: GridOptions): Array<[number, number]> {
  const pts = new Map<string, [number, number]>();
  const add = (cin: number, cout: number) => pts.set(`${cin},${cout}`, [cin, cout]);
  for (const [cin, cout] of ext.native) add(cin, cout);
  const rule = rules[ext.op];
  const fixedCls: 'fast' | 'plain' | undefined = ext.cinFixed && rule ? (isFast(rule, ext.native[0]![0]) ? 'fast' : 'plain') : undefined;
  const classes: ReadonlyArray<'fast' | 'plain' | 'single'> = rule ? (fixedCls ? [fixedCls] : ['fast', 'plain']) : ['single'];
  for (const cls of classes) {
    const cins = ext.cinFixed ? [ext.native[0]![0]] : axis(rules, ext.op, ext.cinMax, g, cls, true);
    if (ext.op === 'dwconv') {
      for (const c of cins) add(c, c);
      continue;
    }
    const couts = ext.coutFixed ? [ext.native[0]![1]] : axis(rules, ext.op, ext.coutMax, g, cls === 'plain' ? 'plain' : cls, false);
    for (const cin of cins) for (const cout of couts) add(cin, cout);
    // WebGPU's rule: an output width off the vector multiple makes the layer plain too, at fast input widths
    if (cls === 'plain' && rule?.outAlign !== undefined && rule.outAlign > 1 && !ext.coutFixed) {
      const fastCins = ext.cinFixed
        ? isFast(rule, ext.native[0]![0])
          ? [ext.native[0]![0]]
          : []
        : axis(rules, ext.op, ext.cinMax, g, 'fast', true);
      const off = [
        ...new Set(
          spread(1, ext.coutMax, Math.max(2, Math.ceil(g.points / 2)), 1).map((v) =>
            v % rule.outAlign! === 0 ? (v + 1 <= ext.coutMax ? v + 1 : v - 1) : v,
          ),
        ),
      ].filter((v) => v >= 1 && v % rule.outAlign! !== 0);
      for (const cin of fastCins) for (const cout of off) add(cin, cout);
    }
  }
  return [...pts.values()];
}

/**
 * One refinement pass: for neighbours on a grid line of the same regime whose
 * latency ratio departs from the work ratio by more than `tolerance`, the
 * midpoint (on the regime's lattice) is proposed. Returns new points only.
 */
export function refinePoints(
  op: OpKind,
  measured: ReadonlyArray<readonly [number, number, number]>,
  rules: LayoutRules,
  tolerance = 0.25,
): Array<[number, number]> {
  const have = new Set(measured.map(([a, b]) => `${a},${b}`));
  const proposals = new Map<string, [number, number]>();
  const lines = new Map<string, Array<readonly [number, number, number]>>();
  for (const p of measured) {
    const r = regimeOf(rules, op, p[0], p[1]);
    // lines of constant cout (vary cin) and of constant cin (vary cout), per regime
    for (const k of [`${r.cls}|cout=${p[1]}`, `${r.cls}|cin=${p[0]}`]) lines.set(k, [...(lines.get(k) ?? []), p]);
  }
  for (const [k, list] of lines) {
    const along = k.includes('|cout=') ? 0 : 1;
    const sorted = [...list].sort((a, b) => a[along] - b[along]);
    for (let i = 0; i + 1 < sorted.length; i++) {
      const a = sorted[i]!;
      const b = sorted[i + 1]!;
      const gap = b[along] - a[along];
      const rule = rules[op];
      const lattice = rule && k.startsWith('fast') ? rule.outPad : 1;
      if (gap <= Math.max(lattice, 1) || a[2] <= 0) continue;
      const expected = b[along] / a[along];
      const actual = b[2] / a[2];
      if (Math.abs(actual - expected) / expected <= tolerance) continue;
      let mid = Math.round((a[along] + b[along]) / 2 / lattice) * lattice;
      if (mid <= a[along] || mid >= b[along]) continue;
      if (rule && k.startsWith('plain') && along === 0 && isFast(rule, mid)) mid += 1;
      if (mid >= b[along]) continue;
      const p: [number, number] = along === 0 ? [mid, a[1]] : [a[0], mid];
      if (op === 'dwconv') p[1] = p[0];
      const key = `${p[0]},${p[1]}`;
      if (!have.has(key)) proposals.set(key, p);
    }
  }
  return [...proposals.values()];
}
