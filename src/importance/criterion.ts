/**
 * The importance-criterion plug-in interface: a function of a group's weight
 * slices (values and gradients) returning one score per group channel.
 */

import type { ChannelGroup, GroupMember, MemberWeight } from '../graph/index.js';

/** One weight of one group member with its current data. */
export interface SliceData {
  /** The member (layer side) the weight belongs to. */
  readonly member: GroupMember;
  /** The weight and the axis its channels index. */
  readonly weight: MemberWeight;
  /** Weight values, row-major. */
  readonly values: Float32Array;
  /** dLoss/dWeight, row-major; undefined when the criterion needs no gradients. */
  readonly grad: Float32Array | undefined;
}

/** A member weight a criterion reads. */
export interface SliceRef {
  readonly member: GroupMember;
  readonly weight: MemberWeight;
}

/** What a criterion sees of one group. */
export interface GroupTensors {
  readonly group: ChannelGroup;
  /** The slices the criterion asked for with {@link ImportanceCriterion.slices}. */
  readonly slices: readonly SliceData[];
}

/** An importance criterion (Taylor, magnitude, or your own). */
export interface ImportanceCriterion {
  /** Short name for logs and run records, e.g. `taylor-bn`. */
  readonly name: string;
  /** Whether {@link ImportanceCriterion.score} reads gradients. */
  readonly needsGradients: boolean;
  /** The member weights this criterion reads for `group`. */
  slices(group: ChannelGroup): SliceRef[];
  /** Per-channel scores of the group (length `group.size`, higher = more important). */
  score(t: GroupTensors): Float32Array;
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/**
 * Sums `f(value, grad)` over the elements of a slice per group channel: each
 * element belongs to the member's layer channel given by the weight's axis,
 * which carries one group channel (elements of channels outside the group are
 * skipped).
 *
 * @param s - the slice
 * @param size - group size
 * @param f - per-element term (grad is 0 when absent)
 */
export function sumPerChannel(s: SliceData, size: number, f: (value: number, grad: number) => number): Float64Array {
  const acc = new Float64Array(size);
  const { axis, span, div } = s.weight.axis;
  const shape = s.weight.shape;
  const inner = prod(shape.slice(axis + span));
  const merged = prod(shape.slice(axis, axis + span));
  const width = merged / div;
  const lookup = new Int32Array(width).fill(-1);
  s.member.layerChannels.forEach((lc, i) => {
    if (lc < width) lookup[lc] = s.member.groupChannels[i]!;
  });
  const v = s.values;
  const g = s.grad;
  for (let e = 0; e < v.length; e++) {
    const gc = lookup[Math.floor((Math.floor(e / inner) % merged) / div)]!;
    if (gc >= 0) acc[gc] += f(v[e]!, g === undefined ? 0 : g[e]!);
  }
  return acc;
}
