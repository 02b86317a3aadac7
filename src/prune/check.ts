/**
 * The on-device latency check's policy: after the pruning phase, the selected
 * network is timed on the device, and the selection is moved under a new
 * estimator budget until its measured latency lands near the aim
 * `(1 - margin) x target`. Pure functions of the probes so far; the engine
 * (`engine.ts`) re-solves and restores selections, `run.ts` times them.
 *
 * Why more than one correction step: kept counts move in steps of the
 * table's channel multiple, and a step of an early, wide-resolution group
 * (ResNet-20's stage 1 at batch 128) moves the latency by up to a fifth of
 * the target, so the knapsack can land well below the budget it was given.
 * A plain secant step (`estimated x aim / measured`) then oscillates around
 * the aim; this policy keeps the estimator budgets known to be too fast and
 * too slow as a bracket, bisects it when the secant leaves it, and at the end
 * keeps the best selection it measured rather than the last one.
 */

/**
 * Default safety margin: the selection aims at (1 - 0.05) x the target
 * latency, i.e. ~5% more FPS than asked. Whole-network timings of one file
 * move 2-4% between ORT sessions here (more when the machine drifts), and
 * the deliverable must meet its target yet not waste more than 10% of it;
 * aiming at the middle of [target, target + 10%] FPS leaves room either side.
 */
export const DEFAULT_LATENCY_MARGIN = 0.05;

/** Half-width of the latency check's accept band around the aim (relative). */
export const LATENCY_CHECK_TOLERANCE = 0.03;

/** One timed selection. */
export interface CheckProbe {
  /** The estimator's latency of the selection (ms). */
  readonly estimatedMs: number;
  /** Its measured latency (ms). */
  readonly measuredMs: number;
  /**
   * The estimator budget the selection was solved under (ms), when known.
   * A selection that lands below its budget and measures too fast shows
   * that no budget up to this one helps: the bracket's lower end moves here.
   */
  readonly budgetMs?: number;
}

/** What the check does next (see {@link nextCheckStep}). */
export type CheckStep =
  | { readonly kind: 'accept' }
  | { readonly kind: 'resolve'; readonly budgetMs: number }
  | { readonly kind: 'stop'; readonly reason: string };

/** Aim of a check: `(1 - margin) x target`. */
const aimOf = (targetMs: number, margin: number) => targetMs * (1 - margin);

/** Whether a measurement meets the target, with the 0.5% guard the check uses. */
export function meetsTarget(targetMs: number, measuredMs: number): boolean {
  return measuredMs <= 0.995 * targetMs;
}

/**
 * The on-device latency check's decision for one measurement. The aim is
 * `(1 - margin) x target`; a measurement within {@link LATENCY_CHECK_TOLERANCE}
 * of the aim (and never above 0.995 x target) is accepted (returns
 * undefined). Otherwise returns the estimator budget that moves the measured
 * latency onto the aim, assuming the measured/estimated ratio holds nearby.
 */
export function latencyCheck(
  targetMs: number,
  estimatedMs: number,
  measuredMs: number,
  margin = DEFAULT_LATENCY_MARGIN,
): number | undefined {
  const aim = aimOf(targetMs, margin);
  if (measuredMs <= Math.min(0.995 * targetMs, aim * (1 + LATENCY_CHECK_TOLERANCE)) && measuredMs >= aim * (1 - LATENCY_CHECK_TOLERANCE))
    return undefined;
  return (estimatedMs * aim) / measuredMs;
}

/**
 * What the check does after `probes` (the last one is the current
 * selection): accept it, re-solve under another estimator budget, or stop
 * (keep the best probe, {@link bestCheckProbe}) because no budget is left
 * to try.
 *
 * The budget is the secant step of {@link latencyCheck}, kept strictly
 * inside the bracket (lo, hi): lo is the largest budget (or estimate) whose
 * selection measured too fast (below the accept band), hi the smallest
 * estimate of a selection measured too slow (above it). A step that leaves
 * the bracket is replaced by its midpoint; a bracket narrower than 0.5% of
 * the aim, or an inverted one (noise, or the estimator and the device
 * ranking two selections differently), stops the check; so do measurements
 * that no longer follow the estimate ({@link unresponsiveTarget}).
 */
