/**
 * The pruning schedule of a run, laid out before any training: how many
 * iterations the descent to the budget takes, how long IEE's steps are, and
 * how much fine-tuning is left. Flags the user set are kept as given; the
 * others are scaled to the run's length from the settings `bench/RESULTS.md`
 * supports (8 epochs of Fashion-MNIST, 3,750 iterations: a descent of 30
 * prunes 40 iterations apart, five IEE steps of H = J = Q = 100, the rest
 * fine-tuning; 470 iterations: 10 prunes 20 apart). A layout that leaves no
 * fine-tuning, or no IEE step, is refused with the numbers and the flag to
 * change: such a run ends near chance. (`prune` still fails a run whose
 * model ends near chance, whatever its schedule.)
 */
import { LatpruneError } from '../errors.js';

/** The schedule knobs a user may set; undefined ones are planned. */
export interface ScheduleFlags {
  readonly H?: number | undefined;
  readonly J?: number | undefined;
  readonly Q?: number | undefined;
  readonly T?: number | undefined;
  readonly ramp?: number | undefined;
  readonly rampInterval?: number | undefined;
  readonly steps?: number | undefined;
  readonly interval?: number | undefined;
}

/** A complete schedule (what the engine receives). */
export interface SchedulePlan {
  readonly H: number;
  readonly J: number;
  readonly Q: number;
  readonly T: number;
  readonly ramp: number;
  readonly rampInterval?: number;
  readonly steps: number;
  readonly interval: number;
  /** Iterations of the descent to the budget (HALP's steps x interval; IEE's step 0). */
  readonly descent: number;
  /** Iterations of IEE's steps (0 for HALP). */
  readonly stepsIterations: number;
  /** Iterations left to fine-tune the final structure. */
  readonly finetune: number;
  /** Flags that were planned (not given). */
  readonly planned: readonly string[];
}

/** Fewest iterations a pruning run accepts. */
export const MIN_PRUNE_ITERATIONS = 20;
/** Fewest fine-tuning iterations after the descent (or a tenth of the run, when more). */
const MIN_FINETUNE = 10;
/** Share of the run the planned descent takes (at most {@link MAX_DESCENT} iterations). */
const DESCENT_SHARE = 0.32;
const MAX_DESCENT = 1200;
/** Share of the run left to fine-tuning after IEE's planned steps. */
const FINETUNE_SHARE = 0.28;

const positiveInt = (flag: string, v: number | undefined): void => {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1))
    throw new LatpruneError('BAD_ARGUMENT', `--${flag} must be a positive integer, got ${v}.`);
};

/**
 * Lays out a run of `total` iterations for `method` (see the module doc);
 * `explore` is IEE's exploration stage (its Q iterations). Throws a
 * `BAD_ARGUMENT` {@link LatpruneError} when the layout leaves no fine-tuning
 * or, for IEE, no step.
 */
