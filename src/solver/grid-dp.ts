/**
 * Exact multiple-choice knapsack on integer costs ("the grid"): the engine
 * behind {@link solveMckp}.
 *
 * Input per group: a Pareto frontier with integer costs `u` (strictly
 * ascending, `u[0] = 0`) and values `v` (strictly ascending); capacity `W`.
 * Output: one choice per group maximising `Σ v` with `Σ u <= W`.
 *
 * The DP is the textbook one ("best value with cost <= w", layer by layer)
 * made fast by three exact reductions, none of which can lose the optimum:
 *
 * 1. Reduced-cost fixing. With the LP price λ of latency (from the convex-hull
 *    greedy), any selection containing choice j of group g is worth at most
 *    `UB - (r*_g - r_j)` where `r_j = v_j - λ u_j` and `r*_g` is the group's
 *    best. To look for a solution worth at least T, only choices with
 *    `r*_g - r_j <= UB - T` are kept.
 * 2. Bound windows. After t groups, state w can lie on a path worth >= T only if
 *    `LP(first t groups, w) + LP(other groups, W - w) >= T`; that function is
 *    concave in w, so each layer keeps one interval of states.
 * 3. Reach windows. Groups are processed by increasing cost span; each layer
 *    keeps only states reachable so far and still needed by the rest.
 *
 * T starts optimistic (close to the LP bound) and is lowered on failure; a
 * run whose optimum reaches T is exact. The last T is the greedy's integral
 * value, which is always reachable, so the search always ends exact.
 *
 * @internal
 */

import { LatpruneError } from '../errors.js';
import { ConcaveEnvelope, hullSegments, mergeSegments, type Segments } from './hull.js';

/** Result of {@link solveGrid}. */
export interface GridSolution {
  /** Chosen position in each group's frontier. */
  readonly pick: Int32Array;
  /** Optimal value. */
  readonly value: number;
  /** DP cells evaluated over all attempts (a work measure). */
  readonly cells: number;
}

/** Fractions of the LP gap below the LP bound tried before the greedy value. */
const TRIES = [1 / 64, 1 / 8, 1 / 2];

const EMPTY: Segments = { dc: new Float64Array(0), dv: new Float64Array(0) };

function mergeAll(list: readonly Segments[]): Segments {
  // pairwise merging keeps the total work O(S log G)
  let cur = list.slice();
  if (cur.length === 0) return EMPTY;
  while (cur.length > 1) {
    const nxt: Segments[] = [];
    for (let i = 0; i < cur.length; i += 2) nxt.push(i + 1 < cur.length ? mergeSegments(cur[i]!, cur[i + 1]!) : cur[i]!);
    cur = nxt;
  }
  return cur[0]!;
}

/**
 * Solves the integer-cost MCKP exactly.
 *
 * @param units - per group, frontier costs (ascending, first 0)
 * @param vals - per group, frontier values (ascending)
 * @param W - capacity (>= 0)
 * @param maxCells - refuse DP tables larger than this
 * @param what - text naming the setting to change when the table is too large
 */
