/**
 * Latency lookup tables: schema (validated with zod), file IO (atomic), and
 * the device check. A table holds, per layer signature, measured latencies
 * of the layer in context at (cin, cout) points, the runtime's layout rules,
 * reorder costs, and the calibration of the whole-network estimate.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LatpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { deviceFingerprint } from './device.js';

/** Current schema identifier. */
export const LUT_SCHEMA = 'latprune.lut/1';

const opKind = z.enum(['conv', 'dwconv', 'gemm']);
const layoutRule = z.object({ below: z.number().int().positive(), align: z.number().int().positive(), outPad: z.number().int().positive() });

const signatureSchema = z.object({
  op: opKind,
  kernel: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  stride: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  /** ONNX pads [top, left, bottom, right]. */
  pads: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()]),
  inH: z.number().int().positive(),
  inW: z.number().int().positive(),
  outH: z.number().int().positive(),
  outW: z.number().int().positive(),
  /** What the runtime fuses into the layer: none, relu, relu6, add+relu, add. */
  epilogue: z.enum(['none', 'relu', 'relu6', 'add', 'add_relu']),
  /** Largest input / output widths the model has at this signature. */
  cinMax: z.number().int().positive(),
  coutMax: z.number().int().positive(),
  /** Model layers with this signature. */
  layers: z.array(z.string()).min(1),
  /** Measured points [cin, cout, ms]. */
  points: z.array(z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().nonnegative()])),
});

/** Coefficients of one calibration model (see `calibration` below). */
const coefficientsSchema = z.object({
  scale: z.number().positive(),
  plainScale: z.number().positive().optional(),
  otherMsPerMElem: z.number().nonnegative(),
  overheadMs: z.number(),
});

/**
 * Coefficients for networks with plain-kernel layers, and where they take
 * over: `fromPlainShare` is the share of plain-kernel time (plain / parts)
 * from which they apply alone, the smallest among the networks they were
 * fitted on; below it the estimate moves linearly from the all-blocked
 * coefficients to these, so one small plain layer does not switch a
 * network's pricing.
 */
const mixedSchema = coefficientsSchema.extend({ fromPlainShare: z.number().min(0).max(1) });

