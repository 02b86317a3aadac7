/**
 * Selections: which channels of each group stay. Plain data, validated
 * against a {@link ChannelGraph}.
 */

import { LatpruneError } from '../errors.js';
import type { ChannelGraph, ChannelMap } from './types.js';

/**
 * Kept channel indices per group id, each list sorted ascending without
 * duplicates. Every prunable group of the graph must be present.
 */
export type Selection = Readonly<Record<string, readonly number[]>>;

/** The selection that keeps every channel. */
export function fullSelection(graph: ChannelGraph): Selection {
  return Object.fromEntries(graph.groups.map((g) => [g.id, Array.from({ length: g.size }, (_, i) => i)]));
}

/**
 * Checks a selection against the graph.
 *
 * @throws LatpruneError `BAD_ARGUMENT` naming the group when a group is missing or unknown, a list is
 *   unsorted, has duplicates or out-of-range indices, or keeps fewer than the group's `minKeep`
 */
export function validateSelection(graph: ChannelGraph, sel: Selection): void {
  const ids = new Set(graph.groups.map((g) => g.id));
  for (const id of Object.keys(sel)) {
    if (!ids.has(id)) throw new LatpruneError('BAD_ARGUMENT', `selection names group "${id}", which model ${graph.model} does not have.`);
  }
  for (const g of graph.groups) {
    const kept = sel[g.id];
    if (kept === undefined)
      throw new LatpruneError('BAD_ARGUMENT', `selection has no entry for group "${g.id}" (${g.size} channels); list its kept channels.`);
    for (let i = 0; i < kept.length; i++) {
      const c = kept[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= g.size) {
        throw new LatpruneError('BAD_ARGUMENT', `selection["${g.id}"]: channel ${c} is out of range 0..${g.size - 1}.`);
      }
      if (i > 0 && c <= kept[i - 1]!)
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `selection["${g.id}"] must be sorted ascending without duplicates (at position ${i}: ${kept[i - 1]}, ${c}).`,
        );
    }
    if (kept.length < g.minKeep) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `selection["${g.id}"] keeps ${kept.length} of ${g.size} channels; the group must keep at least ${g.minKeep}.`,
      );
    }
  }
}

/** Per group (by index), a 0/1 flag per group channel. Validates the selection. */
export function keptFlags(graph: ChannelGraph, sel: Selection): Uint8Array[] {
  validateSelection(graph, sel);
  return graph.groups.map((g) => {
    const f = new Uint8Array(g.size);
    for (const c of sel[g.id]!) f[c] = 1;
    return f;
  });
}

/** Per channel of a tensor, whether it survives (fixed channels always do). */
export function keptChannelFlags(map: ChannelMap, flags: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(map.group.length);
  for (let c = 0; c < out.length; c++) {
    const g = map.group[c]!;
    out[c] = g < 0 ? 1 : flags[g]![map.channel[c]!]!;
  }
  return out;
}

/**
 * Keeps the `keep[id]` highest-scoring channels of each group (ties: lower
 * index first) — the bridge from the solver's kept counts to a selection.
 *
 * @param graph - the channel graph
 * @param keep - kept count per group id (missing: keep all)
 * @param scores - importance per group id, one score per group channel
 * @throws LatpruneError `BAD_ARGUMENT` for a count outside [minKeep, size] or a score list of the wrong length
 */
export function topKSelection(
  graph: ChannelGraph,
  keep: Readonly<Record<string, number>>,
  scores: Readonly<Record<string, ArrayLike<number>>>,
): Selection {
  const out: Record<string, number[]> = {};
  for (const g of graph.groups) {
    const k = keep[g.id] ?? g.size;
    if (!Number.isInteger(k) || k < g.minKeep || k > g.size) {
      throw new LatpruneError('BAD_ARGUMENT', `keep["${g.id}"] = ${k} is outside [${g.minKeep}, ${g.size}].`);
    }
    const s = scores[g.id];
    if (s === undefined || s.length !== g.size) {
      throw new LatpruneError('BAD_ARGUMENT', `scores["${g.id}"] must have ${g.size} entries, got ${s === undefined ? 'none' : s.length}.`);
    }
    const order = Array.from({ length: g.size }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
    out[g.id] = order.slice(0, k).sort((a, b) => a - b);
  }
  return out;
}
