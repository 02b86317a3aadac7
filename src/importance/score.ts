/**
 * Scoring every group of a graph with a criterion, from plain arrays of
 * weight values and gradients keyed by tf.Variable name.
 */

import { LatpruneError } from '../errors.js';
import type { ChannelGraph } from '../graph/index.js';
import type { ImportanceCriterion, SliceData } from './criterion.js';

/** Per-channel scores by group id. */
export type GroupScores = Record<string, Float32Array>;

/** Variable data by tf.Variable name (a Map or a plain object). */
export type VariableData = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

const lookup = (d: VariableData | undefined, name: string): Float32Array | undefined =>
  d === undefined
    ? undefined
    : d instanceof Map
      ? (d as ReadonlyMap<string, Float32Array>).get(name)
      : (d as Readonly<Record<string, Float32Array>>)[name];

/** The variables `criterion` reads for the groups of `graph` (restricted to `groups` ids when given). */
export function criterionVariables(graph: ChannelGraph, criterion: ImportanceCriterion, groups?: readonly string[]): string[] {
  const want = groups === undefined ? undefined : new Set(groups);
  const out = new Set<string>();
  for (const g of graph.groups) {
    if (want && !want.has(g.id)) continue;
    for (const s of criterion.slices(g)) out.add(s.weight.variable);
  }
  return [...out];
}

/**
 * Scores groups of a graph.
 *
 * @param graph - the channel graph
 * @param criterion - the criterion
 * @param values - weight values by variable name
 * @param grads - gradients by variable name (required when the criterion needs them)
 * @param groups - only these group ids (default: all)
 * @throws LatpruneError `BAD_ARGUMENT` when a needed value or gradient is missing or has the wrong size,
 *   or a criterion returns the wrong number of scores
 */
export function scoreGroups(
  graph: ChannelGraph,
  criterion: ImportanceCriterion,
  values: VariableData,
  grads?: VariableData,
  groups?: readonly string[],
): GroupScores {
  const want = groups === undefined ? undefined : new Set(groups);
  const out: GroupScores = {};
  for (const g of graph.groups) {
    if (want && !want.has(g.id)) continue;
    const slices: SliceData[] = criterion.slices(g).map(({ member, weight }) => {
      const v = lookup(values, weight.variable);
      const n = weight.shape.reduce((a, b) => a * b, 1);
      if (v === undefined || v.length !== n) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `importance ${criterion.name}: no values of length ${n} for ${weight.variable} (layer ${member.layer}).`,
        );
      }
      let grad: Float32Array | undefined;
      if (criterion.needsGradients) {
        grad = lookup(grads, weight.variable);
        if (grad === undefined || grad.length !== n) {
          throw new LatpruneError(
            'BAD_ARGUMENT',
            `importance ${criterion.name}: no gradient of length ${n} for ${weight.variable} (layer ${member.layer}); is it trainable?`,
          );
        }
      }
      return { member, weight, values: v, grad };
    });
    const s = criterion.score({ group: g, slices });
    if (s.length !== g.size) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `importance ${criterion.name} returned ${s.length} scores for group ${g.id} of ${g.size} channels.`,
      );
    }
    out[g.id] = s;
  }
  return out;
}
