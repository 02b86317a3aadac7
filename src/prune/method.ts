/**
 * The plug-in contract between the pruning engine and a pruning method.
 * The engine ({@link PruneEngine}) owns training, scoring, the knapsack,
 * channel transitions, the on-device latency check and fine-tuning; a method
 * decides when to score, prune, explore and grow, through the
 * {@link MethodHost} it is handed. The built-in methods (IEE and HALP) are
 * registered in `methods.ts`; the engine imports neither.
 */
import type { EngineIO, MethodHost } from './engine.js';

/** A pruning method the engine runs. */
export interface PruneMethod {
  /** Name in options, checkpoints and reports (`PruneConfig.method`). */
  readonly name: string;
  /**
   * Runs the method's pruning phase, or continues it from `host.step` after a
   * resume. Calls `host.completeStep()` and then `io.onBoundary` at each step
   * boundary (a safe point to checkpoint). Returns when the active set is
   * final; the engine then checks its latency on the device and fine-tunes.
   */
  prune(host: MethodHost, io: EngineIO): Promise<void>;
}