export function solveGrid(
  units: readonly Int32Array[],
  vals: readonly Float64Array[],
  W: number,
  maxCells: number,
  what: string,
): GridSolution {
  const G = units.length;
  const segs = units.map((u, g) => hullSegments(u, vals[g]!));
  let base = 0;
  for (const v of vals) base += v[0]!;
  const env = new ConcaveEnvelope(base, mergeAll(segs));
  const ub = env.at(W);
  const lb = env.integralAt(W);
  const lambda = Math.max(0, env.slopeAt(W));
  // Lagrangian bound at λ (equals the LP bound at the LP price, up to rounding)
  const rstar = new Float64Array(G);
  let ubL = lambda * W;
  for (let g = 0; g < G; g++) {
    const u = units[g]!;
    const v = vals[g]!;
    let best = -Infinity;
    for (let j = 0; j < u.length; j++) best = Math.max(best, v[j]! - lambda * u[j]!);
    rstar[g] = best;
    ubL += best;
  }
  const scale = Math.max(1, Math.abs(ub), Math.abs(lb));
  const eps = 1e-9 * scale;
  const gap = Math.max(0, ub - lb);
  const targets = gap > eps ? [...TRIES.map((f) => ub - f * gap), lb] : [lb];

  let cells = 0;
  for (let i = 0; i < targets.length; i++) {
    const T = targets[i]!;
    const thr = T - eps;
    const last = i === targets.length - 1;
    // reduced-cost fixing: keep the choices that can be part of a selection worth >= T
    const slack = Math.max(0, ubL - thr);
    const keepIdx: Int32Array[] = [];
    const su: Int32Array[] = [];
    const sv: Float64Array[] = [];
    let Wsub = W;
    for (let g = 0; g < G; g++) {
      const u = units[g]!;
      const v = vals[g]!;
      const idx: number[] = [];
      for (let j = 0; j < u.length; j++) if (rstar[g]! - (v[j]! - lambda * u[j]!) <= slack + eps) idx.push(j);
      const u0 = u[idx[0]!]!;
      Wsub -= u0;
      keepIdx.push(Int32Array.from(idx));
      su.push(Int32Array.from(idx, (j) => u[j]! - u0));
      sv.push(Float64Array.from(idx, (j) => v[j]!));
    }
    if (Wsub < 0) continue; // no selection worth >= T fits
    const run = dpWindows(su, sv, Wsub, thr, maxCells, what);
    cells += run.cells;
    if (run.top >= thr) {
      const pick = new Int32Array(G);
      for (let g = 0; g < G; g++) pick[g] = keepIdx[g]![run.pick[g]!]!;
      return { pick, value: run.top, cells };
    }
    // A finite top is achievable: a sure next target.
    if (!last && run.top > targets[i + 1]!) targets[i + 1] = run.top;
  }
  // Unreachable: the last target is the greedy selection's value, which passes
  // every filter. Kept as a safety net: no pruning at all.
  const run = dpWindows(units, vals, W, -Infinity, maxCells, what);
  return { pick: run.pick, value: run.top, cells: cells + run.cells };
}

interface WindowRun {
  readonly top: number;
  readonly pick: Int32Array;
  readonly cells: number;
}

/** Order, windows and DP for one target threshold `thr` (−∞: no bound pruning). */
function dpWindows(
  units: readonly Int32Array[],
  vals: readonly Float64Array[],
  W: number,
  thr: number,
  maxCells: number,
  what: string,
): WindowRun {
  const G = units.length;
  const spans = units.map((u) => u[u.length - 1]!);
  let spanSum = 0;
  for (const s of spans) spanSum += s;
  W = Math.min(W, spanSum);
  const order = Array.from({ length: G }, (_, i) => i).sort((a, b) => spans[a]! - spans[b]! || a - b);
  const ou = order.map((g) => units[g]!);
  const ov = order.map((g) => vals[g]!);
  const lo = new Int32Array(G + 1);
  const hi = new Int32Array(G + 1);
  let reach = 0;
  for (let t = 1; t <= G; t++) {
    reach += spans[order[t - 1]!]!;
    hi[t] = Math.min(W, reach);
  }
  lo[G] = W;
  for (let t = G; t >= 1; t--) lo[t - 1] = Math.max(0, lo[t]! - spans[order[t - 1]!]!);
  if (thr > -Infinity && G > 1 && W > 0) narrowWindows(ou, ov, W, thr, lo, hi);
  let size = 0;
  for (let t = 1; t <= G; t++) size += hi[t]! - lo[t]! + 1;
  if (size > maxCells) {
    throw new LatpruneError('BAD_ARGUMENT', `knapsack DP needs ${size} cells (limit ${maxCells}); ${what}`);
  }
  const run = dpLayers(ou, ov, lo, hi);
  const pick = new Int32Array(G);
  if (run.top > -Infinity) {
    let w = W;
    for (let t = G; t >= 1; t--) {
      const j = run.args[t - 1]![w - lo[t]!]!;
      pick[order[t - 1]!] = j;
      w = Math.min(w - ou[t - 1]![j]!, hi[t - 1]!);
    }
  }
  return { top: run.top, pick, cells: run.cells };
}

/**
 * The DP proper, in the "cost <= w" form (each layer is nondecreasing in w):
 * layer t holds, for w in [lo[t], hi[t]], the best value of the first t
 * groups with total cost <= w. States below a window are absent (−∞); states
 * above it read the window's top, a valid lower bound by monotonicity.
 */
