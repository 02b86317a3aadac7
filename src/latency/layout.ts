/**
 * Layout regimes of a runtime's convolution kernels, and the effective
 * channel counts that decide their cost.
 *
 * ONNX Runtime's CPU provider rewrites convolutions into its blocked NCHWc
 * form only for some input channel counts, pads output channels up to its
 * block, and inserts reorder nodes where blocked and plain tensors meet. A
 * table that interpolated across those boundaries would be wrong by up to 2x
 * (measured here: ResNet-20 widths 8/17/35 ran 1.8x slower than 8/16/32). The
 * rule is not hard-coded: `latprune profile` probes it on the device (see
 * `probeLayoutRule` in the ORT runtime) and stores it in the table; lookups
 * interpolate only between points of the same regime, in effective units.
 */

/** Operator kinds the tables cover. */
export type OpKind = 'conv' | 'dwconv' | 'gemm';

/** A probed rule: which input widths run the fast (blocked) kernels. */
export interface LayoutRule {
  /** Input widths below this run the fast kernel (reading plain input directly). */
  readonly below: number;
  /** Input widths that are multiples of this run the fast kernel. */
  readonly align: number;
  /** In the fast regime output channels are padded up to a multiple of this. */
  readonly outPad: number;
  /**
   * Output widths must be multiples of this too for the fast kernel (WebGPU:
   * the vec4 kernels need input and output channels in fours); absent: any
   * output width (ORT CPU).
   */
  readonly outAlign?: number;
}

/** Per-operator rules; an absent entry means one regime with no padding. */
export type LayoutRules = Partial<Record<OpKind, LayoutRule>>;

/** Regime of a layer and the channel counts its cost depends on. */
export interface Regime {
  /** `fast` (blocked), `plain` (fallback kernel), or `single` (runtime without regimes). */
  readonly cls: 'fast' | 'plain' | 'single';
  readonly cinEff: number;
  readonly coutEff: number;
}

/** Rounds `v` up to a multiple of `m`. */
export function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Whether input width `cin` (and output width `cout`, where the rule has `outAlign`) runs the fast kernel under `rule`. */
export function isFast(rule: LayoutRule, cin: number, cout?: number): boolean {
  return (cin < rule.below || cin % rule.align === 0) && (rule.outAlign === undefined || cout === undefined || cout % rule.outAlign === 0);
}

/**
 * Regime and effective widths of an `op` layer with `cin` inputs and `cout`
 * outputs (for depthwise, cin = cout = channels).
 */
export function regimeOf(rules: LayoutRules, op: OpKind, cin: number, cout: number): Regime {
  const rule = rules[op];
  if (!rule) return { cls: 'single', cinEff: cin, coutEff: cout };
  if (!isFast(rule, cin, cout)) return { cls: 'plain', cinEff: cin, coutEff: cout };
  if (op === 'dwconv') {
    const c = roundUp(cin, rule.outPad);
    return { cls: 'fast', cinEff: c, coutEff: c };
  }
  // blocked kernels read padded input blocks too (measured: cin 20 runs as 32)
  return { cls: 'fast', cinEff: cin < rule.below ? cin : roundUp(cin, rule.outPad), coutEff: roundUp(cout, rule.outPad) };
}

/**
 * Infers a {@link LayoutRule} from probed input widths: `fast[i]` tells
 * whether width `i + 1` ran the fast kernel. Returns undefined when no rule of
 * the form "below T or a multiple of A" explains every probe.
 */
export function inferRule(fast: readonly boolean[], outPad: number): LayoutRule | undefined {
  const n = fast.length;
  let below = 1;
  while (below <= n && fast[below - 1]) below++;
  // the smallest A > 0 such that for every width >= below: fast <=> width % A == 0
  for (let align = 1; align <= n; align++) {
    let ok = true;
    for (let w = below; w <= n && ok; w++) ok = fast[w - 1] === (w % align === 0);
    if (ok) return { below, align, outPad };
  }
  return undefined;
}

/**
 * The kept-count multiple that keeps every layer of a pruned network on the
 * fast kernels under `rules`: the largest input alignment any operator needs
 * (1 for a runtime without regimes). The pruner's default granularity.
 */
export function channelMultiple(rules: LayoutRules): number {
  let m = 1;
  for (const r of Object.values(rules)) if (r) m = Math.max(m, r.align, r.outAlign ?? 1);
  return m;
}
