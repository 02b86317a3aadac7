/**
 * Schedules of the pruning engine: IEE's update budget (how much latency each
 * step prunes and regrows) and HALP's latency targets.
 */
import { LatpruneError } from '../errors.js';

/** Shapes of the IEE update-budget decay. */
export type UpdateSchedule = 'cosine' | 'linear' | 'constant';

/**
 * IEE update budget at step t of T: the fraction of the latency budget pruned
 * (and regrown) at that step, decaying from `omega0` (RigL's cosine by default).
 */
export function updateBudget(kind: UpdateSchedule, omega0: number, t: number, T: number): number {
  if (!(omega0 >= 0 && omega0 < 1)) throw new LatpruneError('BAD_ARGUMENT', `--omega must be in [0, 1), got ${omega0}.`);
  const f = T <= 1 ? 0 : Math.min(1, Math.max(0, t / T));
  switch (kind) {
    case 'cosine':
      return (omega0 / 2) * (1 + Math.cos(Math.PI * f));
    case 'linear':
      return omega0 * (1 - f);
    case 'constant':
      return omega0;
  }
}

/**
 * HALP's latency targets: a geometric path from the dense latency to the
 * final target over `steps` pruning steps (step i of 0..steps-1 returns the
 * target after pruning i+1 times; the last equals `target`).
 */
export function halpTargets(dense: number, target: number, steps: number): number[] {
  if (!(dense > 0 && target > 0))
    throw new LatpruneError('BAD_ARGUMENT', `latency targets must be positive (dense ${dense}, target ${target}).`);
  if (!Number.isInteger(steps) || steps < 1) throw new LatpruneError('BAD_ARGUMENT', `--steps must be a positive integer, got ${steps}.`);
  return Array.from({ length: steps }, (_, i) => dense * (target / dense) ** ((i + 1) / steps));
}