export function nextCheckStep(probes: readonly CheckProbe[], targetMs: number, margin = DEFAULT_LATENCY_MARGIN): CheckStep {
  const cur = probes.at(-1);
  if (!cur) throw new Error('nextCheckStep: no probe');
  const proposal = latencyCheck(targetMs, cur.estimatedMs, cur.measuredMs, margin);
  if (proposal === undefined) return { kind: 'accept' };
  const unreachable = unresponsiveTarget(probes, targetMs);
  if (unreachable) return { kind: 'stop', reason: unreachable };
  const aim = aimOf(targetMs, margin);
  let lo = -Infinity;
  let hi = Infinity;
  for (const p of probes) {
    if (p.measuredMs < aim * (1 - LATENCY_CHECK_TOLERANCE)) lo = Math.max(lo, p.estimatedMs, p.budgetMs ?? -Infinity);
    else if (latencyCheck(targetMs, p.estimatedMs, p.measuredMs, margin) !== undefined) hi = Math.min(hi, p.estimatedMs);
  }
  if (proposal > lo && proposal < hi) return { kind: 'resolve', budgetMs: proposal };
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { kind: 'resolve', budgetMs: proposal };
  if (hi - lo <= 0.005 * aim)
    return {
      kind: 'stop',
      reason:
        lo < hi
          ? `the budgets left, ${lo.toFixed(3)}-${hi.toFixed(3)} ms, are too close`
          : `the selections measured too fast and too slow overlap under the estimator (${hi.toFixed(3)} <= ${lo.toFixed(3)} ms)`,
    };
  return { kind: 'resolve', budgetMs: (lo + hi) / 2 };
}

/**
 * Whether the measurements stopped following the estimator: among the
 * probes measured above the target, the fastest-estimated one was estimated
 * at least 25% below the slowest-estimated one, yet its measured latency
 * fell by less than a quarter of that, or a straight line through the two
 * leaves a fixed part at or above the target (per-run overhead the channels
 * cannot remove: runtime dispatch, layout conversions, memory-bound layers).
 * Then no budget brings the model to the target on this runtime, and more
 * re-solves only spend time. Returns the reason with the numbers, or
 * undefined while the measurements still respond.
 */
export function unresponsiveTarget(probes: readonly CheckProbe[], targetMs: number): string | undefined {
  const slow = probes.filter((p) => !meetsTarget(targetMs, p.measuredMs));
  if (slow.length < 2) return undefined;
  let a = slow[0]!;
  let b = slow[0]!;
  for (const p of slow) {
    if (p.estimatedMs > a.estimatedMs) a = p;
    if (p.estimatedMs < b.estimatedMs) b = p;
  }
  const estDrop = a.estimatedMs - b.estimatedMs;
  if (estDrop < 0.25 * a.estimatedMs) return undefined;
  const slope = (a.measuredMs - b.measuredMs) / estDrop;
  const fixedMs = b.measuredMs - slope * b.estimatedMs;
  if (slope >= 0.25 && fixedMs < 0.995 * targetMs) return undefined;
  const pct = (x: number, y: number) => `${((100 * (x - y)) / x).toFixed(0)}%`;
  return (
    `the measured latency does not follow the budget: the estimate fell ${pct(a.estimatedMs, b.estimatedMs)} (${a.estimatedMs.toFixed(3)} -> ${b.estimatedMs.toFixed(3)} ms) ` +
    `while the measured latency fell ${pct(a.measuredMs, b.measuredMs)} (${a.measuredMs.toFixed(3)} -> ${b.measuredMs.toFixed(3)} ms); ` +
    `about ${Math.max(0, fixedMs).toFixed(3)} ms of each run does not shrink with the channels (target ${targetMs.toFixed(3)} ms). ` +
    'The target looks unreachable on this runtime for this model: ask for less (--speedup/--fps), prune the layers that dominate the measured time, or profile a runtime/batch where the channels carry the cost'
  );
}

/**
 * Index of the selection to keep after the last probe: among the probes that
 * meet the target, the one measured closest to the aim; when none does, the
 * fastest one.
 */
export function bestCheckProbe(probes: readonly CheckProbe[], targetMs: number, margin = DEFAULT_LATENCY_MARGIN): number {
  if (probes.length === 0) throw new Error('bestCheckProbe: no probe');
  const aim = aimOf(targetMs, margin);
  let best = -1;
  for (let i = 0; i < probes.length; i++) {
    const m = probes[i]!.measuredMs;
    if (!meetsTarget(targetMs, m)) continue;
    if (best < 0 || Math.abs(m - aim) < Math.abs(probes[best]!.measuredMs - aim)) best = i;
  }
  if (best >= 0) return best;
  let fastest = 0;
  for (let i = 1; i < probes.length; i++) if (probes[i]!.measuredMs < probes[fastest]!.measuredMs) fastest = i;
  return fastest;
}

