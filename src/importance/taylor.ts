/**
 * First-order Taylor importance (Molchanov et al. 2019), in HALP's
 * batch-norm form with a weight form for groups without BatchNorm.
 */

import { LatpruneError } from '../errors.js';
import { isKernelWeight, type ChannelGroup } from '../graph/index.js';
import { sumPerChannel, type GroupTensors, type ImportanceCriterion, type SliceRef } from './criterion.js';

/** BN slices (gamma, beta) of a group, or the output-side kernels and biases when it has no BN. */
function taylorSlices(group: ChannelGroup): SliceRef[] {
  const bn = group.members.flatMap((member) =>
    member.className === 'BatchNormalization' && member.role === 'output'
      ? member.weights.filter((w) => w.name === 'gamma' || w.name === 'beta').map((weight) => ({ member, weight }))
      : [],
  );
  if (bn.length > 0) return bn;
  return group.members.flatMap((member) =>
    member.role === 'output'
      ? member.weights.filter((w) => isKernelWeight(w.name) || w.name === 'bias').map((weight) => ({ member, weight }))
      : [],
  );
}

/**
 * Taylor importance.
 *
 * - Groups with BatchNorm (HALP): channel `j` scores
 *   `|Σ over the group's BN layers (and their channels carrying j) of γ·∂L/∂γ + β·∂L/∂β|`,
 *   the first-order change of the loss when the BN output of the channel is
 *   zeroed (both γ and β terms count).
 * - Groups without BatchNorm: `|Σ w·∂L/∂w|` over the output-side weights of
 *   the group (the kernel slices and biases that compute the channel), the
 *   first-order change when those are zeroed.
 *
 * Scores are taken per batch; average them over iterations with the accumulator.
 */
export function taylorImportance(): ImportanceCriterion {
  return {
    name: 'taylor-bn',
    needsGradients: true,
    slices: taylorSlices,
    score(t: GroupTensors): Float32Array {
      const acc = new Float64Array(t.group.size);
      for (const s of t.slices) {
        if (s.grad === undefined) {
          throw new LatpruneError(
            'BAD_ARGUMENT',
            `taylor importance: no gradient for ${s.weight.variable} (layer ${s.member.layer}); is the weight trainable?`,
          );
        }
        const part = sumPerChannel(s, t.group.size, (v, g) => v * g);
        for (let j = 0; j < acc.length; j++) acc[j] += part[j]!;
      }
      return Float32Array.from(acc, Math.abs);
    },
  };
}
