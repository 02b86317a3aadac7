/**
 * Active channel sets, selections and the knapsack problems that prune and
 * grow them.
 *
 * Prune: among a group's active channels keep the k most important, k chosen
 * per group by the coupled knapsack under a latency budget. Grow: the active
 * channels stay (`fixed`), and the most important inactive (exploration)
 * channels come back, again chosen by the knapsack under the budget.
 */
import type { ChannelGraph, Selection } from '../graph/index.js';
import type { GroupScores } from '../importance/index.js';
import { solveCoupled, type CoupledLatencyModel, type CoupledProblem, type CoupledSolution } from '../solver/index.js';

/** Active flags per group id (1 = active). */
export type ActiveSets = Record<string, Uint8Array>;

/** All channels active. */
export function allActive(graph: ChannelGraph): ActiveSets {
  return Object.fromEntries(graph.groups.map((g) => [g.id, new Uint8Array(g.size).fill(1)]));
}

/** Kept counts of the dense model (every channel of every group). */
export function fullKeep(graph: ChannelGraph): Record<string, number> {
  return Object.fromEntries(graph.groups.map((g) => [g.id, g.size]));
}

/** The selection (kept indices per group) of active sets. */
export function toSelection(active: ActiveSets): Selection {
  return Object.fromEntries(Object.entries(active).map(([id, f]) => [id, indicesWhere(f, 1)]));
}

/** Kept counts per group. */
export function counts(active: ActiveSets): Record<string, number> {
  return Object.fromEntries(Object.entries(active).map(([id, f]) => [id, f.reduce((a, v) => a + v, 0)]));
}

function indicesWhere(f: Uint8Array, v: number): number[] {
  const out: number[] = [];
  f.forEach((x, i) => x === v && out.push(i));
  return out;
}

/** Indices sorted by descending score (ties by index). */
function byScore(idx: number[], s: ArrayLike<number>): number[] {
  return idx.sort((a, b) => (s[b] ?? 0) - (s[a] ?? 0) || a - b);
}

/**
 * A channel's knapsack value: its score (negative scores count as 0) plus a
 * floor of 1e-6 x the largest score in the problem. The floor only breaks
 * ties: where scores cannot tell channels apart (all zero, e.g. channels
 * revived from zero), the solver keeps or grows as many as the budget allows
 * instead of leaving the budget unused.
 */
function valueOf(floor: number): (s: number | undefined) => number {
  return (s) => Math.max(0, s ?? 0) + floor;
}

function scoreFloor(scores: GroupScores): number {
  let m = 0;
  for (const v of Object.values(scores)) for (const x of v) if (x > m) m = x;
  return 1e-6 * (m > 0 ? m : 1);
}

/** Knapsack problem pruning the active sets to `budget` (ms). */
export function pruneProblem(
  graph: ChannelGraph,
  active: ActiveSets,
  scores: GroupScores,
  budget: number,
  granularity = 1,
): CoupledProblem {
  const value = valueOf(scoreFloor(scores));
  return {
    budget,
    groups: graph.groups.map((g) => {
      const act = byScore(indicesWhere(active[g.id]!, 1), scores[g.id] ?? []);
      const max = act.length;
      const lo = Math.max(1, g.minKeep);
      const min = Math.min(max, granularity > 1 ? Math.ceil(lo / granularity) * granularity : lo);
      return { id: g.id, values: act.map((i) => value(scores[g.id]?.[i])), domain: domainOf(min, max, granularity) };
    }),
  };
}

/**
 * Knapsack problem growing inactive channels back under `budget` (active ones
 * fixed). Channels flagged in `blocked` are not candidates.
 */
export function growProblem(
  graph: ChannelGraph,
  active: ActiveSets,
  scores: GroupScores,
  budget: number,
  granularity = 1,
  blocked?: ActiveSets,
): CoupledProblem {
  const value = valueOf(scoreFloor(scores));
  return {
    budget,
    groups: graph.groups.map((g) => {
      const fixed = active[g.id]!.reduce((a, v) => a + v, 0);
      const cand = growCandidates(active[g.id]!, blocked?.[g.id], scores[g.id] ?? []);
      return {
        id: g.id,
        fixed,
        values: cand.map((i) => value(scores[g.id]?.[i])),
        domain: domainOf(fixed, fixed + cand.length, granularity),
      };
    }),
  };
}

