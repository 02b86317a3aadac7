/**
 * Upper convex hulls of (cost, value) frontiers and the concave piecewise
 * linear "LP value as a function of capacity" they add up to.
 *
 * For a set of groups, the LP relaxation value with capacity `c` (spent above
 * every group's cheapest choice) is `base + Σ` of the best hull segments
 * bought in decreasing slope order until `c` is spent: a concave,
 * nondecreasing function of `c`.
 *
 * @internal
 */

/**
 * Vertices of the upper hull of a Pareto frontier (costs and values strictly
 * ascending), as indices, starting at 0.
 */
export function upperHull(cost: ArrayLike<number>, value: ArrayLike<number>, n = cost.length): number[] {
  const h: number[] = [0];
  for (let j = 1; j < n; j++) {
    while (h.length >= 2) {
      const a = h[h.length - 2]!;
      const b = h[h.length - 1]!;
      // drop b when it lies on or below the segment a -> j
      const cross = (value[b]! - value[a]!) * (cost[j]! - cost[a]!) - (value[j]! - value[a]!) * (cost[b]! - cost[a]!);
      if (cross <= 0) h.pop();
      else break;
    }
    h.push(j);
  }
  return h;
}

/** Hull segments (cost and value increments), slopes decreasing. */
export interface Segments {
  readonly dc: Float64Array;
  readonly dv: Float64Array;
}

/** The hull segments of one frontier. */
export function hullSegments(cost: ArrayLike<number>, value: ArrayLike<number>, n = cost.length): Segments {
  const h = upperHull(cost, value, n);
  const dc = new Float64Array(h.length - 1);
  const dv = new Float64Array(h.length - 1);
  for (let s = 1; s < h.length; s++) {
    dc[s - 1] = cost[h[s]!]! - cost[h[s - 1]!]!;
    dv[s - 1] = value[h[s]!]! - value[h[s - 1]!]!;
  }
  return { dc, dv };
}

/** Merges two segment lists sorted by decreasing slope (stable: `a` first on ties). */
export function mergeSegments(a: Segments, b: Segments): Segments {
  const n = a.dc.length + b.dc.length;
  const dc = new Float64Array(n);
  const dv = new Float64Array(n);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    // a's slope >= b's slope  <=>  a.dv * b.dc >= b.dv * a.dc  (costs are positive)
    if (j >= b.dc.length || (i < a.dc.length && a.dv[i]! * b.dc[j]! >= b.dv[j]! * a.dc[i]!)) {
      dc[k] = a.dc[i]!;
      dv[k] = a.dv[i]!;
      i++;
    } else {
      dc[k] = b.dc[j]!;
      dv[k] = b.dv[j]!;
      j++;
    }
  }
  return { dc, dv };
}

/** A concave, nondecreasing piecewise-linear function of capacity. */
export class ConcaveEnvelope {
  /** Value at capacity 0. */
  readonly base: number;
  private readonly cumC: Float64Array;
  private readonly cumV: Float64Array;

  /**
   * @param base - value at capacity 0
   * @param seg - segments sorted by decreasing slope
   */
  constructor(base: number, seg: Segments) {
    this.base = base;
    const m = seg.dc.length;
    this.cumC = new Float64Array(m + 1);
    this.cumV = new Float64Array(m + 1);
    for (let s = 0; s < m; s++) {
      this.cumC[s + 1] = this.cumC[s]! + seg.dc[s]!;
      this.cumV[s + 1] = this.cumV[s]! + seg.dv[s]!;
    }
  }

  /** Value with capacity `c` (0 for `c <= 0`, saturating after the last segment). */
  at(c: number): number {
    const cc = this.cumC;
    const m = cc.length - 1;
    if (c <= 0) return this.base;
    if (c >= cc[m]!) return this.base + this.cumV[m]!;
    let lo = 0;
    let hi = m; // invariant: cc[lo] <= c < cc[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (cc[mid]! <= c) lo = mid;
      else hi = mid;
    }
    const f = (c - cc[lo]!) / (cc[hi]! - cc[lo]!);
    return this.base + this.cumV[lo]! + f * (this.cumV[hi]! - this.cumV[lo]!);
  }

  /**
   * Greedy integral value: whole segments bought in order while they fit in `c`.
   * The corresponding selection (a hull vertex per group) is feasible.
   */
  integralAt(c: number): number {
    const cc = this.cumC;
    let lo = 0;
    let hi = cc.length; // largest index with cc[i] <= c
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (cc[mid]! <= c) lo = mid;
      else hi = mid;
    }
    return this.base + this.cumV[lo]!;
  }

  /** Slope of the segment being bought at capacity `c` (0 when saturated). */
  slopeAt(c: number): number {
    const cc = this.cumC;
    const m = cc.length - 1;
    if (c >= cc[m]!) return 0;
    let lo = 0;
    let hi = m;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (cc[mid]! <= c) lo = mid;
      else hi = mid;
    }
    return (this.cumV[hi]! - this.cumV[lo]!) / (cc[hi]! - cc[lo]!);
  }
}
