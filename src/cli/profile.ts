/**
 * `latprune profile` and `latprune lut merge|show`.
 */
import { LatpruneError } from '../errors.js';
import {
  calibrationWarning,
  deviceMismatchWarning,
  describeCalibration,
  loadTable,
  mergeTables,
  profile,
  saveTable,
  SHARD_FORM,
  type ProfileTableOptions,
} from '../latency/index.js';

export { tableModelName } from '../latency/index.js';

/** Parses `HxWxC`. */
export function parseInput(v: string, flag = '--input'): [number, number, number] {
  const p = v.split('x').map(Number);
  if (p.length !== 3 || p.some((n) => !Number.isInteger(n) || n <= 0))
    throw new LatpruneError('BAD_ARGUMENT', `${flag} must look like 28x28x1 (height x width x channels), got '${v}'.`);
  return p as [number, number, number];
}

/** Parses `i/n` (the range is checked by `profileOptionsSchema`). */
export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m) throw new LatpruneError('BAD_ARGUMENT', `--shard must be ${SHARD_FORM}, got '${v}'.`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Runs `latprune profile`; returns the exit code. */
export async function profileCommand(options: ProfileTableOptions, log: (l: string) => void): Promise<number> {
  const r = await profile(options, log);
  if (r.warning) log(r.warning);
  return 0;
}

/** `latprune lut merge --out FILE SHARD...`. */
export async function mergeCommand(out: string, shards: readonly string[], log: (l: string) => void): Promise<number> {
  const loaded = [];
  for (const p of shards) loaded.push({ path: p, table: await loadTable(p) });
  const merged = mergeTables(loaded);
  await saveTable(out, merged);
  log(
    `merged ${shards.length} shards into ${out}: ${Object.values(merged.signatures).reduce((a, s) => a + s.points.length, 0)} points, ${merged.complete ? 'complete' : 'incomplete'}; run \`latprune profile\` with --out ${out} to calibrate it.`,
  );
  return 0;
}

/** `latprune lut show FILE`: summary, device check and calibration check. */
export async function showCommand(path: string, log: (l: string) => void, out: (l: string) => void): Promise<number> {
  const t = await loadTable(path);
  const warn = deviceMismatchWarning(t, path);
  if (warn) log(warn);
  out(
    `${path}: ${t.model}, batch ${t.batch}, input ${t.input.join('x')}, ${t.runtime.name} ${t.runtime.version} (${t.runtime.ep}, ${t.runtime.threads} threads)`,
  );
  out(`device ${t.device.fingerprint}: ${t.device.description}`);
  out(
    `layout ${JSON.stringify(t.layout)}; ${Object.keys(t.signatures).length} signatures, ${Object.values(t.signatures).reduce((a, s) => a + s.points.length, 0)} points; ${t.complete ? 'complete' : 'INCOMPLETE'}`,
  );
  if (t.reference) {
    const r = t.reference;
    out(
      `drift reference ${r.signature} at ${r.cin}->${r.cout}: ${r.ms.toFixed(4)} ms, timed ${r.n} times (every ${r.every} entries), ${r.minFactor.toFixed(2)}-${r.maxFactor.toFixed(2)}x of that during the build`,
    );
  }
  if (t.calibration) out(describeCalibration(t.calibration));
  const unreliable = calibrationWarning(t, path);
  if (unreliable) log(unreliable);
  return 0;
}