const tableSchema = z.object({
  schema: z.literal(LUT_SCHEMA),
  model: z.string().min(1),
  batch: z.number().int().positive(),
  input: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  precision: z.literal('fp32'),
  device: z.object({
    fingerprint: z.string().min(1),
    description: z.string(),
    cpuModel: z.string(),
    cores: z.number().int().positive(),
  }),
  runtime: z.object({
    name: z.enum(['ort', 'tfjs']),
    version: z.string(),
    ep: z.string(),
    threads: z.number().int().nonnegative(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
  complete: z.boolean(),
  /** Profiling grid options used (for resume: a re-run must match). */
  grid: z.object({ step: z.number().int().positive(), points: z.number().int().positive(), refine: z.number().int().nonnegative() }),
  shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).optional(),
  layout: z.record(opKind, layoutRule),
  signatures: z.record(z.string(), signatureSchema),
  /** Least-squares sums of observed layout conversions: x = million elements, y = ms (see {@link reorderCost}). */
  reorder: z.object({ n: z.number().int().nonnegative(), sx: z.number(), sy: z.number(), sxx: z.number(), sxy: z.number() }).optional(),
  /**
   * Whole-network calibration: measured = scale * (layers + reorders - plain)
   * + plainScale * plain + otherMsPerMElem * other + overheadMs, where `plain`
   * is the look-ups of layers on the runtime's plain (unblocked) kernels
   * (`plainScale` absent: the same scale); `mixed` holds separate
   * coefficients for networks that have plain-kernel layers.
   */
  calibration: coefficientsSchema
    .extend({
      /**
       * Coefficients for networks with plain-kernel layers (the ones above
       * then serve networks without); absent: one fit for all.
       */
      mixed: mixedSchema.optional(),
      /** Median and p90 relative error of the calibrated estimate on the samples. */
      medianError: z.number().nonnegative(),
      p90Error: z.number().nonnegative(),
      samples: z.array(z.object({ keep: z.record(z.string(), z.number()), measuredMs: z.number().positive(), partsMs: z.number().nonnegative(), plainMs: z.number().nonnegative().optional(), otherMElems: z.number().nonnegative() })),
    })
    .optional(),
  /**
   * Drift reference of the build: one fixed entry (`signature` at `cin` ->
   * `cout`) re-measured after every `every` entries. Each entry is scaled by
   * `ms` (the reference's first measurement) over the mean of the references
   * measured just before and after it, so entries measured while the machine
   * ran faster or slower (other tenants on a shared host) land on one scale.
   * `minFactor`/`maxFactor`: the range of reference / `ms` seen. Absent: a
   * table built without one.
   */
  reference: z
    .object({
      signature: z.string().min(1),
      cin: z.number().int().positive(),
      cout: z.number().int().positive(),
      ms: z.number().positive(),
      every: z.number().int().positive(),
      n: z.number().int().nonnegative(),
      minFactor: z.number().positive(),
      maxFactor: z.number().positive(),
    })
    .optional(),
  /** Profiling statistics. */
  stats: z.object({ entries: z.number().int().nonnegative(), seconds: z.number().nonnegative(), ruleViolations: z.number().int().nonnegative() }),
});

/** A layer signature entry. */
export type LutSignature = z.infer<typeof signatureSchema>;
/** A latency table. */
export type LatencyTable = z.infer<typeof tableSchema>;
/** Coefficients of one calibration model: measured = scale x (blocked parts) + plainScale x (plain parts) + otherMsPerMElem x other + overheadMs. */
export type CalibrationCoefficients = z.infer<typeof coefficientsSchema>;
/** Coefficients for networks with plain-kernel layers (see the schema's `calibration.mixed`). */
export type MixedCalibration = z.infer<typeof mixedSchema>;

/**
 * Validates parsed JSON as a table.
 *
 * @throws LatpruneError `SCHEMA` naming the file and the first bad field
 */
export function validateTable(data: unknown, source: string): LatencyTable {
  const r = tableSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(root)';
    throw new LatpruneError('SCHEMA', `${source}: invalid latency table at '${field}': ${issue.message}. Regenerate it with \`latprune profile\`.`);
  }
  return r.data;
}

/** Reads and validates a table file. */
export async function loadTable(path: string): Promise<LatencyTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new LatpruneError('NOT_FOUND', `latency table ${path} does not exist; build one with \`latprune profile --model <model>\`.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LatpruneError('BAD_FILE', `${path}: not JSON (${err instanceof Error ? err.message : String(err)}); regenerate it with \`latprune profile\`.`);
  }
  return validateTable(data, path);
}

/** Writes a table atomically (pretty-printed, points one per line would be too long: compact). */
export async function saveTable(path: string, table: LatencyTable): Promise<void> {
  validateTable(table, path);
  await writeFileAtomic(path, `${JSON.stringify(table)}\n`, 'latency table');
}

/** Cost of one layout conversion of `elems` elements from the table's fit (0 when none was seen). */
export function reorderCost(table: LatencyTable, elems: number): number {
  const r = table.reorder;
  if (!r || r.n === 0) return 0;
  const mx = r.sx / r.n;
  const my = r.sy / r.n;
  const vx = r.sxx / r.n - mx * mx;
  const slope = vx > 1e-12 ? Math.max(0, (r.sxy / r.n - mx * my) / vx) : my / Math.max(mx, 1e-9);
  const fixed = Math.max(0, my - slope * mx);
  return fixed + (slope * elems) / 1e6;
}

/**
 * Returns a loud warning when the table was built on another kind of device
 * (different fingerprint), or undefined when it matches this one.
 */
export function deviceMismatchWarning(table: LatencyTable, path: string, current = deviceFingerprint()): string | undefined {
  if (table.device.fingerprint === current) return undefined;
  return (
    `WARNING: ${path} was profiled on '${table.device.fingerprint}' (${table.device.description}), ` +
    `but this device is '${current}'. Its latencies may not hold here: rebuild it with \`latprune profile\`.`
  );
}

/** Default location of a table: latency-tables/<fingerprint>/<model>-b<batch>-<runtime>.json. */
export function defaultTablePath(root: string, fingerprint: string, model: string, batch: number, runtime: string): string {
  const safe = model.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${root}/${fingerprint}/${safe}-b${batch}-${runtime}.json`;
}
