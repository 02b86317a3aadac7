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

/**
 * Appends a `bench:lut-accuracy` run to `bench/results/lut-accuracy.json`
 * (`{ runs: [{ command, result }] }`; the command carries the time, which the
 * report reads) and rebuilds `bench/RESULTS.md`.
 *
 * @param args - the bench's arguments as given (after `--`)
 * @param result - the bench's final JSON line
 * @param dir - the results folder (default `bench/results`)
 * @returns the file written
 */
export async function saveLutAccuracyRun(args: readonly string[], result: Record<string, unknown>, dir = 'bench/results'): Promise<string> {
  const file = join(dir, 'lut-accuracy.json');
  const doc = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { runs: { command: string; result: Record<string, unknown> }[] } & Record<string, unknown>)
    : { runs: [] };
  const at = new Date().toISOString();
  const saved = args.filter((a) => a !== '--save');
  doc.runs.push({
    command: `npm run bench:lut-accuracy${saved.length ? ` -- ${saved.join(' ')}` : ''} (${at.slice(0, 10)} ${at.slice(11, 16)} UTC, ${deviceFingerprint()})`,
    result,
  });
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 1)}\n`, 'lut-accuracy results');
  writeReport(dir, join(dir, '..', 'RESULTS.md'));
  return file;
}