/**
 * How the check recognises a busy machine: the dense network measuring more
 * than `factor` x the table's estimate of it. The table's estimate is a
 * whole-network calibration on this device (within 1.25x of every idle
 * measurement here, drift included); other processes sharing the cores
 * slow it 2-4x, and then the check's timings rank selections wrongly
 * (measured here: a pruned ResNet-20 and the dense network timed in
 * alternation gave 1.93x under two training jobs, 2.1x idle). Before giving
 * up, the check waits `pauseMs` and measures again, `retries` times.
 */
export interface BusyGuard {
  readonly factor: number;
  readonly retries: number;
  readonly pauseMs: number;
}

/** Default {@link BusyGuard}: 1.5x, three more tries 30 s apart. */
export const DEFAULT_BUSY_GUARD: BusyGuard = { factor: 1.5, retries: 3, pauseMs: 30_000 };

/** Whether the dense network's measurement shows a busy machine (see {@link BusyGuard}). */
export function machineBusy(
  denseMeasuredMs: number,
  denseEstimatedMs: number,
  guard: Pick<BusyGuard, 'factor'> = DEFAULT_BUSY_GUARD,
): boolean {
  return denseMeasuredMs > guard.factor * denseEstimatedMs;
}

/**
 * How the check confirms a measurement before acting on it. A selection that
 * measures far from its estimate is measured again, `repeats` more times
 * `pauseMs` apart, and the median stands for it. Why: the whole-network
 * estimate of a ResNet-20 selection is within 2-7% of its measured latency
 * here (`bench:lut-accuracy`, p90), but the machine's state moves the ratio
 * of a pruned network's latency to the dense one's too, and for minutes:
 * in one run a selection estimated at 2.11x the dense network measured
 * 1.69x during an 8-epoch run's check (the dense network at 1.34x the
 * table's estimate, under the busy guard's 1.5x), and 1.99x fifteen minutes
 * later in an interleaved A/B of five rounds. The check took the 1.69x at
 * its word and re-solved the selection to one that measured 2.50x then:
 * a quarter of the latency budget lost to one measurement. A disagreement
 * larger than the estimator's own error is more likely the moment than the
 * selection; a real one survives the repeats.
 */
export interface CheckConfirm {
  /** Relative gap |measured - estimated| / estimated above which a measurement is repeated. */
  readonly disagreement: number;
  /** How many more measurements (the median of all stands). */
  readonly repeats: number;
  /** Pause before each repeat (ms). */
  readonly pauseMs: number;
}

/** Default {@link CheckConfirm}: beyond 10% off the estimate, two more measurements 20 s apart. */
export const DEFAULT_CHECK_CONFIRM: CheckConfirm = { disagreement: 0.1, repeats: 2, pauseMs: 20_000 };

/** Whether a measurement is far enough from its estimate to be confirmed (see {@link CheckConfirm}). */
export function needsConfirmation(
  estimatedMs: number,
  measuredMs: number,
  confirm: Pick<CheckConfirm, 'disagreement'> = DEFAULT_CHECK_CONFIRM,
): boolean {
  return Math.abs(measuredMs - estimatedMs) > confirm.disagreement * estimatedMs;
}

/**
 * Index of the measurement that stands for a selection measured several
 * times: the median; of the two middle ones of an even count, the one
 * nearer the estimate (the estimator's error is the smaller one here).
 */
export function confirmedMeasurement(estimatedMs: number, measuredMs: readonly number[]): number {
  if (measuredMs.length === 0) throw new Error('confirmedMeasurement: no measurement');
  const order = measuredMs.map((_, i) => i).sort((a, b) => measuredMs[a]! - measuredMs[b]!);
  const n = order.length;
  if (n % 2 === 1) return order[(n - 1) / 2]!;
  const a = order[n / 2 - 1]!;
  const b = order[n / 2]!;
  return Math.abs(measuredMs[a]! - estimatedMs) <= Math.abs(measuredMs[b]! - estimatedMs) ? a : b;
}
