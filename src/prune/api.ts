/**
 * The library's `prune()`: options in the schema's shape (validated, defaults
 * filled in), the tfjs backend chosen, the run carried out by `runPrune`.
 */
import { initBackend } from '../backend/index.js';
import { parsePruneOptions, toRunOptions, type PruneOptionsInput } from './options.js';
import { runPrune, type PruneResult } from './run.js';

/** How {@link prune} runs. */
export interface PruneCallOptions {
  /** tfjs backend (`node-gpu`, `node`, `wasm`, `cpu`); default: the fastest available. */
  readonly backend?: string;
  /** Progress and diagnostic lines (default: none). */
  readonly log?: (line: string) => void;
}

/**
 * Prunes a model to a latency target with IEE or HALP: trains, scores channel
 * groups, solves the knapsack under the table's estimate, checks the result on
 * this device, and writes the run (checkpoints, metrics, `model/`,
 * `result.json`) to `options.run.out`.
 *
 * @param options - see `pruneOptionsSchema` (sections data, target, latency, training, run; method iee | halp)
 * @param call - backend and log
 * @returns the run's figures and verdict (`target_met`, `verdict`)
 * @throws LatpruneError `BAD_ARGUMENT` naming each bad option before any work; file errors naming the file
 */
export async function prune(options: PruneOptionsInput, call: PruneCallOptions = {}): Promise<PruneResult> {
  const parsed = parsePruneOptions(options);
  const explicitDistill = parsed.training.distill !== false && parsed.training.distill.teacher !== undefined;
  const info = await initBackend({ requested: call.backend });
  return runPrune(toRunOptions(parsed, 'latprune (library) prune', explicitDistill), info.tfjsName, call.log ?? (() => {}));
}
