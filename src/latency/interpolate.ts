/**
 * Lookups in a signature's measured points: exact at measured points,
 * bilinear inside the grid of the query's regime, cost-scaled outside it.
 * Never mixes regimes (see `layout.ts`), so latency cliffs stay cliffs.
 */
import type { LayoutRules, OpKind } from './layout.js';
import { regimeOf } from './layout.js';

/** Points of one regime on effective coordinates, averaged where they coincide. */
interface ClassGrid {
  readonly xs: number[];
  readonly ys: number[];
  readonly at: Map<string, number>;
  readonly pts: Array<[number, number, number]>;
}

/** Prepared lookup structure for one signature. */
export interface SignatureLookup {
  /** Latency in ms of the layer at (cin, cout). */
  (cin: number, cout: number): number;
}

const key = (x: number, y: number) => `${x},${y}`;

function buildGrid(pts: Array<[number, number, number]>): ClassGrid {
  const sums = new Map<string, [number, number, number, number]>();
  for (const [x, y, v] of pts) {
    const k = key(x, y);
    const s = sums.get(k) ?? [x, y, 0, 0];
    s[2] += v;
    s[3] += 1;
    sums.set(k, s);
  }
  const at = new Map<string, number>();
  const merged: Array<[number, number, number]> = [];
  for (const [k, [x, y, sum, n]] of sums) {
    at.set(k, sum / n);
    merged.push([x, y, sum / n]);
  }
  const xs = [...new Set(merged.map((p) => p[0]))].sort((a, b) => a - b);
  const ys = [...new Set(merged.map((p) => p[1]))].sort((a, b) => a - b);
  return { xs, ys, at, pts: merged };
}

function bracket(vals: readonly number[], q: number): [number, number] | undefined {
  if (q < vals[0]! || q > vals[vals.length - 1]!) return undefined;
  let lo = 0;
  while (lo + 1 < vals.length && vals[lo + 1]! <= q) lo++;
  return vals[lo] === q ? [q, q] : [vals[lo]!, vals[lo + 1]!];
}

/** Cost model used to scale from a neighbour: latency roughly proportional to cin*cout (conv) or c (depthwise). */
function work(op: OpKind, x: number, y: number): number {
  return op === 'dwconv' ? x : x * y;
}

function lookupIn(g: ClassGrid, op: OpKind, x: number, y: number): number {
  const exact = g.at.get(key(x, y));
  if (exact !== undefined) return exact;
  const bx = bracket(g.xs, x);
  const by = bracket(g.ys, y);
  if (bx && by) {
    const c = [g.at.get(key(bx[0], by[0])), g.at.get(key(bx[1], by[0])), g.at.get(key(bx[0], by[1])), g.at.get(key(bx[1], by[1]))];
    if (c.every((v) => v !== undefined)) {
      const tx = bx[1] === bx[0] ? 0 : (x - bx[0]) / (bx[1] - bx[0]);
      const ty = by[1] === by[0] ? 0 : (y - by[0]) / (by[1] - by[0]);
      const [a, b, cc, d] = c as number[];
      return (1 - ty) * ((1 - tx) * a! + tx * b!) + ty * ((1 - tx) * cc! + tx * d!);
    }
  }
  // Outside the grid (or a hole): scale the nearest point by the work ratio.
  let best: [number, number, number] | undefined;
  let bestD = Infinity;
  for (const p of g.pts) {
    const d = Math.abs(Math.log(p[0] / x)) + Math.abs(Math.log(p[1] / y));
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best![2] * (work(op, x, y) / work(op, best![0], best![1]));
}

/**
 * Builds a lookup over `points` ([cin, cout, ms]) of an `op` signature under
 * `rules`. Queries of a regime with no measured points fall back to the
 * other regime's points (flagged by `missingRegimes`).
 */
export function makeLookup(
  op: OpKind,
  points: ReadonlyArray<readonly [number, number, number]>,
  rules: LayoutRules,
): SignatureLookup & { missingRegimes: Set<string> } {
  const byClass = new Map<string, Array<[number, number, number]>>();
  for (const [cin, cout, ms] of points) {
    const r = regimeOf(rules, op, cin, cout);
    const list = byClass.get(r.cls) ?? [];
    list.push([r.cinEff, r.coutEff, ms]);
    byClass.set(r.cls, list);
  }
  const grids = new Map([...byClass].map(([cls, pts]) => [cls, buildGrid(pts)] as const));
  const all = buildGrid(points.map((p) => [p[0], p[1], p[2]] as [number, number, number]));
  const missingRegimes = new Set<string>();
  const f = ((cin: number, cout: number) => {
    const r = regimeOf(rules, op, cin, cout);
    const g = grids.get(r.cls);
    if (!g) {
      missingRegimes.add(r.cls);
      return lookupIn(all, op, cin, cout);
    }
    return lookupIn(g, op, r.cinEff, r.coutEff);
  }) as SignatureLookup & { missingRegimes: Set<string> };
  f.missingRegimes = missingRegimes;
  return f;
}