function dpLayers(
  units: readonly Int32Array[],
  vals: readonly Float64Array[],
  lo: Int32Array,
  hi: Int32Array,
): { top: number; args: Int32Array[]; cells: number } {
  const G = units.length;
  let prev = new Float64Array(1); // layer 0: value 0 at w = 0 (and above)
  const args = new Array<Int32Array>(G);
  let cells = 0;
  for (let t = 1; t <= G; t++) {
    const u = units[t - 1]!;
    const val = vals[t - 1]!;
    const n = u.length;
    const L = lo[t]!;
    const H = hi[t]!;
    const pL = lo[t - 1]!;
    const pH = hi[t - 1]!;
    const size = H - L + 1;
    const cur = new Float64Array(size).fill(-Infinity);
    const arg = new Int32Array(size);
    // States w > pH read the saturated previous value prev[pH]; among the
    // choices with u <= w - pH - 1 the last (highest value) is best. One sweep.
    const prevTop = prev[pH - pL]!;
    let jb = -1;
    for (let w = Math.max(L, pH + 1); w <= H; w++) {
      while (jb + 1 < n && u[jb + 1]! <= w - pH - 1) jb++;
      if (jb >= 0) {
        cur[w - L] = prevTop + val[jb]!;
        arg[w - L] = jb;
      }
    }
    cells += size;
    // Reads inside the previous window, one pass per choice.
    for (let j = 0; j < n; j++) {
      const c = u[j]!;
      const v = val[j]!;
      const start = Math.max(L, c + pL);
      const end = Math.min(H, pH + c);
      const off = -c - pL; // prev index of w
      for (let w = start; w <= end; w++) {
        const cand = prev[w + off]! + v;
        const i = w - L;
        if (cand > cur[i]!) {
          cur[i] = cand;
          arg[i] = j;
        }
      }
      cells += Math.max(0, end - start + 1);
    }
    args[t - 1] = arg;
    prev = cur;
  }
  return { top: prev[prev.length - 1]!, args, cells };
}

/**
 * Narrows each layer's window (in place) to the states w with
 * `LP(prefix_t, w) + LP(suffix_t, W - w) >= thr`, an interval since the sum is
 * concave in w. A layer where no state qualifies is cut to one state, so the
 * run fails fast.
 */
function narrowWindows(
  units: readonly Int32Array[],
  vals: readonly Float64Array[],
  W: number,
  thr: number,
  lo: Int32Array,
  hi: Int32Array,
): void {
  const G = units.length;
  const seg = units.map((u, t) => hullSegments(u, vals[t]!));
  const prefix = new Array<ConcaveEnvelope>(G + 1);
  const suffix = new Array<ConcaveEnvelope>(G + 1);
  let acc = EMPTY;
  let b = 0;
  prefix[0] = new ConcaveEnvelope(0, EMPTY);
  for (let t = 1; t <= G; t++) {
    acc = mergeSegments(acc, seg[t - 1]!);
    b += vals[t - 1]![0]!;
    prefix[t] = new ConcaveEnvelope(b, acc);
  }
  acc = EMPTY;
  b = 0;
  suffix[G] = new ConcaveEnvelope(0, EMPTY);
  for (let t = G - 1; t >= 0; t--) {
    acc = mergeSegments(acc, seg[t]!);
    b += vals[t]![0]!;
    suffix[t] = new ConcaveEnvelope(b, acc);
  }
  for (let t = 1; t < G; t++) {
    const P = prefix[t]!;
    const S = suffix[t]!;
    const h = (w: number): number => P.at(w) + S.at(W - w);
    let x = lo[t]!;
    let y = hi[t]!;
    while (x < y) {
      const m = (x + y) >> 1;
      if (h(m + 1) > h(m)) x = m + 1;
      else y = m;
    }
    const peak = x;
    if (!(h(peak) >= thr)) {
      lo[t] = peak;
      hi[t] = peak;
      continue;
    }
    x = lo[t]!;
    y = peak;
    while (x < y) {
      const m = (x + y) >> 1;
      if (h(m) >= thr) y = m;
      else x = m + 1;
    }
    const a = x;
    x = peak;
    y = hi[t]!;
    while (x < y) {
      const m = (x + y + 1) >> 1;
      if (h(m) >= thr) x = m;
      else y = m - 1;
    }
    lo[t] = a;
    hi[t] = x;
  }
}
