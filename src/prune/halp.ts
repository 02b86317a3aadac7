/**
 * HALP (Hardware-Aware Latency Pruning, NeurIPS 2022), the baseline: from a
 * trained model, every `interval` iterations for `steps` steps, prune the
 * active set to the next latency target on a geometric path from the dense
 * latency to the budget B, with Taylor importance accumulated over the
 * interval (averaged, then reset) and the latency knapsack. Pruned channels
 * stay zero; the engine then fine-tunes the final active set.
 */
import { fullKeep, pruneProblem } from './channels.js';
import type { EngineIO, MethodHost } from './engine.js';
import type { PruneMethod } from './method.js';
import { halpTargets } from './schedule.js';

/** Runs (or continues, from `e.step`) HALP's pruning phase. */
export async function runHalp(e: MethodHost, io: EngineIO): Promise<void> {
  const c = e.cfg;
  const dense = e.latency.total(fullKeep(e.graph));
  const targets = halpTargets(dense, c.budgetMs, c.steps);
  while (e.step < c.steps) {
    e.resetScores();
    await e.train(c.interval, 'active', true, io, 'halp-score');
    const scores = e.takeScores();
    e.remember(scores, 'active');
    await e.solveAndApply(pruneProblem(e.graph, e.active, scores, targets[e.step]!, c.granularity), 'prune', scores, io);
    e.completeStep();
    await io.onBoundary?.(e.state());
  }
}

/** HALP as a {@link PruneMethod}. */
export const HALP: PruneMethod = { name: 'halp', prune: runHalp };
