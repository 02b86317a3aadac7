/**
 * Learning-rate schedules: linear warm-up then cosine decay.
 */
import { LatpruneError } from '../errors.js';

/** Parameters of {@link cosineWithWarmup}. */
export interface CosineSchedule {
  /** Peak learning rate, reached at the end of warm-up. */
  readonly baseLr: number;
  /** Total number of steps of the schedule. */
  readonly totalSteps: number;
  /** Warm-up steps (linear from baseLr/warmupSteps to baseLr); default 0. */
  readonly warmupSteps?: number;
  /** Final learning rate (default 0). */
  readonly minLr?: number;
}

/** Checks a schedule's parameters, naming the offending flag. */
export function validateSchedule(s: CosineSchedule): void {
  if (!(s.baseLr > 0)) throw new LatpruneError('BAD_ARGUMENT', `--lr must be > 0, got ${s.baseLr}.`);
  if (!(Number.isInteger(s.totalSteps) && s.totalSteps > 0))
    throw new LatpruneError('BAD_ARGUMENT', `the schedule needs a positive number of steps (check --epochs), got ${s.totalSteps}.`);
  const w = s.warmupSteps ?? 0;
  if (!(w >= 0 && w < s.totalSteps))
    throw new LatpruneError('BAD_ARGUMENT', `--warmup must be shorter than the run, got ${w} of ${s.totalSteps} steps.`);
}

/**
 * Learning rate at `step` (0-based): linear warm-up over `warmupSteps`, then
 * half a cosine from baseLr down to minLr at `totalSteps`; minLr after.
 */
export function cosineWithWarmup(s: CosineSchedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  const min = s.minLr ?? 0;
  if (step < warm) return (s.baseLr * (step + 1)) / warm;
  if (step >= s.totalSteps) return min;
  const t = (step - warm) / Math.max(1, s.totalSteps - warm);
  return min + 0.5 * (s.baseLr - min) * (1 + Math.cos(Math.PI * t));
}
