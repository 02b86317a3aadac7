/**
 * Magnitude importance: the L1 or L2 norm of each channel's weights, summed
 * over the group's members.
 */

import { isKernelWeight, type ChannelGroup } from '../graph/index.js';
import { sumPerChannel, type GroupTensors, type ImportanceCriterion, type SliceRef } from './criterion.js';

/** Options of {@link magnitudeImportance}. */
export interface MagnitudeOptions {
  /** 1 (sum of absolute values, default) or 2 (Euclidean norm). */
  readonly p?: 1 | 2;
  /**
   * Which weights: `kernels` (default: conv/depthwise/pointwise/Dense kernels
   * on both sides — the channel's filters and the consumers' input slices) or
   * `all` (also biases and BatchNorm gamma/beta).
   */
  readonly weights?: 'kernels' | 'all';
}

/**
 * Magnitude importance: per group channel, the sum over member weights of
 * the channel slice's Lp norm.
 *
 * @param opts - norm and weight choice
 */
export function magnitudeImportance(opts: MagnitudeOptions = {}): ImportanceCriterion {
  const p = opts.p ?? 1;
  const which = opts.weights ?? 'kernels';
  const keep = (name: string): boolean =>
    isKernelWeight(name) || (which === 'all' && (name === 'bias' || name === 'gamma' || name === 'beta'));
  return {
    name: `magnitude-l${p}`,
    needsGradients: false,
    slices(group: ChannelGroup): SliceRef[] {
      return group.members.flatMap((member) => member.weights.filter((w) => keep(w.name)).map((weight) => ({ member, weight })));
    },
    score(t: GroupTensors): Float32Array {
      const acc = new Float64Array(t.group.size);
      for (const s of t.slices) {
        const part = sumPerChannel(s, t.group.size, p === 1 ? (v) => Math.abs(v) : (v) => v * v);
        for (let j = 0; j < acc.length; j++) acc[j] += p === 1 ? part[j]! : Math.sqrt(part[j]!);
      }
      return Float32Array.from(acc);
    },
  };
}