/** A group's inactive, unblocked channels, best first. */
function growCandidates(active: Uint8Array, blocked: Uint8Array | undefined, s: ArrayLike<number>): number[] {
  return byScore(
    indicesWhere(active, 0).filter((i) => blocked?.[i] !== 1),
    s,
  );
}

/** Channels active in `before` and not in `after` (what a prune removed). */
export function removed(before: ActiveSets, after: ActiveSets): ActiveSets {
  return Object.fromEntries(Object.entries(before).map(([id, f]) => [id, f.map((v, i) => v & (1 - after[id]![i]!))]));
}

/**
 * Kept counts from `min` to `max` that are multiples of `granularity` (the
 * runtime's channel block: ORT's blocked CPU convolutions need counts on
 * multiples of 4/8/16, and off-block widths fall onto a slower kernel).
 * `min` itself stays allowed when it is a fixed (active) count that is off the
 * multiple; when no multiple lies in range the domain is `{max}`.
 */
export function domainOf(min: number, max: number, granularity: number): { min: number; max: number; step: number } {
  if (max <= min) return { min: max, max, step: 1 };
  if (granularity <= 1) return { min, max, step: 1 };
  const hi = Math.floor(max / granularity) * granularity;
  if (min % granularity !== 0) {
    // an off-multiple lower end (a fixed active count) can only be kept exactly or grown per channel
    return { min, max, step: 1 };
  }
  return hi >= min ? { min, max: hi, step: granularity } : { min: max, max, step: 1 };
}

/** Applies a solved prune: each group keeps its `keep[id]` highest-scored active channels. */
export function applyPrune(active: ActiveSets, scores: GroupScores, keep: Record<string, number>): ActiveSets {
  const out: ActiveSets = {};
  for (const [id, f] of Object.entries(active)) {
    const kept = byScore(indicesWhere(f, 1), scores[id] ?? []).slice(0, keep[id] ?? 0);
    const n = new Uint8Array(f.length);
    for (const i of kept) n[i] = 1;
    out[id] = n;
  }
  return out;
}

/**
 * Applies a solved grow: each group adds its highest-scored inactive
 * (unblocked) channels up to `keep[id]`.
 */
export function applyGrow(active: ActiveSets, scores: GroupScores, keep: Record<string, number>, blocked?: ActiveSets): ActiveSets {
  const out: ActiveSets = {};
  for (const [id, f] of Object.entries(active)) {
    const n = Uint8Array.from(f);
    const have = f.reduce((a, v) => a + v, 0);
    for (const i of growCandidates(f, blocked?.[id], scores[id] ?? []).slice(0, Math.max(0, (keep[id] ?? have) - have))) n[i] = 1;
    out[id] = n;
  }
  return out;
}

/** Intersection over union of two active sets (all groups together). */
export function maskIoU(a: ActiveSets, b: ActiveSets): number {
  let inter = 0;
  let union = 0;
  for (const [id, fa] of Object.entries(a)) {
    const fb = b[id]!;
    for (let i = 0; i < fa.length; i++) {
      inter += fa[i]! & fb[i]!;
      union += fa[i]! | fb[i]!;
    }
  }
  return union === 0 ? 1 : inter / union;
}

/** Solves a prune or grow problem under the coupled latency model, starting from the current counts. */
export function solve(p: CoupledProblem, model: CoupledLatencyModel, start: Record<string, number>): CoupledSolution {
  // the solver starts inside every group's domain (a grow with a group fixed at full width starts it there)
  const inDomain = { ...start };
  for (const g of p.groups)
    if (inDomain[g.id] !== undefined) inDomain[g.id] = Math.min(g.domain.max, Math.max(g.domain.min, inDomain[g.id]!));
  return solveCoupled(p, model, { start: inDomain });
}
