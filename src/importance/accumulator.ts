/**
 * Accumulating importance over training iterations: hooked into the trainer
 * after the gradients are known, averaged over the accumulated steps, reset
 * on demand (HALP accumulates Taylor scores between pruning steps).
 */

import type * as tf from '@tensorflow/tfjs';
import { LatpruneError } from '../errors.js';
import type { ChannelGraph } from '../graph/index.js';
import type { GradientContext, StepHooks } from '../train/index.js';
import type { ImportanceCriterion } from './criterion.js';
import { criterionVariables, scoreGroups, type GroupScores } from './score.js';

/** Options of {@link ImportanceAccumulator}. */
export interface AccumulatorOptions {
  /** Only score these group ids (default: all groups). */
  readonly groups?: readonly string[];
}

/**
 * Sums per-channel scores over steps; {@link ImportanceAccumulator.scores}
 * returns their mean. Attach with `trainer.trainStep(batch, acc.hooks())`, or
 * call {@link ImportanceAccumulator.afterGradients} from your own hook.
 */
export class ImportanceAccumulator {
  private readonly vars: Map<string, tf.Variable>;
  private readonly needed: string[];
  private sums: Map<string, Float64Array>;
  private n = 0;

  /**
   * @param model - the model being trained (its variables are read at each step)
   * @param graph - its channel graph (from the same model instance)
   * @param criterion - e.g. {@link taylorImportance}
   * @param opts - groups to score
   * @throws LatpruneError `BAD_ARGUMENT` when a variable the criterion needs is not in the model
   */
  constructor(
    model: tf.LayersModel,
    private readonly graph: ChannelGraph,
    private readonly criterion: ImportanceCriterion,
    private readonly opts: AccumulatorOptions = {},
  ) {
    this.vars = new Map(
      model.weights.map((w) => {
        const v = (w as unknown as { val: tf.Variable }).val;
        return [v.name, v];
      }),
    );
    this.needed = criterionVariables(graph, criterion, opts.groups);
    for (const name of this.needed) {
      if (!this.vars.has(name)) {
        throw new LatpruneError(
          'BAD_ARGUMENT',
          `importance: variable ${name} is not in model ${model.name}; analyse this model instance and pass its graph.`,
        );
      }
    }
    this.sums = this.emptySums();
  }

  private emptySums(): Map<string, Float64Array> {
    const want = this.opts.groups === undefined ? undefined : new Set(this.opts.groups);
    return new Map(this.graph.groups.filter((g) => !want || want.has(g.id)).map((g) => [g.id, new Float64Array(g.size)]));
  }

  /** Number of steps accumulated since the last reset. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds one step's scores, from the current variable values and `grads`
   * (batch-mean gradients keyed by tf.Variable name, as the trainer passes
   * them). The tensors are read asynchronously (all at once), as a GPU
   * backend needs; the step must not change them before this resolves.
   */
  async accumulate(grads: tf.NamedTensorMap): Promise<void> {
    const values = new Map<string, Float32Array>();
    const g = new Map<string, Float32Array>();
    const reads: Array<Promise<void>> = [];
    for (const name of this.needed) {
      reads.push(
        this.vars
          .get(name)!
          .data()
          .then((d) => void values.set(name, d as Float32Array)),
      );
      if (this.criterion.needsGradients) {
        const t = grads[name];
        if (t !== undefined) reads.push(t.data().then((d) => void g.set(name, d as Float32Array)));
      }
    }
    await Promise.all(reads);
    const s = scoreGroups(this.graph, this.criterion, values, g, this.opts.groups);
    for (const [id, acc] of this.sums) {
      const part = s[id]!;
      for (let j = 0; j < acc.length; j++) acc[j] += part[j]!;
    }
    this.n++;
  }

  /** The trainer's `afterGradients` hook: {@link ImportanceAccumulator.accumulate} with `ctx.grads`. */
  afterGradients(ctx: GradientContext): Promise<void> {
    return this.accumulate(ctx.grads);
  }

  /** Step hooks that accumulate after each step's gradients. */
  hooks(): StepHooks {
    return { afterGradients: (ctx) => this.afterGradients(ctx) };
  }

  /**
   * Mean per-channel scores by group id over the accumulated steps.
   *
   * @throws LatpruneError `BAD_ARGUMENT` when nothing was accumulated
   */
  scores(): GroupScores {
    if (this.n === 0)
      throw new LatpruneError(
        'BAD_ARGUMENT',
        `importance ${this.criterion.name}: no steps accumulated since the last reset; train some steps with hooks() first.`,
      );
    const out: GroupScores = {};
    for (const [id, acc] of this.sums) out[id] = Float32Array.from(acc, (v) => v / this.n);
    return out;
  }

  /** Clears the accumulated sums. */
  reset(): void {
    this.sums = this.emptySums();
    this.n = 0;
  }
}