export function planSchedule(method: 'iee' | 'halp', total: number, flags: ScheduleFlags, explore = true): SchedulePlan {
  for (const k of ['H', 'J', 'Q', 'T', 'ramp', 'rampInterval', 'steps', 'interval'] as const)
    positiveInt(k === 'rampInterval' ? 'ramp-interval' : k, flags[k]);
  const more = '; raise --epochs (or --iterations), or use more training images';
  if (total < MIN_PRUNE_ITERATIONS) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `the run has ${total} training iterations; pruning needs at least ${MIN_PRUNE_ITERATIONS} (a descent to the budget, then fine-tuning), or the model ends near chance${more}.`,
    );
  }
  const planned: string[] = [];
  // the descent: HALP's steps x interval, IEE's ramp x rampInterval
  const given = method === 'halp' ? { k: flags.steps, every: flags.interval } : { k: flags.ramp, every: flags.rampInterval };
  const names = method === 'halp' ? ['steps', 'interval'] : ['ramp', 'ramp-interval'];
  const span = Math.min(MAX_DESCENT, Math.round(DESCENT_SHARE * total));
  let k = given.k;
  let every = given.every;
  if (method === 'iee' && k === undefined && every === undefined && flags.H !== undefined) {
    k = 1; // the paper's one-shot step 0 after H iterations
    every = flags.H;
  }
  if (k === undefined) {
    k = every !== undefined ? Math.max(1, Math.floor(span / every)) : span / 30 >= 20 ? 30 : Math.max(1, Math.floor(span / 20));
    planned.push(names[0]!);
  }
  // IEE's one-shot step 0 follows H iterations of scoring (the engine ignores a ramp interval at k = 1)
  const oneShotH = method === 'iee' && k === 1 ? (flags.H ?? given.every ?? Math.min(100, span)) : undefined;
  if (oneShotH !== undefined) every = oneShotH;
  if (every === undefined) {
    every = Math.max(1, Math.floor(span / k));
    planned.push(names[1]!);
  }
  const descent = k * every;
  if (method === 'halp') {
    const finetune = total - descent;
    const need = Math.max(MIN_FINETUNE, Math.round(0.1 * total));
    if (finetune < need) {
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `HALP's ${k} prunes ${every} iterations apart take ${descent} of the run's ${total} iterations, leaving ${Math.max(0, finetune)} to fine-tune (at least ${need} needed): lower --steps or --interval${more}.`,
      );
    }
    return {
      H: flags.H ?? 100,
      J: flags.J ?? 100,
      Q: flags.Q ?? 100,
      T: flags.T ?? 5,
      ramp: 1,
      steps: k,
      interval: every,
      descent,
      stepsIterations: 0,
      finetune,
      planned,
    };
  }
  // IEE: T steps of H + J (+ Q) after the descent, then fine-tuning
  const stageCount = explore ? 3 : 2;
  const left = total - descent - Math.round(FINETUNE_SHARE * total);
  let T = flags.T;
  const stageGiven = flags.H !== undefined || flags.J !== undefined || flags.Q !== undefined;
  let s = stageGiven ? undefined : Math.min(100, Math.floor(left / ((T ?? 5) * stageCount)));
  if (s !== undefined) {
    if (T === undefined && s < 10) {
      T = Math.max(1, Math.floor(left / (10 * stageCount)));
      s = Math.min(100, Math.floor(left / (T * stageCount)));
      planned.push('T');
    }
    planned.push('H', 'J', 'Q');
  } else if (T === undefined) planned.push('T');
  const H = flags.H ?? oneShotH ?? s ?? 100;
  const J = flags.J ?? s ?? 100;
  const Q = flags.Q ?? s ?? 100;
  T = T ?? 5;
  const stepLength = H + J + (explore ? Q : 0);
  const finetuneMin = Math.max(J, MIN_FINETUNE, Math.round(0.1 * total));
  const fit = Math.max(0, Math.min(T, Math.floor((total - descent - finetuneMin) / stepLength)));
  if (fit < 1 || H < 1) {
    throw new LatpruneError(
      'BAD_ARGUMENT',
      `IEE's descent takes ${descent} of the run's ${total} iterations; one step of H + J${explore ? ' + Q' : ''} = ${stepLength} iterations plus ${finetuneMin} of fine-tuning does not fit after it, so no IEE step would run: lower --H/--J/--Q${given.k !== undefined || given.every !== undefined ? ` or --${names[0]}/--${names[1]}` : ''}, use --method halp${more}.`,
    );
  }
  const T2 = fit;
  if (T2 < T && !planned.includes('T')) planned.push('T');
  const stepsIterations = T2 * stepLength;
  return {
    H,
    J,
    Q,
    T: T2,
    ramp: k,
    ...(k > 1 ? { rampInterval: every } : {}),
    steps: flags.steps ?? 30,
    interval: flags.interval ?? 40,
    descent,
    stepsIterations,
    finetune: total - descent - stepsIterations,
    planned,
  };
}

/** One line describing a plan (printed by `prune` before training). */
export function describePlan(method: 'iee' | 'halp', p: SchedulePlan, total: number): string {
  const body =
    method === 'halp'
      ? `${p.steps} prunes ${p.interval} iterations apart (${p.descent})`
      : `descent of ${p.ramp} prune${p.ramp > 1 ? 's' : ''} ${p.descent / p.ramp} iterations apart (${p.descent}), ${p.T} IEE step${p.T > 1 ? 's' : ''} of H ${p.H} + J ${p.J} + Q ${p.Q} (${p.stepsIterations})`;
  const planned = p.planned.length ? `; planned for this length: ${p.planned.map((f) => `--${f}`).join(' ')} (set them to override)` : '';
  return `schedule: ${total} iterations: ${body}, then ${p.finetune} of fine-tuning${planned}`;
}
