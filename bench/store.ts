/**
 * Storing a bench's final JSON line in `bench/results/` (`--save`), so that
 * `bench/RESULTS.md` shows it with the time and host it was measured on.
 *
 * `bench/results/<bench>.json` maps a configuration (e.g. `wasm b128 x2`) to
 * its latest line; a run of another configuration adds a row, a run of the
 * same one replaces it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceFingerprint } from '../src/latency/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { writeReport } from './report.js';

/** One stored line: the bench's own fields, when and where it was measured. */
export type StoredLine = Record<string, unknown> & { readonly measured_at: string; readonly device: string };

/**
 * Stores `line` under `config` in `bench/results/<bench>.json` and rebuilds
 * `bench/RESULTS.md`.
 *
 * @param bench - the bench's name (`train-step`, `solver`)
 * @param config - the configuration the line was measured with (its row in the report)
 * @param line - the bench's final JSON line, as printed
 * @param dir - the results folder (default `bench/results`)
 * @returns the file written
 */
export async function saveBenchLine(bench: string, config: string, line: Record<string, unknown>, dir = 'bench/results'): Promise<string> {
  const file = join(dir, `${bench}.json`);
  const stored: Record<string, StoredLine> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, StoredLine>) : {};
  stored[config] = { ...line, measured_at: new Date().toISOString(), device: deviceFingerprint() };
  await writeFileAtomic(file, `${JSON.stringify(stored, null, 2)}\n`, `${bench} results`);
  writeReport(dir, join(dir, '..', 'RESULTS.md'));
  return file;
}
